// JSON helpers shared by the format loaders and the exporter (internal to datasets/).
#ifndef GW_FORMATS_JSON_H
#define GW_FORMATS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

// Parses a JSON file; NULL with gw_last_error() = "<path>:<line>:<column>: malformed JSON (...)"
// or "<path>: no such file".
json_t *gw_json_load(const char *path);
// Writes compact JSON to path.tmp and renames it; -1 naming the file.
int gw_json_save(const char *path, json_t *doc);
// An integer, or a real with an integral value (some tools write 12.0 for an id).
bool gw_json_int(const json_t *v, int64_t *out);
// A finite number.
bool gw_json_num(const json_t *v, double *out);
// The string member `key` of an object, or NULL.
const char *gw_json_str(const json_t *obj, const char *key);
// A COCO box [x, y, w, h] -> x1, y1, x2, y2. False (with why, a static text) if it is not four
// finite numbers with w > 0 and h > 0.
bool gw_json_coco_box(const json_t *v, float out[4], const char **why);

// "dir/name" into buf.
void gw_path_join(char *buf, int len, const char *dir, const char *name);
bool gw_is_dir(const char *path);
bool gw_is_file(const char *path);
// mkdir -p; -1 naming the directory.
int gw_make_dirs(const char *path);
// The directory part of a path ("." if none) and the last component.
void gw_path_dir(char *buf, int len, const char *path);
const char *gw_path_base(const char *path);

// id -> row hash map (open addressing; ids are any int64).
typedef struct gw_idmap {
  int64_t *keys;
  int64_t *vals;
  uint8_t *used;
  int64_t cap, n;
} gw_idmap;
void gw_idmap_put(gw_idmap *m, int64_t key, int64_t val);
// The value, or -1 if absent.
int64_t gw_idmap_get(const gw_idmap *m, int64_t key);
void gw_idmap_free(gw_idmap *m);

// Output order of split names: train, restval, val, testA, testB, testC, test, test_comp,
// test_hard, then the others alphabetically.
int gw_split_rank(const char *name);
// "train2014" -> "train", "val2014" -> "val", "test-dev2015" -> "test-dev" (COCO and VQA
// subtypes), others unchanged; into buf.
void gw_split_from_subtype(char *buf, int len, const char *subtype);

#endif
