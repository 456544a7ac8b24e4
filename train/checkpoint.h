// Checkpoints: everything a run needs to continue exactly, in one HDF5 file.
//
//   params/<name>   every parameter and buffer, by dotted name
//   ema/<name>      the EMA weights (when EMA is on)
//   optim/<name>/m, optim/<name>/v   the optimizer's moments (and its step count)
//   attributes: step, data cursor (epoch, position), dropout stream, best metric, the resolved
//   config, the model name, what the model was built for, and the vocabulary it was trained
//   with (its words and hash)
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
} gw_train_state;

// info (may be NULL) records what the model was built for (image size, text length, answer
// and class counts), so that `gw predict` can prepare an input without the data set.
int gw_ckpt_save(const char *path, gw_nn *nn, const gw_optim *opt, const gw_ema *ema,
                 const gw_train_state *st, const char *config_yaml, const char *model_name,
                 const gw_vocab *vocab, const gw_model_info *info);
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

#endif
