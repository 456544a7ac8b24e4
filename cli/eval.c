// gw eval RUN_DIR|CKPT [--split NAME] [--weights ema|raw] [--max N]
// Evaluates a checkpoint (a run's best.h5, or the checkpoint given) on a split, prints a table
// and writes RUN_DIR/metrics-SPLIT.json and every prediction in RUN_DIR/predictions-SPLIT.jsonl.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "eval/evaluate.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

static int usage(FILE *out, int rc) {
  fprintf(out, "usage: gw eval RUN_DIR|CKPT [--split NAME] [--weights ema|raw] [--max N]\n"
               "Evaluates a checkpoint on a split (default: the config's first eval split), prints\n"
               "the metrics and writes them to metrics-SPLIT.json in the run directory (flat keys:\n"
               "acc@0.5, acc@0.75, miou, vqa_acc, i2t_r@1, top1, ... as docs/training.md lists),\n"
               "and every prediction beside the truth to predictions-SPLIT.jsonl, one JSON line\n"
               "per sample (REC: box, target, iou; VQA: answer, score; classes: class).\n"
               "RUN_DIR evaluates RUN_DIR/ckpt/best.h5 (the newest step checkpoint if there is no\n"
               "best.h5). --weights ema evaluates the EMA weights (the default when the run kept\n"
               "them), --weights raw the trained ones. --max N evaluates the first N samples only.\n"
               "Boxes are x1 y1 x2 y2 pixel edges; IoU is continuous (no +1); a converted data\n"
               "set's boxes are compared in its source images' pixels.\n");
  return rc;
}

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

