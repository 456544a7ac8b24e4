// COCO captions and the Karpathy split (shared/datasets.md §2.3).
//
// COCO captions: captions_<subtype>.json = {images: [{id, file_name, width, height}],
// annotations: [{id, image_id, caption}]}; the split is the subtype without its year
// (captions_train2014.json -> train). Shapes world writes <split>/captions.json in the same
// format (plus a "family" per caption), so `in` may be one file, or a directory holding
// captions_*.json files or <split>/captions.json folders. Images keep the file's order.
//
// Karpathy: dataset_<name>.json = {dataset, images: [{filepath, filename, imgid, cocoid, split,
// sentids, sentences: [{tokens, raw, imgid, sentid}]}]}; "restval" joins "train" (the usual
// 113,287-image training set). A caption's text is `raw`, else its tokens joined by spaces.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats.h"
#include "datasets/formats_json.h"
#include "tensor/error.h"

static int load_captions_file(const gw_load_opts *o, const char *path, const char *split,
                              gw_records *out) {
  json_t *doc = gw_json_load(path);
  if (!doc) return -1;
  const json_t *images = json_object_get(doc, "images"),
               *anns = json_object_get(doc, "annotations");
  if (!json_is_array(images) || !json_is_array(anns)) {
    gw_set_error("%s: a COCO captions file has \"images\" and \"annotations\" lists", path);
    json_decref(doc);
    return -1;
  }
  gw_rec_split *s = gw_records_split_add(out, split, path);
  gw_idmap rows = {0};
  int rc = 0;
  for (size_t k = 0; k < json_array_size(images) && rc == 0; k++) {
    const json_t *im = json_array_get(images, k);
    int64_t id, w = 0, h = 0;
    const char *file = gw_json_str(im, "file_name");
    if (!gw_json_int(json_object_get(im, "id"), &id) || !file || gw_idmap_get(&rows, id) >= 0) {
      rc = gw_rec_bad(out, o->skip_bad,
                      "%s: images[%zu]: needs a unique integer \"id\" and a "
                      "\"file_name\"",
                      path, k);
      continue;
    }
    gw_json_int(json_object_get(im, "width"), &w);
    gw_json_int(json_object_get(im, "height"), &h);
    gw_idmap_put(&rows, id, s->n_images);
    gw_rec_image *gi = GW_REC_PUSH(s, images);
    gi->id = id;
    gi->file = gw_rec_strdup(file);
    gi->width = (int)w;
    gi->height = (int)h;
  }
  for (size_t k = 0; k < json_array_size(anns) && rc == 0; k++) {
    const json_t *a = json_array_get(anns, k);
    int64_t id = -1, image_id, row = -1;
    gw_json_int(json_object_get(a, "id"), &id);
    const char *text = gw_json_str(a, "caption"), *why = NULL;
    if (!gw_json_int(json_object_get(a, "image_id"), &image_id) ||
        (row = gw_idmap_get(&rows, image_id)) < 0)
      why = "its image_id is not an image of the file";
    else if (!gw_rec_has_words(text)) why = "empty caption (no words)";
    if (why) {
      rc = gw_rec_bad(out, o->skip_bad, "%s: annotations[%zu] (id %lld): %s", path, k,
                      (long long)id, why);
      continue;
    }
    gw_rec_caption *c = GW_REC_PUSH(s, captions);
    c->id = id;
    c->image = row;
    c->text = gw_rec_strdup(text);
    c->family = gw_rec_strdup(gw_json_str(a, "family"));
  }
  gw_idmap_free(&rows);
  json_decref(doc);
  return rc;
}

// "captions_train2014.json" -> "train"; NULL if the name is not of that form.
static bool split_of_captions_name(const char *base, char *buf, int len) {
  size_t n = strlen(base);
  if (strncmp(base, "captions_", 9) || n < 15 || strcmp(base + n - 5, ".json")) return false;
  char sub[256];
  snprintf(sub, sizeof sub, "%.*s", (int)(n - 14), base + 9);
  gw_split_from_subtype(buf, len, sub);
  return true;
}

