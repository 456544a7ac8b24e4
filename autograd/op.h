// Helpers shared by the op files of autograd/ (not part of the public API).
#ifndef GW_AUTOGRAD_OP_H
#define GW_AUTOGRAD_OP_H

#include "autograd/autograd.h"
#include "tensor/kernels.h"

// Stops unless t is float32.
void gw_check_f32(const char *op, const gw_tensor *t);
// Stops unless t is int32.
void gw_check_i32(const char *op, const gw_tensor *t);
// A new float32 output of the given shape in the current arena.
gw_tensor *gw_new_out(int ndim, const int64_t *shape);
// x as row-major data (a copy when it is a strided view; no tape entry: the caller's own
// backward routes the gradient to x).
gw_tensor *gw_rowmajor(const gw_tensor *x);
// Does input i of node n want a gradient?
static inline bool gw_in_wants_grad(const gw_node *n, int i) { return n->in[i]->requires_grad; }

#endif
