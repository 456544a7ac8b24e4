// Writing a shapes-world data set: every split, its annotations, the few-shot sub-data-sets,
// the vocabulary and meta.json with the exact ceilings (shared/datasets.md §6.9, §6.10).
//
// Images are generated in chunks, in parallel: each image from its own random streams, so the
// bits do not depend on the thread count. What needs the whole split (VQA answer balancing,
// the vocabulary, the ceilings) runs afterwards, image by image in index order.
#include "datasets/sw_generate.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <stb/stb_image_write.h>

#include "datasets/export.h"
#include "datasets/h5_layout.h"
#include "datasets/sw_text.h"
#include "datasets/vocab.h"
#include "tensor/h5io.h"

static const sw_preset PRESETS[] = {
    {"tiny", 64, {512, 64, 64, 64, 64, 64}, {20, 4, 10}},
    {"small", 64, {20000, 1000, 500, 500, 1000, 1000}, {100, 20, 50}},
    {"full", 128, {100000, 5000, 2500, 2500, 5000, 5000}, {100, 20, 50}},
};

const sw_preset *sw_preset_find(const char *name) {
  for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
    if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
  return NULL;
}

// ---- small growable arrays ----

typedef struct ivec {
  int32_t *v;
  int64_t n, cap;
} ivec;
typedef struct fvec {
  float *v;
  int64_t n, cap;
} fvec;
typedef struct svec {
  char **v;
  int64_t n, cap;
} svec;

#define GROW(vec)                                                              \
  do {                                                                         \
    if ((vec)->n == (vec)->cap) {                                              \
      (vec)->cap = (vec)->cap ? 2 * (vec)->cap : 1024;                         \
      (vec)->v = realloc((vec)->v, (size_t)(vec)->cap * sizeof *(vec)->v);     \
      GW_CHECK((vec)->v, "data: out of memory");                               \
    }                                                                          \
  } while (0)

static void ipush(ivec *a, int32_t x) {
  GROW(a);
  a->v[a->n++] = x;
}
static void fpush(fvec *a, float x) {
  GROW(a);
  a->v[a->n++] = x;
}
static void spush(svec *a, const char *x) {
  GROW(a);
  a->v[a->n++] = strdup(x);
}
static void sfree(svec *a) {
  for (int64_t i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
}

// Everything one split collects, as columns.
typedef struct split_text {
  ivec obj_image, obj_attrs;  // attrs: 4 per object
  fvec obj_box;               // 4 per object, x1 y1 x2 y2
  ivec ref_image, ref_object, ref_level, ref_swap;
  fvec ref_box, ref_context;  // 4 per ref: the target's box, and the box of what the words name
  ivec sent_ref;
  svec sent_text;
  ivec cap_image, cap_family;
  svec cap_text;
  ivec q_image, q_family, q_answer, q_answer_type;
  svec q_text;
  ivec q_answers;  // 10 per question
  // for the ceilings
  int64_t level_count[4];
  double blind_sum;
  int64_t blind_images;
  double attr_expect_sum[4];
  int64_t swap_refs;
} split_text;

static void split_text_free(split_text *t) {
  ivec *iv[] = {&t->obj_image, &t->obj_attrs, &t->ref_image, &t->ref_object, &t->ref_level,
                &t->ref_swap, &t->sent_ref, &t->cap_image, &t->cap_family, &t->q_image,
                &t->q_family, &t->q_answer, &t->q_answers, &t->q_answer_type};
  for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) free(iv[i]->v);
  free(t->obj_box.v);
  free(t->ref_box.v);
  free(t->ref_context.v);
  sfree(&t->sent_text);
  sfree(&t->cap_text);
  sfree(&t->q_text);
}

// ---- one image ----

enum { MAX_REFS = 6, MAX_CAND = 128, CHUNK = 512 };

typedef struct image_rec {
  sw_scene scene;
  int n_refs;
  sw_ref refs[MAX_REFS];
  int n_caps;
  sw_caption caps[SW_N_CAP_FAMILIES];
  int n_cand;
  sw_question cand[MAX_CAND];
} image_rec;

static gw_rng stream(uint64_t seed, sw_split split, const char *purpose, int64_t index) {
  char key[64];
  snprintf(key, sizeof key, "%s/%s", sw_split_names[split], purpose);
  return sw_image_rng(seed, key, index);
}

static bool twins_allowed(sw_split split) { return split != SW_TESTA && split != SW_TESTB; }

// The scene of image i before any twinning; *planted is true for a planted swap scene.
static void base_scene(const sw_config *c, sw_split split, int64_t i, sw_scene *s, bool *planted) {
  *planted = false;
  for (int64_t attempt = 0;; attempt++) {
    gw_rng r = stream(c->seed, split, "scene", i + attempt * ((int64_t)1 << 40));
    if (twins_allowed(split) && gw_rng_float(&r) < c->p_swap && sw_scene_sample_swap(c, split, &r, s) == 0) {
      *planted = true;
      return;
    }
    if (sw_scene_sample(c, split, &r, s) == 0) return;
  }
}

// The scene of image i and, for half of a layout-twin pair, its twin's (else has_twin = false).
static void scene_of(const sw_config *c, sw_split split, int64_t i, int64_t n, sw_scene *s,
                     sw_scene *twin, bool *has_twin, bool *planted) {
  int64_t k = i / 2;
  *has_twin = false;
  gw_rng pair = stream(c->seed, split, "twin", k);
  bool want_twin = twins_allowed(split) && 2 * k + 1 < n && gw_rng_float(&pair) < c->p_layout_twins;
  if (!want_twin) {
    base_scene(c, split, i, s, planted);
    return;
  }
  sw_scene a, b;
  base_scene(c, split, 2 * k, &a, planted);
  if (*planted || sw_scene_twin(c, &a, &pair, &b) != 0) {  // no twin for this pair after all
    if (i % 2) base_scene(c, split, i, s, planted);
    else *s = a;
    return;
  }
  *has_twin = true;
  *s = i % 2 ? b : a;
  *twin = i % 2 ? a : b;
}

