// Pooling over planes (B*C of them) of H x W: max, average, adaptive average.
// The window geometry (kernel, stride, padding, dilation) is a gw_conv_geom.
#include <math.h>
#include <string.h>

#include "tensor/kernels.h"

static bool big(int64_t planes, const gw_conv_geom *g) {
  return planes * g->OH * g->OW * g->KH * g->KW >= GW_PARALLEL_MIN;
}

// x (planes, H, W) -> y (planes, OH, OW); arg = flat index of the max within its plane
void gw_k_maxpool2d(const float *x, int64_t planes, const gw_conv_geom *g, float *y, int32_t *arg) {
#pragma omp parallel for schedule(static) if (big(planes, g))
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * g->H * g->W;
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        float best = -INFINITY;
        int32_t best_at = -1;
        for (int64_t kh = 0; kh < g->KH; kh++) {
          int64_t ih = oh * g->SH - g->PH + kh * g->DH;
          if (ih < 0 || ih >= g->H) continue;
          for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t iw = ow * g->SW - g->PW + kw * g->DW;
            if (iw < 0 || iw >= g->W) continue;
            float v = xp[ih * g->W + iw];
            if (v > best || best_at < 0 || v != v) {
              best = v;
              best_at = (int32_t)(ih * g->W + iw);
              if (v != v) goto done;  // NaN propagates
            }
          }
        }
      done:;
        int64_t o = (p * g->OH + oh) * g->OW + ow;
        y[o] = best;
        arg[o] = best_at;
      }
  }
}

// dx (planes, H, W) += dy routed to each window's max
void gw_k_maxpool2d_backward(const float *dy, const int32_t *arg, int64_t planes,
                             const gw_conv_geom *g, float *dx) {
#pragma omp parallel for schedule(static) if (big(planes, g))
  for (int64_t p = 0; p < planes; p++) {
    float *dxp = dx + p * g->H * g->W;
    for (int64_t o = p * g->OH * g->OW; o < (p + 1) * g->OH * g->OW; o++)
      if (arg[o] >= 0) dxp[arg[o]] += dy[o];
  }
}

// Window bounds clipped to the padded input, as PyTorch computes the divisor:
// count_include_pad counts padding cells but not cells beyond the padding.
static void avg_window(const gw_conv_geom *g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1,
                       int64_t *w0, int64_t *w1, float *divisor) {
  int64_t hs = oh * g->SH - g->PH, ws = ow * g->SW - g->PW;
  int64_t he = hs + g->KH < g->H + g->PH ? hs + g->KH : g->H + g->PH;
  int64_t we = ws + g->KW < g->W + g->PW ? ws + g->KW : g->W + g->PW;
  *divisor = (float)((he - hs) * (we - ws));
  *h0 = hs < 0 ? 0 : hs;
  *w0 = ws < 0 ? 0 : ws;
  *h1 = he < g->H ? he : g->H;
  *w1 = we < g->W ? we : g->W;
}

void gw_k_avgpool2d(const float *x, int64_t planes, const gw_conv_geom *g, float *y) {
#pragma omp parallel for schedule(static) if (big(planes, g))
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * g->H * g->W;
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t h0, h1, w0, w1;
        float div;
        avg_window(g, oh, ow, &h0, &h1, &w0, &w1, &div);
        float s = 0.0f;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * g->W + iw];
        y[(p * g->OH + oh) * g->OW + ow] = s / div;
      }
  }
}

void gw_k_avgpool2d_backward(const float *dy, int64_t planes, const gw_conv_geom *g, float *dx) {
#pragma omp parallel for schedule(static) if (big(planes, g))
  for (int64_t p = 0; p < planes; p++) {
    float *dxp = dx + p * g->H * g->W;
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t h0, h1, w0, w1;
        float div;
        avg_window(g, oh, ow, &h0, &h1, &w0, &w1, &div);
        float v = dy[(p * g->OH + oh) * g->OW + ow] / div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) dxp[ih * g->W + iw] += v;
      }
  }
}

static inline int64_t bin_start(int64_t i, int64_t in, int64_t out) { return i * in / out; }
static inline int64_t bin_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

void gw_k_adaptive_avgpool2d(const float *x, int64_t planes, int64_t H, int64_t W, int64_t OH,
                             int64_t OW, float *y) {
#pragma omp parallel for schedule(static) if (planes * H * W >= GW_PARALLEL_MIN)
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = bin_start(oh, H, OH), h1 = bin_end(oh, H, OH);
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = bin_start(ow, W, OW), w1 = bin_end(ow, W, OW);
        float s = 0.0f;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * W + iw];
        y[(p * OH + oh) * OW + ow] = s / (float)((h1 - h0) * (w1 - w0));
      }
    }
  }
}

void gw_k_adaptive_avgpool2d_backward(const float *dy, int64_t planes, int64_t H, int64_t W,
                                      int64_t OH, int64_t OW, float *dx) {
#pragma omp parallel for schedule(static) if (planes * H * W >= GW_PARALLEL_MIN)
  for (int64_t p = 0; p < planes; p++) {
    float *dxp = dx + p * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = bin_start(oh, H, OH), h1 = bin_end(oh, H, OH);
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = bin_start(ow, W, OW), w1 = bin_end(ow, W, OW);
        float v = dy[(p * OH + oh) * OW + ow] / (float)((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) dxp[ih * W + iw] += v;
      }
    }
  }
}
