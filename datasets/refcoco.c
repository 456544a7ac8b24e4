// RefCOCO, RefCOCO+, RefCOCOg and RefClef in the refer API's files (shared/datasets.md §2.1):
// instances.json (COCO images, annotations, categories) and refs(<split_by>).p (a pickle of a
// list of refs: ref_id, ann_id, image_id, category_id, split, sent_ids, file_name,
// sentences [{sent, raw, tokens, sent_id}]).
//
// A split holds the images its refs point at (by ascending image id), every annotation of those
// images as an object (in file order), then the refs in file order with their sentences. The
// sentence text is `raw` (the original), else `sent`, else the tokens joined by spaces; it is
// tokenized later with the SimREC rule (datasets/vocab.h). Shapes-world exports add three
// optional fields that the refer API ignores: annotations' "sw_attrs" [shape, color, size,
// style], refs' "level" and "swap_of" (the partner's ref_id).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats.h"
#include "datasets/formats_json.h"
#include "datasets/pickle.h"
#include "tensor/error.h"

// An id whose record was bad (skip_bad): what refers to it is dropped without another count.
#define DROPPED (-2)

typedef struct img_info {
  int64_t id;
  const char *file;
  int w, h;
  bool ok;
} img_info;

typedef struct ann_info {
  int64_t id, img;  // img: index into the image table
  int32_t attrs[4];
  float box[4];
  bool ok;
} ann_info;

typedef struct ref_info {
  int64_t id, ann, swap_of_id;
  int split;  // index into the split names
  int32_t level;
  int64_t first_sent, n_sents;
} ref_info;

typedef struct sent_info {
  int64_t id;
  char *text;
} sent_info;

typedef struct cat_info {
  int64_t id;
  const char *name;
} cat_info;

