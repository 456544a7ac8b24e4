// Writing a shapes-world data set to disk (shared/datasets.md §6.9):
//
//   <out>/meta.json                 version, seed, preset, every knob, counts, ceilings
//   <out>/vocab.txt answers.txt     one token per line; line number = id
//   <out>/<split>.h5                images and every annotation as arrays (below)
//   <out>/<split>/scenes.jsonl refs.jsonl captions.json questions.json annotations.json
//   <out>/fewshot/<task>/images.h5 + split_sw_<task>.json   (CoOp format)
//   <out>/png/<split>/%06d.png      with --png
//
// <split>.h5 holds (boxes are x1, y1, x2, y2 in pixels, floats: edges, so a one-pixel box at
// column 3 is [3, 4)):
//   images          uint8 (N, H, W, 3)
//   objects/image   int32 (O)       objects/box float32 (O, 4)     objects/attrs int32 (O, 4)
//                                   (shape, color, size, style ids)
//   refs/image      int32 (R)       refs/object int32 (R) (a row of objects/)
//   refs/box        float32 (R, 4)  refs/level int32 (R)            refs/swap_of int32 (R) (-1)
//   refs/context_box float32 (R, 4) the box around every object the expression names (target,
//                   anchors, the objects an ordinal or location counts: sw_touched), which the
//                   loader keeps whole when it shifts or resizes (converted data: the target's box)
//   sents/ref       int32 (S)       sents/tokens int32 (S, L)       sents/length int32 (S)
//   captions/image  int32 (C)       captions/family int32 (C)       captions/tokens, length
//   captions/true_start int32 (C + 1), captions/true_images int32: evaluation splits only; caption
//                   j is true of images true_images[true_start[j] .. true_start[j + 1]) (its own
//                   among them), for the lenient retrieval metrics (datasets.md 6.10)
//   questions/image int32 (Q)       questions/family int32 (Q)      questions/tokens, length
//   questions/answer int32 (Q)      questions/answers int32 (Q, 10) (answers.txt ids)
//   questions/answer_type int32 (Q) VQA v2's answer_type: 0 yes/no, 1 number, 2 other, -1 unknown
//                   (shapes world: from the family, whose names meta.json lists in order under
//                   question_families; answer_types names the types)
#ifndef GW_SW_GENERATE_H
#define GW_SW_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "datasets/sw.h"

typedef struct sw_preset {
  const char *name;
  int img_size;
  int64_t images[SW_N_SPLITS];
  int fewshot_pool[3];  // per class: train, val, test
} sw_preset;

// "tiny", "small", "full"; NULL if unknown.
const sw_preset *sw_preset_find(const char *name);

typedef struct sw_gen_opts {
  const char *out_dir;
  sw_preset preset;      // image counts may be changed by knobs
  sw_config cfg;         // every knob
  const char *difficulty;
  bool png;              // also write every image as PNG
  bool quiet;            // no progress lines
} sw_gen_opts;

// Generates the whole data set; 0, or -1 with gw_last_error() set.
int sw_generate(const sw_gen_opts *o);

// Caption and question token lengths stored in the HDF5 files.
enum { SW_CAPTION_LEN = 32, SW_QUESTION_LEN = 20 };

#endif
