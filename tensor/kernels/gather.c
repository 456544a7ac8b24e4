// Gather and scatter-add along one axis of a tensor viewed as (outer, n, inner).
//
// Scatter-add is the backward of gather; several indices may point at one row, so it is a
// reduction. It stays deterministic by giving each thread its own slice of `inner` (or of
// `outer`) and walking the indices in order within it.
#include <string.h>

#include "tensor/kernels.h"

void gw_k_check_indices(const char *op, const int32_t *idx, int64_t count, int64_t n) {
  for (int64_t i = 0; i < count; i++)
    GW_CHECK(idx[i] >= 0 && idx[i] < n, "%s: index %d at position %lld is out of range [0, %lld)", op,
             idx[i], (long long)i, (long long)n);
}

// y (outer, m, inner) = x[:, idx[j], :]
void gw_k_index_select(const float *x, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                       int64_t m, float *y) {
#pragma omp parallel for collapse(2) schedule(static) if (outer * m * inner >= GW_PARALLEL_MIN)
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < m; j++)
      memcpy(y + (o * m + j) * inner, x + (o * n + idx[j]) * inner, (size_t)inner * sizeof(float));
}

// dx[:, idx[j], :] += dy[:, j, :]
void gw_k_index_add(float *dx, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                    int64_t m, const float *dy) {
  const int64_t piece = 64;
  int64_t pieces = (inner + piece - 1) / piece;
#pragma omp parallel for collapse(2) schedule(static) if (outer * m * inner >= GW_PARALLEL_MIN)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t p = 0; p < pieces; p++) {
      int64_t i0 = p * piece, len = inner - i0 < piece ? inner - i0 : piece;
      for (int64_t j = 0; j < m; j++) {
        float *restrict d = dx + (o * n + idx[j]) * inner + i0;
        const float *restrict s = dy + (o * m + j) * inner + i0;
        for (int64_t i = 0; i < len; i++) d[i] += s[i];
      }
    }
  }
}

// y[o, j, i] = x[o, idx[o, j, i], i]
void gw_k_gather(const float *x, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                 int64_t m, float *y) {
#pragma omp parallel for schedule(static) if (outer * m * inner >= GW_PARALLEL_MIN)
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < m; j++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t at = (o * m + j) * inner + i;
        y[at] = x[(o * n + idx[at]) * inner + i];
      }
}

// dx[o, idx[o, j, i], i] += dy[o, j, i]; threads own disjoint o, so writes never collide
void gw_k_scatter_add(float *dx, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                      int64_t m, const float *dy) {
#pragma omp parallel for schedule(static) if (outer * m * inner >= GW_PARALLEL_MIN)
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < m; j++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t at = (o * m + j) * inner + i;
        dx[(o * n + idx[at]) * inner + i] += dy[at];
      }
}
