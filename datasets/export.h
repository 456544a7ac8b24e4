// Exports of a generated shapes-world data set in the standard formats (shared/datasets.md
// §6.9), read back by the real-format loaders (datasets/formats.h) in the round-trip tests:
//
//   export/refcoco/instances.json     COCO images, annotations (bbox [x, y, w, h], the shape's
//                                     polygon as segmentation, area, iscrowd 0, and "sw_attrs"
//                                     [shape, color, size, style]), categories = the shapes
//   export/refcoco/refs(unc).p        refer API refs (pickle protocol 2; 0 on request), plus
//                                     "level" and "swap_of" (the partner's ref_id)
//   export/simrec/anns/shapesworld.json  SimREC: per split [{iid, bbox, cat_id, refs, mask_id}]
//                                     (train: one entry per ref; other splits: one per
//                                     sentence), plus "ref_id", "file_name", "level"
//   export/karpathy/dataset_shapesworld.json  Karpathy captions (filepath = the split)
//   export/index.json                 where everything is, including the VQA v2, COCO captions
//                                     and CoOp files the generator already writes per split
//
// Ids are unique across splits: image id = s * 10^7 + i (s = the split's index in
// sw_split_names, i = its index in the split), annotation id = image id * 16 + object,
// ref id = s * 10^7 + the ref's row in the split, sentence id = ref id * 4 + k. Image files are
// "<split>/%06d.png" under <dataset>/png/ (written by gw data synth --png).
#ifndef GW_EXPORT_H
#define GW_EXPORT_H

#include <stdbool.h>

typedef struct sw_export_opts {
  int pickle_protocol;  // 0 or 2 (sw_export_all uses 2)
  bool quiet;
} sw_export_opts;

// Writes every export of the data set in dataset_dir (its scenes.jsonl, refs.jsonl and
// captions.json per split); the refs pickle at protocol o->pickle_protocol. 0, or -1 with
// gw_last_error() naming the file and line.
int sw_export(const char *dataset_dir, const sw_export_opts *o);
// The same with the defaults (pickle protocol 2).
int sw_export_all(const char *dataset_dir);

enum { SW_EXPORT_SPLIT_STRIDE = 10000000 };

#endif
