// Joining along a dimension: each input is copied into its slice of the output.
#include "tensor/kernels.h"

// xs[k] (..., n_k, ...) joined along dim -> out (..., sum n_k, ...)
void gw_k_concat(const gw_tensor *const *xs, int count, int dim, gw_tensor *out) {
  int64_t at = 0;
  for (int k = 0; k < count; k++) {
    int64_t n = xs[k]->shape[dim];
    gw_tensor *dst = gw_view_slice(out, dim, at, at + n, 1);
    gw_k_copy(dst, xs[k]);
    at += n;
  }
}