// Objects that may be referred to: everything, except in testA / testB where the target's shape
// is of the split's group and appears at least twice in the image.
static uint32_t allowed_targets(const sw_scene *s, sw_split split) {
  uint32_t m = 0;
  for (int j = 0; j < s->n; j++) {
    if (split == SW_TESTA || split == SW_TESTB) {
      int group = split == SW_TESTA ? 0 : 1, same = 0;
      if (s->obj[j].shape >= SW_PENTAGON || sw_shape_group(s->obj[j].shape) != group) continue;
      for (int k = 0; k < s->n; k++) same += s->obj[k].shape == s->obj[j].shape;
      if (same < 2) continue;
    }
    m |= 1u << j;
  }
  return m;
}

static void make_image(const sw_config *base, sw_split split, int64_t i, int64_t n, image_rec *rec,
                       uint8_t *pixels) {
  sw_config c = sw_config_for_split(base, split);
  sw_scene twin;
  bool has_twin, planted;
  scene_of(&c, split, i, n, &rec->scene, &twin, &has_twin, &planted);
  gw_rng render = stream(c.seed, split, "render", i);
  sw_render(&c, &rec->scene, &render, pixels);
  gw_rng text = stream(c.seed, split, "text", i);
  rec->n_refs = sw_refs_for_image(&c, &rec->scene, allowed_targets(&rec->scene, split), planted,
                                  &text, rec->refs);
  rec->n_caps = sw_captions_for_image(&c, &rec->scene, has_twin ? &twin : NULL, rec->refs,
                                      rec->n_refs, &text, rec->caps);
  rec->n_cand = sw_question_candidates(&c, &rec->scene, &text, rec->cand, MAX_CAND);
}

// ---- writing helpers ----

// mkdir -p
static int make_dir(const char *path) {
  char buf[4200];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    gw_set_error("%s: cannot create the directory (%s)", path, strerror(errno));
    return -1;
  }
  return 0;
}

static int write_json(const char *path, json_t *doc) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int rc = json_dump_file(doc, tmp, JSON_COMPACT);
  if (rc != 0 || rename(tmp, path) != 0) {
    gw_set_error("%s: writing failed (disk full?)", path);
    return -1;
  }
  return 0;
}

static json_t *ints_json(const int *v, int n) {
  json_t *a = json_array();
  for (int k = 0; k < n; k++) json_array_append_new(a, json_integer(v[k]));
  return a;
}

static json_t *program_json(const sw_program *p) {
  json_t *a = json_array();
  for (int k = 0; k < p->n; k++) {
    const sw_node *nd = &p->node[k];
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(sw_op_names[nd->op]));
    int n_in = nd->op == SW_OP_SCENE ? 0 : (nd->op == SW_OP_NEAREST || nd->op == SW_OP_INTERSECT) ? 2 : 1;
    json_object_set_new(o, "inputs", ints_json(nd->in, n_in));
    switch (nd->op) {
      case SW_OP_FILTER: {
        static const char *const attr_names[SW_N_ATTRS] = {"shape", "color", "size", "style"};
        const char *const *names[SW_N_ATTRS] = {sw_shape_names, sw_color_names, sw_size_names,
                                                sw_style_names};
        json_object_set_new(o, "attr", json_string(attr_names[nd->attr]));
        json_object_set_new(o, "value", json_string(names[nd->attr][nd->value]));
        break;
      }
      case SW_OP_RELATE:
      case SW_OP_NEAREST: json_object_set_new(o, "value", json_string(sw_rel_names[nd->rel])); break;
      case SW_OP_ORDINAL: {
        static const char *const dirs[SW_N_DIRS] = {"left", "right", "top", "bottom"};
        json_object_set_new(o, "value", json_string(dirs[nd->dir]));
        json_object_set_new(o, "k", json_integer(nd->k));
        break;
      }
      case SW_OP_LOCATE: json_object_set_new(o, "value", json_string(sw_loc_names[nd->loc])); break;
      default: break;
    }
    json_array_append_new(a, o);
  }
  return a;
}

// A polygon for the object (a 24-gon for a circle), flattened x0 y0 x1 y1 ..., for COCO.
static json_t *polygon_json(const sw_object *o) {
  json_t *a = json_array();
  if (o->n_poly) {
    for (int k = 0; k < o->n_poly; k++) {
      json_array_append_new(a, json_real(round(o->poly[k][0] * 100.0) / 100.0));
      json_array_append_new(a, json_real(round(o->poly[k][1] * 100.0) / 100.0));
    }
  } else {
    for (int k = 0; k < 24; k++) {
      double t = 2.0 * M_PI * k / 24.0;
      json_array_append_new(a, json_real(round((o->cx + o->r * cos(t)) * 100.0) / 100.0));
      json_array_append_new(a, json_real(round((o->cy + o->r * sin(t)) * 100.0) / 100.0));
    }
  }
  return a;
}

