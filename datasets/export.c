// The standard-format exports of a shapes-world data set, built from the generator's own
// annotation files (<split>/scenes.jsonl, refs.jsonl, captions.json).
#include "datasets/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats_json.h"
#include "datasets/pickle.h"
#include "datasets/sw.h"
#include "datasets/sw_text.h"
#include "datasets/vocab.h"
#include "tensor/error.h"
#include "tensor/h5io.h"

typedef struct exporter {
  const char *dir;
  json_t *images, *anns;  // instances.json
  gw_pk *refs;  // refs(unc).p
  json_t *simrec;  // {split: [...]}
  json_t *karpathy;  // images of dataset_shapesworld.json
  json_t *index_vqa, *index_captions;
  int64_t karpathy_imgid;
} exporter;

static int name_index(const char *const *names, int n, const char *name) {
  for (int k = 0; name && k < n; k++)
    if (!strcmp(names[k], name)) return k;
  return -1;
}

// Reads a JSON Lines file, calling fn for each line's object.
static int read_jsonl(const char *path, int (*fn)(exporter *, json_t *, const char *, int, void *),
                      exporter *ex, void *ctx) {
  FILE *f = fopen(path, "r");
  if (!f) {
    gw_set_error("%s: no such file (was the data set generated completely?)", path);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  int lineno = 0, rc = 0;
  while (rc == 0 && getline(&line, &cap, f) > 0) {
    lineno++;
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    if (!o || !json_is_object(o)) {
      gw_set_error("%s:%d:%d: malformed JSON line (%s)", path, lineno, err.column,
                   o ? "not an object" : err.text);
      rc = -1;
    } else {
      rc = fn(ex, o, path, lineno, ctx);
    }
    json_decref(o);
  }
  free(line);
  fclose(f);
  return rc;
}

typedef struct split_ctx {
  int s;  // index in sw_split_names
  const char *name;
  int W;
  int64_t n_images;
  json_t *simrec_list;
  // per image: objects' COCO boxes and shapes, for the refs
  json_t **objects;  // per image: its "objects" array (kept alive)
  int64_t cap;
} split_ctx;

static int64_t image_gid(const split_ctx *c, int64_t i) {
  return (int64_t)c->s * SW_EXPORT_SPLIT_STRIDE + i;
}

static int on_scene(exporter *ex, json_t *line, const char *path, int lineno, void *vctx) {
  split_ctx *c = vctx;
  int64_t i;
  json_t *objs = json_object_get(line, "objects");
  if (!gw_json_int(json_object_get(line, "image_id"), &i) || i < 0 || !json_is_array(objs)) {
    gw_set_error("%s:%d: a scene line needs \"image_id\" and \"objects\"", path, lineno);
    return -1;
  }
  if (i >= c->cap) {
    int64_t old = c->cap;
    c->cap = 2 * (i + 1);
    c->objects = realloc(c->objects, (size_t)c->cap * sizeof *c->objects);
    GW_CHECK(c->objects, "data: out of memory");
    memset(c->objects + old, 0, (size_t)(c->cap - old) * sizeof *c->objects);
  }
  c->objects[i] = json_incref(objs);
  if (i + 1 > c->n_images) c->n_images = i + 1;
  int64_t gid = image_gid(c, i);
  char file[64];
  snprintf(file, sizeof file, "%s/%06lld.png", c->name, (long long)i);
  json_t *im = json_object();
  json_object_set_new(im, "id", json_integer(gid));
  json_object_set_new(im, "file_name", json_string(file));
  json_object_set_new(im, "width", json_integer(c->W));
  json_object_set_new(im, "height", json_integer(c->W));
  json_object_set_new(im, "split", json_string(c->name));
  json_array_append_new(ex->images, im);
  for (size_t j = 0; j < json_array_size(objs); j++) {
    const json_t *o = json_array_get(objs, j);
    const json_t *bbox = json_object_get(o, "bbox");
    int attrs[4] = {name_index(sw_shape_names, SW_N_SHAPES, gw_json_str(o, "shape")),
                    name_index(sw_color_names, SW_N_COLORS, gw_json_str(o, "color")),
                    name_index(sw_size_names, SW_N_SIZES, gw_json_str(o, "size")),
                    name_index(sw_style_names, SW_N_STYLES, gw_json_str(o, "style"))};
    if (attrs[0] < 0 || attrs[1] < 0 || attrs[2] < 0 || attrs[3] < 0 ||
        json_array_size(bbox) != 4) {
      gw_set_error("%s:%d: object %zu has an unknown attribute or no bbox", path, lineno, j);
      return -1;
    }
    json_t *a = json_object(), *b = json_array(), *seg = json_array(), *sw = json_array();
    for (int k = 0; k < 4; k++) {
      double v;
      gw_json_num(json_array_get(bbox, (size_t)k), &v);
      json_array_append_new(b, json_real(v));
      json_array_append_new(sw, json_integer(attrs[k]));
    }
    json_array_append(seg, json_object_get(o, "poly"));
    json_object_set_new(a, "id", json_integer(gid * SW_MAX_OBJ + (int64_t)j));
    json_object_set_new(a, "image_id", json_integer(gid));
    json_object_set_new(a, "category_id", json_integer(attrs[0] + 1));
    json_object_set_new(a, "bbox", b);
    json_object_set_new(a, "segmentation", seg);
    json_object_set(a, "area", json_object_get(o, "area"));
    json_object_set_new(a, "iscrowd", json_integer(0));
    json_object_set_new(a, "sw_attrs", sw);
    json_array_append_new(ex->anns, a);
  }
  return 0;
}

static gw_pk *pk_key(const char *k) { return gw_pk_bytes(k); }

static int on_ref(exporter *ex, json_t *line, const char *path, int lineno, void *vctx) {
  split_ctx *c = vctx;
  int64_t row, i, ann, level = -1, swap = -1;
  json_t *sents = json_object_get(line, "sentences");
  if (!gw_json_int(json_object_get(line, "ref_id"), &row) ||
      !gw_json_int(json_object_get(line, "image_id"), &i) ||
      !gw_json_int(json_object_get(line, "ann_id"), &ann) || !json_is_array(sents) || i < 0 ||
      i >= c->n_images || !c->objects[i]) {
    gw_set_error("%s:%d: a ref line needs ref_id, image_id (of a scene), ann_id and sentences",
                 path, lineno);
    return -1;
  }
  gw_json_int(json_object_get(line, "level"), &level);
  bool has_swap = gw_json_int(json_object_get(line, "swap_of"), &swap);
  int64_t j = ann - i * SW_MAX_OBJ;  // refs.jsonl: ann_id = image_id * 16 + object
  const json_t *obj = json_array_get(c->objects[i], (size_t)j);
  if (!obj) {
    gw_set_error("%s:%d: ann_id %lld is not an object of image %lld", path, lineno, (long long)ann,
                 (long long)i);
    return -1;
  }
  int shape = name_index(sw_shape_names, SW_N_SHAPES, gw_json_str(obj, "shape"));
  int64_t gid = image_gid(c, i), ann_gid = gid * SW_MAX_OBJ + j;
  int64_t ref_gid = (int64_t)c->s * SW_EXPORT_SPLIT_STRIDE + row;
  char file[64];
  snprintf(file, sizeof file, "%s/%06lld.png", c->name, (long long)i);
  // refer API ref
  gw_pk *r = gw_pk_dict(), *ps = gw_pk_list(), *ids = gw_pk_list();
  gw_pk_set(r, pk_key("ref_id"), gw_pk_new_int(ref_gid));
  gw_pk_set(r, pk_key("ann_id"), gw_pk_new_int(ann_gid));
  gw_pk_set(r, pk_key("image_id"), gw_pk_new_int(gid));
  gw_pk_set(r, pk_key("split"), gw_pk_bytes(c->name));
  json_t *texts = json_array();
  for (size_t k = 0; k < json_array_size(sents); k++) {
    const char *raw = json_string_value(json_array_get(sents, k));
    if (!raw) {
      gw_set_error("%s:%d: sentence %zu is not a string", path, lineno, k);
      gw_pk_free(r);
      gw_pk_free(ps);
      gw_pk_free(ids);
      json_decref(texts);
      return -1;
    }
    char words[64][GW_MAX_WORD], sent[2048] = "";
    int nw = gw_tokenize(raw, words, 64);
    gw_pk *toks = gw_pk_list(), *s = gw_pk_dict();
    for (int w = 0; w < nw && w < 64; w++) {
      gw_pk_append(toks, gw_pk_bytes(words[w]));
      if (w) strncat(sent, " ", sizeof sent - strlen(sent) - 1);
      strncat(sent, words[w], sizeof sent - strlen(sent) - 1);
    }
    int64_t sid = ref_gid * SW_MAX_SENTS + (int64_t)k;
    gw_pk_set(s, pk_key("tokens"), toks);
    gw_pk_set(s, pk_key("raw"), gw_pk_bytes(raw));
    gw_pk_set(s, pk_key("sent_id"), gw_pk_new_int(sid));
    gw_pk_set(s, pk_key("sent"), gw_pk_bytes(sent));
    gw_pk_append(ps, s);
    gw_pk_append(ids, gw_pk_new_int(sid));
    json_array_append_new(texts, json_string(raw));
  }
  gw_pk_set(r, pk_key("sentences"), ps);
  gw_pk_set(r, pk_key("category_id"), gw_pk_new_int(shape + 1));
  gw_pk_set(r, pk_key("sent_ids"), ids);
  gw_pk_set(r, pk_key("file_name"), gw_pk_bytes(file));
  gw_pk_set(r, pk_key("level"), gw_pk_new_int(level));
  if (has_swap)
    gw_pk_set(r, pk_key("swap_of"), gw_pk_new_int((int64_t)c->s * SW_EXPORT_SPLIT_STRIDE + swap));
  gw_pk_append(ex->refs, r);
  // SimREC: one entry per ref in train, one per sentence elsewhere
  const json_t *bbox = json_object_get(obj, "bbox");
  size_t entries = c->s == SW_TRAIN ? 1 : json_array_size(texts);
  for (size_t e = 0; e < entries; e++) {
    json_t *en = json_object(), *b = json_array(), *refs = json_array();
    for (int k = 0; k < 4; k++) {
      double v;
      gw_json_num(json_array_get(bbox, (size_t)k), &v);
      json_array_append_new(b, json_real(v));
    }
    if (c->s == SW_TRAIN) json_array_extend(refs, texts);
    else json_array_append(refs, json_array_get(texts, e));
    json_object_set_new(en, "iid", json_integer(gid));
    json_object_set_new(en, "bbox", b);
    json_object_set_new(en, "cat_id", json_integer(shape + 1));
    json_object_set_new(en, "refs", refs);
    json_object_set_new(en, "mask_id", json_integer(ann_gid));
    json_object_set_new(en, "ref_id", json_integer(ref_gid));
    json_object_set_new(en, "file_name", json_string(file));
    json_object_set_new(en, "level", json_integer(level));
    json_array_append_new(c->simrec_list, en);
  }
  json_decref(texts);
  return 0;
}

static int export_captions(exporter *ex, split_ctx *c, const char *path) {
  json_t *doc = gw_json_load(path);
  if (!doc) return -1;
  const json_t *images = json_object_get(doc, "images"),
               *anns = json_object_get(doc, "annotations");
  if (!json_is_array(images) || !json_is_array(anns)) {
    gw_set_error("%s: a COCO captions file needs \"images\" and \"annotations\"", path);
    json_decref(doc);
    return -1;
  }
  size_t n = json_array_size(images);
  json_t **entries = calloc(n + 1, sizeof *entries);
  gw_idmap rows = {0};
  for (size_t k = 0; k < n; k++) {
    int64_t i;
    if (!gw_json_int(json_object_get(json_array_get(images, k), "id"), &i)) continue;
    gw_idmap_put(&rows, i, (int64_t)k);
    json_t *im = json_object();
    char fname[32];
    snprintf(fname, sizeof fname, "%06lld.png", (long long)i);
    json_object_set_new(im, "filepath", json_string(c->name));
    json_object_set_new(im, "filename", json_string(fname));
    json_object_set_new(im, "imgid", json_integer(ex->karpathy_imgid + (int64_t)k));
    json_object_set_new(im, "cocoid", json_integer(image_gid(c, i)));
    json_object_set_new(im, "split", json_string(c->name));
    json_object_set_new(im, "sentids", json_array());
    json_object_set_new(im, "sentences", json_array());
    entries[k] = im;
  }
  int rc = 0;
  for (size_t k = 0; k < json_array_size(anns) && rc == 0; k++) {
    const json_t *a = json_array_get(anns, k);
    int64_t i, id;
    const char *text = gw_json_str(a, "caption");
    int64_t row = gw_json_int(json_object_get(a, "image_id"), &i) ? gw_idmap_get(&rows, i) : -1;
    if (row < 0 || !text || !gw_json_int(json_object_get(a, "id"), &id)) {
      gw_set_error("%s: annotations[%zu] needs an id, a known image_id and a caption", path, k);
      rc = -1;
      break;
    }
    json_t *im = entries[row], *s = json_object(), *toks = json_array();
    char words[64][GW_MAX_WORD];
    int nw = gw_tokenize(text, words, 64);
    for (int w = 0; w < nw && w < 64; w++) json_array_append_new(toks, json_string(words[w]));
    int64_t sid = (int64_t)c->s * SW_EXPORT_SPLIT_STRIDE + id;
    json_object_set_new(s, "tokens", toks);
    json_object_set_new(s, "raw", json_string(text));
    json_object_set(s, "imgid", json_object_get(im, "imgid"));
    json_object_set_new(s, "sentid", json_integer(sid));
    if (gw_json_str(a, "family")) json_object_set(s, "family", json_object_get(a, "family"));
    json_array_append_new(json_object_get(im, "sentences"), s);
    json_array_append_new(json_object_get(im, "sentids"), json_integer(sid));
  }
  for (size_t k = 0; k < n; k++)
    if (entries[k]) json_array_append_new(ex->karpathy, entries[k]);
  ex->karpathy_imgid += (int64_t)n;
  free(entries);
  gw_idmap_free(&rows);
  json_decref(doc);
  return rc;
}

static int image_size(const char *dir, const char *split) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.h5", dir, split);
  int64_t W = 64;
  gw_h5 *f = gw_h5_open(path);
  if (f) {
    gw_h5_get_attr_i64(f, "", "img_size", &W);
    gw_h5_close(f);
  }
  gw_clear_error();
  return (int)W;
}

