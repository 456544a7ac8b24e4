// Reductions over one axis of a contiguous tensor viewed as (outer, n, inner).
//
// Each output (o, i) is reduced by one thread, always in the same order, so results do
// not depend on the thread count. When inner == 1 the reduced elements are contiguous and
// are summed with 16 independent accumulators (fixed lanes, combined in a fixed order):
// vectorisable without reassociating, so still deterministic. A full reduction of a
// large buffer is cut into fixed-size blocks whose partial sums are combined in order.
#include <math.h>
#include <string.h>

#include "tensor/kernels.h"

enum { LANES = 16, SUM_BLOCK = 1 << 14 };

// Sum of n contiguous floats in 16 lanes.
static float sum_contiguous(const float *restrict x, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += x[i + l];
  float s = 0.0f;
  for (; i < n; i++) s += x[i];
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

float gw_k_sum_all(const float *x, int64_t n) {
  if (n < GW_PARALLEL_MIN) return sum_contiguous(x, n);
  int64_t blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
  float partial[blocks];
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    int64_t start = b * SUM_BLOCK, len = n - start < SUM_BLOCK ? n - start : SUM_BLOCK;
    partial[b] = sum_contiguous(x + start, len);
  }
  float s = 0.0f;
  for (int64_t b = 0; b < blocks; b++) s += partial[b];
  return s;
}

void gw_k_reduce_sum(const float *x, float *y, int64_t outer, int64_t n, int64_t inner) {
  if (outer == 1 && inner == 1) {
    y[0] = gw_k_sum_all(x, n);
    return;
  }
  bool parallel = outer * n * inner >= GW_PARALLEL_MIN;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t o = 0; o < outer; o++) y[o] = sum_contiguous(x + o * n, n);
    return;
  }
  // inner > 1: accumulate whole rows of `inner`, vectorised across i. Parallel over outer,
  // or over pieces of inner when outer is small.
  const int64_t piece = 256;
  int64_t pieces = (inner + piece - 1) / piece;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t p = 0; p < pieces; p++) {
      int64_t i0 = p * piece, len = inner - i0 < piece ? inner - i0 : piece;
      float *restrict yo = y + o * inner + i0;
      const float *xo = x + o * n * inner + i0;
      for (int64_t i = 0; i < len; i++) yo[i] = xo[i];
      for (int64_t k = 1; k < n; k++) {
        const float *restrict xk = xo + k * inner;
        for (int64_t i = 0; i < len; i++) yo[i] += xk[i];
      }
    }
  }
}

void gw_k_reduce_max(const float *x, float *y, int32_t *arg, int64_t outer, int64_t n,
                     int64_t inner) {
  bool parallel = outer * n * inner >= GW_PARALLEL_MIN;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      const float *xo = x + o * n * inner + i;
      float best = xo[0];
      int32_t best_k = 0;
      for (int64_t k = 1; k < n; k++) {
        float v = xo[k * inner];
        if (v > best || (v != v && best == best)) {  // NaN wins, as in PyTorch
          best = v;
          best_k = (int32_t)k;
        }
      }
      y[o * inner + i] = best;
      if (arg) arg[o * inner + i] = best_k;
    }
  }
}

void gw_k_reduce_logsumexp(const float *x, float *y, int64_t outer, int64_t n, int64_t inner) {
  bool parallel = outer * n * inner >= GW_PARALLEL_MIN;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      const float *xo = x + o * n * inner + i;
      float m = -INFINITY;
      for (int64_t k = 0; k < n; k++) m = xo[k * inner] > m ? xo[k * inner] : m;
      if (m == -INFINITY) {  // every entry -inf: the sum is 0 and its log -inf
        y[o * inner + i] = -INFINITY;
        continue;
      }
      float s = 0.0f;
      for (int64_t k = 0; k < n; k++) s += expf(xo[k * inner] - m);
      y[o * inner + i] = m + logf(s);
    }
  }
}

void gw_k_reduce_var(const float *x, float *y, float *mean, int64_t outer, int64_t n, int64_t inner,
                     int correction) {
  bool parallel = outer * n * inner >= GW_PARALLEL_MIN;
  float denom = (float)(n - correction);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      const float *xo = x + o * n * inner + i;
      // two passes in double: the mean, then the squared deviations
      double s = 0.0;
      for (int64_t k = 0; k < n; k++) s += xo[k * inner];
      double mu = s / (double)n;
      double ss = 0.0;
      for (int64_t k = 0; k < n; k++) {
        double d = xo[k * inner] - mu;
        ss += d * d;
      }
      y[o * inner + i] = denom > 0.0f ? (float)(ss / denom) : NAN;
      if (mean) mean[o * inner + i] = (float)mu;
    }
  }
}

void gw_k_sum_to(const gw_tensor *x, gw_tensor *out) {
  GW_CHECK(gw_is_contiguous(x) && gw_is_contiguous(out), "sum_to: contiguous tensors only");
  GW_CHECK(out->ndim <= x->ndim, "sum_to: cannot reduce %s to %s", gw_shape_str(x),
           gw_shape_str(out));
  // Right-align out's shape against x's; every dim where out has size 1 (or no dim) is summed.
  int lead = x->ndim - out->ndim;
  int64_t shape[GW_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) {
    int64_t o = i < lead ? 1 : out->shape[i - lead];
    GW_CHECK(o == x->shape[i] || o == 1, "sum_to: cannot reduce %s to %s", gw_shape_str(x),
             gw_shape_str(out));
    shape[i] = o;
  }
  // Reduce one run of summed dims at a time, from the innermost, ping-ponging through a
  // scratch buffer in the current arena.
  gw_arena *a = gw_arena_current();
  gw_arena_mark mark = gw_arena_get_mark(a);
  int64_t cur_shape[GW_MAX_DIMS];
  memcpy(cur_shape, x->shape, sizeof cur_shape);
  const float *src = gw_f32(x);
  int nd = x->ndim;
  int i = nd - 1;
  bool reduced_any = false;
  while (i >= 0) {
    if (shape[i] == cur_shape[i]) {
      i--;
      continue;
    }
    int j = i;  // [j, i] is a run of dims to sum
    while (j - 1 >= 0 && shape[j - 1] != cur_shape[j - 1]) j--;
    int64_t outer = 1, n = 1, inner = 1;
    for (int k = 0; k < j; k++) outer *= cur_shape[k];
    for (int k = j; k <= i; k++) n *= cur_shape[k];
    for (int k = i + 1; k < nd; k++) inner *= cur_shape[k];
    float *dst = gw_arena_alloc(a, (size_t)(outer * inner) * sizeof(float), "sum_to");
    gw_k_reduce_sum(src, dst, outer, n, inner);
    for (int k = j; k <= i; k++) cur_shape[k] = 1;
    src = dst;
    reduced_any = true;
    i = j - 1;
  }
  int64_t count = gw_numel(out);
  if (reduced_any || src != gw_f32(out)) memmove(gw_f32(out), src, (size_t)count * sizeof(float));
  gw_arena_rewind(a, mark);
}