static void write_scene_line(FILE *f, int64_t image_id, const sw_scene *s) {
  json_t *line = json_object(), *objs = json_array();
  json_object_set_new(line, "image_id", json_integer(image_id));
  for (int j = 0; j < s->n; j++) {
    const sw_object *o = &s->obj[j];
    json_t *jo = json_object();
    json_object_set_new(jo, "id", json_integer(j));
    json_object_set_new(jo, "shape", json_string(sw_shape_names[o->shape]));
    json_object_set_new(jo, "color", json_string(sw_color_names[o->color]));
    json_object_set_new(jo, "size", json_string(sw_size_names[o->size]));
    json_object_set_new(jo, "style", json_string(sw_style_names[o->style]));
    json_object_set_new(jo, "rot", json_integer(o->rot));
    json_object_set_new(jo, "cx", json_real(round(o->cx * 100.0) / 100.0));
    json_object_set_new(jo, "cy", json_real(round(o->cy * 100.0) / 100.0));
    json_object_set_new(jo, "bbox", ints_json(o->bbox, 4));
    json_object_set_new(jo, "poly", polygon_json(o));
    json_object_set_new(jo, "area", json_integer(o->area));
    json_array_append_new(objs, jo);
  }
  json_object_set_new(line, "objects", objs);
  char *text = json_dumps(line, JSON_COMPACT);
  fprintf(f, "%s\n", text);
  free(text);
  json_decref(line);
}

static void write_ref_line(FILE *f, int64_t ref_id, int64_t image_id, const sw_ref *e,
                           const sw_scene *s, int64_t swap_of) {
  json_t *line = json_object(), *sents = json_array();
  json_object_set_new(line, "ref_id", json_integer(ref_id));
  json_object_set_new(line, "image_id", json_integer(image_id));
  json_object_set_new(line, "ann_id", json_integer(image_id * SW_MAX_OBJ + e->target));
  json_object_set_new(line, "bbox", ints_json(s->obj[e->target].bbox, 4));
  json_object_set_new(line, "level", json_integer(e->level));
  for (int k = 0; k < e->n_sents; k++) json_array_append_new(sents, json_string(e->sents[k]));
  json_object_set_new(line, "sentences", sents);
  json_object_set_new(line, "program", program_json(&e->prog));
  if (swap_of >= 0) json_object_set_new(line, "swap_of", json_integer(swap_of));
  char *text = json_dumps(line, JSON_COMPACT);
  fprintf(f, "%s\n", text);
  free(text);
  json_decref(line);
}

// ---- consuming a chunk, in index order ----

static int answer_id(const char *answer) {
  for (int k = 0; k < sw_n_answers; k++)
    if (!strcmp(sw_answers[k], answer)) return k;
  return -1;
}

// Number of objects matching an np: the attribute-only oracle's candidate set.
static int np_matches(const sw_scene *s, const sw_np *np) {
  int n = 0;
  for (int j = 0; j < s->n; j++) {
    bool ok = true;
    for (int a = 0; a < SW_N_ATTRS && ok; a++) ok = !np->use[a] || sw_attr_of(&s->obj[j], a) == np->val[a];
    n += ok;
  }
  return n;
}

static void consume(const sw_config *c, sw_split split, int64_t i, image_rec *rec, split_text *t,
                    sw_vqa_balancer *bal, FILE *scenes_f, FILE *refs_f) {
  const sw_scene *s = &rec->scene;
  write_scene_line(scenes_f, i, s);
  int64_t first_obj = t->obj_image.n;
  for (int j = 0; j < s->n; j++) {
    const sw_object *o = &s->obj[j];
    ipush(&t->obj_image, (int32_t)i);
    int attrs[4] = {o->shape, o->color, o->size, o->style};
    for (int k = 0; k < 4; k++) ipush(&t->obj_attrs, attrs[k]);
    fpush(&t->obj_box, (float)o->bbox[0]);
    fpush(&t->obj_box, (float)o->bbox[1]);
    fpush(&t->obj_box, (float)(o->bbox[0] + o->bbox[2]));
    fpush(&t->obj_box, (float)(o->bbox[1] + o->bbox[3]));
  }
  // refs and their sentences
  int64_t first_ref = t->ref_image.n;
  int per_target[SW_MAX_OBJ] = {0}, most = 0;
  for (int k = 0; k < rec->n_refs; k++) {
    const sw_ref *e = &rec->refs[k];
    int64_t swap_of = e->swap_of >= 0 ? first_ref + e->swap_of : -1;
    write_ref_line(refs_f, t->ref_image.n, i, e, s, swap_of);
    ipush(&t->ref_image, (int32_t)i);
    ipush(&t->ref_object, (int32_t)(first_obj + e->target));
    ipush(&t->ref_level, e->level);
    ipush(&t->ref_swap, (int32_t)swap_of);
    for (int q = 0; q < 4; q++) fpush(&t->ref_box, t->obj_box.v[(first_obj + e->target) * 4 + q]);
    // the box around every object the words name (target, anchors, the sets an ordinal or
    // location counts): augmentation that shifts or resizes the image must keep it whole
    uint32_t named = sw_touched(c, s, &e->prog) | 1u << e->target;
    float ctx[4] = {1e30f, 1e30f, -1e30f, -1e30f};
    for (int j = 0; j < s->n; j++) {
      if (!(named >> j & 1)) continue;
      const float *b = t->obj_box.v + (first_obj + j) * 4;
      ctx[0] = fminf(ctx[0], b[0]), ctx[1] = fminf(ctx[1], b[1]);
      ctx[2] = fmaxf(ctx[2], b[2]), ctx[3] = fmaxf(ctx[3], b[3]);
    }
    for (int q = 0; q < 4; q++) fpush(&t->ref_context, ctx[q]);
    for (int q = 0; q < e->n_sents; q++) {
      ipush(&t->sent_ref, (int32_t)(t->ref_image.n - 1));
      spush(&t->sent_text, e->sents[q]);
    }
    t->level_count[e->level]++;
    t->attr_expect_sum[e->level] += 1.0 / np_matches(s, &e->np);
    if (e->swap_of >= 0) t->swap_refs += 2;
    if (++per_target[e->target] > most) most = per_target[e->target];
  }
  if (rec->n_refs) {
    t->blind_sum += (double)most / rec->n_refs;
    t->blind_images++;
  }
  for (int k = 0; k < rec->n_caps; k++) {
    ipush(&t->cap_image, (int32_t)i);
    ipush(&t->cap_family, rec->caps[k].family);
    spush(&t->cap_text, rec->caps[k].text);
  }
  // questions: balanced over the split, picked in index order
  sw_question chosen[64];
  gw_rng pick = stream(c->seed, split, "vqa", i);
  int want = c->questions_per_image < 64 ? c->questions_per_image : 64;
  int nq = sw_vqa_select(bal, rec->cand, rec->n_cand, want, &pick, chosen);
  for (int k = 0; k < nq; k++) {
    int a = answer_id(chosen[k].answer);
    GW_CHECK(a >= 0, "data: the answer '%s' is not in the answer vocabulary", chosen[k].answer);
    ipush(&t->q_image, (int32_t)i);
    ipush(&t->q_family, chosen[k].family);
    ipush(&t->q_answer, a);
    ipush(&t->q_answer_type, sw_question_answer_type(chosen[k].family));
    spush(&t->q_text, chosen[k].text);
    // answer_noise of the 10 human answers are replaced by another answer of the same family
    int noisy = c->answer_noise;
    for (int h = 0; h < 10; h++) {
      int ans = a;
      if (h < noisy) {
        int alt = -1;
        for (int tries = 0; tries < 32 && (alt < 0 || alt == a); tries++) {
          int o = (int)gw_rng_below(&pick, (uint64_t)rec->n_cand);
          if (rec->cand[o].family == chosen[k].family) alt = answer_id(rec->cand[o].answer);
        }
        if (alt >= 0 && alt != a) ans = alt;
      }
      ipush(&t->q_answers, ans);
    }
  }
}

