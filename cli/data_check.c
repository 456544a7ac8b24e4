// gw data check DIR: counts, statistics, checksums and consistency of a data set directory.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "datasets/check.h"
#include "groundwork.h"

int cmd_data_check(int argc, char **argv) {
  if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    FILE *out = argc == 2 ? stdout : stderr;
    fprintf(out,
            "usage: gw data check DIR\n\n"
            "Prints per-split counts, the vocabulary size, box and image statistics and the\n"
            "SHA-256 of every file of a data set made by gw data synth or gw data convert, and\n"
            "flags anything inconsistent (indices out of range, boxes outside the image, empty\n"
            "expressions, counts that differ from meta.json or, for RefCOCO/RefCOCO+/RefCOCOg,\n"
            "from the released splits). Exits with 0 when consistent, 1 when problems were\n"
            "found, 2 on usage errors.\n");
    return argc == 2 ? 0 : 2;
  }
  gw_init();
  int problems = gw_check(argv[1], stdout);
  if (problems < 0) {
    fprintf(stderr, "gw data check: %s\n", gw_last_error());
    return 1;
  }
  return problems ? 1 : 0;
}
