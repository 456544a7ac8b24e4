// The annotation arrays of one <split>.h5 (the layout documented in datasets/sw_generate.h),
// written by the shapes-world generator and by `gw data convert` through the same code, so a
// converted data set and a generated one are read the same way.
#ifndef GW_H5_LAYOUT_H
#define GW_H5_LAYOUT_H

#include <stdint.h>

#include "datasets/vocab.h"
#include "tensor/h5io.h"

// One split's annotations as columns. Counts are rows; a pointer may be NULL when its count is 0.
// VQA v2 answer types (annotations' "answer_type"), stored in questions/answer_type.
enum { GW_ANSWER_YES_NO, GW_ANSWER_NUMBER, GW_ANSWER_OTHER, GW_N_ANSWER_TYPES };
extern const char *const gw_answer_type_names[GW_N_ANSWER_TYPES];  // "yes/no", "number", "other"
// The type named by a VQA v2 answer_type string, or -1.
int gw_answer_type_of(const char *name);

typedef struct gw_split_arrays {
  int64_t n_obj;
  const int32_t *obj_image, *obj_attrs;  // attrs: 4 per object
  const float *obj_box;  // 4 per object: x1 y1 x2 y2 pixel edges
  int64_t n_ref;
  const int32_t *ref_image, *ref_object, *ref_level, *ref_swap;
  const float *ref_box;  // 4 per ref
  // 4 per ref: the box around every object the expression names (target, anchors, the objects
  // an ordinal or location counts), which augmentation must keep whole; NULL: the target's box
  // (a source without programs)
  const float *ref_context;
  int64_t n_sent;
  const int32_t *sent_ref;
  char *const *sent_text;
  int64_t n_cap;
  const int32_t *cap_image, *cap_family;
  char *const *cap_text;
  // the images each caption is true of (shapes world's evaluation splits, for the lenient
  // retrieval metrics): caption j is true of images cap_true_images[cap_true_start[j] ..
  // cap_true_start[j + 1]), its own among them; NULL: not known (converted captions), not written
  const int32_t *cap_true_start, *cap_true_images;
  int64_t n_q;
  const int32_t *q_image, *q_family, *q_answer, *q_answers;  // answers: 10 per question
  // VQA v2 answer type per question: GW_ANSWER_YES_NO, _NUMBER, _OTHER, or -1 (unknown); NULL:
  // all unknown
  const int32_t *q_answer_type;
  char *const *q_text;
} gw_split_arrays;

// Writes objects/, refs/, sents/, captions/ and questions/ (texts tokenized with the vocabulary:
// sentences to max_len tokens, captions to SW_CAPTION_LEN, questions to SW_QUESTION_LEN).
// 0, or -1 with gw_last_error() naming the file and the array.
int gw_split_arrays_write(gw_h5 *f, const gw_split_arrays *a, const gw_vocab *v, int max_len);
// Adds every word of the split's sentences, captions and questions to the vocabulary (the
// vocabulary is built from the training split this way; gw_vocab_sort afterwards).
void gw_split_arrays_add_words(gw_vocab *v, const gw_split_arrays *a);

#endif
