// gw data convert: load a real format, decode and letterbox its images, check every box against
// its decoded image, and write the generator's HDF5 layout (datasets/h5_layout.c writes the
// annotation arrays for both).
//
// Per split: pass 1 decodes every image (in parallel) to find the bad ones and the sizes,
// keeping the letterboxed pixels when they fit in memory; then boxes are checked and bad
// records dropped (with skip_bad) or reported; pass 2 writes the kept images (decoding them
// again only when they were not kept) and the annotation arrays.
#include "datasets/convert.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats_json.h"
#include "datasets/h5_layout.h"
#include "datasets/image_io.h"
#include "datasets/sw_generate.h"
#include "datasets/sw_text.h"
#include "datasets/vocab.h"
#include "tensor/error.h"
#include "tensor/h5io.h"

enum { CHUNK = 256 };
#define BOX_TOL 1.0f  // px a box may stick out of its image (then it is clamped)

typedef struct conv {
  const gw_convert_opts *o;
  gw_records r;
  int S, max_len;
  uint8_t pad;
  gw_vocab vocab;
  bool vocab_ready;
  char vocab_source[512];
  gw_vocab answers;  // a string table (no special tokens)
  bool have_answers;
  gw_vocab cap_fam, q_fam;
  json_t *meta_splits;
  char root[4096];
  FILE *rep;
} conv;

typedef struct img_state {
  int w, h;
  gw_letterbox lb;
  char *err;
} img_state;

// ---- string tables ----

static void table_from_list(gw_vocab *t, const char *const *names, int n) {
  memset(t, 0, sizeof *t);
  for (int k = 0; k < n; k++) gw_vocab_add(t, names[k]);
}

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// A family table: the shapes-world names (so converted shapes-world ids equal the generator's)
// when every name is one of them, else the names in use, sorted.
static void family_table(gw_vocab *t, const gw_records *r, bool captions) {
  const char *const *sw = captions ? sw_caption_family_names : sw_question_family_names;
  int n_sw = captions ? SW_N_CAP_FAMILIES : SW_N_Q_FAMILIES;
  gw_vocab seen;
  memset(&seen, 0, sizeof seen);
  bool all_sw = true;
  for (int s = 0; s < r->n_splits; s++) {
    const gw_rec_split *sp = &r->splits[s];
    int64_t n = captions ? sp->n_captions : sp->n_questions;
    for (int64_t k = 0; k < n; k++) {
      const char *f = captions ? sp->captions[k].family : sp->questions[k].family;
      if (!f || gw_vocab_find(&seen, f) >= 0) continue;
      gw_vocab_add(&seen, f);
      bool in = false;
      for (int q = 0; q < n_sw && !in; q++) in = !strcmp(sw[q], f);
      all_sw &= in;
    }
  }
  if (all_sw) {
    table_from_list(t, sw, n_sw);
  } else {
    qsort(seen.words, (size_t)seen.size, sizeof *seen.words, cmp_strp);
    table_from_list(t, (const char *const *)seen.words, seen.size);
  }
  gw_vocab_free(&seen);
}

static int load_lines(gw_vocab *t, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    gw_set_error("%s: cannot open the answers file", path);
    return -1;
  }
  memset(t, 0, sizeof *t);
  char line[512];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[--n] = '\0';
    if (gw_vocab_find(t, line) >= 0) {
      gw_set_error("%s:%d: the answer \"%s\" appears twice", path, lineno, line);
      fclose(f);
      return -1;
    }
    gw_vocab_add(t, line);
  }
  fclose(f);
  return 0;
}

typedef struct answer_count {
  const char *text;
  int64_t n;
} answer_count;

static int cmp_count(const void *a, const void *b) {
  const answer_count *x = a, *y = b;
  if (x->n != y->n) return x->n > y->n ? -1 : 1;
  return strcmp(x->text, y->text);
}

// The answers of the training split (every split when there is none), by frequency: each
// question's multiple_choice_answer and its 10 human answers count.
static void build_answers(conv *c) {
  const gw_rec_split *train = gw_records_split(&c->r, "train");
  gw_vocab ids;
  memset(&ids, 0, sizeof ids);
  answer_count *counts = NULL;
  int64_t cap = 0;
  for (int s = 0; s < c->r.n_splits; s++) {
    const gw_rec_split *sp = &c->r.splits[s];
    if (train && sp != train) continue;
    for (int64_t k = 0; k < sp->n_questions; k++)
      for (int h = -1; h < 10; h++) {
        const char *a = h < 0 ? sp->questions[k].answer : sp->questions[k].answers[h];
        if (!a) continue;
        int id = gw_vocab_find(&ids, a);
        if (id < 0) {
          id = gw_vocab_add(&ids, a);
          gw_rec_grow((void **)&counts, &cap, id + 1, sizeof *counts);
          counts[id].text = ids.words[id];
        }
        counts[id].n++;
      }
  }
  qsort(counts, (size_t)ids.size, sizeof *counts, cmp_count);
  memset(&c->answers, 0, sizeof c->answers);
  int64_t min_count = c->o->min_answer_count > 0 ? c->o->min_answer_count : 1;
  for (int k = 0; k < ids.size && counts[k].n >= min_count; k++) gw_vocab_add(&c->answers, counts[k].text);
  free(counts);
  gw_vocab_free(&ids);
}