// RUN_DIR's checkpoint to evaluate: ckpt/best.h5, else the newest ckpt/step_N.h5.
static void run_checkpoint(const char *run, char *out, size_t n) {
  snprintf(out, n, "%s/ckpt/best.h5", run);
  if (access(out, F_OK) == 0) return;
  char ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", run);
  DIR *d = opendir(ck);
  long best = -1;
  for (struct dirent *e; d && (e = readdir(d));) {
    long step;
    char tail[8];
    if (sscanf(e->d_name, "step_%ld.h%7s", &step, tail) == 2 && !strcmp(tail, "5") && step > best)
      best = step;
  }
  if (d) closedir(d);
  if (best >= 0) snprintf(out, n, "%s/ckpt/step_%ld.h5", run, best);
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
    run_checkpoint(target, ckpt, sizeof ckpt);
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
    else if (!strcmp(out_dir, "ckpt")) snprintf(out_dir, sizeof out_dir, ".");
  }
  gw_init();
  char *yaml = gw_ckpt_config(ckpt);
  if (!yaml) {
    fprintf(stderr, "gw eval: %s (is it a checkpoint of gw train?)\n", gw_last_error());
    return 1;
  }
  gw_config cfg;
  const gw_model_ops *ops;
  int rc = gw_train_load_config_string(&cfg, yaml, ckpt, &ops);
  free(yaml);
  if (rc < 0) {
    fprintf(stderr, "gw eval: %s: %s\n", ckpt, gw_last_error());
    gw_config_free(&cfg);
    return 1;
  }
  char data_dir[1100], split_buf[64];
  if (!split) {
    snprintf(split_buf, sizeof split_buf, "%s", gw_cfg_str(&cfg, "data.eval_splits"));
    split_buf[strcspn(split_buf, ", ")] = '\0';
    split = split_buf;
  }
  if (weights && !strcmp(weights, "ema") && gw_cfg_float(&cfg, "train.ema") <= 0) {
    fprintf(stderr, "gw eval: %s was trained without EMA (train.ema = 0): use --weights raw\n", ckpt);
    gw_config_free(&cfg);
    return 1;
  }
  bool use_ema = gw_cfg_float(&cfg, "train.ema") > 0 && (!weights || !strcmp(weights, "ema"));
  gw_dataset d;
  if (gw_train_data_dir(&cfg, ops, data_dir, sizeof data_dir, false) < 0 ||
      gw_train_open_split(&cfg, ops, data_dir, split, false, &d) < 0) {
    fprintf(stderr, "gw eval: %s\n", gw_last_error());
    gw_config_free(&cfg);
    return 1;
  }
  // the text must be read with the vocabulary the model learnt
  uint64_t hash;
  if (d.vocab.size && gw_ckpt_vocab_hash(ckpt, &hash) == 0 && hash != gw_vocab_hash(&d.vocab)) {
    fprintf(stderr, "gw eval: %s was trained with another vocabulary than %s/vocab.txt (was the "
            "data set generated or converted again?): its word ids would name other words\n",
            ckpt, data_dir);
    gw_dataset_close(&d);
    gw_config_free(&cfg);
    return 1;
  }
  gw_nn nn;
  gw_nn_init(&nn, (uint64_t)gw_cfg_int(&cfg, "train.seed"));
  gw_model_info info = {.image_size = d.size, .vocab_size = d.vocab.size, .max_len = d.max_len,
                        .n_answers = d.n_answers, .n_classes = d.n_classes};
  char *labels = gw_train_label_names(data_dir, &d);
  info.labels = labels;
  void *model = ops->create(&nn, &cfg, &info);
  gw_ema ema;
  if (use_ema) gw_ema_init(&ema, &nn, (float)gw_cfg_float(&cfg, "train.ema"));
  int64_t step = gw_ckpt_step(ckpt);
  gw_metrics m;
  char pred_path[1300], pred_tmp[1310];
  rc = 0;
  if (gw_ckpt_load(ckpt, &nn, NULL, use_ema ? &ema : NULL, NULL) < 0) {
    fprintf(stderr, "gw eval: %s\n", gw_last_error());
    rc = 1;
  } else {
    if (use_ema) gw_ema_swap(&ema);
    // every prediction, beside the truth: written aside and renamed when complete
    snprintf(pred_path, sizeof pred_path, "%s/predictions-%s.jsonl", out_dir, split);
    snprintf(pred_tmp, sizeof pred_tmp, "%s.tmp", pred_path);
    FILE *pf = fopen(pred_tmp, "w");
    if (!pf) {
      fprintf(stderr, "gw eval: cannot write %s: %s\n", pred_tmp, strerror(errno));
      rc = 1;
    } else if (gw_evaluate_predictions(ops, model, &nn, &d, (int)gw_cfg_int(&cfg, "train.batch_size"),
                                       max, pf, labels, &m) < 0) {
      fprintf(stderr, "gw eval: %s\n", gw_last_error());
      rc = 1;
    }
    if (pf && fclose(pf) != 0 && rc == 0) {
      fprintf(stderr, "gw eval: cannot write %s: %s\n", pred_tmp, strerror(errno));
      rc = 1;
    }
    if (pf && rc == 0 && rename(pred_tmp, pred_path) != 0) {
      fprintf(stderr, "gw eval: cannot rename %s: %s\n", pred_tmp, strerror(errno));
      rc = 1;
    }
    if (pf && rc != 0) unlink(pred_tmp);
  }
  if (rc == 0) {
    char path[1300];
    snprintf(path, sizeof path, "%s/metrics-%s.json", out_dir, split);
    printf("%s on %s, step %lld (%s weights, %s)\n%s\n", ops->name, split, (long long)step,
           use_ema ? "EMA" : "raw", ckpt, m.protocol);
    for (int pass = 0; pass < 2; pass++)  // the headline numbers, then the breakdowns
      for (int i = 0; i < m.n; i++)
        if (m.detail[i] == (pass == 1)) {
          if (!strcmp(m.name[i], "samples")) printf("  %-28s %8.0f\n", m.name[i], m.value[i]);
          else printf("  %-28s %8.4f\n", m.name[i], m.value[i]);
        }
    if (gw_metrics_write_json(path, &m, split, step, use_ema ? "ema" : "raw", ckpt) < 0) {
      fprintf(stderr, "gw eval: %s\n", gw_last_error());
      rc = 1;
    } else {
      printf("wrote %s\nwrote %s (one line per sample)\n", path, pred_path);
    }
  }
  ops->destroy(model);
  free(labels);
  gw_dataset_close(&d);
  if (use_ema) gw_ema_free(&ema);
  gw_nn_free(&nn);
  gw_config_free(&cfg);
  return rc;
}
