// gw eval RUN_DIR|CKPT [--split NAME] [--weights ema|raw] [--max N]
// Evaluates a checkpoint (a run's best.h5, or the checkpoint given) on a split and writes
// RUN_DIR/metrics-SPLIT.json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "eval/evaluate.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

static int usage(FILE *out, int rc) {
  fprintf(out, "usage: gw eval RUN_DIR|CKPT [--split NAME] [--weights ema|raw] [--max N]\n"
               "Evaluates the checkpoint (RUN_DIR/ckpt/best.h5 for a run directory) on a split\n"
               "(default: the config's first eval split) and writes metrics-SPLIT.json beside it.\n"
               "--weights ema evaluates the EMA weights (the default when the run kept them).\n");
  return rc;
}

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cmd_eval(int argc, char **argv) {
  const char *target = NULL, *split = NULL, *weights = NULL;
  int64_t max = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
    if (!strcmp(argv[i], "--split") && i + 1 < argc) split = argv[++i];
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
    else if (!strcmp(argv[i], "--max") && i + 1 < argc) max = atoll(argv[++i]);
    else if (argv[i][0] != '-' && !target) target = argv[i];
    else {
      fprintf(stderr, "gw eval: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  if (!target) return usage(stderr, 2);
  if (weights && strcmp(weights, "ema") && strcmp(weights, "raw")) {
    fprintf(stderr, "gw eval: --weights is ema or raw, not '%s'\n", weights);
    return 2;
  }
  char ckpt[1200], out_dir[1100];
  if (is_dir(target)) {
    snprintf(ckpt, sizeof ckpt, "%s/ckpt/best.h5", target);
    snprintf(out_dir, sizeof out_dir, "%s", target);
  } else {
    snprintf(ckpt, sizeof ckpt, "%s", target);
    snprintf(out_dir, sizeof out_dir, "%s", target);
    char *slash = strrchr(out_dir, '/');
    if (slash) *slash = '\0';
    else snprintf(out_dir, sizeof out_dir, ".");
    // a checkpoint inside RUN_DIR/ckpt writes its metrics into RUN_DIR
    size_t n = strlen(out_dir);
    if (n >= 5 && !strcmp(out_dir + n - 5, "/ckpt")) out_dir[n - 5] = '\0';
  }
  gw_init();
  char *yaml = gw_ckpt_config(ckpt);
  if (!yaml) {
    fprintf(stderr, "gw eval: %s\n", gw_last_error());
    return 1;
  }
  gw_config cfg;
  const gw_model_ops *ops;
  int rc = gw_train_load_config_string(&cfg, yaml, ckpt, &ops);
  free(yaml);
  if (rc < 0) {
    fprintf(stderr, "gw eval: %s: %s\n", ckpt, gw_last_error());
    return 1;
  }
  char data_dir[1100], split_buf[64];
  if (!split) {
    snprintf(split_buf, sizeof split_buf, "%s", gw_cfg_str(&cfg, "data.eval_splits"));
    split_buf[strcspn(split_buf, ", ")] = '\0';
    split = split_buf;
  }
  gw_dataset d;
  gw_nn nn;
  gw_nn_init(&nn, (uint64_t)gw_cfg_int(&cfg, "train.seed"));
  void *model = NULL;
  bool use_ema = gw_cfg_float(&cfg, "train.ema") > 0 && (!weights || !strcmp(weights, "ema"));
  if (weights && !strcmp(weights, "ema") && gw_cfg_float(&cfg, "train.ema") <= 0) {
    fprintf(stderr, "gw eval: %s was trained without EMA (train.ema = 0): use --weights raw\n", ckpt);
    return 1;
  }
  gw_ema ema;
  if (gw_train_data_dir(&cfg, ops, data_dir, sizeof data_dir, false) < 0 ||
      gw_dataset_open(&d, data_dir, split, ops->task) < 0) {
    fprintf(stderr, "gw eval: %s\n", gw_last_error());
    return 1;
  }
  gw_model_info info = {.image_size = d.size, .vocab_size = d.vocab.size, .max_len = d.max_len,
                        .n_answers = d.n_answers, .n_classes = d.n_classes};
  model = ops->create(&nn, &cfg, &info);
  if (use_ema) gw_ema_init(&ema, &nn, (float)gw_cfg_float(&cfg, "train.ema"));
  if (gw_ckpt_load(ckpt, &nn, NULL, use_ema ? &ema : NULL, NULL) < 0) {
    fprintf(stderr, "gw eval: %s\n", gw_last_error());
    return 1;
  }
  if (use_ema) gw_ema_swap(&ema);
  gw_metrics m;
  if (gw_evaluate(ops, model, &nn, &d, (int)gw_cfg_int(&cfg, "train.batch_size"), max, &m) < 0) {
    fprintf(stderr, "gw eval: %s\n", gw_last_error());
    return 1;
  }
  char path[1300];
  snprintf(path, sizeof path, "%s/metrics-%s.json", out_dir, split);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "{\n  \"checkpoint\": \"%s\",\n  \"weights\": \"%s\"", ckpt, use_ema ? "ema" : "raw");
    for (int i = 0; i < m.n; i++) fprintf(f, ",\n  \"%s\": %.6g", m.name[i], m.value[i]);
    fprintf(f, "\n}\n");
    fclose(f);
  }
  printf("%s on %s (%s weights, %s)\n", ops->name, split, use_ema ? "EMA" : "raw", ckpt);
  for (int i = 0; i < m.n; i++) printf("  %-20s %.4f\n", m.name[i], m.value[i]);
  printf("wrote %s\n", path);
  ops->destroy(model);
  gw_dataset_close(&d);
  if (use_ema) gw_ema_free(&ema);
  gw_nn_free(&nn);
  gw_config_free(&cfg);
  return 0;
}
