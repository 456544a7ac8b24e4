// Language-dependent convolution's aggregation (LaConv, an "involution"): a depthwise k x k
// convolution whose kernel differs for every sample and every pixel, shared by the channels of
// a group (channel c uses group c mod G, interleaved as in the SAN aggregation op).
//
//   x (B, C, H, W), w (B, G, k*k, H, W) -> y (B, C, H, W), zero padding k/2, stride 1
//   y[b, c, h, w] = sum_{i,j} w[b, c % G, i*k + j, h, w] * x[b, c, h + i - p, w + j - p]
//
// Nothing is unfolded: for each channel and kernel tap, one pass adds a shifted row of x times
// the tap's weight row, a loop the compiler vectorises. Channels of different planes are
// independent (forward, dx); the weight gradient of a group sums its channels in a fixed order.
#include <string.h>

#include "tensor/kernels.h"

// The columns [lo, hi) of an output row for which the input column w + dj lies inside [0, W).
static inline void valid_cols(int64_t W, int64_t dj, int64_t *lo, int64_t *hi) {
  *lo = dj < 0 ? -dj : 0;
  *hi = dj > 0 ? W - dj : W;
  if (*hi < *lo) *hi = *lo;
}

void gw_k_laconv(const float *x, const float *w, float *y, int64_t B, int64_t C, int64_t G,
                 int64_t H, int64_t W, int64_t k) {
  int64_t HW = H * W, KK = k * k, p = k / 2;
#pragma omp parallel for collapse(2) schedule(static) if (B * C * HW * KK >= GW_PARALLEL_MIN)
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = 0; c < C; c++) {
      const float *xp = x + (b * C + c) * HW;
      const float *wg = w + (b * G + c % G) * KK * HW;
      float *yp = y + (b * C + c) * HW;
      memset(yp, 0, (size_t)HW * sizeof(float));
      for (int64_t t = 0; t < KK; t++) {
        int64_t di = t / k - p, dj = t % k - p, lo, hi;
        valid_cols(W, dj, &lo, &hi);
        const float *wt = wg + t * HW;
        for (int64_t h = 0; h < H; h++) {
          int64_t hs = h + di;
          if (hs < 0 || hs >= H) continue;
          float *restrict yr = yp + h * W;
          const float *restrict wr = wt + h * W;
          const float *restrict xr = xp + hs * W + dj;
          for (int64_t ww = lo; ww < hi; ww++) yr[ww] += wr[ww] * xr[ww];
        }
      }
    }
}

// dx[b, c, h + di, w + dj] += w[b, g, t, h, w] * dy[b, c, h, w]     (per plane: independent)
// dw[b, g, t, h, w] += sum over c = g (mod G) of dy[b, c, h, w] * x[b, c, h + di, w + dj]
void gw_k_laconv_backward(const float *x, const float *w, const float *dy, float *dx, float *dw,
                          int64_t B, int64_t C, int64_t G, int64_t H, int64_t W, int64_t k) {
  int64_t HW = H * W, KK = k * k, p = k / 2;
  bool big = B * C * HW * KK >= GW_PARALLEL_MIN;
  if (dx) {
#pragma omp parallel for collapse(2) schedule(static) if (big)
    for (int64_t b = 0; b < B; b++)
      for (int64_t c = 0; c < C; c++) {
        const float *gp = dy + (b * C + c) * HW;
        const float *wg = w + (b * G + c % G) * KK * HW;
        float *xp = dx + (b * C + c) * HW;
        for (int64_t t = 0; t < KK; t++) {
          int64_t di = t / k - p, dj = t % k - p, lo, hi;
          valid_cols(W, dj, &lo, &hi);
          const float *wt = wg + t * HW;
          for (int64_t h = 0; h < H; h++) {
            int64_t hs = h + di;
            if (hs < 0 || hs >= H) continue;
            const float *restrict gr = gp + h * W;
            const float *restrict wr = wt + h * W;
            float *restrict xr = xp + hs * W + dj;
            for (int64_t ww = lo; ww < hi; ww++) xr[ww] += wr[ww] * gr[ww];
          }
        }
      }
  }
  if (dw) {
#pragma omp parallel for collapse(2) schedule(static) if (big)
    for (int64_t b = 0; b < B; b++)
      for (int64_t g = 0; g < G; g++) {
        float *wg = dw + (b * G + g) * KK * HW;
        for (int64_t c = g; c < C; c += G) {  // the group's channels, in order
          const float *gp = dy + (b * C + c) * HW;
          const float *xp = x + (b * C + c) * HW;
          for (int64_t t = 0; t < KK; t++) {
            int64_t di = t / k - p, dj = t % k - p, lo, hi;
            valid_cols(W, dj, &lo, &hi);
            float *wt = wg + t * HW;
            for (int64_t h = 0; h < H; h++) {
              int64_t hs = h + di;
              if (hs < 0 || hs >= H) continue;
              const float *restrict gr = gp + h * W;
              const float *restrict xr = xp + hs * W + dj;
              float *restrict wr = wt + h * W;
              for (int64_t ww = lo; ww < hi; ww++) wr[ww] += gr[ww] * xr[ww];
            }
          }
        }
      }
  }
}
