// im2col / col2im: the unfolding that turns a convolution into one matrix product.
#include <string.h>

#include "tensor/kernels.h"

void gw_conv_geom_init(gw_conv_geom *g) {
  if (g->SH == 0) g->SH = 1;
  if (g->SW == 0) g->SW = 1;
  if (g->DH == 0) g->DH = 1;
  if (g->DW == 0) g->DW = 1;
  g->OH = (g->H + 2 * g->PH - g->DH * (g->KH - 1) - 1) / g->SH + 1;
  g->OW = (g->W + 2 * g->PW - g->DW * (g->KW - 1) - 1) / g->SW + 1;
}

// x (C,H,W) -> col (C*KH*KW, OH*OW): row (c, kh, kw) holds, for every output position, the
// input pixel that kernel tap sees there (0 in the padding).
void gw_k_im2col(const float *x, const gw_conv_geom *g, float *col) {
  int64_t OHW = g->OH * g->OW;
  for (int64_t c = 0; c < g->C; c++) {
    const float *xc = x + c * g->H * g->W;
    for (int64_t kh = 0; kh < g->KH; kh++) {
      for (int64_t kw = 0; kw < g->KW; kw++) {
        float *restrict row = col + ((c * g->KH + kh) * g->KW + kw) * OHW;
        for (int64_t oh = 0; oh < g->OH; oh++) {
          int64_t ih = oh * g->SH - g->PH + kh * g->DH;
          float *restrict out = row + oh * g->OW;
          if (ih < 0 || ih >= g->H) {
            memset(out, 0, (size_t)g->OW * sizeof(float));
            continue;
          }
          const float *restrict xr = xc + ih * g->W;
          int64_t off = kw * g->DW - g->PW;
          if (g->SW == 1) {
            // valid ow: 0 <= ow + off < W
            int64_t lo = off < 0 ? -off : 0;
            int64_t hi = g->W - off < g->OW ? g->W - off : g->OW;
            if (hi < lo) hi = lo;
            for (int64_t ow = 0; ow < lo; ow++) out[ow] = 0.0f;
            for (int64_t ow = lo; ow < hi; ow++) out[ow] = xr[ow + off];
            for (int64_t ow = hi; ow < g->OW; ow++) out[ow] = 0.0f;
          } else {
            for (int64_t ow = 0; ow < g->OW; ow++) {
              int64_t iw = ow * g->SW + off;
              out[ow] = (iw >= 0 && iw < g->W) ? xr[iw] : 0.0f;
            }
          }
        }
      }
    }
  }
}

// x (C,H,W) += col (C*KH*KW, OH*OW) folded back. Channels are independent, so the loop over
// c could run in parallel; callers parallelise over images instead.
void gw_k_col2im(const float *col, const gw_conv_geom *g, float *x) {
  int64_t OHW = g->OH * g->OW;
  for (int64_t c = 0; c < g->C; c++) {
    float *xc = x + c * g->H * g->W;
    for (int64_t kh = 0; kh < g->KH; kh++) {
      for (int64_t kw = 0; kw < g->KW; kw++) {
        const float *restrict row = col + ((c * g->KH + kh) * g->KW + kw) * OHW;
        for (int64_t oh = 0; oh < g->OH; oh++) {
          int64_t ih = oh * g->SH - g->PH + kh * g->DH;
          if (ih < 0 || ih >= g->H) continue;
          float *restrict xr = xc + ih * g->W;
          const float *restrict in = row + oh * g->OW;
          int64_t off = kw * g->DW - g->PW;
          if (g->SW == 1) {
            int64_t lo = off < 0 ? -off : 0;
            int64_t hi = g->W - off < g->OW ? g->W - off : g->OW;
            for (int64_t ow = lo; ow < hi; ow++) xr[ow + off] += in[ow];
          } else {
            for (int64_t ow = 0; ow < g->OW; ow++) {
              int64_t iw = ow * g->SW + off;
              if (iw >= 0 && iw < g->W) xr[iw] += in[ow];
            }
          }
        }
      }
    }
  }
}

// The geometry of x with its zero padding written out: (C, H+2PH, W+2PW), no padding left.
static gw_conv_geom padded_geom(const gw_conv_geom *g) {
  gw_conv_geom p = *g;
  p.H += 2 * g->PH;
  p.W += 2 * g->PW;
  p.PH = p.PW = 0;
  return p;  // OH and OW are unchanged
}

// im2col through a zero-padded copy xp (C, H+2PH, W+2PW) of x. With the padding in memory
// every row of col is one plain copy, without the bounds of the padding to work out and
// fill per output row: for a 3x3 convolution of 32x32 images this unfolds about twice as
// fast, and the copy costs one pass over x.
void gw_k_im2col_padded(const float *x, const gw_conv_geom *g, float *xp, float *col) {
  gw_conv_geom p = padded_geom(g);
  memset(xp, 0, (size_t)(p.C * p.H * p.W) * sizeof(float));
  for (int64_t c = 0; c < g->C; c++)
    for (int64_t h = 0; h < g->H; h++)
      memcpy(xp + (c * p.H + h + g->PH) * p.W + g->PW, x + (c * g->H + h) * g->W,
             (size_t)g->W * sizeof(float));
  gw_k_im2col(xp, &p, col);
}

// col2im through a zero-padded scratch xp (C, H+2PH, W+2PW): fold into xp without bounds,
// then add its interior to x.
void gw_k_col2im_padded(const float *col, const gw_conv_geom *g, float *xp, float *x) {
  gw_conv_geom p = padded_geom(g);
  memset(xp, 0, (size_t)(p.C * p.H * p.W) * sizeof(float));
  gw_k_col2im(col, &p, xp);
  for (int64_t c = 0; c < g->C; c++)
    for (int64_t h = 0; h < g->H; h++) {
      float *restrict xr = x + (c * g->H + h) * g->W;
      const float *restrict pr = xp + (c * p.H + h + g->PH) * p.W + g->PW;
      for (int64_t w = 0; w < g->W; w++) xr[w] += pr[w];
    }
}
