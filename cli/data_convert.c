// gw data convert: a real-format data set into the HDF5 layout the generator writes.
//
//   gw data convert --format refcoco|simrec|coco|karpathy|vqa|coop --in PATH --out DIR [options]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "datasets/convert.h"
#include "groundwork.h"

static int convert_usage(FILE *out, int rc) {
  static const char *const lines[] = {
      "usage: gw data convert --format FORMAT --in PATH --out DIR [--images DIR] [--refs FILE]",
      "                       [--dataset NAME] [--image-pattern P] [--size S] [--pad V]",
      "                       [--max-len N] [--vocab FILE] [--answers FILE]",
      "                       [--min-answer-count N] [--skip-bad]",
      "                       [--memory-mb MB] [--threads N] [--quiet]",
      "",
      "Reads a standard data set and writes the HDF5 layout of `gw data synth` (shared/",
      "datasets.md section 6.9): <split>.h5 with letterboxed images and boxes as x1,y1,x2,y2",
      "pixel edges, vocab.txt, answers.txt and meta.json (which states the source's box",
      "convention).",
      "",
      "formats and --in:",
      "  refcoco   a folder with instances.json and refs(unc|umd|google).p (refer API; --refs",
      "            picks one)",
      "  simrec    SimREC anns/<dataset>.json",
      "  coco      captions_<split>2014.json, or a folder of them or of <split>/captions.json",
      "  karpathy  dataset_<name>.json (Karpathy split; restval joins train)",
      "  vqa       v2_OpenEnded_mscoco_<split>_questions.json (+ annotations beside it), or a",
      "            folder of them or of <split>/questions.json",
      "  coop      split_zhou_<Name>.json (CoOp); --images is the image folder",
      "",
      "options:",
      "  --images DIR         image root; {split} is replaced by the split (default: the input's",
      "                       folder)",
      "  --image-pattern P    simrec, vqa: an image's file from its id, e.g. '{split}/{id:06}.png'",
      "                       ({split}: vqa's data_subtype, e.g. train2014; simrec's split);",
      "                       default COCO's: COCO_train2014_{id:012}.jpg (simrec),",
      "                       {split}/COCO_{split}_{id:012}.jpg (vqa)",
      "  --size S             letterbox side in pixels (default 64)",
      "  --pad V              the letterbox's pad grey, 1-255 (default 127)",
      "  --max-len N          tokens kept per expression (default 20)",
      "  --vocab FILE         use this vocab.txt instead of building one from the train split",
      "  --answers FILE       use this answers.txt instead of the train answers by frequency",
      "  --min-answer-count N keep answers seen at least N times in train (default 1; VQA v2",
      "                       practice: 9)",
      "  --skip-bad           drop bad records (corrupt or missing image, box outside the image,",
      "                       empty expression, ...) and count them in a warning, instead of",
      "                       stopping (also: data.skip_bad=true)",
      "  --memory-mb MB       letterboxed images kept between the check and the write (default",
      "                       1024); a larger split is decoded twice",
  };
  for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) fprintf(out, "%s\n", lines[k]);
  return rc;
}

int cmd_data_convert(int argc, char **argv) {
  gw_convert_opts o = {0};
  int threads = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return convert_usage(stdout, 0);
    else if (!strcmp(a, "--format") && has) o.format = argv[++i];
    else if (!strcmp(a, "--in") && has) o.load.in = argv[++i];
    else if (!strcmp(a, "--out") && has) o.out = argv[++i];
    else if (!strcmp(a, "--images") && has) o.images = argv[++i];
    else if (!strcmp(a, "--refs") && has) o.load.refs = argv[++i];
    else if (!strcmp(a, "--dataset") && has) o.load.dataset = argv[++i];
    else if (!strcmp(a, "--image-pattern") && has) o.load.image_pattern = argv[++i];
    else if (!strcmp(a, "--size") && has) o.size = atoi(argv[++i]);
    else if (!strcmp(a, "--pad") && has) o.pad = atoi(argv[++i]);
    else if (!strcmp(a, "--max-len") && has) o.max_len = atoi(argv[++i]);
    else if (!strcmp(a, "--vocab") && has) o.vocab = argv[++i];
    else if (!strcmp(a, "--answers") && has) o.answers = argv[++i];
    else if (!strcmp(a, "--min-answer-count") && has) o.min_answer_count = atoi(argv[++i]);
    else if (!strcmp(a, "--memory-mb") && has) o.memory_mb = atoll(argv[++i]);
    else if (!strcmp(a, "--threads") && has) threads = atoi(argv[++i]);
    else if (!strcmp(a, "--skip-bad") || !strcmp(a, "data.skip_bad=true")) o.load.skip_bad = true;
    else if (!strcmp(a, "data.skip_bad=false")) o.load.skip_bad = false;
    else if (!strcmp(a, "--quiet")) o.quiet = true;
    else {
      fprintf(stderr, "gw data convert: unknown argument '%s'\n", a);
      return convert_usage(stderr, 2);
    }
  }
  if (!o.format || !o.load.in || !o.out) {
    fprintf(stderr, "gw data convert: --format, --in and --out are required\n");
    return convert_usage(stderr, 2);
  }
  gw_init();
  if (threads > 0) gw_set_threads(threads);
  if (gw_convert(&o, NULL) < 0) {
    fprintf(stderr, "gw data convert: %s\n", gw_last_error());
    return 1;
  }
  return 0;
}
