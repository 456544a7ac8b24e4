// `gw data convert`: a real-format data set (datasets/formats.h) into the HDF5 layout the
// shapes-world generator writes (datasets/sw_generate.h), so every trainer reads one format.
//
//   <out>/meta.json     the source (format, data set, files, its box convention), the letterbox
//                       size and pad, counts per split, categories, families, skipped records
//   <out>/vocab.txt     built from the training split's text (or the --vocab file)
//   <out>/answers.txt   VQA: answers of the training split by frequency (or the --answers file);
//                       an answer outside it is stored as -1
//   <out>/<split>.h5    images uint8 (N, S, S, 3), letterboxed; objects/, refs/, sents/,
//                       captions/, questions/ exactly as the generator writes them
//                       (refs/context_box = the target's box: a source has no programs;
//                       questions/answer_type from the annotations' answer_type); and
//                       source/image_id int64 (N), source/size int32 (N, 2) (w, h),
//                       source/letterbox float32 (N, 4) (scale_x, scale_y, dx, dy: x' = x *
//                       scale_x + dx) to map boxes back to the source image for evaluation
//                       (gw_dataset_box_to_source in datasets/loader.h),
//                       source/{object,ref,sent,caption,question}_id int64: the source's ids
//   CoOp:  <out>/images.h5 (images, labels, split: 0 train, 1 val, 2 test, source/...) and
//          <out>/split_<dataset>.json with impaths "images.h5:<row>" (the generator's few-shot
//          layout)
//
// Boxes are stored as x1, y1, x2, y2 pixel edges (floats) in the letterboxed image. A box more
// than 1 px outside its image is a bad record; within 1 px it is clamped to the image.
#ifndef GW_CONVERT_H
#define GW_CONVERT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "datasets/formats.h"

typedef struct gw_convert_opts {
  const char *format;  // refcoco, simrec, coco, karpathy, vqa, coop
  gw_load_opts load;  // the input (load.in), refs file, data set name, image pattern, skip_bad
  const char
      *images;  // image root ("{split}" is replaced by the split); default: the input's folder
  const char *out;
  const char *vocab;  // use this vocab.txt instead of building one from the training split
  const char *answers;  // use this answers.txt instead of building one
  int min_answer_count;  // building one: answers seen at least this often in train (default 1;
                         // VQA v2 practice is 9, which gives the usual 3,129 answers)
  int size;  // letterbox side (default 64)
  int pad;  // pad grey level 1-255 (0: the default, 127, as SimREC)
  int max_len;  // sentence tokens (default 20, TransVG's for RefCOCO/RefCOCO+)
  int64_t memory_mb;  // letterboxed images kept in memory between the check and the write
      // (default 1024); a larger split is decoded twice
  bool quiet;  // no progress on stderr
  FILE *report;  // the summary (default stdout)
} gw_convert_opts;

typedef struct gw_convert_result {
  int64_t skipped;  // bad records dropped (skip_bad)
  char first_skipped[512];
} gw_convert_result;

// 0, or -1 with gw_last_error() naming the file and the record. `res` may be NULL.
int gw_convert(const gw_convert_opts *o, gw_convert_result *res);

#endif