// ---- tokens and arrays (written by datasets/h5_layout.c, shared with gw data convert) ----

typedef struct caption_truth {
  int32_t *start, *images;  // CSR: caption j is true of images[start[j] .. start[j + 1])
} caption_truth;

static gw_split_arrays arrays_of(const split_text *t) {
  return (gw_split_arrays){
      .n_obj = t->obj_image.n, .obj_image = t->obj_image.v, .obj_attrs = t->obj_attrs.v,
      .obj_box = t->obj_box.v, .n_ref = t->ref_image.n, .ref_image = t->ref_image.v,
      .ref_object = t->ref_object.v, .ref_level = t->ref_level.v, .ref_swap = t->ref_swap.v,
      .ref_box = t->ref_box.v, .ref_context = t->ref_context.v, .n_sent = t->sent_ref.n,
      .sent_ref = t->sent_ref.v, .sent_text = t->sent_text.v, .n_cap = t->cap_image.n,
      .cap_image = t->cap_image.v, .cap_family = t->cap_family.v, .cap_text = t->cap_text.v,
      .n_q = t->q_image.n, .q_image = t->q_image.v, .q_family = t->q_family.v,
      .q_answer = t->q_answer.v, .q_answers = t->q_answers.v, .q_answer_type = t->q_answer_type.v,
      .q_text = t->q_text.v};
}

static int write_split_arrays(gw_h5 *f, const split_text *t, const caption_truth *truth,
                              const gw_vocab *v, int max_len) {
  gw_split_arrays a = arrays_of(t);
  if (truth) a.cap_true_start = truth->start, a.cap_true_images = truth->images;
  return gw_split_arrays_write(f, &a, v, max_len);
}

// ---- COCO captions and VQA v2 files ----

static int write_coco_captions(const char *path, const split_text *t, int64_t n_images, int W,
                               sw_split split) {
  json_t *doc = json_object(), *images = json_array(), *anns = json_array();
  for (int64_t i = 0; i < n_images; i++) {
    json_t *im = json_object();
    char name[64];
    snprintf(name, sizeof name, "%s/%06lld.png", sw_split_names[split], (long long)i);
    json_object_set_new(im, "id", json_integer(i));
    json_object_set_new(im, "file_name", json_string(name));
    json_object_set_new(im, "width", json_integer(W));
    json_object_set_new(im, "height", json_integer(W));
    json_array_append_new(images, im);
  }
  for (int64_t k = 0; k < t->cap_text.n; k++) {
    json_t *a = json_object();
    json_object_set_new(a, "id", json_integer(k));
    json_object_set_new(a, "image_id", json_integer(t->cap_image.v[k]));
    json_object_set_new(a, "caption", json_string(t->cap_text.v[k]));
    json_object_set_new(a, "family", json_string(sw_caption_family_names[t->cap_family.v[k]]));
    json_array_append_new(anns, a);
  }
  json_object_set_new(doc, "images", images);
  json_object_set_new(doc, "annotations", anns);
  int rc = write_json(path, doc);
  json_decref(doc);
  return rc;
}