static int cmp_cat(const void *a, const void *b) {
  const cat_info *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static const img_info *sort_images;
static int cmp_img_index(const void *a, const void *b) {
  int64_t x = sort_images[*(const int64_t *)a].id, y = sort_images[*(const int64_t *)b].id;
  return x < y ? -1 : x > y;
}

static const char *dataset_name(const gw_load_opts *o, const json_t *inst, const char *dir,
                                char *buf, int len) {
  if (o->dataset) return o->dataset;
  const char *desc = gw_json_str(json_object_get(inst, "info"), "description");
  if (desc && strstr(desc, "shapesworld")) return "shapesworld";
  snprintf(buf, (size_t)len, "%s", gw_path_base(dir));
  for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
  static const char *const known[] = {"refcoco", "refcoco+", "refcocog", "refclef"};
  for (size_t k = 0; k < 4; k++)
    if (!strcmp(buf, known[k])) return buf;
  return "unknown";
}

// The text of a sentence dict: raw, else sent, else the tokens joined. Malloc'ed, or NULL.
static char *sentence_text(const gw_pk *s) {
  const char *t = gw_pk_text(gw_pk_get(s, "raw"));
  if (!t || !gw_rec_has_words(t)) t = gw_pk_text(gw_pk_get(s, "sent"));
  if (t && gw_rec_has_words(t)) return gw_rec_strdup(t);
  const gw_pk *toks = gw_pk_get(s, "tokens");
  size_t n = gw_pk_len(toks), len = 1;
  for (size_t k = 0; k < n; k++) {
    const char *w = gw_pk_text(gw_pk_item(toks, k));
    len += w ? strlen(w) + 1 : 0;
  }
  char *out = calloc(len, 1);
  GW_CHECK(out, "data: out of memory");
  for (size_t k = 0; k < n; k++) {
    const char *w = gw_pk_text(gw_pk_item(toks, k));
    if (!w) continue;
    if (*out) strcat(out, " ");
    strcat(out, w);
  }
  return out;
}

static int load_images(gw_records *out, const gw_load_opts *o, const char *path, const json_t *arr,
                       img_info **imgs, size_t *n_imgs, gw_idmap *map) {
  if (!json_is_array(arr)) {
    gw_set_error("%s: no \"images\" list (is this a COCO instances.json?)", path);
    return -1;
  }
  *n_imgs = json_array_size(arr);
  *imgs = calloc(*n_imgs + 1, sizeof **imgs);
  GW_CHECK(*imgs, "data: out of memory");
  for (size_t k = 0; k < *n_imgs; k++) {
    const json_t *im = json_array_get(arr, k);
    img_info *ii = &(*imgs)[k];
    int64_t w = 0, h = 0;
    const char *file = gw_json_str(im, "file_name");
    if (!gw_json_int(json_object_get(im, "id"), &ii->id) || !file) {
      if (json_is_integer(json_object_get(im, "id"))) gw_idmap_put(map, ii->id, DROPPED);
      if (gw_rec_bad(out, o->skip_bad,
                     "%s: images[%zu]: needs an integer \"id\" and a "
                     "\"file_name\"",
                     path, k) < 0)
        return -1;
      continue;
    }
    if (gw_idmap_get(map, ii->id) != -1) {
      if (gw_rec_bad(out, o->skip_bad, "%s: images[%zu]: the id %lld appears twice", path, k,
                     (long long)ii->id) < 0)
        return -1;
      continue;
    }
    gw_json_int(json_object_get(im, "width"), &w);
    gw_json_int(json_object_get(im, "height"), &h);
    ii->file = file;
    ii->w = (int)w;
    ii->h = (int)h;
    ii->ok = true;
    gw_idmap_put(map, ii->id, (int64_t)k);
  }
  return 0;
}

static int load_categories(gw_records *out, const json_t *inst, const json_t *anns,
                           gw_idmap *cat_map) {
  const json_t *cats = json_object_get(inst, "categories");
  size_t n = json_is_array(cats) ? json_array_size(cats) : 0;
  cat_info *ci = calloc(n + 1, sizeof *ci);
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    const json_t *c = json_array_get(cats, k);
    if (!gw_json_int(json_object_get(c, "id"), &ci[m].id)) continue;
    ci[m++].name = gw_json_str(c, "name");
  }
  if (m == 0) {  // no category list: the ids the annotations use, named by number
    free(ci);
    n = json_array_size(anns);
    ci = calloc(n + 1, sizeof *ci);
    gw_idmap seen = {0};
    for (size_t k = 0; k < n; k++) {
      int64_t id;
      if (gw_json_int(json_object_get(json_array_get(anns, k), "category_id"), &id) &&
          gw_idmap_get(&seen, id) < 0) {
        gw_idmap_put(&seen, id, 1);
        ci[m++].id = id;
      }
    }
    gw_idmap_free(&seen);
  }
  qsort(ci, m, sizeof *ci, cmp_cat);
  out->n_categories = (int)m;
  out->categories = calloc(m + 1, sizeof *out->categories);
  out->category_ids = calloc(m + 1, sizeof *out->category_ids);
  GW_CHECK(ci && out->categories && out->category_ids, "data: out of memory");
  for (size_t k = 0; k < m; k++) {
    char name[64];
    snprintf(name, sizeof name, "category %lld", (long long)ci[k].id);
    out->categories[k] = gw_rec_strdup(ci[k].name ? ci[k].name : name);
    out->category_ids[k] = ci[k].id;
    gw_idmap_put(cat_map, ci[k].id, (int64_t)k);
  }
  free(ci);
  return 0;
}

