// Resizing planes of H x W to OH x OW: nearest and bilinear (align_corners=False), as PyTorch.
#include <math.h>

#include "tensor/kernels.h"

static inline int64_t nearest_src(int64_t dst, int64_t in, int64_t out) {
  int64_t s = (int64_t)floorf((float)dst * ((float)in / (float)out));
  return s < in - 1 ? s : in - 1;
}

void gw_k_upsample_nearest(const float *x, int64_t planes, int64_t H, int64_t W, int64_t OH,
                           int64_t OW, float *y) {
#pragma omp parallel for schedule(static) if (planes * OH * OW >= GW_PARALLEL_MIN)
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oh = 0; oh < OH; oh++) {
      const float *xr = x + (p * H + nearest_src(oh, H, OH)) * W;
      float *yr = y + (p * OH + oh) * OW;
      for (int64_t ow = 0; ow < OW; ow++) yr[ow] = xr[nearest_src(ow, W, OW)];
    }
}

void gw_k_upsample_nearest_backward(const float *dy, int64_t planes, int64_t H, int64_t W,
                                    int64_t OH, int64_t OW, float *dx) {
#pragma omp parallel for schedule(static) if (planes * OH * OW >= GW_PARALLEL_MIN)
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oh = 0; oh < OH; oh++) {
      float *dxr = dx + (p * H + nearest_src(oh, H, OH)) * W;
      const float *dyr = dy + (p * OH + oh) * OW;
      for (int64_t ow = 0; ow < OW; ow++) dxr[nearest_src(ow, W, OW)] += dyr[ow];
    }
}

// Source coordinate of output index i (align_corners=False), and its two taps and weight.
static inline void bilinear_taps(int64_t i, int64_t in, int64_t out, int64_t *i0, int64_t *i1,
                                 float *w1) {
  float scale = (float)in / (float)out;
  float src = ((float)i + 0.5f) * scale - 0.5f;
  if (src < 0.0f) src = 0.0f;
  int64_t lo = (int64_t)src;
  if (lo > in - 1) lo = in - 1;
  *i0 = lo;
  *i1 = lo < in - 1 ? lo + 1 : lo;
  *w1 = src - (float)lo;
}

void gw_k_upsample_bilinear(const float *x, int64_t planes, int64_t H, int64_t W, int64_t OH,
                            int64_t OW, float *y) {
#pragma omp parallel for schedule(static) if (planes * OH * OW >= GW_PARALLEL_MIN)
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0, h1;
      float lh;
      bilinear_taps(oh, H, OH, &h0, &h1, &lh);
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0, w1;
        float lw;
        bilinear_taps(ow, W, OW, &w0, &w1, &lw);
        float top = (1.0f - lw) * xp[h0 * W + w0] + lw * xp[h0 * W + w1];
        float bot = (1.0f - lw) * xp[h1 * W + w0] + lw * xp[h1 * W + w1];
        y[(p * OH + oh) * OW + ow] = (1.0f - lh) * top + lh * bot;
      }
    }
  }
}

void gw_k_upsample_bilinear_backward(const float *dy, int64_t planes, int64_t H, int64_t W,
                                     int64_t OH, int64_t OW, float *dx) {
#pragma omp parallel for schedule(static) if (planes * OH * OW >= GW_PARALLEL_MIN)
  for (int64_t p = 0; p < planes; p++) {
    float *dxp = dx + p * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0, h1;
      float lh;
      bilinear_taps(oh, H, OH, &h0, &h1, &lh);
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0, w1;
        float lw;
        bilinear_taps(ow, W, OW, &w0, &w1, &lw);
        float g = dy[(p * OH + oh) * OW + ow];
        dxp[h0 * W + w0] += (1.0f - lh) * (1.0f - lw) * g;
        dxp[h0 * W + w1] += (1.0f - lh) * lw * g;
        dxp[h1 * W + w0] += lh * (1.0f - lw) * g;
        dxp[h1 * W + w1] += lh * lw * g;
      }
    }
  }
}
