// Batch normalisation over x viewed as (B, C, S): statistics per channel over B and S.
//
// Each channel is one thread's work (channels are independent), and within a channel the
// sums run in a fixed order, so the bits do not depend on the thread count.
#include <math.h>

#include "tensor/kernels.h"

// Sum over b and s of f(x[b, c, s]) for one channel c, with 16 lanes over s.
static double channel_sum(const float *x, int64_t B, int64_t C, int64_t S, int64_t c,
                          const float *sub) {
  double total = 0.0;
  float m = sub ? *sub : 0.0f;
  for (int64_t b = 0; b < B; b++) {
    const float *row = x + (b * C + c) * S;
    float acc[16] = {0};
    int64_t s = 0;
    if (sub) {
      for (; s + 16 <= S; s += 16)
        for (int l = 0; l < 16; l++) acc[l] += (row[s + l] - m) * (row[s + l] - m);
      for (; s < S; s++) acc[0] += (row[s] - m) * (row[s] - m);
    } else {
      for (; s + 16 <= S; s += 16)
        for (int l = 0; l < 16; l++) acc[l] += row[s + l];
      for (; s < S; s++) acc[0] += row[s];
    }
    float t = 0.0f;
    for (int l = 0; l < 16; l++) t += acc[l];
    total += t;
  }
  return total;
}

void gw_k_batchnorm_stats(const float *x, int64_t B, int64_t C, int64_t S, float *mean, float *var) {
  double n = (double)(B * S);
#pragma omp parallel for schedule(static) if (B * C * S >= GW_PARALLEL_MIN)
  for (int64_t c = 0; c < C; c++) {
    float mu = (float)(channel_sum(x, B, C, S, c, NULL) / n);
    mean[c] = mu;
    var[c] = (float)(channel_sum(x, B, C, S, c, &mu) / n);  // biased, two-pass
  }
}

// y = (x - mean[c]) * rstd[c] * gamma[c] + beta[c]
void gw_k_batchnorm_apply(const float *x, const float *mean, const float *rstd, const float *gamma,
                          const float *beta, float *y, int64_t B, int64_t C, int64_t S) {
#pragma omp parallel for collapse(2) schedule(static) if (B * C * S >= GW_PARALLEL_MIN)
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = 0; c < C; c++) {
      float scale = rstd[c] * (gamma ? gamma[c] : 1.0f);
      float shift = (beta ? beta[c] : 0.0f) - mean[c] * scale;
      const float *xr = x + (b * C + c) * S;
      float *yr = y + (b * C + c) * S;
      for (int64_t s = 0; s < S; s++) yr[s] = xr[s] * scale + shift;
    }
}

// Training-mode backward, with xhat = (x - mean) * rstd and N = B*S:
//   dbeta = sum(dy),  dgamma = sum(dy * xhat)
//   dx = gamma * rstd / N * (N dy - dbeta - xhat * dgamma)
// In eval mode the statistics are constants: dx = dy * gamma * rstd (pass training = false).
void gw_k_batchnorm_backward(const float *x, const float *dy, const float *mean, const float *rstd,
                             const float *gamma, float *dx, float *dgamma, float *dbeta, int64_t B,
                             int64_t C, int64_t S, bool training) {
  double n = (double)(B * S);
#pragma omp parallel for schedule(static) if (B * C * S >= GW_PARALLEL_MIN)
  for (int64_t c = 0; c < C; c++) {
    float mu = mean[c], rs = rstd[c], g = gamma ? gamma[c] : 1.0f;
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t b = 0; b < B; b++) {
      const float *xr = x + (b * C + c) * S, *dr = dy + (b * C + c) * S;
      float a0 = 0.0f, a1 = 0.0f;
      for (int64_t s = 0; s < S; s++) {
        a0 += dr[s];
        a1 += dr[s] * (xr[s] - mu);
      }
      sum_dy += a0;
      sum_dy_xhat += (double)a1 * rs;
    }
    if (dbeta) dbeta[c] += (float)sum_dy;
    if (dgamma) dgamma[c] += (float)sum_dy_xhat;
    if (!dx) continue;
    float k = g * rs;
    float mean_dy = training ? (float)(sum_dy / n) : 0.0f;
    float mean_dy_xhat = training ? (float)(sum_dy_xhat / n) : 0.0f;
    for (int64_t b = 0; b < B; b++) {
      const float *xr = x + (b * C + c) * S, *dr = dy + (b * C + c) * S;
      float *dxr = dx + (b * C + c) * S;
      for (int64_t s = 0; s < S; s++)
        dxr[s] += k * (dr[s] - mean_dy - (xr[s] - mu) * rs * mean_dy_xhat);
    }
  }
}