static int load_annotations(gw_records *out, const gw_load_opts *o, const char *path,
                            const json_t *arr, const img_info *imgs, const gw_idmap *img_map,
                            const gw_idmap *cat_map, ann_info **anns, size_t *n_anns,
                            gw_idmap *ann_map) {
  if (!json_is_array(arr)) {
    gw_set_error("%s: no \"annotations\" list (is this a COCO instances.json?)", path);
    return -1;
  }
  *n_anns = json_array_size(arr);
  *anns = calloc(*n_anns + 1, sizeof **anns);
  GW_CHECK(*anns, "data: out of memory");
  for (size_t k = 0; k < *n_anns; k++) {
    const json_t *a = json_array_get(arr, k);
    ann_info *ai = &(*anns)[k];
    int64_t image_id, cat_id;
    const char *why = NULL;
    if (!gw_json_int(json_object_get(a, "id"), &ai->id)) {
      if (gw_rec_bad(out, o->skip_bad, "%s: annotations[%zu]: no integer \"id\"", path, k) < 0)
        return -1;
      continue;
    }
    if (!gw_json_int(json_object_get(a, "image_id"), &image_id) ||
        (ai->img = gw_idmap_get(img_map, image_id)) == -1) {
      why = "its image_id is not an image of the file";
    } else if (ai->img == DROPPED) {  // its image was a bad record: dropped with it
      gw_idmap_put(ann_map, ai->id, DROPPED);
      continue;
    } else if (!gw_json_int(json_object_get(a, "category_id"), &cat_id) ||
               gw_idmap_get(cat_map, cat_id) < 0) {
      why = "its category_id is not one of the categories";
    } else {
      gw_json_coco_box(json_object_get(a, "bbox"), ai->box, &why);
    }
    if (why) {
      gw_idmap_put(ann_map, ai->id, DROPPED);  // its refs go with it, uncounted
      if (gw_rec_bad(out, o->skip_bad, "%s: annotations[%zu] (id %lld): %s", path, k,
                     (long long)ai->id, why) < 0)
        return -1;
      continue;
    }
    ai->attrs[0] = (int32_t)gw_idmap_get(cat_map, cat_id);
    ai->attrs[1] = ai->attrs[2] = ai->attrs[3] = -1;
    const json_t *sw = json_object_get(a, "sw_attrs");
    if (json_is_array(sw) && json_array_size(sw) == 4)
      for (int q = 0; q < 4; q++) {
        int64_t v;
        if (gw_json_int(json_array_get(sw, (size_t)q), &v)) ai->attrs[q] = (int32_t)v;
      }
    ai->ok = true;
    gw_idmap_put(ann_map, ai->id, (int64_t)k);
  }
  return 0;
}