static int write_vqa(const char *qpath, const char *apath, const split_text *t, sw_split split) {
  json_t *qdoc = json_object(), *qs = json_array(), *adoc = json_object(), *as = json_array();
  json_object_set_new(qdoc, "task_type", json_string("Open-Ended"));
  json_object_set_new(qdoc, "data_type", json_string("shapesworld"));
  json_object_set_new(qdoc, "data_subtype", json_string(sw_split_names[split]));
  for (int64_t k = 0; k < t->q_text.n; k++) {
    json_t *q = json_object(), *a = json_object(), *answers = json_array();
    json_object_set_new(q, "image_id", json_integer(t->q_image.v[k]));
    json_object_set_new(q, "question", json_string(t->q_text.v[k]));
    json_object_set_new(q, "question_id", json_integer(k));
    json_array_append_new(qs, q);
    int fam = t->q_family.v[k];
    json_object_set_new(a, "question_id", json_integer(k));
    json_object_set_new(a, "image_id", json_integer(t->q_image.v[k]));
    json_object_set_new(a, "question_type", json_string(sw_question_family_names[fam]));
    json_object_set_new(a, "answer_type", json_string(sw_answer_type_names[sw_question_answer_type(fam)]));
    json_object_set_new(a, "multiple_choice_answer", json_string(sw_answers[t->q_answer.v[k]]));
    for (int h = 0; h < 10; h++) {
      json_t *ans = json_object();
      json_object_set_new(ans, "answer", json_string(sw_answers[t->q_answers.v[k * 10 + h]]));
      json_object_set_new(ans, "answer_confidence", json_string("yes"));
      json_object_set_new(ans, "answer_id", json_integer(h + 1));
      json_array_append_new(answers, ans);
    }
    json_object_set_new(a, "answers", answers);
    json_array_append_new(as, a);
  }
  json_object_set_new(qdoc, "questions", qs);
  json_object_set_new(adoc, "annotations", as);
  int rc = write_json(qpath, qdoc);
  if (rc == 0) rc = write_json(apath, adoc);
  json_decref(qdoc);
  json_decref(adoc);
  return rc;
}

// ---- ceilings (§6.10) ----

// VQA question-only accuracy: per family, the share of the most common answer.
static json_t *vqa_priors(const split_text *t) {
  json_t *o = json_object();
  int64_t total = 0, right = 0;
  for (int fam = 0; fam < SW_N_Q_FAMILIES; fam++) {
    int64_t counts[128] = {0}, n = 0, best = 0;
    for (int64_t k = 0; k < t->q_family.n; k++)
      if (t->q_family.v[k] == fam) {
        counts[t->q_answer.v[k]]++;
        n++;
      }
    for (int a = 0; a < 128; a++) best = counts[a] > best ? counts[a] : best;
    if (n) json_object_set_new(o, sw_question_family_names[fam], json_real((double)best / (double)n));
    total += n;
    right += best;
  }
  json_object_set_new(o, "overall", json_real(total ? (double)right / (double)total : 0.0));
  return o;
}

// Which images of the split each caption is true of, in caption order (CSR): caption j is true
// of images[start[j] .. start[j + 1]). Each (caption, image) pair is judged once, in parallel
// over captions, into a bit matrix that the CSR is then read from.
static void caption_truth_of(const sw_config *c, const sw_scene *scenes, int64_t n_images,
                             const sw_caption *caps, int64_t n_caps, caption_truth *out) {
  int64_t words = (n_images + 63) / 64;
  uint64_t *bits = calloc((size_t)(n_caps * words + 1), sizeof *bits);
  out->start = malloc((size_t)(n_caps + 1) * sizeof *out->start);
  GW_CHECK(bits && out->start, "data: out of memory for the truth of %lld captions", (long long)n_caps);
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t k = 0; k < n_caps; k++)
    for (int64_t i = 0; i < n_images; i++)
      if (sw_caption_true(c, &scenes[i], &caps[k])) bits[k * words + i / 64] |= 1ull << (i % 64);
  out->start[0] = 0;
  for (int64_t k = 0; k < n_caps; k++) {
    int64_t count = 0;
    for (int64_t w = 0; w < words; w++) count += __builtin_popcountll(bits[k * words + w]);
    GW_CHECK(out->start[k] <= INT32_MAX - count, "data: more than 2^31 (caption, image) truths in one split");
    out->start[k + 1] = out->start[k] + (int32_t)count;
  }
  out->images = malloc((size_t)(out->start[n_caps] + 1) * sizeof *out->images);
  GW_CHECK(out->images, "data: out of memory for %lld caption truths", (long long)out->start[n_caps]);
  for (int64_t k = 0, at = 0; k < n_caps; k++)
    for (int64_t i = 0; i < n_images; i++)
      if (bits[k * words + i / 64] >> (i % 64) & 1) out->images[at++] = (int32_t)i;
  free(bits);
}

// Fraction of the captions of the first 1000 images (the first n_caps) true for more than one
// of those images, read from the truth (whose image lists are in order).
static double caption_ambiguity(const caption_truth *truth, int64_t n_caps) {
  int64_t ambiguous = 0;
  for (int64_t k = 0; k < n_caps; k++) {
    int32_t first = truth->start[k], end = truth->start[k + 1], within = 0;
    while (first + within < end && truth->images[first + within] < 1000) within++;
    ambiguous += within > 1;
  }
  return n_caps ? (double)ambiguous / (double)n_caps : 0.0;
}

static json_t *split_meta(const split_text *t, int64_t n_images, double ambiguity, bool eval_split) {
  json_t *o = json_object(), *counts = json_object(), *levels = json_object(), *ceil = json_object();
  json_object_set_new(counts, "images", json_integer(n_images));
  json_object_set_new(counts, "objects", json_integer(t->obj_image.n));
  json_object_set_new(counts, "refs", json_integer(t->ref_image.n));
  json_object_set_new(counts, "sentences", json_integer(t->sent_text.n));
  json_object_set_new(counts, "captions", json_integer(t->cap_text.n));
  json_object_set_new(counts, "questions", json_integer(t->q_text.n));
  json_object_set_new(counts, "swap_refs", json_integer(t->swap_refs));
  json_object_set_new(o, "counts", counts);
  for (int l = 0; l < 4; l++) {
    char key[8];
    snprintf(key, sizeof key, "L%d", l);
    json_object_set_new(levels, key, json_integer(t->level_count[l]));
  }
  json_object_set_new(o, "levels", levels);
  json_object_set_new(ceil, "blind", json_real(t->blind_images ? t->blind_sum / (double)t->blind_images : 0.0));
  json_t *attr = json_object(), *expect = json_object();
  for (int l = 0; l < 4; l++) {
    char key[8];
    snprintf(key, sizeof key, "L%d", l);
    if (!t->level_count[l]) continue;
    // exact: attributes alone pick the target at L0 and never at L1-L3 (degeneracy rule)
    json_object_set_new(attr, key, json_real(l == 0 ? 1.0 : 0.0));
    json_object_set_new(expect, key, json_real(t->attr_expect_sum[l] / (double)t->level_count[l]));
  }
  json_object_set_new(ceil, "attribute_only", attr);
  json_object_set_new(ceil, "attribute_only_guess", expect);
  json_object_set_new(ceil, "bow_swap_pairs", json_real(0.5));
  json_object_set_new(ceil, "vqa_question_only", vqa_priors(t));
  if (eval_split) json_object_set_new(ceil, "caption_ambiguity", json_real(ambiguity));
  json_object_set_new(o, "ceilings", ceil);
  return o;
}