int gw_load_coco(const gw_load_opts *o, gw_records *out) {
  memset(out, 0, sizeof *out);
  out->format = gw_rec_strdup("coco");
  out->dataset = gw_rec_strdup(o->dataset ? o->dataset : "coco");
  out->box_convention = "none (captions carry no boxes)";
  char split[256], path[4200], dir[4096];
  int rc = 0, found = 0;
  if (!gw_is_dir(o->in)) {
    const char *base = gw_path_base(o->in);
    if (!split_of_captions_name(base, split, sizeof split)) {
      gw_path_dir(dir, sizeof dir, o->in);
      snprintf(split, sizeof split, "%s", gw_path_base(dir));  // <split>/captions.json
    }
    rc = load_captions_file(o, o->in, split, out);
    found = 1;
  } else {
    DIR *d = opendir(o->in);
    struct dirent *e;
    // sorted for a deterministic order of loading (splits are re-ordered afterwards anyway)
    char **names = NULL;
    int n = 0;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      names = realloc(names, (size_t)(n + 1) * sizeof *names);
      names[n++] = gw_rec_strdup(e->d_name);
    }
    if (d) closedir(d);
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++)
        if (strcmp(names[i], names[j]) > 0) {
          char *t = names[i];
          names[i] = names[j];
          names[j] = t;
        }
    for (int i = 0; i < n && rc == 0; i++) {
      gw_path_join(path, sizeof path, o->in, names[i]);
      if (gw_is_dir(path)) {
        char sub[4200];
        gw_path_join(sub, sizeof sub, path, "captions.json");
        if (!gw_is_file(sub)) continue;
        rc = load_captions_file(o, sub, names[i], out);
        found++;
      } else if (split_of_captions_name(names[i], split, sizeof split)) {
        rc = load_captions_file(o, path, split, out);
        found++;
      }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
  }
  if (rc == 0 && !found) {
    gw_set_error("%s: no captions_<split>.json files and no <split>/captions.json folders here",
                 o->in);
    rc = -1;
  }
  if (rc < 0) {
    gw_records_free(out);
    return -1;
  }
  gw_records_sort(out);
  return 0;
}

static char *join_tokens(const json_t *toks) {
  size_t len = 1;
  for (size_t k = 0; k < json_array_size(toks); k++) {
    const char *w = json_string_value(json_array_get(toks, k));
    len += w ? strlen(w) + 1 : 0;
  }
  char *s = calloc(len, 1);
  GW_CHECK(s, "data: out of memory");
  for (size_t k = 0; k < json_array_size(toks); k++) {
    const char *w = json_string_value(json_array_get(toks, k));
    if (!w) continue;
    if (*s) strcat(s, " ");
    strcat(s, w);
  }
  return s;
}

int gw_load_karpathy(const gw_load_opts *o, gw_records *out) {
  memset(out, 0, sizeof *out);
  json_t *doc = gw_json_load(o->in);
  if (!doc) return -1;
  const char *path = o->in;
  out->format = gw_rec_strdup("karpathy");
  const char *ds = gw_json_str(doc, "dataset");
  out->dataset = gw_rec_strdup(o->dataset ? o->dataset : ds ? ds : "unknown");
  out->box_convention = "none (captions carry no boxes)";
  const json_t *images = json_object_get(doc, "images");
  int rc = 0;
  if (!json_is_array(images)) {
    gw_set_error("%s: a Karpathy split file has an \"images\" list", path);
    rc = -1;
  }
  for (size_t k = 0; rc == 0 && k < json_array_size(images); k++) {
    const json_t *im = json_array_get(images, k);
    const char *split = gw_json_str(im, "split"), *fname = gw_json_str(im, "filename");
    const char *fpath = gw_json_str(im, "filepath");
    int64_t id;
    if (!gw_json_int(json_object_get(im, "cocoid"), &id) &&
        !gw_json_int(json_object_get(im, "imgid"), &id))
      id = -1;
    if (!split || !fname || id < 0) {
      rc = gw_rec_bad(out, o->skip_bad,
                      "%s: images[%zu]: needs \"split\", \"filename\" and an "
                      "integer \"imgid\" or \"cocoid\"",
                      path, k);
      continue;
    }
    if (!strcmp(split, "restval")) split = "train";
    gw_rec_split *s = gw_records_split_add(out, split, path);
    int64_t row = s->n_images;
    gw_rec_image *gi = GW_REC_PUSH(s, images);
    char file[2048];
    if (fpath && *fpath) snprintf(file, sizeof file, "%s/%s", fpath, fname);
    else snprintf(file, sizeof file, "%s", fname);
    gi->id = id;
    gi->file = gw_rec_strdup(file);
    const json_t *sents = json_object_get(im, "sentences");
    for (size_t q = 0; q < json_array_size(sents) && rc == 0; q++) {
      const json_t *st = json_array_get(sents, q);
      int64_t sid = -1;
      gw_json_int(json_object_get(st, "sentid"), &sid);
      const char *raw = gw_json_str(st, "raw");
      char *text =
          gw_rec_has_words(raw) ? gw_rec_strdup(raw) : join_tokens(json_object_get(st, "tokens"));
      if (!gw_rec_has_words(text)) {
        free(text);
        rc = gw_rec_bad(out, o->skip_bad,
                        "%s: images[%zu] (imgid %lld), sentences[%zu] (sentid "
                        "%lld): empty caption (no words in raw or tokens)",
                        path, k, (long long)id, q, (long long)sid);
        continue;
      }
      gw_rec_caption *c = GW_REC_PUSH(s, captions);
      c->id = sid;
      c->image = row;
      c->text = text;
      c->family = gw_rec_strdup(gw_json_str(st, "family"));
    }
  }
  json_decref(doc);
  if (rc < 0) {
    gw_records_free(out);
    return -1;
  }
  gw_records_sort(out);
  return 0;
}