int gw_load_refcoco(const gw_load_opts *o, gw_records *out) {
  memset(out, 0, sizeof *out);
  char dir[4096], inst_path[4200], refs_path[4200], name_buf[64];
  if (gw_is_dir(o->in)) {
    snprintf(dir, sizeof dir, "%s", o->in);
    gw_path_join(inst_path, sizeof inst_path, dir, "instances.json");
  } else {
    gw_path_dir(dir, sizeof dir, o->in);
    snprintf(inst_path, sizeof inst_path, "%s", o->in);
  }
  if (o->refs) {
    snprintf(refs_path, sizeof refs_path, "%s", o->refs);
  } else {
    static const char *const names[] = {"refs(unc).p", "refs(umd).p", "refs(google).p"};
    refs_path[0] = '\0';
    for (int k = 0; k < 3 && !refs_path[0]; k++) {
      gw_path_join(refs_path, sizeof refs_path, dir, names[k]);
      if (!gw_is_file(refs_path)) refs_path[0] = '\0';
    }
    if (!refs_path[0]) {
      gw_set_error(
          "%s: no refs(unc).p, refs(umd).p or refs(google).p in this directory; pass the "
          "refs pickle with --refs FILE",
          dir);
      return -1;
    }
  }
  json_t *inst = gw_json_load(inst_path);
  if (!inst) return -1;
  out->format = gw_rec_strdup("refcoco");
  out->box_convention =
      "COCO [x, y, w, h]: top-left corner plus width and height, pixels (refer "
      "API getRefBox)";
  out->dataset = gw_rec_strdup(dataset_name(o, inst, dir, name_buf, sizeof name_buf));
  const char *base = gw_path_base(refs_path), *lp = strchr(base, '('), *rp = strrchr(base, ')');
  if (lp && rp && rp > lp + 1) {
    char sb[32];
    snprintf(sb, sizeof sb, "%.*s", (int)(rp - lp - 1), lp + 1);
    out->split_by = gw_rec_strdup(sb);
  }

  img_info *imgs = NULL;
  ann_info *anns = NULL;
  ref_info *refs = NULL;
  sent_info *sents = NULL;
  char **split_names = NULL;
  size_t n_imgs = 0, n_anns = 0, n_refs = 0, n_sents = 0, cap_sents = 0;
  int n_split_names = 0;
  gw_idmap img_map = {0}, ann_map = {0}, cat_map = {0};
  gw_pk *root = NULL;
  int rc = -1;
  if (load_images(out, o, inst_path, json_object_get(inst, "images"), &imgs, &n_imgs, &img_map) <
          0 ||
      load_categories(out, inst, json_object_get(inst, "annotations"), &cat_map) < 0 ||
      load_annotations(out, o, inst_path, json_object_get(inst, "annotations"), imgs, &img_map,
                       &cat_map, &anns, &n_anns, &ann_map) < 0)
    goto done;

  root = gw_pickle_load(refs_path);
  if (!root) goto done;
  if (root->type != GW_PK_LIST) {
    gw_set_error("%s: the pickle holds a %s, the refer API writes a list of refs", refs_path,
                 gw_pk_type_name(root->type));
    goto done;
  }
  n_refs = gw_pk_len(root);
  refs = calloc(n_refs + 1, sizeof *refs);
  split_names = calloc(n_refs + 1, sizeof *split_names);
  GW_CHECK(refs && split_names, "data: out of memory");
  size_t kept = 0;
  for (size_t k = 0; k < n_refs; k++) {
    const gw_pk *r = gw_pk_item(root, k);
    ref_info *ri = &refs[kept];
    int64_t ann_id, image_id = -1;
    const char *split = gw_pk_text(gw_pk_get(r, "split"));
    const gw_pk *ss = gw_pk_get(r, "sentences");
    const char *why = NULL;
    if (!gw_pk_int(gw_pk_get(r, "ref_id"), &ri->id)) ri->id = -1;
    if (r->type != GW_PK_DICT) why = "not a dict";
    else if (ri->id < 0) why = "no integer \"ref_id\"";
    else if (!gw_pk_int(gw_pk_get(r, "ann_id"), &ann_id)) why = "no integer \"ann_id\"";
    else if (!split || !*split) why = "no \"split\"";
    else if (!gw_pk_is_seq(ss)) why = "no \"sentences\" list";
    else if ((ri->ann = gw_idmap_get(&ann_map, ann_id)) == DROPPED)
      continue;  // its annotation was a bad record: dropped with it
    else if (ri->ann < 0)
      why = "its ann_id is not an annotation of instances.json";
    else if (gw_pk_int(gw_pk_get(r, "image_id"), &image_id) &&
             image_id != imgs[anns[ri->ann].img].id)
      why = "its image_id is not the image of its annotation";
    if (why) {
      if (gw_rec_bad(out, o->skip_bad, "%s: refs[%zu] (ref_id %lld): %s", refs_path, k,
                     (long long)ri->id, why) < 0)
        goto done;
      continue;
    }
    int64_t level = -1, swap = -1;
    gw_pk_int(gw_pk_get(r, "level"), &level);
    gw_pk_int(gw_pk_get(r, "swap_of"), &swap);
    ri->level = (int32_t)level;
    ri->swap_of_id = swap;
    ri->split = -1;
    for (int q = 0; q < n_split_names && ri->split < 0; q++)
      if (!strcmp(split_names[q], split)) ri->split = q;
    if (ri->split < 0) {
      split_names[n_split_names] = gw_rec_strdup(split);
      ri->split = n_split_names++;
    }
    ri->first_sent = (int64_t)n_sents;
    for (size_t q = 0; q < gw_pk_len(ss); q++) {
      const gw_pk *s = gw_pk_item(ss, q);
      int64_t sid = -1;
      gw_pk_int(gw_pk_get(s, "sent_id"), &sid);
      char *text = s && s->type == GW_PK_DICT ? sentence_text(s) : NULL;
      if (!text || !gw_rec_has_words(text)) {
        free(text);
        if (gw_rec_bad(out, o->skip_bad,
                       "%s: refs[%zu] (ref_id %lld), sentence %zu (sent_id "
                       "%lld): empty expression (no words in raw, sent or tokens)",
                       refs_path, k, (long long)ri->id, q, (long long)sid) < 0)
          goto done;
        continue;
      }
      if (n_sents == cap_sents) {
        cap_sents = cap_sents ? 2 * cap_sents : 1024;
        sents = realloc(sents, cap_sents * sizeof *sents);
        GW_CHECK(sents, "data: out of memory");
      }
      sents[n_sents].id = sid;
      sents[n_sents++].text = text;
    }
    ri->n_sents = (int64_t)n_sents - ri->first_sent;
    if (ri->n_sents > 0) kept++;  // a ref whose sentences were all dropped goes too
  }
  n_refs = kept;

  // one split per split name: its images, their objects, its refs
  int64_t *img_row = malloc((n_imgs + 1) * sizeof *img_row),
          *obj_row = malloc((n_anns + 1) * sizeof *obj_row);
  int64_t *order = malloc((n_imgs + 1) * sizeof *order);
  GW_CHECK(img_row && obj_row && order, "data: out of memory");
  for (int sp = 0; sp < n_split_names; sp++) {
    for (size_t k = 0; k < n_imgs; k++) img_row[k] = -1;
    for (size_t k = 0; k < n_anns; k++) obj_row[k] = -1;
    size_t n_used = 0;
    for (size_t k = 0; k < n_refs; k++) {
      int64_t im = anns[refs[k].ann].img;
      if (refs[k].split == sp && img_row[im] < 0) {
        img_row[im] = 0;
        order[n_used++] = im;
      }
    }
    if (n_used == 0) continue;  // every ref of the split was dropped
    gw_rec_split *s = gw_records_split_add(out, split_names[sp], inst_path);
    sort_images = imgs;
    qsort(order, n_used, sizeof *order, cmp_img_index);
    for (size_t k = 0; k < n_used; k++) {
      const img_info *ii = &imgs[order[k]];
      img_row[order[k]] = (int64_t)k;
      gw_rec_image *gi = GW_REC_PUSH(s, images);
      gi->id = ii->id;
      gi->file = gw_rec_strdup(ii->file);
      gi->width = ii->w;
      gi->height = ii->h;
    }
    for (size_t k = 0; k < n_anns; k++) {
      if (!anns[k].ok || img_row[anns[k].img] < 0) continue;
      obj_row[k] = s->n_objects;
      gw_rec_object *go = GW_REC_PUSH(s, objects);
      go->id = anns[k].id;
      go->image = img_row[anns[k].img];
      memcpy(go->box, anns[k].box, sizeof go->box);
      memcpy(go->attrs, anns[k].attrs, sizeof go->attrs);
    }
    gw_idmap ref_rows = {0};
    for (size_t k = 0; k < n_refs; k++) {
      const ref_info *ri = &refs[k];
      if (ri->split != sp) continue;
      gw_idmap_put(&ref_rows, ri->id, s->n_refs);
      gw_rec_ref *gr = GW_REC_PUSH(s, refs);
      gr->id = ri->id;
      gr->object = obj_row[ri->ann];
      gr->image = img_row[anns[ri->ann].img];
      gr->level = ri->level;
      gr->swap_of = ri->swap_of_id;  // resolved below
      for (int64_t q = 0; q < ri->n_sents; q++) {
        gw_rec_sent *gs = GW_REC_PUSH(s, sents);
        gs->id = sents[ri->first_sent + q].id;
        gs->ref = s->n_refs - 1;
        gs->text = sents[ri->first_sent + q].text;
        sents[ri->first_sent + q].text = NULL;
      }
    }
    for (int64_t k = 0; k < s->n_refs; k++)
      s->refs[k].swap_of =
          s->refs[k].swap_of >= 0 ? gw_idmap_get(&ref_rows, s->refs[k].swap_of) : -1;
    gw_idmap_free(&ref_rows);
  }
  free(img_row);
  free(obj_row);
  free(order);
  gw_records_sort(out);
  rc = 0;
done:
  for (size_t k = 0; k < n_sents; k++) free(sents[k].text);
  for (int k = 0; k < n_split_names; k++) free(split_names[k]);
  free(split_names);
  free(sents);
  free(refs);
  free(anns);
  free(imgs);
  gw_idmap_free(&img_map);
  gw_idmap_free(&ann_map);
  gw_idmap_free(&cat_map);
  gw_pk_free(root);
  json_decref(inst);
  if (rc < 0) gw_records_free(out);
  return rc;
}
