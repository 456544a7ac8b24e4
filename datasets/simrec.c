// SimREC's preprocessed annotations (data/data_process.py -> anns/<dataset>.json, shared/
// datasets.md §2.1): {"train": [{iid, bbox: [x, y, w, h], cat_id, refs: [sent, ...], mask_id},
// ...], "val": [...], ...}. Train entries hold every sentence of a ref; val and test hold one
// entry per sentence. Images are found by id, COCO_train2014_%012d.jpg by default.
//
// A split holds the images its entries name (by ascending id), one object per distinct mask_id
// of an image (SimREC carries only the referred objects), and one ref per entry, or per
// "ref_id" when entries carry one (shapes-world exports add "ref_id", "file_name" and "level").
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats.h"
#include "datasets/formats_json.h"
#include "tensor/error.h"

typedef struct entry {
  int64_t iid, mask_id, cat_id, ref_id;
  int32_t level;
  float box[4];
  const char *file;
  const json_t *refs;
} entry;

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_pair(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

int gw_load_simrec(const gw_load_opts *o, gw_records *out) {
  memset(out, 0, sizeof *out);
  json_t *doc = gw_json_load(o->in);
  if (!doc) return -1;
  const char *path = o->in,
             *pattern = o->image_pattern ? o->image_pattern : "COCO_train2014_{id:012}.jpg";
  out->format = gw_rec_strdup("simrec");
  out->box_convention =
      "COCO [x, y, w, h]: top-left corner plus width and height, pixels (SimREC anns)";
  const char *base = gw_path_base(path);
  char name[256];
  snprintf(name, sizeof name, "%s", base);
  char *dot = strrchr(name, '.');
  if (dot) *dot = '\0';
  out->dataset = gw_rec_strdup(o->dataset ? o->dataset : name);
  if (!json_is_object(doc)) {
    gw_set_error("%s: expected an object of splits ({\"train\": [...], \"val\": [...]})", path);
    json_decref(doc);
    gw_records_free(out);
    return -1;
  }
  // categories: the cat_ids in use, sorted
  gw_idmap cat_map = {0};
  int64_t *cat_ids = NULL, n_cats = 0, cap_cats = 0;
  const char *split_name;
  json_t *list;
  json_object_foreach(doc, split_name, list) {
    for (size_t k = 0; json_is_array(list) && k < json_array_size(list); k++) {
      int64_t c;
      if (gw_json_int(json_object_get(json_array_get(list, k), "cat_id"), &c) &&
          gw_idmap_get(&cat_map, c) < 0) {
        gw_idmap_put(&cat_map, c, 0);
        gw_rec_grow((void **)&cat_ids, &cap_cats, n_cats + 1, sizeof *cat_ids);
        cat_ids[n_cats++] = c;
      }
    }
  }
  qsort(cat_ids, (size_t)n_cats, sizeof *cat_ids, cmp_i64);
  out->n_categories = (int)n_cats;
  out->categories = calloc((size_t)n_cats + 1, sizeof *out->categories);
  out->category_ids = calloc((size_t)n_cats + 1, sizeof *out->category_ids);
  GW_CHECK(out->categories && out->category_ids, "data: out of memory");
  for (int64_t k = 0; k < n_cats; k++) {
    char cname[64];
    snprintf(cname, sizeof cname, "category %lld", (long long)cat_ids[k]);
    out->categories[k] = gw_rec_strdup(cname);
    out->category_ids[k] = cat_ids[k];
    gw_idmap_put(&cat_map, cat_ids[k], k);
  }
  free(cat_ids);

  int rc = 0;
  entry *ents = NULL;
  int64_t cap_ents = 0;
  json_object_foreach(doc, split_name, list) {
    if (!json_is_array(list)) {
      gw_set_error("%s: the split \"%s\" is not a list of entries", path, split_name);
      rc = -1;
      break;
    }
    size_t n = json_array_size(list);
    int64_t n_ents = 0;
    bool has_ref_ids = true;
    for (size_t k = 0; k < n && rc == 0; k++) {
      const json_t *e = json_array_get(list, k);
      gw_rec_grow((void **)&ents, &cap_ents, n_ents + 1, sizeof *ents);
      entry *en = &ents[n_ents];
      memset(en, 0, sizeof *en);
      const char *why = NULL;
      int64_t level = -1;
      if (!gw_json_int(json_object_get(e, "iid"), &en->iid)) why = "no integer \"iid\"";
      else if (!gw_json_coco_box(json_object_get(e, "bbox"), en->box, &why)) {
      } else if (!gw_json_int(json_object_get(e, "cat_id"), &en->cat_id))
        why = "no integer \"cat_id\"";
      else if (!json_is_array(en->refs = json_object_get(e, "refs")) ||
               json_array_size(en->refs) == 0)
        why = "no \"refs\" list of sentences";
      if (!why) {
        for (size_t q = 0; q < json_array_size(en->refs) && !why; q++)
          if (!gw_rec_has_words(json_string_value(json_array_get(en->refs, q))))
            why = "empty expression (a sentence in \"refs\" has no words)";
      }
      if (why) {
        rc = gw_rec_bad(out, o->skip_bad, "%s: %s[%zu] (iid %lld): %s", path, split_name, k,
                        (long long)en->iid, why);
        continue;
      }
      if (!gw_json_int(json_object_get(e, "mask_id"), &en->mask_id)) en->mask_id = -1 - (int64_t)k;
      if (!gw_json_int(json_object_get(e, "ref_id"), &en->ref_id)) has_ref_ids = false;
      gw_json_int(json_object_get(e, "level"), &level);
      en->level = (int32_t)level;
      en->file = gw_json_str(e, "file_name");
      n_ents++;
    }
    if (rc < 0) break;
    if (n_ents == 0) continue;
    gw_rec_split *s = gw_records_split_add(out, split_name, path);
    // images by ascending id
    gw_idmap img_rows = {0}, obj_rows = {0}, ref_rows = {0};
    int64_t *ids = malloc((size_t)n_ents * sizeof *ids), n_ids = 0;
    GW_CHECK(ids, "data: out of memory");
    for (int64_t k = 0; k < n_ents; k++)
      if (gw_idmap_get(&img_rows, ents[k].iid) < 0) {
        gw_idmap_put(&img_rows, ents[k].iid, 0);
        ids[n_ids++] = ents[k].iid;
      }
    qsort(ids, (size_t)n_ids, sizeof *ids, cmp_i64);
    for (int64_t k = 0; k < n_ids; k++) {
      gw_idmap_put(&img_rows, ids[k], k);
      gw_rec_image *im = GW_REC_PUSH(s, images);
      im->id = ids[k];
    }
    free(ids);
    // entries grouped by image row, in entry order within an image
    int64_t(*by_row)[2] = malloc((size_t)n_ents * sizeof *by_row);
    GW_CHECK(by_row, "data: out of memory");
    for (int64_t k = 0; k < n_ents; k++) {
      by_row[k][0] = gw_idmap_get(&img_rows, ents[k].iid);
      by_row[k][1] = k;
      gw_rec_image *im = &s->images[by_row[k][0]];
      if (!im->file && ents[k].file) im->file = gw_rec_strdup(ents[k].file);
    }
    qsort(by_row, (size_t)n_ents, sizeof *by_row, cmp_pair);
    for (int64_t k = 0; k < s->n_images; k++) {
      if (s->images[k].file) continue;
      char buf[1024];
      gw_rec_image_path(buf, sizeof buf, pattern, s->images[k].id, s->name);
      s->images[k].file = gw_rec_strdup(buf);
    }
    // objects: one per (image, mask_id)
    for (int64_t j = 0; j < n_ents && rc == 0; j++) {
      const entry *en = &ents[by_row[j][1]];
      int64_t row = by_row[j][0], at = gw_idmap_get(&obj_rows, en->mask_id);
      if (at >= 0) {
        if (memcmp(s->objects[at].box, en->box, sizeof en->box) || s->objects[at].image != row) {
          rc = gw_rec_bad(out, o->skip_bad,
                          "%s: %s (iid %lld, mask_id %lld): two entries give "
                          "the same object different boxes or images",
                          path, s->name, (long long)en->iid, (long long)en->mask_id);
        }
        continue;
      }
      gw_idmap_put(&obj_rows, en->mask_id, s->n_objects);
      gw_rec_object *ob = GW_REC_PUSH(s, objects);
      ob->id = en->mask_id;
      ob->image = row;
      memcpy(ob->box, en->box, sizeof ob->box);
      ob->attrs[0] = (int32_t)gw_idmap_get(&cat_map, en->cat_id);
      ob->attrs[1] = ob->attrs[2] = ob->attrs[3] = -1;
    }
    free(by_row);
    // refs: one per entry, or per ref_id; sentences in entry order
    for (int64_t k = 0; k < n_ents && rc == 0; k++) {
      const entry *en = &ents[k];
      int64_t r = has_ref_ids ? gw_idmap_get(&ref_rows, en->ref_id) : -1;
      if (r < 0) {
        r = s->n_refs;
        if (has_ref_ids) gw_idmap_put(&ref_rows, en->ref_id, r);
        gw_rec_ref *rf = GW_REC_PUSH(s, refs);
        rf->id = has_ref_ids ? en->ref_id : k;
        rf->image = gw_idmap_get(&img_rows, en->iid);
        rf->object = gw_idmap_get(&obj_rows, en->mask_id);
        rf->level = en->level;
        rf->swap_of = -1;
      }
      for (size_t q = 0; q < json_array_size(en->refs); q++) {
        gw_rec_sent *st = GW_REC_PUSH(s, sents);
        st->id = s->n_sents - 1;
        st->ref = r;
        st->text = gw_rec_strdup(json_string_value(json_array_get(en->refs, q)));
      }
    }
    gw_idmap_free(&img_rows);
    gw_idmap_free(&obj_rows);
    gw_idmap_free(&ref_rows);
    if (rc < 0) break;
  }
  free(ents);
  gw_idmap_free(&cat_map);
  json_decref(doc);
  if (rc < 0) {
    gw_records_free(out);
    return -1;
  }
  gw_records_sort(out);
  return 0;
}