int sw_export(const char *dataset_dir, const sw_export_opts *o) {
  exporter ex = {.dir = dataset_dir};
  ex.images = json_array();
  ex.anns = json_array();
  ex.refs = gw_pk_list();
  ex.simrec = json_object();
  ex.karpathy = json_array();
  ex.index_vqa = json_object();
  ex.index_captions = json_object();
  int rc = 0, n_splits = 0;
  char path[4200];
  for (int s = 0; s < SW_N_SPLITS && rc == 0; s++) {
    const char *name = sw_split_names[s];
    snprintf(path, sizeof path, "%s/%s/scenes.jsonl", dataset_dir, name);
    if (!gw_is_file(path)) continue;
    n_splits++;
    split_ctx c = {.s = s, .name = name, .W = image_size(dataset_dir, name)};
    c.simrec_list = json_array();
    rc = read_jsonl(path, on_scene, &ex, &c);
    snprintf(path, sizeof path, "%s/%s/refs.jsonl", dataset_dir, name);
    if (rc == 0) rc = read_jsonl(path, on_ref, &ex, &c);
    json_object_set_new(ex.simrec, name, c.simrec_list);
    snprintf(path, sizeof path, "%s/%s/captions.json", dataset_dir, name);
    if (rc == 0 && gw_is_file(path)) {
      rc = export_captions(&ex, &c, path);
      snprintf(path, sizeof path, "%s/captions.json", name);
      json_object_set_new(ex.index_captions, name, json_string(path));
    }
    char q[4200], a[4200];
    snprintf(q, sizeof q, "%s/%s/questions.json", dataset_dir, name);
    snprintf(a, sizeof a, "%s/%s/annotations.json", dataset_dir, name);
    if (gw_is_file(q) && gw_is_file(a)) {
      json_t *e = json_object();
      snprintf(q, sizeof q, "%s/questions.json", name);
      snprintf(a, sizeof a, "%s/annotations.json", name);
      json_object_set_new(e, "questions", json_string(q));
      json_object_set_new(e, "annotations", json_string(a));
      json_object_set_new(ex.index_vqa, name, e);
    }
    for (int64_t i = 0; i < c.cap; i++) json_decref(c.objects[i]);
    free(c.objects);
  }
  if (rc == 0 && n_splits == 0) {
    gw_set_error("%s: no <split>/scenes.jsonl here: not a generated shapes-world data set",
                 dataset_dir);
    rc = -1;
  }
  // refcoco
  snprintf(path, sizeof path, "%s/export/refcoco", dataset_dir);
  if (rc == 0) rc = gw_make_dirs(path);
  if (rc == 0) {
    json_t *inst = json_object(), *info = json_object(), *cats = json_array();
    json_object_set_new(info, "description",
                        json_string("shapesworld: RefCOCO-format export of a "
                                    "generated data set (gw data synth)"));
    json_object_set_new(info, "version", json_string("1"));
    json_object_set_new(info, "sw_version", json_integer(SW_VERSION));
    for (int k = 0; k < SW_N_SHAPES; k++) {
      json_t *cat = json_object();
      json_object_set_new(cat, "id", json_integer(k + 1));
      json_object_set_new(cat, "name", json_string(sw_shape_names[k]));
      json_object_set_new(cat, "supercategory", json_string("shape"));
      json_array_append_new(cats, cat);
    }
    json_object_set_new(inst, "info", info);
    json_object_set_new(inst, "licenses", json_array());
    json_object_set(inst, "images", ex.images);
    json_object_set(inst, "annotations", ex.anns);
    json_object_set_new(inst, "categories", cats);
    snprintf(path, sizeof path, "%s/export/refcoco/instances.json", dataset_dir);
    rc = gw_json_save(path, inst);
    json_decref(inst);
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/export/refcoco/refs(unc).p", dataset_dir);
    rc = gw_pickle_save(ex.refs, o->pickle_protocol, path);
  }
  // simrec
  snprintf(path, sizeof path, "%s/export/simrec/anns", dataset_dir);
  if (rc == 0) rc = gw_make_dirs(path);
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/export/simrec/anns/shapesworld.json", dataset_dir);
    rc = gw_json_save(path, ex.simrec);
  }
  // karpathy
  snprintf(path, sizeof path, "%s/export/karpathy", dataset_dir);
  if (rc == 0) rc = gw_make_dirs(path);
  if (rc == 0) {
    json_t *doc = json_object();
    json_object_set_new(doc, "dataset", json_string("shapesworld"));
    json_object_set(doc, "images", ex.karpathy);
    snprintf(path, sizeof path, "%s/export/karpathy/dataset_shapesworld.json", dataset_dir);
    rc = gw_json_save(path, doc);
    json_decref(doc);
  }
  if (rc == 0) {
    json_t *idx = json_object(), *ref = json_object(), *coop = json_object();
    json_object_set_new(idx, "images",
                        json_string("png/<split>/%06d.png, written by gw data synth "
                                    "--png; pass --images <dataset>/png to gw data "
                                    "convert"));
    json_object_set_new(idx, "ids",
                        json_string("image id = split index * 10^7 + index in the split; "
                                    "annotation id = image id * 16 + object; ref id = "
                                    "split index * 10^7 + ref row; sentence id = ref id "
                                    "* 4 + k"));
    json_object_set_new(ref, "instances", json_string("export/refcoco/instances.json"));
    json_object_set_new(ref, "refs", json_string("export/refcoco/refs(unc).p"));
    json_object_set_new(ref, "pickle_protocol", json_integer(o->pickle_protocol));
    json_object_set_new(idx, "refcoco", ref);
    json_object_set_new(idx, "simrec", json_string("export/simrec/anns/shapesworld.json"));
    json_object_set_new(idx, "karpathy", json_string("export/karpathy/dataset_shapesworld.json"));
    json_object_set(idx, "vqa_v2", ex.index_vqa);
    json_object_set(idx, "coco_captions", ex.index_captions);
    for (int t = 0; t < SW_N_FS_TASKS; t++) {
      char rel[256];
      snprintf(rel, sizeof rel, "fewshot/%s/split_sw_%s.json", sw_fewshot_task_names[t],
               sw_fewshot_task_names[t]);
      snprintf(path, sizeof path, "%s/%s", dataset_dir, rel);
      if (gw_is_file(path)) json_object_set_new(coop, sw_fewshot_task_names[t], json_string(rel));
    }
    json_object_set_new(idx, "coop", coop);
    snprintf(path, sizeof path, "%s/export/index.json", dataset_dir);
    rc = gw_json_save(path, idx);
    json_decref(idx);
  }
  if (rc == 0 && !o->quiet)
    fprintf(stderr, "data: wrote the exports (RefCOCO, SimREC, Karpathy) to %s/export\n",
            dataset_dir);
  json_decref(ex.images);
  json_decref(ex.anns);
  gw_pk_free(ex.refs);
  json_decref(ex.simrec);
  json_decref(ex.karpathy);
  json_decref(ex.index_vqa);
  json_decref(ex.index_captions);
  return rc;
}

int sw_export_all(const char *dataset_dir) {
  sw_export_opts o = {.pickle_protocol = 2, .quiet = true};
  return sw_export(dataset_dir, &o);
}