// ---- one split ----

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_png(const char *dir, int64_t i, int W, const uint8_t *rgb) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%06lld.png", dir, (long long)i);
  if (!stbi_write_png(path, W, W, 3, rgb, W * 3)) {
    gw_set_error("%s: cannot write the PNG", path);
    return -1;
  }
  return 0;
}

static int generate_split(const sw_gen_opts *o, sw_split split, gw_vocab *vocab, json_t *meta_splits) {
  const sw_config *c = &o->cfg;
  sw_config sc = sw_config_for_split(c, split);
  int64_t n = o->preset.images[split];
  int W = c->img_size;
  const char *name = sw_split_names[split];
  char path[4200], dir[4200];
  snprintf(dir, sizeof dir, "%s/%s", o->out_dir, name);
  if (make_dir(dir) < 0) return -1;
  char png_dir[4200];
  snprintf(png_dir, sizeof png_dir, "%s/png/%s", o->out_dir, name);
  if (o->png && make_dir(png_dir) < 0) return -1;
  snprintf(path, sizeof path, "%s/%s.h5", o->out_dir, name);
  gw_h5 *f = gw_h5_create(path);
  if (!f) return -1;
  if (gw_h5_create_array(f, "images", GW_H5_U8, 4, (int64_t[]){n, W, W, 3}, 256) < 0) {
    gw_h5_abandon(f);
    return -1;
  }
  snprintf(path, sizeof path, "%s/scenes.jsonl", dir);
  FILE *scenes_f = fopen(path, "w");
  snprintf(path, sizeof path, "%s/refs.jsonl", dir);
  FILE *refs_f = fopen(path, "w");
  if (!scenes_f || !refs_f) {
    gw_set_error("%s: cannot write the annotations", path);
    if (scenes_f) fclose(scenes_f);
    if (refs_f) fclose(refs_f);
    gw_h5_abandon(f);
    return -1;
  }
  split_text t = {0};
  sw_vqa_balancer bal;
  memset(&bal, 0, sizeof bal);
  image_rec *recs = malloc(CHUNK * sizeof *recs);
  uint8_t *pixels = malloc((size_t)CHUNK * W * W * 3);
  sw_scene *scenes = malloc((size_t)(n ? n : 1) * sizeof *scenes);
  // an evaluation split keeps its captions, to judge each against every image
  sw_caption *eval_caps = NULL;
  int64_t n_eval_caps = 0, n_caps_first_1000 = 0;
  bool eval_split = split != SW_TRAIN;
  if (eval_split) eval_caps = malloc(sizeof *eval_caps * (size_t)((n ? n : 1) * SW_N_CAP_FAMILIES));
  GW_CHECK(recs && pixels && scenes && (eval_caps || !eval_split),
           "data: out of memory for a chunk of %d images", CHUNK);
  double t0 = now_seconds(), last = t0;
  int rc = 0;
  for (int64_t start = 0; start < n && rc == 0; start += CHUNK) {
    int64_t count = n - start < CHUNK ? n - start : CHUNK;
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t k = 0; k < count; k++)
      make_image(c, split, start + k, n, &recs[k], pixels + (size_t)k * W * W * 3);
    for (int64_t k = 0; k < count; k++) {
      consume(&sc, split, start + k, &recs[k], &t, &bal, scenes_f, refs_f);
      scenes[start + k] = recs[k].scene;
      for (int q = 0; q < recs[k].n_caps && eval_caps; q++) eval_caps[n_eval_caps++] = recs[k].caps[q];
      if (start + k < 1000) n_caps_first_1000 = n_eval_caps;
      if (o->png && rc == 0) rc = write_png(png_dir, start + k, W, pixels + (size_t)k * W * W * 3);
    }
    if (rc == 0) rc = gw_h5_write_rows(f, "images", GW_H5_U8, start, count, pixels);
    double now = now_seconds();
    if (!o->quiet && (now - last > 2.0 || start + count == n)) {
      fprintf(stderr, "data: %-9s %7lld / %lld images  %.0f images/s\n", name,
              (long long)(start + count), (long long)n, (double)(start + count) / (now - t0));
      last = now;
    }
  }
  fclose(scenes_f);
  fclose(refs_f);
  if (rc == 0 && split == SW_TRAIN) {  // the vocabulary comes from the training text
    gw_split_arrays a = arrays_of(&t);
    gw_split_arrays_add_words(vocab, &a);
    gw_vocab_sort(vocab);
  }
  caption_truth truth = {0};
  if (rc == 0 && eval_split) {
    GW_CHECK(n_eval_caps == t.cap_image.n, "data: %lld captions kept, %lld written",
             (long long)n_eval_caps, (long long)t.cap_image.n);
    caption_truth_of(&sc, scenes, n, eval_caps, n_eval_caps, &truth);
  }
  if (rc == 0) rc = write_split_arrays(f, &t, eval_split ? &truth : NULL, vocab, c->max_len);
  if (rc == 0) {
    gw_h5_set_attr_str(f, "", "split", name);
    gw_h5_set_attr_i64(f, "", "sw_version", SW_VERSION);
    gw_h5_set_attr_i64(f, "", "img_size", W);
    gw_h5_set_attr_str(f, "", "box_format", "x1y1x2y2 pixels (edges)");
    rc = gw_h5_close(f);
  } else {
    gw_h5_abandon(f);
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/captions.json", dir);
    rc = write_coco_captions(path, &t, n, W, split);
  }
  if (rc == 0) {
    char apath[4200];
    snprintf(path, sizeof path, "%s/questions.json", dir);
    snprintf(apath, sizeof apath, "%s/annotations.json", dir);
    rc = write_vqa(path, apath, &t, split);
  }
  if (rc == 0) {
    double amb = eval_split ? caption_ambiguity(&truth, n_caps_first_1000) : 0.0;
    json_object_set_new(meta_splits, name, split_meta(&t, n, amb, eval_split));
  }
  free(truth.start);
  free(truth.images);
  free(recs);
  free(pixels);
  free(scenes);
  free(eval_caps);
  split_text_free(&t);
  return rc;
}

