// Softmax and log-softmax over rows of n, with an optional keep-mask.
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/kernels/fastmath.h"

// x, y (rows, n); mask (rows, n) int32 or NULL (0 = leave the entry out)
static void softmax_row(const float *restrict x, const int32_t *restrict mask, float *restrict y,
                        int64_t n, bool log) {
  float m = -INFINITY;
  for (int64_t j = 0; j < n; j++)
    if ((!mask || mask[j]) && x[j] > m) m = x[j];
  if (m == -INFINITY) {  // nothing kept (or all -inf): zeros, or -inf for log_softmax
    for (int64_t j = 0; j < n; j++) y[j] = log ? -INFINITY : 0.0f;
    return;
  }
  float s = 0.0f;
  for (int64_t j = 0; j < n; j++) {
    float e = (!mask || mask[j]) ? gw_expf(x[j] - m) : 0.0f;
    if (!log) y[j] = e;
    s += e;
  }
  if (log) {
    float lse = m + logf(s);
    for (int64_t j = 0; j < n; j++) y[j] = (!mask || mask[j]) ? x[j] - lse : -INFINITY;
  } else {
    float inv = 1.0f / s;
    for (int64_t j = 0; j < n; j++) y[j] *= inv;
  }
}

void gw_k_softmax(const float *x, const int32_t *mask, float *y, int64_t rows, int64_t n, bool log) {
#pragma omp parallel for schedule(static) if (rows * n >= GW_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++)
    softmax_row(x + r * n, mask ? mask + r * n : NULL, y + r * n, n, log);
}

// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)     (masked entries: y = 0 or exp(-inf) = 0)
void gw_k_softmax_backward(const float *y, const float *dy, float *dx, int64_t rows, int64_t n,
                           bool log) {
#pragma omp parallel for schedule(static) if (rows * n >= GW_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict yr = y + r * n, *restrict dyr = dy + r * n;
    float *restrict dxr = dx + r * n;
    float s = 0.0f;
    if (log) {
      for (int64_t j = 0; j < n; j++)
        if (yr[j] != -INFINITY) s += dyr[j];
      for (int64_t j = 0; j < n; j++)
        if (yr[j] != -INFINITY) dxr[j] += dyr[j] - gw_expf(yr[j]) * s;
    } else {
      for (int64_t j = 0; j < n; j++) s += dyr[j] * yr[j];
      for (int64_t j = 0; j < n; j++) dxr[j] += yr[j] * (dyr[j] - s);
    }
  }
}