// ---- per split ----

static void image_path(const conv *c, const gw_rec_split *s, const char *file, char *buf, int len) {
  char root[4096];
  gw_rec_image_path(root, sizeof root, c->root, 0, s->name);
  gw_path_join(buf, len, root, file);
}

static int decode_one(const char *path, int S, uint8_t pad, uint8_t *dst, img_state *st) {
  gw_image im;
  char file[4200];
  int64_t row;
  int rc = gw_image_ref_h5(path, file, sizeof file, &row) ? gw_image_load_h5_row(file, row, &im)
                                                          : gw_image_load(path, &im);
  if (rc < 0) return -1;
  st->w = im.w;
  st->h = im.h;
  st->lb = gw_letterbox_of(im.w, im.h, S);
  if (dst) rc = gw_letterbox_image(&im, &st->lb, pad, dst);
  gw_image_free(&im);
  return rc;
}

// Decodes images [start, start + count) of paths into dst (row k - start; NULL: decode only).
// Errors go to st[k].err. HDF5 rows are read in this thread (HDF5 is not thread-safe).
static void decode_range(char **paths, const bool *is_h5, img_state *st, int64_t start,
                         int64_t count, int S, uint8_t pad, uint8_t *dst) {
  size_t px = (size_t)S * S * 3;
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t k = start; k < start + count; k++) {
    if (is_h5[k]) continue;
    if (decode_one(paths[k], S, pad, dst ? dst + (size_t)(k - start) * px : NULL, &st[k]) < 0)
      st[k].err = gw_rec_strdup(gw_last_error());
  }
  for (int64_t k = start; k < start + count; k++)
    if (is_h5[k] &&
        decode_one(paths[k], S, pad, dst ? dst + (size_t)(k - start) * px : NULL, &st[k]) < 0)
      st[k].err = gw_rec_strdup(gw_last_error());
}

// The kept records of a split as the layout's columns.
typedef struct columns {
  int32_t *obj_image, *obj_attrs, *ref_image, *ref_object, *ref_level, *ref_swap, *sent_ref;
  int32_t *cap_image, *cap_family, *q_image, *q_family, *q_answer, *q_answers, *q_answer_type;
  float *obj_box, *ref_box;
  char **sent_text, **cap_text, **q_text;
  int64_t *img_id, *obj_id, *ref_id, *sent_id, *cap_id, *q_id;
  int32_t *img_size;
  float *img_lb;
  int64_t n_img, n_obj, n_ref, n_sent, n_cap, n_q;
} columns;

