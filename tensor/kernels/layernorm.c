// Layer normalisation over rows of d, forward and backward.
#include <math.h>
#include <string.h>

#include "tensor/kernels.h"

// x, y (rows, d); gamma, beta (d) or NULL; mean, rstd (rows) saved for backward
void gw_k_layernorm(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                    float *rstd, int64_t rows, int64_t d, float eps) {
#pragma omp parallel for schedule(static) if (rows * d >= GW_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * d;
    float *restrict yr = y + r * d;
    float s = 0.0f;
    for (int64_t j = 0; j < d; j++) s += xr[j];
    float mu = s / (float)d;
    float v = 0.0f;
    for (int64_t j = 0; j < d; j++) v += (xr[j] - mu) * (xr[j] - mu);
    float rs = 1.0f / sqrtf(v / (float)d + eps);
    for (int64_t j = 0; j < d; j++) {
      float h = (xr[j] - mu) * rs;
      yr[j] = gamma ? h * gamma[j] + (beta ? beta[j] : 0.0f) : h + (beta ? beta[j] : 0.0f);
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// With h = (x - mean) * rstd and g = dy * gamma:
//   dx = rstd * (g - mean(g) - h * mean(g * h)),  dgamma = sum_rows(dy * h),  dbeta = sum_rows(dy)
// dgamma and dbeta are sums over rows: rows are taken in fixed blocks whose partial sums
// are added in block order, so the result does not depend on the thread count.
enum { ROW_BLOCK = 64 };

void gw_k_layernorm_backward(const float *x, const float *gamma, const float *mean,
                             const float *rstd, const float *dy, float *dx, float *dgamma,
                             float *dbeta, int64_t rows, int64_t d) {
  bool parallel = rows * d >= GW_PARALLEL_MIN;
  if (dx) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t r = 0; r < rows; r++) {
      const float *restrict xr = x + r * d, *restrict dyr = dy + r * d;
      float *restrict dxr = dx + r * d;
      float mu = mean[r], rs = rstd[r];
      float sg = 0.0f, sgh = 0.0f;
      for (int64_t j = 0; j < d; j++) {
        float g = dyr[j] * (gamma ? gamma[j] : 1.0f);
        sg += g;
        sgh += g * (xr[j] - mu) * rs;
      }
      sg /= (float)d;
      sgh /= (float)d;
      for (int64_t j = 0; j < d; j++) {
        float g = dyr[j] * (gamma ? gamma[j] : 1.0f);
        dxr[j] += rs * (g - sg - (xr[j] - mu) * rs * sgh);
      }
    }
  }
  if (!dgamma && !dbeta) return;
  int64_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
  gw_arena *a = gw_arena_current();
  gw_arena_mark mark = gw_arena_get_mark(a);
  float *pg = gw_arena_calloc(a, (size_t)(blocks * d) * sizeof(float), "layernorm backward");
  float *pb = gw_arena_calloc(a, (size_t)(blocks * d) * sizeof(float), "layernorm backward");
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < blocks; b++) {
    float *restrict g = pg + b * d, *restrict bb = pb + b * d;
    int64_t end = (b + 1) * ROW_BLOCK < rows ? (b + 1) * ROW_BLOCK : rows;
    for (int64_t r = b * ROW_BLOCK; r < end; r++) {
      const float *restrict xr = x + r * d, *restrict dyr = dy + r * d;
      float mu = mean[r], rs = rstd[r];
      for (int64_t j = 0; j < d; j++) {
        g[j] += dyr[j] * (xr[j] - mu) * rs;
        bb[j] += dyr[j];
      }
    }
  }
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t j = 0; j < d; j++) {
      if (dgamma) dgamma[j] += pg[b * d + j];
      if (dbeta) dbeta[j] += pb[b * d + j];
    }
  gw_arena_rewind(a, mark);
}
