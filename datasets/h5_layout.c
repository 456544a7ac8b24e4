#include "datasets/h5_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/sw_generate.h"
#include "tensor/error.h"

static int write_tokens(gw_h5 *f, const char *group, const gw_vocab *v, char *const *texts,
                        int64_t n, int len) {
  int32_t *ids = calloc((size_t)(n * len + 1), sizeof *ids),
          *lengths = calloc((size_t)n + 1, sizeof *lengths);
  GW_CHECK(ids && lengths, "data: out of memory for %lld token rows", (long long)n);
  for (int64_t k = 0; k < n; k++) lengths[k] = gw_vocab_encode(v, texts[k], ids + k * len, len);
  char name[128];
  snprintf(name, sizeof name, "%s/tokens", group);
  int rc = gw_h5_write_array(f, name, GW_H5_I32, 2, (int64_t[]){n, len}, ids, 4096);
  snprintf(name, sizeof name, "%s/length", group);
  if (rc == 0) rc = gw_h5_write_array(f, name, GW_H5_I32, 1, &n, lengths, 4096);
  free(ids);
  free(lengths);
  return rc;
}

// Empty columns are written with a valid pointer, as HDF5 wants one even for zero rows.
static int write_ints(gw_h5 *f, const char *name, const int32_t *v, int64_t rows, int per_row) {
  int64_t shape[2] = {rows, per_row};
  return gw_h5_write_array(f, name, GW_H5_I32, per_row > 1 ? 2 : 1, shape,
                           v ? (const void *)v : (const void *)"", 4096);
}

static int write_floats(gw_h5 *f, const char *name, const float *v, int64_t rows, int per_row) {
  int64_t shape[2] = {rows, per_row};
  return gw_h5_write_array(f, name, GW_H5_F32, 2, shape, v ? (const void *)v : (const void *)"",
                           4096);
}

const char *const gw_answer_type_names[GW_N_ANSWER_TYPES] = {"yes/no", "number", "other"};

int gw_answer_type_of(const char *name) {
  for (int k = 0; name && k < GW_N_ANSWER_TYPES; k++)
    if (!strcmp(name, gw_answer_type_names[k])) return k;
  return -1;
}

int gw_split_arrays_write(gw_h5 *f, const gw_split_arrays *a, const gw_vocab *v, int max_len) {
  // defaults for sources that do not have them
  const float *context = a->ref_context ? a->ref_context : a->ref_box;
  int32_t *types = NULL;
  if (!a->q_answer_type) {
    types = malloc((size_t)a->n_q * sizeof *types + 1);
    GW_CHECK(types, "data: out of memory for %lld answer types", (long long)a->n_q);
    for (int64_t k = 0; k < a->n_q; k++) types[k] = -1;
  }
  const int32_t *answer_type = a->q_answer_type ? a->q_answer_type : types;
  int rc = 0;
  if (write_ints(f, "objects/image", a->obj_image, a->n_obj, 1) ||
      write_floats(f, "objects/box", a->obj_box, a->n_obj, 4) ||
      write_ints(f, "objects/attrs", a->obj_attrs, a->n_obj, 4) ||
      write_ints(f, "refs/image", a->ref_image, a->n_ref, 1) ||
      write_ints(f, "refs/object", a->ref_object, a->n_ref, 1) ||
      write_floats(f, "refs/box", a->ref_box, a->n_ref, 4) ||
      write_floats(f, "refs/context_box", context, a->n_ref, 4) ||
      write_ints(f, "refs/level", a->ref_level, a->n_ref, 1) ||
      write_ints(f, "refs/swap_of", a->ref_swap, a->n_ref, 1) ||
      write_ints(f, "sents/ref", a->sent_ref, a->n_sent, 1) ||
      write_tokens(f, "sents", v, a->sent_text, a->n_sent, max_len) ||
      write_ints(f, "captions/image", a->cap_image, a->n_cap, 1) ||
      write_ints(f, "captions/family", a->cap_family, a->n_cap, 1) ||
      write_tokens(f, "captions", v, a->cap_text, a->n_cap, SW_CAPTION_LEN) ||
      write_ints(f, "questions/image", a->q_image, a->n_q, 1) ||
      write_ints(f, "questions/family", a->q_family, a->n_q, 1) ||
      write_ints(f, "questions/answer", a->q_answer, a->n_q, 1) ||
      write_ints(f, "questions/answers", a->q_answers, a->n_q, 10) ||
      write_ints(f, "questions/answer_type", answer_type, a->n_q, 1) ||
      write_tokens(f, "questions", v, a->q_text, a->n_q, SW_QUESTION_LEN))
    rc = -1;
  if (rc == 0 && a->cap_true_start &&
      (write_ints(f, "captions/true_start", a->cap_true_start, a->n_cap + 1, 1) ||
       write_ints(f, "captions/true_images", a->cap_true_images, a->cap_true_start[a->n_cap], 1)))
    rc = -1;
  free(types);
  return rc;
}

void gw_split_arrays_add_words(gw_vocab *v, const gw_split_arrays *a) {
  char words[64][GW_MAX_WORD];
  char *const *all[3] = {a->sent_text, a->cap_text, a->q_text};
  int64_t counts[3] = {a->n_sent, a->n_cap, a->n_q};
  for (int k = 0; k < 3; k++)
    for (int64_t i = 0; i < counts[k]; i++) {
      int nw = gw_tokenize(all[k][i], words, 64);
      for (int w = 0; w < nw && w < 64; w++) gw_vocab_add(v, words[w]);
    }
}