static void columns_free(columns *k) {
  void *all[] = {k->obj_image, k->obj_attrs, k->ref_image, k->ref_object, k->ref_level,
                 k->ref_swap,  k->sent_ref,  k->cap_image, k->cap_family, k->q_image,
                 k->q_family,  k->q_answer,  k->q_answers, k->obj_box,    k->ref_box,
                 k->sent_text, k->cap_text,  k->q_text,    k->img_id,     k->obj_id,
                 k->ref_id,    k->sent_id,   k->cap_id,    k->q_id,       k->img_size,
                 k->img_lb,    k->q_answer_type};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static void *alloc_n(int64_t n, size_t elem) {
  void *p = calloc((size_t)n + 1, elem);
  GW_CHECK(p, "data: out of memory for %lld rows", (long long)n);
  return p;
}

// Drops what depends on bad images and objects, checks boxes, letterboxes them; fills k.
static int build_columns(conv *c, const gw_rec_split *s, const img_state *st, int64_t *img_new,
                         columns *k) {
  bool skip = c->o->load.skip_bad;
  int64_t *obj_new = alloc_n(s->n_objects, sizeof *obj_new),
          *ref_new = alloc_n(s->n_refs, sizeof *ref_new);
  float *boxes = alloc_n(s->n_objects * 4, sizeof *boxes);
  int rc = 0;
  k->n_img = 0;
  for (int64_t i = 0; i < s->n_images; i++) img_new[i] = st[i].err ? -1 : k->n_img++;
  k->img_id = alloc_n(k->n_img, sizeof *k->img_id);
  k->img_size = alloc_n(k->n_img * 2, sizeof *k->img_size);
  k->img_lb = alloc_n(k->n_img * 4, sizeof *k->img_lb);
  for (int64_t i = 0; i < s->n_images; i++) {
    int64_t r = img_new[i];
    if (r < 0) continue;
    k->img_id[r] = s->images[i].id;
    k->img_size[2 * r] = st[i].w;
    k->img_size[2 * r + 1] = st[i].h;
    k->img_lb[4 * r] = (float)st[i].lb.scale_x;
    k->img_lb[4 * r + 1] = (float)st[i].lb.scale_y;
    k->img_lb[4 * r + 2] = (float)st[i].lb.dx;
    k->img_lb[4 * r + 3] = (float)st[i].lb.dy;
  }
  // objects: boxes within their image (1 px of slack, clamped), letterboxed
  k->obj_image = alloc_n(s->n_objects, sizeof(int32_t));
  k->obj_attrs = alloc_n(s->n_objects * 4, sizeof(int32_t));
  k->obj_box = alloc_n(s->n_objects * 4, sizeof(float));
  k->obj_id = alloc_n(s->n_objects, sizeof(int64_t));
  for (int64_t j = 0; j < s->n_objects && rc == 0; j++) {
    const gw_rec_object *ob = &s->objects[j];
    obj_new[j] = -1;
    if (img_new[ob->image] < 0) continue;
    const img_state *is = &st[ob->image];
    float b[4] = {ob->box[0], ob->box[1], ob->box[2], ob->box[3]};
    if (b[0] < -BOX_TOL || b[1] < -BOX_TOL || b[2] > is->w + BOX_TOL || b[3] > is->h + BOX_TOL ||
        b[2] <= b[0] || b[3] <= b[1]) {
      char path[4200];
      image_path(c, s, s->images[ob->image].file, path, sizeof path);
      rc = gw_rec_bad(&c->r, skip,
                      "%s: object (annotation id %lld) of image %lld (%s, %d x %d "
                      "pixels): the box x1,y1,x2,y2 = [%g, %g, %g, %g] (COCO [x, y, w, h] = [%g, "
                      "%g, %g, %g]) lies outside the image",
                      s->source, (long long)ob->id, (long long)s->images[ob->image].id, path, is->w,
                      is->h, b[0], b[1], b[2], b[3], b[0], b[1], b[2] - b[0], b[3] - b[1]);
      continue;
    }
    b[0] = fmaxf(b[0], 0.0f);
    b[1] = fmaxf(b[1], 0.0f);
    b[2] = fminf(b[2], (float)is->w);
    b[3] = fminf(b[3], (float)is->h);
    int64_t r = k->n_obj++;
    obj_new[j] = r;
    k->obj_image[r] = (int32_t)img_new[ob->image];
    memcpy(k->obj_attrs + 4 * r, ob->attrs, sizeof ob->attrs);
    gw_letterbox_forward(&is->lb, b, k->obj_box + 4 * r);
    k->obj_id[r] = ob->id;
  }
  // refs whose object survived, with their sentences
  k->ref_image = alloc_n(s->n_refs, sizeof(int32_t));
  k->ref_object = alloc_n(s->n_refs, sizeof(int32_t));
  k->ref_level = alloc_n(s->n_refs, sizeof(int32_t));
  k->ref_swap = alloc_n(s->n_refs, sizeof(int32_t));
  k->ref_box = alloc_n(s->n_refs * 4, sizeof(float));
  k->ref_id = alloc_n(s->n_refs, sizeof(int64_t));
  for (int64_t q = 0; q < s->n_refs; q++) {
    const gw_rec_ref *rf = &s->refs[q];
    ref_new[q] = rf->object >= 0 && obj_new[rf->object] >= 0 ? k->n_ref++ : -1;
    int64_t r = ref_new[q];
    if (r < 0) continue;
    int64_t o = obj_new[rf->object];
    k->ref_image[r] = k->obj_image[o];
    k->ref_object[r] = (int32_t)o;
    k->ref_level[r] = rf->level;
    memcpy(k->ref_box + 4 * r, k->obj_box + 4 * o, 4 * sizeof(float));
    k->ref_id[r] = rf->id;
  }
  for (int64_t q = 0; q < s->n_refs; q++)
    if (ref_new[q] >= 0)
      k->ref_swap[ref_new[q]] = s->refs[q].swap_of >= 0 ? (int32_t)ref_new[s->refs[q].swap_of] : -1;
  k->sent_ref = alloc_n(s->n_sents, sizeof(int32_t));
  k->sent_text = alloc_n(s->n_sents, sizeof(char *));
  k->sent_id = alloc_n(s->n_sents, sizeof(int64_t));
  for (int64_t q = 0; q < s->n_sents; q++) {
    int64_t r = ref_new[s->sents[q].ref];
    if (r < 0) continue;
    k->sent_ref[k->n_sent] = (int32_t)r;
    k->sent_text[k->n_sent] = s->sents[q].text;
    k->sent_id[k->n_sent++] = s->sents[q].id;
  }
  k->cap_image = alloc_n(s->n_captions, sizeof(int32_t));
  k->cap_family = alloc_n(s->n_captions, sizeof(int32_t));
  k->cap_text = alloc_n(s->n_captions, sizeof(char *));
  k->cap_id = alloc_n(s->n_captions, sizeof(int64_t));
  for (int64_t q = 0; q < s->n_captions; q++) {
    const gw_rec_caption *cp = &s->captions[q];
    if (img_new[cp->image] < 0) continue;
    int64_t r = k->n_cap++;
    k->cap_image[r] = (int32_t)img_new[cp->image];
    k->cap_family[r] = cp->family ? gw_vocab_find(&c->cap_fam, cp->family) : -1;
    k->cap_text[r] = cp->text;
    k->cap_id[r] = cp->id;
  }
  k->q_image = alloc_n(s->n_questions, sizeof(int32_t));
  k->q_family = alloc_n(s->n_questions, sizeof(int32_t));
  k->q_answer = alloc_n(s->n_questions, sizeof(int32_t));
  k->q_answers = alloc_n(s->n_questions * 10, sizeof(int32_t));
  k->q_answer_type = alloc_n(s->n_questions, sizeof(int32_t));
  k->q_text = alloc_n(s->n_questions, sizeof(char *));
  k->q_id = alloc_n(s->n_questions, sizeof(int64_t));
  for (int64_t q = 0; q < s->n_questions; q++) {
    const gw_rec_question *qq = &s->questions[q];
    if (img_new[qq->image] < 0) continue;
    int64_t r = k->n_q++;
    k->q_image[r] = (int32_t)img_new[qq->image];
    k->q_family[r] = qq->family ? gw_vocab_find(&c->q_fam, qq->family) : -1;
    k->q_answer[r] = qq->answer ? gw_vocab_find(&c->answers, qq->answer) : -1;
    k->q_answer_type[r] = gw_answer_type_of(qq->answer_type);  // -1 without annotations
    for (int h = 0; h < 10; h++)
      k->q_answers[10 * r + h] = qq->answers[h] ? gw_vocab_find(&c->answers, qq->answers[h]) : -1;
    k->q_text[r] = qq->text;
    k->q_id[r] = qq->id;
  }
  free(obj_new);
  free(ref_new);
  free(boxes);
  return rc;
}

static gw_split_arrays arrays_of(const columns *k) {
  return (gw_split_arrays){.n_obj = k->n_obj,
                           .obj_image = k->obj_image,
                           .obj_attrs = k->obj_attrs,
                           .obj_box = k->obj_box,
                           .n_ref = k->n_ref,
                           .ref_image = k->ref_image,
                           .ref_object = k->ref_object,
                           .ref_level = k->ref_level,
                           .ref_swap = k->ref_swap,
                           .ref_box = k->ref_box,
                           .n_sent = k->n_sent,
                           .sent_ref = k->sent_ref,
                           .sent_text = k->sent_text,
                           .n_cap = k->n_cap,
                           .cap_image = k->cap_image,
                           .cap_family = k->cap_family,
                           .cap_text = k->cap_text,
                           .n_q = k->n_q,
                           .q_image = k->q_image,
                           .q_family = k->q_family,
                           .q_answer = k->q_answer,
                           .q_answers = k->q_answers,
                           .q_answer_type = k->q_answer_type,
                           .q_text = k->q_text};
}

static int write_i64(gw_h5 *f, const char *name, const int64_t *v, int64_t n) {
  return gw_h5_write_array(f, name, GW_H5_I64, 1, &n, v, 4096);
}

// The images kept (img_new >= 0), in order, to rows first_row...: from memory, or decoded again.
static int write_images(conv *c, gw_h5 *f, char **paths, const bool *is_h5, img_state *st,
                        const int64_t *img_new, int64_t n, const uint8_t *mem, int64_t first_row) {
  size_t px = (size_t)c->S * c->S * 3;
  uint8_t *chunk = malloc(CHUNK * px), *packed = malloc(CHUNK * px);
  GW_CHECK(chunk && packed, "data: out of memory for a chunk of images");
  int64_t written = first_row;
  int rc = 0;
  for (int64_t start = 0; start < n && rc == 0; start += CHUNK) {
    int64_t count = n - start < CHUNK ? n - start : CHUNK, kept = 0;
    if (!mem) decode_range(paths, is_h5, st, start, count, c->S, c->pad, chunk);
    for (int64_t k = start; k < start + count && rc == 0; k++) {
      if (img_new[k] < 0) continue;
      if (st[k].err) {  // it decoded the first time
        gw_set_error("%s", st[k].err);
        rc = -1;
        break;
      }
      memcpy(packed + kept++ * px, mem ? mem + (size_t)k * px : chunk + (size_t)(k - start) * px,
             px);
    }
    if (rc == 0 && kept) rc = gw_h5_write_rows(f, "images", GW_H5_U8, written, kept, packed);
    written += kept;
  }
  free(chunk);
  free(packed);
  return rc;
}

static json_t *counts_json(const columns *k, int64_t labels) {
  json_t *o = json_object();
  json_object_set_new(o, "images", json_integer(k->n_img));
  json_object_set_new(o, "objects", json_integer(k->n_obj));
  json_object_set_new(o, "refs", json_integer(k->n_ref));
  json_object_set_new(o, "sentences", json_integer(k->n_sent));
  json_object_set_new(o, "captions", json_integer(k->n_cap));
  json_object_set_new(o, "questions", json_integer(k->n_q));
  if (labels >= 0) json_object_set_new(o, "labels", json_integer(labels));
  return o;
}

// Pass 1 over a split's images: their paths, sizes, errors and (if they fit) pixels.
static int check_images(conv *c, const gw_rec_split *s, char ***paths_out, bool **is_h5_out,
                        img_state **st_out, uint8_t **mem_out) {
  int64_t n = s->n_images;
  size_t px = (size_t)c->S * c->S * 3;
  char **paths = alloc_n(n, sizeof *paths);
  bool *is_h5 = alloc_n(n, sizeof *is_h5);
  img_state *st = alloc_n(n, sizeof *st);
  for (int64_t k = 0; k < n; k++) {
    char p[4200], file[4200];
    int64_t row;
    image_path(c, s, s->images[k].file, p, sizeof p);
    paths[k] = gw_rec_strdup(p);
    is_h5[k] = gw_image_ref_h5(p, file, sizeof file, &row);
  }
  int64_t budget = (c->o->memory_mb > 0 ? c->o->memory_mb : 1024) << 20;
  uint8_t *mem = (int64_t)(n * px) <= budget ? malloc(n * px + 1) : NULL;
  double last = 0;
  for (int64_t start = 0; start < n; start += CHUNK) {
    int64_t count = n - start < CHUNK ? n - start : CHUNK;
    decode_range(paths, is_h5, st, start, count, c->S, c->pad,
                 mem ? mem + (size_t)start * px : NULL);
    if (!c->o->quiet && (start + count == n || start + count - last >= 2000)) {
      fprintf(stderr, "convert: %-9s %7lld / %lld images decoded\n", s->name,
              (long long)(start + count), (long long)n);
      last = (double)(start + count);
    }
  }
  *paths_out = paths;
  *is_h5_out = is_h5;
  *st_out = st;
  *mem_out = mem;
  // bad images: reported (or counted) with the annotation file and the image's id
  for (int64_t k = 0; k < n; k++) {
    const gw_rec_image *im = &s->images[k];
    int rc = 0;
    if (st[k].err) {
      rc = gw_rec_bad(&c->r, c->o->load.skip_bad, "%s: image %lld: %s", s->source,
                      (long long)im->id, st[k].err);
    } else if (im->width > 0 && im->height > 0 && (im->width != st[k].w || im->height != st[k].h)) {
      rc = gw_rec_bad(&c->r, c->o->load.skip_bad,
                      "%s: image %lld (%s): the annotations say %d x %d "
                      "pixels, the file has %d x %d (boxes would not fit it)",
                      s->source, (long long)im->id, paths[k], im->width, im->height, st[k].w,
                      st[k].h);
      st[k].err = gw_rec_strdup("size mismatch");
    }
    if (rc < 0) return -1;
  }
  return 0;
}

static void free_pass(char **paths, bool *is_h5, img_state *st, uint8_t *mem, int64_t n) {
  for (int64_t k = 0; paths && k < n; k++) {
    free(paths[k]);
    free(st[k].err);
  }
  free(paths);
  free(is_h5);
  free(st);
  free(mem);
}

static int build_vocab_from(conv *c, const columns *k) {
  gw_vocab_init(&c->vocab);
  gw_split_arrays a = arrays_of(k);
  gw_split_arrays_add_words(&c->vocab, &a);
  gw_vocab_sort(&c->vocab);
  c->vocab_ready = true;
  return 0;
}

static int convert_split(conv *c, const gw_rec_split *s) {
  char **paths = NULL;
  bool *is_h5 = NULL;
  img_state *st = NULL;
  uint8_t *mem = NULL;
  columns k = {0};
  int64_t *img_new = alloc_n(s->n_images, sizeof *img_new);
  gw_h5 *f = NULL;
  int rc = check_images(c, s, &paths, &is_h5, &st, &mem);
  if (rc == 0) rc = build_columns(c, s, st, img_new, &k);
  if (rc == 0 && k.n_img == 0) {
    fprintf(stderr, "gw data convert: warning: the split %s has no usable image; not written\n",
            s->name);
    goto done;
  }
  if (rc == 0 && !c->vocab_ready) {
    snprintf(c->vocab_source, sizeof c->vocab_source, "built from the %s split", s->name);
    build_vocab_from(c, &k);
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.h5", c->o->out, s->name);
  if (rc == 0 && !(f = gw_h5_create(path))) rc = -1;
  if (rc == 0)
    rc = gw_h5_create_array(f, "images", GW_H5_U8, 4, (int64_t[]){k.n_img, c->S, c->S, 3}, 256);
  if (rc == 0) rc = write_images(c, f, paths, is_h5, st, img_new, s->n_images, mem, 0);
  if (rc == 0) {
    gw_split_arrays a = arrays_of(&k);
    rc = gw_split_arrays_write(f, &a, &c->vocab, c->max_len);
  }
  if (rc == 0)
    rc = write_i64(f, "source/image_id", k.img_id, k.n_img) ||
                 gw_h5_write_array(f, "source/size", GW_H5_I32, 2, (int64_t[]){k.n_img, 2},
                                   k.img_size, 4096) ||
                 gw_h5_write_array(f, "source/letterbox", GW_H5_F32, 2, (int64_t[]){k.n_img, 4},
                                   k.img_lb, 4096) ||
                 write_i64(f, "source/object_id", k.obj_id, k.n_obj) ||
                 write_i64(f, "source/ref_id", k.ref_id, k.n_ref) ||
                 write_i64(f, "source/sent_id", k.sent_id, k.n_sent) ||
                 write_i64(f, "source/caption_id", k.cap_id, k.n_cap) ||
                 write_i64(f, "source/question_id", k.q_id, k.n_q)
             ? -1
             : 0;
  if (rc == 0) {
    gw_h5_set_attr_str(f, "", "split", s->name);
    gw_h5_set_attr_i64(f, "", "img_size", c->S);
    gw_h5_set_attr_str(f, "", "box_format", "x1y1x2y2 pixels (edges)");
    gw_h5_set_attr_str(f, "", "source_format", c->r.format);
    gw_h5_set_attr_str(f, "", "source_box_convention", c->r.box_convention);
    rc = gw_h5_close(f);
    f = NULL;
  }
  if (rc == 0) {
    json_t *o = json_object();
    json_object_set_new(o, "counts", counts_json(&k, -1));
    json_object_set_new(o, "source", json_string(s->source));
    json_object_set_new(c->meta_splits, s->name, o);
    fprintf(c->rep, "  %-10s %7lld %8lld %6lld %6lld %8lld %9lld\n", s->name, (long long)k.n_img,
            (long long)k.n_obj, (long long)k.n_ref, (long long)k.n_sent, (long long)k.n_cap,
            (long long)k.n_q);
  }
done:
  if (f) gw_h5_abandon(f);
  columns_free(&k);
  free(img_new);
  free_pass(paths, is_h5, st, mem, s->n_images);
  return rc;
}

// ---- CoOp: one images.h5 for every split, and the split file pointing at its rows ----

typedef struct split_pass {
  char **paths;
  bool *is_h5;
  img_state *st;
  uint8_t *mem;
  int64_t *img_new;  // image -> row of images.h5, or -1
} split_pass;

static int convert_classification(conv *c) {
  int n_splits = c->r.n_splits;
  split_pass *ps = calloc((size_t)n_splits + 1, sizeof *ps);
  GW_CHECK(ps, "data: out of memory");
  // pass 1 over every split: which images are usable, and so the rows of images.h5
  int64_t total = 0;
  int rc = 0;
  for (int sp = 0; sp < n_splits && rc == 0; sp++) {
    const gw_rec_split *s = &c->r.splits[sp];
    rc = check_images(c, s, &ps[sp].paths, &ps[sp].is_h5, &ps[sp].st, &ps[sp].mem);
    ps[sp].img_new = alloc_n(s->n_images, sizeof *ps[sp].img_new);
    for (int64_t k = 0; rc == 0 && k < s->n_images; k++)
      ps[sp].img_new[k] = ps[sp].st[k].err ? -1 : total++;
  }
  int32_t *labels = alloc_n(total, sizeof *labels), *part = alloc_n(total, sizeof *part);
  int32_t *sizes = alloc_n(total * 2, sizeof *sizes);
  float *lbs = alloc_n(total * 4, sizeof *lbs);
  json_t *doc = json_object();
  char path[4200];
  snprintf(path, sizeof path, "%s/images.h5", c->o->out);
  gw_h5 *f = NULL;
  if (rc == 0 && total == 0) {
    gw_set_error("%s: no usable image in any split", c->o->load.in);
    rc = -1;
  }
  if (rc == 0 && !(f = gw_h5_create(path))) rc = -1;
  if (rc == 0)
    rc = gw_h5_create_array(f, "images", GW_H5_U8, 4, (int64_t[]){total, c->S, c->S, 3}, 256);
  for (int sp = 0; sp < n_splits && rc == 0; sp++) {
    const gw_rec_split *s = &c->r.splits[sp];
    const split_pass *p = &ps[sp];
    int64_t first = -1, kept = 0;
    for (int64_t k = 0; k < s->n_images && first < 0; k++) first = p->img_new[k];
    if (first >= 0)
      rc = write_images(c, f, p->paths, p->is_h5, p->st, p->img_new, s->n_images, p->mem, first);
    json_t *list = json_array();
    for (int64_t k = 0; k < s->n_labels && rc == 0; k++) {  // one label per image, in image order
      int64_t im = s->labels[k].image, row = p->img_new[im];
      if (row < 0) continue;
      labels[row] = s->labels[k].label;
      part[row] = !strcmp(s->name, "train")  ? 0
                  : !strcmp(s->name, "val")  ? 1
                  : !strcmp(s->name, "test") ? 2
                                             : 3 + sp;
      sizes[2 * row] = p->st[im].w;
      sizes[2 * row + 1] = p->st[im].h;
      lbs[4 * row] = (float)p->st[im].lb.scale_x;
      lbs[4 * row + 1] = (float)p->st[im].lb.scale_y;
      lbs[4 * row + 2] = (float)p->st[im].lb.dx;
      lbs[4 * row + 3] = (float)p->st[im].lb.dy;
      char ref[64];
      snprintf(ref, sizeof ref, "images.h5:%lld", (long long)row);
      json_t *e = json_array();
      json_array_append_new(e, json_string(ref));
      json_array_append_new(e, json_integer(labels[row]));
      json_array_append_new(e, json_string(c->r.categories[labels[row]]));
      json_array_append_new(list, e);
      kept++;
    }
    json_object_set_new(doc, s->name, list);
    if (rc == 0) {
      json_t *o = json_object(), *counts = json_object();
      json_object_set_new(counts, "images", json_integer(kept));
      json_object_set_new(counts, "labels", json_integer(kept));
      json_object_set_new(o, "counts", counts);
      json_object_set_new(c->meta_splits, s->name, o);
      fprintf(c->rep, "  %-10s %7lld images with labels\n", s->name, (long long)kept);
    }
  }
  if (rc == 0) rc = gw_h5_write_array(f, "labels", GW_H5_I32, 1, &total, labels, 4096);
  if (rc == 0) rc = gw_h5_write_array(f, "split", GW_H5_I32, 1, &total, part, 4096);
  if (rc == 0)
    rc = gw_h5_write_array(f, "source/size", GW_H5_I32, 2, (int64_t[]){total, 2}, sizes, 4096);
  if (rc == 0)
    rc = gw_h5_write_array(f, "source/letterbox", GW_H5_F32, 2, (int64_t[]){total, 4}, lbs, 4096);
  if (f) rc = rc == 0 ? gw_h5_close(f) : (gw_h5_abandon(f), -1);
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/split_%s.json", c->o->out, c->r.dataset);
    rc = gw_json_save(path, doc);
    if (rc == 0)
      fprintf(c->rep, "  classes: %d; rows of images.h5 in %s\n", c->r.n_categories, path);
  }
  for (int sp = 0; sp < n_splits; sp++) {
    free_pass(ps[sp].paths, ps[sp].is_h5, ps[sp].st, ps[sp].mem, c->r.splits[sp].n_images);
    free(ps[sp].img_new);
  }
  free(ps);
  json_decref(doc);
  free(labels);
  free(part);
  free(sizes);
  free(lbs);
  return rc;
}

// ---- the whole conversion ----

static json_t *meta_json(const conv *c) {
  const gw_convert_opts *o = c->o;
  json_t *m = json_object(), *src = json_object(), *lb = json_object();
  json_object_set_new(m, "format",
                      json_string("groundwork data set: the HDF5 layout of "
                                  "datasets/sw_generate.h, converted by gw data convert"));
  json_object_set_new(src, "format", json_string(c->r.format));
  json_object_set_new(src, "dataset", json_string(c->r.dataset));
  if (c->r.split_by) json_object_set_new(src, "split_by", json_string(c->r.split_by));
  json_object_set_new(src, "in", json_string(o->load.in));
  if (o->load.refs) json_object_set_new(src, "refs", json_string(o->load.refs));
  json_object_set_new(src, "images", json_string(c->root));
  json_object_set_new(src, "box_convention", json_string(c->r.box_convention));
  json_object_set_new(m, "source", src);
  json_object_set_new(m, "img_size", json_integer(c->S));
  json_object_set_new(lb, "size", json_integer(c->S));
  json_object_set_new(lb, "pad", json_integer(c->pad));
  json_object_set_new(lb, "rule",
                      json_string("long side resized to size, aspect ratio kept, centred "
                                  "on the pad grey; x' = x * scale_x + dx, y' = y * "
                                  "scale_y + dy per image in source/letterbox"));
  json_object_set_new(m, "letterbox", lb);
  json_object_set_new(m, "box_format",
                      json_string("HDF5: x1, y1, x2, y2 in pixels (edges) of the "
                                  "letterboxed image"));
  json_object_set_new(m, "max_len", json_integer(c->max_len));
  json_object_set_new(m, "splits", json_incref(c->meta_splits));
  if (c->vocab_ready) {
    json_object_set_new(m, "vocab_size", json_integer(c->vocab.size));
    json_object_set_new(m, "vocab_source", json_string(c->vocab_source));
  }
  if (c->have_answers) json_object_set_new(m, "answers", json_integer(c->answers.size));
  json_t *cats = json_array();
  for (int k = 0; k < c->r.n_categories; k++) {
    json_t *e = json_object();
    json_object_set_new(e, "index", json_integer(k));
    if (c->r.category_ids) json_object_set_new(e, "id", json_integer(c->r.category_ids[k]));
    json_object_set_new(e, "name", json_string(c->r.categories[k]));
    json_array_append_new(cats, e);
  }
  json_object_set_new(m, strcmp(c->r.format, "coop") ? "categories" : "classes", cats);
  const gw_vocab *fams[2] = {&c->cap_fam, &c->q_fam};
  const char *fam_keys[2] = {"caption_families", "question_families"};
  for (int q = 0; q < 2; q++) {
    json_t *a = json_array();
    for (int k = 0; k < fams[q]->size; k++)
      json_array_append_new(a, json_string(fams[q]->words[k]));
    json_object_set_new(m, fam_keys[q], a);
  }
  json_t *types = json_array();  // the ids of questions/answer_type (-1: unknown)
  for (int k = 0; k < GW_N_ANSWER_TYPES; k++)
    json_array_append_new(types, json_string(gw_answer_type_names[k]));
  json_object_set_new(m, "answer_types", types);
  json_object_set_new(m, "skipped", json_integer(c->r.skipped));
  if (c->r.skipped) json_object_set_new(m, "first_skipped", json_string(c->r.first_skipped));
  return m;
}

static bool has_text(const gw_records *r) {
  for (int s = 0; s < r->n_splits; s++)
    if (r->splits[s].n_sents || r->splits[s].n_captions || r->splits[s].n_questions) return true;
  return false;
}

int gw_convert(const gw_convert_opts *o, gw_convert_result *res) {
  conv c;
  memset(&c, 0, sizeof c);
  c.o = o;
  c.S = o->size > 0 ? o->size : 64;
  c.pad = (uint8_t)(o->pad > 0 && o->pad < 256 ? o->pad : 127);
  c.max_len = o->max_len > 0 ? o->max_len : 20;
  c.rep = o->report ? o->report : stdout;
  if (res) memset(res, 0, sizeof *res);
  if (!o->load.in || !o->out) {
    gw_set_error("convert: an input (--in) and an output directory (--out) are required");
    return -1;
  }
  if (c.S < 8 || c.S > 4096) {
    gw_set_error("convert: a letterbox size of %d pixels is outside 8..4096", c.S);
    return -1;
  }
  if (o->images) snprintf(c.root, sizeof c.root, "%s", o->images);
  else if (gw_is_dir(o->load.in)) snprintf(c.root, sizeof c.root, "%s", o->load.in);
  else gw_path_dir(c.root, sizeof c.root, o->load.in);
  if (gw_load_format(o->format, &o->load, &c.r) < 0) return -1;
  int rc = gw_make_dirs(o->out);
  family_table(&c.cap_fam, &c.r, true);
  family_table(&c.q_fam, &c.r, false);
  bool any_q = false;
  for (int s = 0; s < c.r.n_splits; s++) any_q |= c.r.splits[s].n_questions > 0;
  if (rc == 0 && (o->answers || any_q)) {
    c.have_answers = true;
    if (o->answers) rc = load_lines(&c.answers, o->answers);
    else build_answers(&c);
  }
  if (rc == 0 && o->vocab) {
    rc = gw_vocab_load(&c.vocab, o->vocab);
    c.vocab_ready = rc == 0;
    snprintf(c.vocab_source, sizeof c.vocab_source, "%s", o->vocab);
  } else if (rc == 0 && !gw_records_split(&c.r, "train") && has_text(&c.r)) {
    // no training split: every split's text (said in meta.json and the summary)
    gw_vocab_init(&c.vocab);
    for (int s = 0; s < c.r.n_splits; s++) {
      const gw_rec_split *sp = &c.r.splits[s];
      char **texts = alloc_n(sp->n_sents + sp->n_captions + sp->n_questions, sizeof *texts);
      int64_t n = 0;
      for (int64_t k = 0; k < sp->n_sents; k++) texts[n++] = sp->sents[k].text;
      for (int64_t k = 0; k < sp->n_captions; k++) texts[n++] = sp->captions[k].text;
      for (int64_t k = 0; k < sp->n_questions; k++) texts[n++] = sp->questions[k].text;
      gw_split_arrays a = {.n_sent = n, .sent_text = texts};
      gw_split_arrays_add_words(&c.vocab, &a);
      free(texts);
    }
    gw_vocab_sort(&c.vocab);
    c.vocab_ready = true;
    snprintf(c.vocab_source, sizeof c.vocab_source,
             "built from every split (there is no train split)");
  }
  c.meta_splits = json_object();
  if (rc == 0) {
    fprintf(c.rep, "gw data convert: %s (data set %s%s%s) from %s\n", c.r.format, c.r.dataset,
            c.r.split_by ? ", split_by " : "", c.r.split_by ? c.r.split_by : "", o->load.in);
    fprintf(c.rep, "  source box convention: %s\n", c.r.box_convention);
    fprintf(c.rep,
            "  stored: x1, y1, x2, y2 pixel edges in a %d x %d letterbox (pad %d); "
            "source/letterbox maps them back\n",
            c.S, c.S, c.pad);
    if (!strcmp(c.r.format, "coop")) {
      rc = convert_classification(&c);
    } else {
      fprintf(c.rep, "  %-10s %7s %8s %6s %6s %8s %9s\n", "split", "images", "objects", "refs",
              "sents", "captions", "questions");
      for (int s = 0; s < c.r.n_splits && rc == 0; s++) rc = convert_split(&c, &c.r.splits[s]);
    }
  }
  char path[4200];
  if (rc == 0 && c.vocab_ready) {
    snprintf(path, sizeof path, "%s/vocab.txt", o->out);
    rc = gw_vocab_save(&c.vocab, path);
    if (rc == 0)
      fprintf(c.rep, "  vocabulary: %d tokens (%s) -> %s\n", c.vocab.size, c.vocab_source, path);
  }
  if (rc == 0 && c.have_answers) {
    snprintf(path, sizeof path, "%s/answers.txt", o->out);
    FILE *f = fopen(path, "w");
    if (!f) {
      gw_set_error("%s: cannot write the answers", path);
      rc = -1;
    } else {
      for (int k = 0; k < c.answers.size; k++) fprintf(f, "%s\n", c.answers.words[k]);
      rc = fclose(f) == 0 ? 0 : -1;
      fprintf(c.rep, "  answers: %d (%s)\n", c.answers.size,
              o->answers ? o->answers : "from train, by frequency");
    }
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/meta.json", o->out);
    json_t *m = meta_json(&c);
    rc = gw_json_save(path, m);  // last: its presence marks a complete data set
    json_decref(m);
    if (rc == 0) fprintf(c.rep, "  wrote %s\n", o->out);
  }
  if (c.r.skipped) {
    fprintf(stderr,
            "gw data convert: warning: skipped %lld bad record%s (--skip-bad); the first: %s\n",
            (long long)c.r.skipped, c.r.skipped == 1 ? "" : "s", c.r.first_skipped);
  }
  if (res) {
    res->skipped = c.r.skipped;
    snprintf(res->first_skipped, sizeof res->first_skipped, "%s", c.r.first_skipped);
  }
  json_decref(c.meta_splits);
  gw_vocab_free(&c.vocab);
  gw_vocab_free(&c.answers);
  gw_vocab_free(&c.cap_fam);
  gw_vocab_free(&c.q_fam);
  gw_records_free(&c.r);
  return rc;
}