// ---- few-shot sub-data-sets ----

static int generate_fewshot(const sw_gen_opts *o, int task) {
  const sw_config *c = &o->cfg;
  const char *tname = sw_fewshot_task_names[task];
  char dir[4200], path[4200];
  snprintf(dir, sizeof dir, "%s/fewshot", o->out_dir);
  if (make_dir(dir) < 0) return -1;
  snprintf(dir, sizeof dir, "%s/fewshot/%s", o->out_dir, tname);
  if (make_dir(dir) < 0) return -1;
  int classes = sw_fewshot_n_classes(c, task), W = c->img_size;
  int pool[3] = {o->preset.fewshot_pool[0], o->preset.fewshot_pool[1], o->preset.fewshot_pool[2]};
  int per_class = pool[0] + pool[1] + pool[2];
  int64_t n = (int64_t)classes * per_class;
  uint8_t *pixels = malloc((size_t)(n ? n : 1) * W * W * 3);
  int32_t *labels = malloc((size_t)(n ? n : 1) * sizeof *labels);
  GW_CHECK(pixels && labels, "data: out of memory for the few-shot images");
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t i = 0; i < n; i++) {
    int cls = (int)(i / per_class);
    char key[64];
    snprintf(key, sizeof key, "fewshot/%s", tname);
    gw_rng r = sw_image_rng(c->seed, key, i);
    sw_scene s;
    for (int attempt = 0; sw_fewshot_scene(c, task, cls, &r, &s) != 0 && attempt < 100; attempt++) {}
    sw_render(c, &s, &r, pixels + (size_t)i * W * W * 3);
    labels[i] = cls;
  }
  snprintf(path, sizeof path, "%s/images.h5", dir);
  gw_h5 *f = gw_h5_create(path);
  if (!f) return -1;
  // which CoOp part each image is in: 0 train, 1 val, 2 test (the pools of each class in order)
  int32_t *part_of = malloc((size_t)(n ? n : 1) * sizeof *part_of);
  for (int64_t i = 0; i < n; i++) {
    int within = (int)(i % per_class);
    part_of[i] = within < pool[0] ? 0 : (within < pool[0] + pool[1] ? 1 : 2);
  }
  int rc = gw_h5_write_array(f, "images", GW_H5_U8, 4, (int64_t[]){n, W, W, 3}, pixels, 256);
  if (rc == 0) rc = gw_h5_write_array(f, "labels", GW_H5_I32, 1, &n, labels, 4096);
  if (rc == 0) rc = gw_h5_write_array(f, "split", GW_H5_I32, 1, &n, part_of, 4096);
  free(part_of);
  rc = rc == 0 ? gw_h5_close(f) : (gw_h5_abandon(f), -1);
  // CoOp split file: [impath, label, classname] per image, split by the per-class pools
  json_t *doc = json_object();
  const char *parts[3] = {"train", "val", "test"};
  for (int p = 0; p < 3; p++) json_object_set_new(doc, parts[p], json_array());
  for (int64_t i = 0; i < n && rc == 0; i++) {
    int cls = (int)(i / per_class), within = (int)(i % per_class);
    int part = within < pool[0] ? 0 : (within < pool[0] + pool[1] ? 1 : 2);
    char impath[128], cname[64];
    if (o->png) {
      snprintf(impath, sizeof impath, "png/%06lld.png", (long long)i);
    } else {
      snprintf(impath, sizeof impath, "images.h5:%lld", (long long)i);
    }
    sw_fewshot_class_name(c, task, cls, cname, sizeof cname);
    json_t *entry = json_array();
    json_array_append_new(entry, json_string(impath));
    json_array_append_new(entry, json_integer(cls));
    json_array_append_new(entry, json_string(cname));
    json_array_append_new(json_object_get(doc, parts[part]), entry);
  }
  if (rc == 0 && o->png) {
    snprintf(path, sizeof path, "%s/png", dir);
    rc = make_dir(path);
    for (int64_t i = 0; i < n && rc == 0; i++) rc = write_png(path, i, W, pixels + (size_t)i * W * W * 3);
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/split_sw_%s.json", dir, tname);
    rc = write_json(path, doc);
  }
  json_decref(doc);
  free(pixels);
  free(labels);
  return rc;
}

// ---- meta.json ----

