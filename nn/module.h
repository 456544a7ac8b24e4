// Modules: structs of parameters and sub-modules, registered under dotted names.
//
// A model owns one gw_nn: the registry of its parameters and buffers (by full dotted name,
// "visual.layer2.conv1.weight"), the random streams for initialisation and dropout, and the
// train/eval flag. Each module's init function takes the gw_nn and its own name, registers
// its tensors as "<name>.weight" etc., and keeps a pointer to the gw_nn so its forward
// function can read the mode. The registered names are the names in checkpoints and in the
// optimizer.
//
// A module type is named after its layer (gw_mha, gw_gru, gw_mlp); where that name is
// already the op's (gw_linear, gw_conv2d's gw_conv, gw_batchnorm, gw_layernorm, gw_embedding),
// the module type carries _m: gw_linear_m wraps the op gw_linear.
#ifndef GW_NN_MODULE_H
#define GW_NN_MODULE_H

#include <stdbool.h>
#include <stdint.h>

#include "autograd/autograd.h"

typedef struct gw_named {
  const char *name;   // full dotted name
  gw_tensor *tensor;  // in the persistent arena
  bool buffer;        // state that is saved but not trained (running statistics)
  bool no_decay;      // no weight decay by default (biases, norm scales, embeddings' pads)
} gw_named;

typedef struct gw_nn {
  gw_named *items;
  int count, capacity;
  gw_rng init;     // initialisation stream
  gw_rng dropout;  // dropout stream
  bool training;
} gw_nn;

// A fresh registry; `seed` seeds the "init" and "dropout" streams. Starts in training mode.
void gw_nn_init(gw_nn *nn, uint64_t seed);
void gw_nn_free(gw_nn *nn);

// Registers a new zero-filled parameter (requires_grad) or buffer under prefix + "." + leaf
// (or just leaf when prefix is empty). Names must be unique.
gw_tensor *gw_nn_param(gw_nn *nn, const char *prefix, const char *leaf, int ndim,
                       const int64_t *shape, bool no_decay);
gw_tensor *gw_nn_buffer(gw_nn *nn, const char *prefix, const char *leaf, int ndim,
                        const int64_t *shape);
// "prefix.leaf" (or "leaf"), kept in the persistent arena; for naming sub-modules.
const char *gw_nn_name(const char *prefix, const char *leaf);
// Same, with a number: "prefix.leaf.3" (layers in a list).
const char *gw_nn_name_i(const char *prefix, const char *leaf, int index);

gw_named *gw_nn_find(gw_nn *nn, const char *name);  // NULL if absent
void gw_nn_train(gw_nn *nn, bool training);
// Freezes (or unfreezes) every parameter whose name starts with prefix ("" for all);
// returns how many it changed.
int gw_nn_freeze(gw_nn *nn, const char *prefix, bool frozen);
// Number of elements in parameters (buffers excluded); trainable_only counts unfrozen ones.
int64_t gw_nn_param_count(const gw_nn *nn, bool trainable_only);
void gw_nn_zero_grad(gw_nn *nn);
// Dropout probability to use now: p in training mode, 0 in evaluation.
static inline float gw_nn_dropout_p(const gw_nn *nn, float p) { return nn->training ? p : 0.0f; }

#endif
