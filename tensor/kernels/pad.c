// Constant padding (or cropping, with negative amounts) on any dimensions.
#include "tensor/kernels.h"

// x (..., n_d, ...) -> out (..., before[d] + n_d + after[d], ...)
void gw_k_pad(const gw_tensor *x, const int64_t *before, const int64_t *after, float value,
              gw_tensor *out) {
  gw_fill(out, value);
  // The part of x that survives cropping, and where it lands in out.
  gw_tensor *src = (gw_tensor *)x, *dst = out;
  for (int d = 0; d < x->ndim; d++) {
    int64_t n = x->shape[d];
    int64_t s0 = before[d] < 0 ? -before[d] : 0;
    int64_t s1 = after[d] < 0 ? n + after[d] : n;
    if (s1 <= s0) return;  // everything cropped away on this dimension
    int64_t d0 = before[d] > 0 ? before[d] : 0;
    src = gw_view_slice(src, d, s0, s1, 1);
    dst = gw_view_slice(dst, d, d0, d0 + (s1 - s0), 1);
  }
  gw_k_copy(dst, src);
}