static json_t *knobs_json(const sw_gen_opts *o) {
  const sw_config *c = &o->cfg;
  json_t *k = json_object();
  static const char *const bg_names[] = {"solid", "gradient", "noise", "texture"};
  json_object_set_new(k, "difficulty", json_string(o->difficulty));
  json_object_set_new(k, "img_size", json_integer(c->img_size));
  json_object_set_new(k, "n_obj_min", json_integer(c->n_obj_min));
  json_object_set_new(k, "n_obj_max", json_integer(c->n_obj_max));
  json_object_set_new(k, "rel_margin_px", json_real(c->rel_margin));
  json_object_set_new(k, "gap_px", json_real(c->gap_px));
  json_object_set_new(k, "nearest_ratio", json_real(c->nearest_ratio));
  json_object_set_new(k, "min_same_shape", json_integer(c->min_same_shape));
  json_object_set_new(k, "styles", json_boolean(c->styles));
  json_object_set_new(k, "rotation", json_boolean(c->rotation));
  json_object_set_new(k, "extended_shapes", json_boolean(c->extended_shapes));
  json_object_set_new(k, "medium_size", json_boolean(c->medium_size));
  json_object_set_new(k, "bg_mode", json_string(bg_names[c->bg_mode]));
  json_object_set_new(k, "bg_jitter", json_integer(c->bg_jitter));
  json_object_set_new(k, "color_jitter", json_integer(c->color_jitter));
  json_object_set_new(k, "size_jitter", json_real(c->size_jitter));
  json_t *pl = json_array();
  for (int l = 0; l < 4; l++) json_array_append_new(pl, json_real(c->p_level[l]));
  json_object_set_new(k, "p_level", pl);
  json_object_set_new(k, "p_swap", json_real(c->p_swap));
  json_object_set_new(k, "p_synonym", json_real(c->p_synonym));
  json_object_set_new(k, "p_redundant", json_real(c->p_redundant));
  json_object_set_new(k, "refs_per_image", json_integer(c->refs_per_image));
  json_object_set_new(k, "sents_per_ref", json_integer(c->sents_per_ref));
  json_object_set_new(k, "captions_per_image", json_integer(c->captions_per_image));
  json_object_set_new(k, "questions_per_image", json_integer(c->questions_per_image));
  json_object_set_new(k, "answer_noise", json_integer(c->answer_noise));
  json_object_set_new(k, "p_layout_twins", json_real(c->p_layout_twins));
  json_object_set_new(k, "comp_split", json_boolean(c->comp_split));
  json_object_set_new(k, "max_len", json_integer(c->max_len));
  return k;
}

int sw_generate(const sw_gen_opts *o) {
  if (make_dir(o->out_dir) < 0) return -1;
  json_t *meta = json_object(), *splits = json_object();
  json_object_set_new(meta, "sw_version", json_integer(SW_VERSION));
  json_object_set_new(meta, "seed", json_integer((json_int_t)o->cfg.seed));
  json_object_set_new(meta, "preset", json_string(o->preset.name));
  json_object_set_new(meta, "knobs", knobs_json(o));
  json_object_set_new(meta, "box_format", json_string("HDF5: x1, y1, x2, y2 in pixels (edges); "
                                                      "JSON: COCO [x, y, w, h]"));
  // the names behind the ids of questions/family, captions/family and questions/answer_type
  json_t *qf = json_array(), *cf = json_array(), *at = json_array();
  for (int k = 0; k < SW_N_Q_FAMILIES; k++)
    json_array_append_new(qf, json_string(sw_question_family_names[k]));
  for (int k = 0; k < SW_N_CAP_FAMILIES; k++)
    json_array_append_new(cf, json_string(sw_caption_family_names[k]));
  for (int k = 0; k < GW_N_ANSWER_TYPES; k++)
    json_array_append_new(at, json_string(gw_answer_type_names[k]));
  json_object_set_new(meta, "question_families", qf);
  json_object_set_new(meta, "caption_families", cf);
  json_object_set_new(meta, "answer_types", at);
  gw_vocab vocab;
  gw_vocab_init(&vocab);
  int rc = 0;
  double t0 = now_seconds();
  int64_t total_images = 0;
  for (int split = 0; split < SW_N_SPLITS && rc == 0; split++) {
    if (o->preset.images[split] <= 0) continue;
    rc = generate_split(o, (sw_split)split, &vocab, splits);
    total_images += o->preset.images[split];
  }
  for (int task = 0; task < SW_N_FS_TASKS && rc == 0; task++) rc = generate_fewshot(o, task);
  char path[4200];
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/vocab.txt", o->out_dir);
    rc = gw_vocab_save(&vocab, path);
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/answers.txt", o->out_dir);
    FILE *f = fopen(path, "w");
    if (!f) {
      gw_set_error("%s: cannot write", path);
      rc = -1;
    } else {
      for (int k = 0; k < sw_n_answers; k++) fprintf(f, "%s\n", sw_answers[k]);
      fclose(f);
    }
  }
  if (rc == 0) rc = sw_export_all(o->out_dir);  // RefCOCO, SimREC, Karpathy (datasets/export.h)
  if (rc == 0) {
    double secs = now_seconds() - t0;
    json_object_set_new(meta, "splits", splits);
    json_object_set_new(meta, "vocab_size", json_integer(vocab.size));
    json_object_set_new(meta, "answers", json_integer(sw_n_answers));
    json_object_set_new(meta, "generation_seconds", json_real(round(secs * 100) / 100));
    snprintf(path, sizeof path, "%s/meta.json", o->out_dir);
    rc = write_json(path, meta);  // written last: its presence marks a complete data set
    if (!o->quiet && rc == 0)
      fprintf(stderr, "data: wrote %lld images in %.1f s (%.0f images/s) to %s\n",
              (long long)total_images, secs, (double)total_images / secs, o->out_dir);
  } else {
    json_decref(splits);
  }
  json_decref(meta);
  gw_vocab_free(&vocab);
  return rc;
}
