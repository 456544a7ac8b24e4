// Checkpoints: everything a run needs to continue exactly, in one HDF5 file.
//
//   params/<name>   every parameter and buffer, by dotted name
//   ema/<name>      the EMA weights (when EMA is on), and the EMA's update count
//   optim/<name>/m, optim/<name>/v   the optimizer's moments (and its step count)
//   attributes:
//     step, schedule_total_steps   where the learning-rate schedule stands (its position and
//                                  length; the rest of the schedule is in the config)
//     data_epoch, data_position    the data cursor: the epoch (whose order the seed and the
//                                  epoch number give) and the samples of it already used
//     dropout_key, dropout_counter the dropout stream (initialisation and augmentation
//                                  streams are functions of the seed, the epoch and the sample)
//     best_value_bits, best_step   the best evaluation so far
//     config, model                the resolved config (YAML) and the model's name
//     image_size ... n_classes     what the model was built for (gw predict needs no data set)
//     vocab, vocab_hash            the vocabulary the model was trained with, and its hash
//     labels                       answer or class names, one per line (VQA, classification)
//     param_count                  trainable parameters
//
// Written to <path>.tmp and renamed, so a crash never leaves a torn checkpoint.
#ifndef GW_TRAIN_CHECKPOINT_H
#define GW_TRAIN_CHECKPOINT_H

#include "datasets/loader.h"
#include "datasets/vocab.h"
#include "models/model.h"
#include "nn/nn.h"

typedef struct gw_train_state {
  int64_t step;            // optimizer steps done
  gw_loader_state data;    // where the training data continues
  gw_rng dropout;          // the dropout stream
  double best_value;       // best evaluation metric so far (-inf: none)
  int64_t best_step;
  int64_t total_steps;     // the schedule's length (0: not recorded)
} gw_train_state;

// What a checkpoint records about the run besides tensors and state (any field may be NULL).
typedef struct gw_ckpt_meta {
  const char *config_yaml;     // the resolved config
  const char *model_name;
  const gw_vocab *vocab;       // the vocabulary the model reads its text with
  const gw_model_info *info;   // what the model was built for (image size, text length, answer
                               // and class counts): `gw predict` needs no data set
  const char *labels;          // answer (VQA) or class names, one per line, in id order
} gw_ckpt_meta;

int gw_ckpt_save(const char *path, gw_nn *nn, const gw_optim *opt, const gw_ema *ema,
                 const gw_train_state *st, const gw_ckpt_meta *meta);
// The model info stored in a checkpoint; -1 if absent.
int gw_ckpt_model_info(const char *path, gw_model_info *info);
// Loads what the pointers ask for (opt, ema, st may be NULL): weights strictly by name (one
// error lists every missing, unexpected or mis-shaped tensor). -1 with gw_last_error().
int gw_ckpt_load(const char *path, gw_nn *nn, gw_optim *opt, gw_ema *ema, gw_train_state *st);
// The resolved config and model name stored in a checkpoint (malloc'ed; NULL on error).
char *gw_ckpt_config(const char *path);
char *gw_ckpt_model_name(const char *path);
// The vocabulary stored in a checkpoint, into v (initialised by this call); -1 if none.
int gw_ckpt_vocab(const char *path, gw_vocab *v);
// The step a checkpoint was written at, or -1.
int64_t gw_ckpt_step(const char *path);
// The hash of that vocabulary; -1 if the checkpoint holds none.
int gw_ckpt_vocab_hash(const char *path, uint64_t *hash);
// The answer or class names stored in a checkpoint (one per line, malloc'ed), or NULL.
char *gw_ckpt_labels(const char *path);

#endif
