// CoOp / Dassl split files (shared/datasets.md §2.4): split_zhou_<Name>.json =
// {"train": [[impath, label, classname], ...], "val": [...], "test": [...]}, impath relative to
// the image folder (by default the split file's folder). Shapes world writes the same format
// (split_sw_<task>.json) with impaths "png/%06d.png" (--png) or rows "images.h5:<row>".
//
// One image per entry; categories[label] is the class name, which must be the same wherever
// the label appears.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats.h"
#include "datasets/formats_json.h"
#include "tensor/error.h"

int gw_load_coop(const gw_load_opts *o, gw_records *out) {
  memset(out, 0, sizeof *out);
  json_t *doc = gw_json_load(o->in);
  if (!doc) return -1;
  const char *path = o->in;
  out->format = gw_rec_strdup("coop");
  out->box_convention = "none (class labels carry no boxes)";
  char name[256];
  snprintf(name, sizeof name, "%s", gw_path_base(path));
  char *dot = strrchr(name, '.');
  if (dot) *dot = '\0';
  const char *stem = !strncmp(name, "split_zhou_", 11) ? name + 11
                     : !strncmp(name, "split_", 6)     ? name + 6
                                                       : name;
  out->dataset = gw_rec_strdup(o->dataset ? o->dataset : stem);
  int rc = 0;
  if (!json_is_object(doc)) {
    gw_set_error(
        "%s: expected {\"train\": [[impath, label, classname], ...], \"val\": ..., "
        "\"test\": ...}",
        path);
    rc = -1;
  }
  const char *split;
  json_t *list;
  int cap_cats = 0;
  json_object_foreach(doc, split, list) {
    if (rc < 0) break;
    if (!json_is_array(list)) {
      gw_set_error("%s: \"%s\" is not a list of [impath, label, classname]", path, split);
      rc = -1;
      break;
    }
    gw_rec_split *s = gw_records_split_add(out, split, path);
    for (size_t k = 0; k < json_array_size(list) && rc == 0; k++) {
      const json_t *e = json_array_get(list, k);
      const char *impath = json_string_value(json_array_get(e, 0));
      const char *cname = json_string_value(json_array_get(e, 2));
      int64_t label = -1;
      const char *why = NULL;
      if (!json_is_array(e) || json_array_size(e) < 2 || !impath || !*impath ||
          !gw_json_int(json_array_get(e, 1), &label))
        why = "an entry is [impath, label, classname]";
      else if (label < 0 || label > 1000000) why = "the label must be a class index >= 0";
      else if (label < out->n_categories && out->categories[label] && cname &&
               strcmp(out->categories[label], cname))
        why = "the class name differs from an earlier entry with the same label";
      if (why) {
        rc = gw_rec_bad(out, o->skip_bad, "%s: %s[%zu] (%s): %s", path, split, k,
                        impath ? impath : "?", why);
        continue;
      }
      if (label >= out->n_categories) {
        if (label >= cap_cats) {
          int c = cap_cats ? cap_cats : 16;
          while (c <= label) c *= 2;
          out->categories = realloc(out->categories, (size_t)c * sizeof *out->categories);
          GW_CHECK(out->categories, "data: out of memory");
          memset(out->categories + cap_cats, 0, (size_t)(c - cap_cats) * sizeof *out->categories);
          cap_cats = c;
        }
        out->n_categories = (int)label + 1;
      }
      if (!out->categories[label] && cname) out->categories[label] = gw_rec_strdup(cname);
      gw_rec_image *im = GW_REC_PUSH(s, images);
      im->id = (int64_t)k;
      im->file = gw_rec_strdup(impath);
      gw_rec_label *lb = GW_REC_PUSH(s, labels);
      lb->image = s->n_images - 1;
      lb->label = (int32_t)label;
    }
  }
  for (int c = 0; c < out->n_categories; c++)
    if (!out->categories[c]) {
      char buf[32];
      snprintf(buf, sizeof buf, "class %d", c);
      out->categories[c] = gw_rec_strdup(buf);
    }
  json_decref(doc);
  if (rc < 0) {
    gw_records_free(out);
    return -1;
  }
  gw_records_sort(out);
  return 0;
}
