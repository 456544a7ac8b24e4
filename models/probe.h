// Probes: looking inside a model (gw predict --explain). While probing is on, a model hands the
// intermediate tensors a learner may want to see (LaConvNet: every block's word attention and
// generated kernels) to gw_probe_keep, under a name; otherwise gw_probe_keep does nothing, so
// training pays nothing for it. The tensors live in the current arena: read them before the
// next step resets it.
#ifndef GW_MODELS_PROBE_H
#define GW_MODELS_PROBE_H

#include "tensor/tensor.h"

enum { GW_PROBE_MAX = 64, GW_PROBE_NAME = 96 };

typedef struct gw_probe_set {
  int n;
  char names[GW_PROBE_MAX][GW_PROBE_NAME];
  gw_tensor *tensors[GW_PROBE_MAX];
  int ints[GW_PROBE_MAX];  // one integer a model may add per tensor (LaConv: the kernel size)
} gw_probe_set;

// Start keeping tensors in `set` (emptied first); gw_probe_end stops.
void gw_probe_begin(gw_probe_set *set);
void gw_probe_end(void);
bool gw_probe_on(void);
// Keeps `t` as "prefix.what" (a full set drops the rest, with a warning once).
void gw_probe_keep(const char *prefix, const char *what, gw_tensor *t, int extra);
// The tensor kept as `name`, or NULL.
gw_tensor *gw_probe_get(const gw_probe_set *set, const char *name, int *extra);

#endif
