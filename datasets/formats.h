// The real-data formats (shared/datasets.md §2) and the one in-memory form they all load into.
//
// Each loader reads a standard format into gw_records: per split, the images (a file to decode
// later), the objects with their boxes, the referring expressions and their sentences, the
// captions, the VQA questions and the class labels, each with the id the source gave it.
// `gw data convert` (datasets/convert.h) then writes the records in the HDF5 layout of
// datasets/sw_generate.h, so every trainer reads one format.
//
// Boxes in the records are x1, y1, x2, y2 pixel edges (floats) in the *source image's* pixels,
// whatever the source's convention was (gw_records.box_convention says which it was).
//
// Loader               reads                                             box convention
//   gw_load_refcoco    instances.json + refs(unc|umd|google).p (refer)    COCO [x, y, w, h]
//   gw_load_simrec     anns/<dataset>.json (SimREC)                       COCO [x, y, w, h]
//   gw_load_coco       captions_<split>2014.json or <split>/captions.json  -
//   gw_load_karpathy   dataset_<name>.json (Karpathy split)               -
//   gw_load_vqa        v2 questions + annotations JSON per split          -
//   gw_load_coop       split_zhou_<name>.json + the image folder          -
//
// Errors: a missing or malformed file, or a bad record (a box that is not 4 numbers or has no
// area, an empty expression, an unknown image id) fail with -1 and gw_last_error() naming the
// file and the record ("instances.json: annotations[17] (id 1234): ..."). With skip_bad, a bad
// record is dropped instead (with what depends on it: the refs of a dropped object, a ref whose
// sentences were all dropped) and counted in gw_records.skipped; a malformed file still fails.
#ifndef GW_FORMATS_H
#define GW_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_rec_image {
  int64_t id;  // the source's image id
  char *file;  // the image: a path relative to the image root, or "<file>.h5:<row>"
  int width, height;  // as the annotations state them (0 when they do not)
} gw_rec_image;

typedef struct gw_rec_object {
  int64_t id;  // annotation id
  int64_t image;  // row in images
  float box[4];  // x1, y1, x2, y2 source pixels
  int32_t attrs[4];  // category index (gw_records.categories), then -1 -1 -1; shapes world
      // exports add color, size, style ids ("sw_attrs")
} gw_rec_object;

typedef struct gw_rec_ref {
  int64_t id;  // ref id
  int64_t image;  // row in images
  int64_t object;  // row in objects
  int32_t level;  // shapes world expression level 0-3, or -1 (unknown)
  int64_t swap_of;  // row (in refs) of the swap partner, or -1
} gw_rec_ref;

typedef struct gw_rec_sent {
  int64_t id;  // sentence id
  int64_t ref;  // row in refs
  char *text;
} gw_rec_sent;

typedef struct gw_rec_caption {
  int64_t id;
  int64_t image;
  char *family;  // shapes world caption family, or NULL
  char *text;
} gw_rec_caption;

typedef struct gw_rec_question {
  int64_t id;
  int64_t image;
  char *family;  // question_type
  char *answer_type;  // "yes/no", "number", "other" (NULL when there are no annotations)
  char *text;
  char *answer;  // multiple_choice_answer (NULL without annotations)
  char *answers[10];  // the 10 human answers (NULL without annotations)
} gw_rec_question;

typedef struct gw_rec_label {
  int64_t image;  // row in images
  int32_t label;  // class index
} gw_rec_label;

#define GW_REC_ARRAY(type, name) \
  type *name;                    \
  int64_t n_##name, cap_##name

typedef struct gw_rec_split {
  char *name;  // "train", "val", "testA", ...
  char *source;  // the annotation file the split came from (for messages)
  GW_REC_ARRAY(gw_rec_image, images);
  GW_REC_ARRAY(gw_rec_object, objects);
  GW_REC_ARRAY(gw_rec_ref, refs);
  GW_REC_ARRAY(gw_rec_sent, sents);
  GW_REC_ARRAY(gw_rec_caption, captions);
  GW_REC_ARRAY(gw_rec_question, questions);
  GW_REC_ARRAY(gw_rec_label, labels);
} gw_rec_split;

typedef struct gw_records {
  char *format;  // "refcoco", "simrec", "coco", "karpathy", "vqa", "coop"
  char *dataset;  // "refcoco", "refcoco+", "refcocog", "shapesworld", ... or "unknown"
  char *split_by;  // refer split_by ("unc", "umd", "google") or NULL
  const char *box_convention;  // the source's, in words (static text)
  int n_splits;
  gw_rec_split *splits;
  int n_categories;  // object categories (sorted by source id) or classes (CoOp)
  char **categories;  // names
  int64_t *category_ids;  // the source's ids (NULL for CoOp)
  int64_t skipped;  // bad records dropped with skip_bad
  char first_skipped[512];  // the message of the first one
} gw_records;

typedef struct gw_load_opts {
  const char *in;  // the annotation file or directory (see each loader)
  const char *refs;  // refcoco: the refs pickle (default: refs(unc).p, refs(umd).p, then
      // refs(google).p in the directory of `in`)
  const char *dataset;  // refcoco: the data set's name (default: from the directory name)
  const char *image_pattern;  // simrec, vqa: an image's path from its id ({id}, {id:012},
      // {split} are replaced); default COCO's
  bool skip_bad;
} gw_load_opts;

int gw_load_refcoco(const gw_load_opts *o, gw_records *out);
int gw_load_simrec(const gw_load_opts *o, gw_records *out);
int gw_load_coco(const gw_load_opts *o, gw_records *out);
int gw_load_karpathy(const gw_load_opts *o, gw_records *out);
int gw_load_vqa(const gw_load_opts *o, gw_records *out);
int gw_load_coop(const gw_load_opts *o, gw_records *out);
// By format name; -1 naming the known formats if it is not one.
int gw_load_format(const char *format, const gw_load_opts *o, gw_records *out);

void gw_records_free(gw_records *r);
gw_rec_split *gw_records_split(gw_records *r, const char *name);  // NULL if absent
// The split, added (empty) if absent. Adding moves the splits in memory: pointers returned
// earlier are stale afterwards.
gw_rec_split *gw_records_split_add(gw_records *r, const char *name, const char *source);
// Puts the splits in the canonical order (train, val, testA, testB, ..., then by name).
void gw_records_sort(gw_records *r);

// ---- helpers shared by the loaders (datasets/formats.c) ----

// Appends a zeroed element to a GW_REC_ARRAY and returns it: GW_REC_PUSH(split, images).
#define GW_REC_PUSH(s, name)                                                                 \
  (gw_rec_grow((void **)&(s)->name, &(s)->cap_##name, (s)->n_##name + 1, sizeof *(s)->name), \
   &(s)->name[(s)->n_##name++])
void gw_rec_grow(void **v, int64_t *cap, int64_t want, size_t elem);
char *gw_rec_strdup(const char *s);  // NULL-safe strdup that stops on out-of-memory
// A bad record: with skip_bad, counts it (keeping the first message) and returns 0; else sets
// the error and returns -1.
int gw_rec_bad(gw_records *r, bool skip_bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// Formats an image path from a pattern: {id} / {id:N} (zero-padded to N digits) and {split}.
void gw_rec_image_path(char *buf, int len, const char *pattern, int64_t id, const char *split);
// Does the text hold at least one word by the SimREC tokenizer?
bool gw_rec_has_words(const char *text);

#endif
