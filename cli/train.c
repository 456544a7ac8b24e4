// gw train CONFIG [--out RUN_DIR] [--force] [key=value ...]
// gw train --resume RUN_DIR
// gw train CONFIG --init-from CKPT [...]
// gw train CONFIG --help-config | gw train --list-models
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "train/schema.h"
#include "train/trainer.h"

static int usage(FILE *out, int rc) {
  fprintf(out,
          "usage: gw train CONFIG [--out RUN_DIR] [--force] [--init-from CKPT] [key=value ...]\n"
          "       gw train --resume RUN_DIR\n"
          "       gw train CONFIG --help-config     every key: type, default, help\n"
          "       gw train --list-models\n\n"
          "--resume continues a run from its newest complete checkpoint with all its state\n"
          "(weights, optimizer, schedule, data position, random streams): the result is the\n"
          "same bits as an uninterrupted run. --init-from starts a NEW run from the weights of\n"
          "a checkpoint, matched by name (fine-tuning); the two cannot be combined.\n"
          "The effective batch is train.batch_size x train.accum. EMA weights (train.ema > 0)\n"
          "are the ones evaluated. Boxes are x1, y1, x2, y2 in pixels.\n");
  return rc;
}

int cmd_train(int argc, char **argv) {
  gw_train_opts o = {0};
  char **overrides = calloc((size_t)argc, sizeof *overrides);
  bool help_config = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
    if (!strcmp(a, "--list-models")) {
      for (int k = 0; k < gw_model_count(); k++)
        printf("%-14s %s\n", gw_model_at(k)->name, gw_model_at(k)->help);
      return 0;
    }
    if (!strcmp(a, "--help-config")) help_config = true;
    else if (!strcmp(a, "--out") && i + 1 < argc) o.out_dir = argv[++i];
    else if (!strcmp(a, "--resume") && i + 1 < argc) o.resume = argv[++i];
    else if (!strcmp(a, "--init-from") && i + 1 < argc) o.init_from = argv[++i];
    else if (!strcmp(a, "--force")) o.force = true;
    else if (!strcmp(a, "--quiet")) o.quiet = true;
    else if (!strcmp(a, "--stop-after") && i + 1 < argc) o.stop_after = atoi(argv[++i]);
    else if (strchr(a, '=')) overrides[o.n_overrides++] = argv[i];
    else if (a[0] != '-' && !o.config) o.config = a;
    else {
      fprintf(stderr, "gw train: unknown argument '%s'\n", a);
      free(overrides);
      return usage(stderr, 2);
    }
  }
  o.overrides = overrides;
  if (help_config) {
    gw_init();
    gw_config cfg;
    gw_config_init(&cfg);
    const gw_model_ops *ops = NULL;
    if (o.config && gw_train_load_config(&cfg, o.config, o.n_overrides, o.overrides, &ops) < 0 && !ops) {
      fprintf(stderr, "gw train: %s\n", gw_last_error());
      gw_config_free(&cfg);
      free(overrides);
      return 1;
    }
    gw_cfg_schema schemas[3] = {gw_trainer_schema, gw_data_schema};
    int n = 2;
    if (ops) schemas[n++] = ops->schema;
    gw_config_print_help(stdout, schemas, n);
    if (o.config) gw_config_free(&cfg);
    free(overrides);
    return 0;
  }
  if (!o.config && !o.resume) {
    fprintf(stderr, "gw train: give a CONFIG or --resume RUN_DIR\n");
    free(overrides);
    return usage(stderr, 2);
  }
  int rc = gw_train_main(&o);
  free(overrides);
  return rc;
}
