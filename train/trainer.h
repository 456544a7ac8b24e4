// The trainer: one run from a config, or the continuation of one.
//
//   RUN_DIR/config.yaml      the resolved config
//   RUN_DIR/log.csv          every step: step, loss, each loss term (loss_<name>), lr, grad norm,
//                            seconds
//   RUN_DIR/metrics.jsonl    every evaluation
//   RUN_DIR/metrics-SPLIT.json   the final evaluation of each split
//   RUN_DIR/ckpt/step_N.h5   the last train.keep_last checkpoints, and ckpt/best.h5
//   RUN_DIR/vis/sampleNN.png (and .txt)   sample predictions of the final evaluation
//   RUN_DIR/report.html      curves, config and sample predictions
#ifndef GW_TRAIN_TRAINER_H
#define GW_TRAIN_TRAINER_H

#include <stdbool.h>

#include "models/model.h"
#include "train/config.h"

typedef struct gw_train_opts {
  const char *config;     // the YAML config (NULL with resume)
  const char *out_dir;    // RUN_DIR (default runs/<config name>)
  const char *resume;     // RUN_DIR to continue from its newest complete checkpoint
  const char *init_from;  // a checkpoint whose weights start this run (matched by name)
  bool force;             // use RUN_DIR even if it holds another run (its files are kept aside)
  bool quiet;             // no progress lines
  int n_overrides;
  char **overrides;       // key=value
  int stop_after;         // stop (as if interrupted) after this many steps (tests; 0: never)
} gw_train_opts;

// Runs (or resumes) training. Returns 0, 1 on error (message printed), or 130 when interrupted
// by SIGINT/SIGTERM (after writing a checkpoint).
int gw_train_main(const gw_train_opts *o);

// Reads a config with overrides and validates it against the trainer, data and model schemas.
// On success *ops is the model. -1 with gw_last_error().
int gw_train_load_config(gw_config *cfg, const char *path, int n_overrides, char **overrides,
                         const gw_model_ops **ops);
// The same, from a resolved config stored in a checkpoint (origin names it in messages).
int gw_train_load_config_string(gw_config *cfg, const char *yaml, const char *origin,
                                const gw_model_ops **ops);
// Makes sure the data set of the config exists (generating a shapes-world preset if needed)
// and returns the directory to open for the model's task in dir (CLASSIFY: its few-shot set).
int gw_train_data_dir(const gw_config *cfg, const gw_model_ops *ops, char *dir, size_t len,
                      bool quiet);
// Opens a split of that directory for the model's task. Classification with data.shots = K
// follows CoOp's protocol: the training split keeps K images per class, "val" min(K, 4), both
// chosen by train.seed; other splits stay whole. -1 with gw_last_error().
int gw_train_open_split(const gw_config *cfg, const gw_model_ops *ops, const char *dir,
                        const char *split, bool training, gw_dataset *d);
// Answer names (VQA) or class names (classification) of a data set, one per line in id order
// (malloc'ed), or NULL; and line k of such a text ("#k" when it has no line k).
char *gw_train_label_names(const char *data_dir, const gw_dataset *d);
void gw_train_label(const char *labels, int k, char *out, size_t n);

#endif
