// Saving and loading a model's tensors and an optimizer's state in HDF5, by dotted name.
//
// Parameters and buffers go under "<group>/<name>" ("params/visual.conv1.weight"); the
// optimizer under "optim/<name>/m", "optim/<name>/v", plus its step count.
#ifndef GW_NN_STATE_H
#define GW_NN_STATE_H

#include "nn/module.h"
#include "nn/optim.h"
#include "tensor/h5io.h"

int gw_nn_save(gw_nn *nn, gw_h5 *f, const char *group);

typedef struct gw_load_opts {
  bool strict;            // every model tensor must be in the file and nothing else (default)
  const char *only;       // load only model tensors under this prefix ("" or NULL: all)
  const char *file_prefix; // names in the file carry this prefix instead of `only`
                          // (load "backbone.*" from a file into "visual.backbone.*")
} gw_load_opts;

// Loads tensors from "<group>/..." into nn. With strict, one error lists every missing name,
// every unexpected name and every shape mismatch; non-strict loads what matches by name and
// shape and still stops on a shape mismatch. Returns the number loaded, or -1.
int gw_nn_load(gw_nn *nn, gw_h5 *f, const char *group, gw_load_opts opts);

int gw_optim_save(const gw_optim *o, gw_h5 *f);
int gw_optim_load(gw_optim *o, gw_h5 *f);

#endif
