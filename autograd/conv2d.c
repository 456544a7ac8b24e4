// 2-D convolution by im2col + sgemm, with stride, padding, dilation and groups.
//
//   x (B, C, H, W), w (OC, C/G, KH, KW), bias (OC) -> y (B, OC, OH, OW)
//
// Per image b and group g, the input patch matrix col = im2col(x_b,g) is (C/G*KH*KW, OH*OW)
// and y_b,g = w_g (OC/G, C/G*KH*KW) @ col. Backward, with dy_b,g (OC/G, OH*OW):
//   dx_b,g = col2im(w_g^T @ dy_b,g),   dw_g = sum_b dy_b,g @ col^T,   dbias = sum over b, OH, OW.
// Images run in parallel, each with a single-threaded sgemm and its own col buffer. The
// weight gradient is summed over fixed blocks of images, block by block in order, so the bits
// do not depend on the thread count. With padding, im2col and col2im go through a zero-padded
// copy of the image (gw_k_im2col_padded): a copy of x is cheaper than working out the
// padding's bounds for every row of col.
#include <omp.h>
#include <string.h>

#include "autograd/op.h"

typedef struct conv_shape {
  int64_t B, C, OC, G, Cg, OCg, K;  // K = Cg*KH*KW, the patch length
  gw_conv_geom g;                   // geometry of one group of one image
  bool pointwise;                   // 1x1, stride 1, no padding: col is x itself
} conv_shape;

static conv_shape conv_shape_of(const gw_tensor *x, const gw_tensor *w, gw_conv2d_args a) {
  conv_shape s = {0};
  s.B = x->shape[0];
  s.C = x->shape[1];
  s.OC = w->shape[0];
  s.G = a.groups ? a.groups : 1;
  s.Cg = s.C / s.G;
  s.OCg = s.OC / s.G;
  s.g = (gw_conv_geom){.C = s.Cg, .H = x->shape[2], .W = x->shape[3], .KH = w->shape[2],
                       .KW = w->shape[3], .SH = a.stride_h, .SW = a.stride_w, .PH = a.pad_h,
                       .PW = a.pad_w, .DH = a.dilation_h, .DW = a.dilation_w};
  gw_conv_geom_init(&s.g);
  s.K = s.Cg * s.g.KH * s.g.KW;
  s.pointwise = s.g.KH == 1 && s.g.KW == 1 && s.g.SH == 1 && s.g.SW == 1 && s.g.PH == 0 &&
                s.g.PW == 0;
  return s;
}

static bool parallel_images(const conv_shape *s) {
  return s->B > 1 && s->B * s->OC * s->K * s->g.OH * s->g.OW >= GW_PARALLEL_MIN;
}

// One col buffer per thread (only the buffer count depends on the thread count), each
// followed by room for one zero-padded image of a group (see gw_k_im2col_padded).
static size_t col_floats(const conv_shape *s) {
  return (size_t)(s->K * s->g.OH * s->g.OW +
                  s->Cg * (s->g.H + 2 * s->g.PH) * (s->g.W + 2 * s->g.PW));
}
static float *col_buffers(const conv_shape *s) {
  size_t count = (size_t)omp_get_max_threads();
  return gw_arena_alloc(gw_arena_current(), col_floats(s) * count * sizeof(float), "conv2d im2col");
}

// im2col and col2im, through the padded copy when there is padding.
static void unfold(const conv_shape *s, const float *x, float *col) {
  if (s->g.PH || s->g.PW)
    gw_k_im2col_padded(x, &s->g, col + s->K * s->g.OH * s->g.OW, col);
  else
    gw_k_im2col(x, &s->g, col);
}
static void fold(const conv_shape *s, float *col, float *x) {
  if (s->g.PH || s->g.PW)
    gw_k_col2im_padded(col, &s->g, col + s->K * s->g.OH * s->g.OW, x);
  else
    gw_k_col2im(col, &s->g, x);
}

// Images are taken in fixed blocks; each block sums its weight gradient into its own part
// (sgemm with beta = 1), and the parts are added in block order at the end.
enum { IMAGES_PER_BLOCK = 4 };

static void conv2d_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *w = n->in[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
  gw_tensor *xc = n->saved[0], *wc = n->saved[1];
  conv_shape s = *(conv_shape *)n->ctx;
  int64_t OHW = s.g.OH * s.g.OW, HW = s.g.H * s.g.W;
  gw_tensor *dy = n->out->grad;
  bool want_x = x->requires_grad, want_w = w->requires_grad;
  // The gradients first: what is allocated after the mark is scratch.
  float *dx = want_x ? gw_f32(gw_grad_of(x)) : NULL;
  float *dw = want_w ? gw_f32(gw_grad_of(w)) : NULL;
  float *db = bias && bias->requires_grad ? gw_f32(gw_grad_of(bias)) : NULL;
  gw_arena *ar = gw_arena_current();
  gw_arena_mark mark = gw_arena_get_mark(ar);
  int64_t wsize = s.OC * s.K;
  int64_t blocks = (s.B + IMAGES_PER_BLOCK - 1) / IMAGES_PER_BLOCK;
  float *dw_parts = want_w ? gw_arena_calloc(ar, (size_t)(blocks * wsize) * sizeof(float), "conv2d dw")
                           : NULL;
  float *cols = col_buffers(&s);
  float *dcols = want_x ? col_buffers(&s) : NULL;
#pragma omp parallel for schedule(static) if (parallel_images(&s))
  for (int64_t blk = 0; blk < blocks; blk++) {
    int t = omp_get_thread_num();
    float *col = cols + (size_t)t * col_floats(&s);
    float *dcol = dcols ? dcols + (size_t)t * col_floats(&s) : NULL;
    int64_t b_end = (blk + 1) * IMAGES_PER_BLOCK < s.B ? (blk + 1) * IMAGES_PER_BLOCK : s.B;
    for (int64_t b = blk * IMAGES_PER_BLOCK; b < b_end; b++) {
      for (int64_t g = 0; g < s.G; g++) {
        const float *xg = gw_f32(xc) + (b * s.C + g * s.Cg) * HW;
        const float *dyg = gw_f32(dy) + (b * s.OC + g * s.OCg) * OHW;
        const float *wg = gw_f32(wc) + g * s.OCg * s.K;
        const float *colg = xg;
        if (!s.pointwise) {
          unfold(&s, xg, col);
          colg = col;
        }
        if (want_w)  // dw_blk,g (OCg, K) += dy (OCg, OHW) @ col^T (OHW, K)
          gw_k_gemm(false, true, s.OCg, s.K, OHW, 1.0f, dyg, OHW, colg, OHW, 1.0f,
                    dw_parts + blk * wsize + g * s.OCg * s.K, s.K);
        if (want_x) {
          float *dxg = dx + (b * s.C + g * s.Cg) * HW;
          if (s.pointwise) {  // dx (Cg, HW) += w^T (Cg, OCg) @ dy (OCg, HW)
            gw_k_gemm(true, false, s.K, OHW, s.OCg, 1.0f, wg, s.K, dyg, OHW, 1.0f, dxg, OHW);
          } else {
            gw_k_gemm(true, false, s.K, OHW, s.OCg, 1.0f, wg, s.K, dyg, OHW, 0.0f, dcol, OHW);
            fold(&s, dcol, dxg);
          }
        }
      }
    }
  }
  if (want_w) {
#pragma omp parallel for schedule(static) if (blocks * wsize >= GW_PARALLEL_MIN)
    for (int64_t i = 0; i < wsize; i++) {
      float acc = 0.0f;
      for (int64_t blk = 0; blk < blocks; blk++) acc += dw_parts[blk * wsize + i];
      dw[i] += acc;
    }
  }
  if (db) {  // sum of dy over b and the plane, per channel
#pragma omp parallel for schedule(static) if (s.B * s.OC * OHW >= GW_PARALLEL_MIN)
    for (int64_t oc = 0; oc < s.OC; oc++) {
      float acc = 0.0f;
      for (int64_t b = 0; b < s.B; b++) acc += gw_k_sum_all(gw_f32(dy) + (b * s.OC + oc) * OHW, OHW);
      db[oc] += acc;
    }
  }
  gw_arena_rewind(ar, mark);
}

gw_tensor *gw_conv2d(gw_tensor *x, gw_tensor *w, gw_tensor *bias, gw_conv2d_args args) {
  gw_check_f32("conv2d", x);
  gw_check_f32("conv2d", w);
  GW_CHECK(x->ndim == 4 && w->ndim == 4, "conv2d: expects x (B,C,H,W) and w (OC,C/groups,KH,KW), "
           "got x %s and w %s", gw_shape_str(x), gw_shape_str(w));
  int64_t G = args.groups ? args.groups : 1;
  GW_CHECK(x->shape[1] % G == 0 && w->shape[0] % G == 0 && w->shape[1] * G == x->shape[1],
           "conv2d: x %s and w %s do not fit %lld groups (w must be (OC, C/groups, KH, KW))",
           gw_shape_str(x), gw_shape_str(w), (long long)G);
  if (bias) {
    gw_check_f32("conv2d", bias);
    GW_CHECK(bias->ndim == 1 && bias->shape[0] == w->shape[0],
             "conv2d: bias %s does not match the %lld output channels", gw_shape_str(bias),
             (long long)w->shape[0]);
  }
  conv_shape s = conv_shape_of(x, w, args);
  GW_CHECK(s.g.OH > 0 && s.g.OW > 0, "conv2d: the output of x %s with kernel %lldx%lld, stride "
           "%lld, padding %lld would be empty", gw_shape_str(x), (long long)s.g.KH,
           (long long)s.g.KW, (long long)s.g.SH, (long long)s.g.PH);
  gw_tensor *xc = gw_rowmajor(x), *wc = gw_rowmajor(w);
  int64_t OHW = s.g.OH * s.g.OW, HW = s.g.H * s.g.W;
  gw_tensor *y = gw_new_out(GW_SHAPE(s.B, s.OC, s.g.OH, s.g.OW));
  gw_arena *ar = gw_arena_current();
  gw_arena_mark mark = gw_arena_get_mark(ar);
  float *cols = s.pointwise ? NULL : col_buffers(&s);
  const float *pb = bias ? gw_f32(gw_rowmajor(bias)) : NULL;
#pragma omp parallel for schedule(static) if (parallel_images(&s))
  for (int64_t b = 0; b < s.B; b++) {
    float *col = cols ? cols + (size_t)omp_get_thread_num() * col_floats(&s) : NULL;
    for (int64_t g = 0; g < s.G; g++) {
      const float *xg = gw_f32(xc) + (b * s.C + g * s.Cg) * HW;
      float *yg = gw_f32(y) + (b * s.OC + g * s.OCg) * OHW;
      if (pb)  // start from the bias, then add the product (beta = 1)
        for (int64_t oc = 0; oc < s.OCg; oc++)
          for (int64_t p = 0; p < OHW; p++) yg[oc * OHW + p] = pb[g * s.OCg + oc];
      if (!s.pointwise) unfold(&s, xg, col);
      gw_k_gemm(false, false, s.OCg, OHW, s.K, 1.0f, gw_f32(wc) + g * s.OCg * s.K, s.K,
                s.pointwise ? xg : col, OHW, pb ? 1.0f : 0.0f, yg, OHW);
    }
  }
  gw_arena_rewind(ar, mark);
  gw_tensor *ins[3] = {x, w, bias};
  gw_node *n = gw_record("conv2d", y, conv2d_backward, bias ? 3 : 2, ins);
  if (n) {
    n->saved[0] = xc;
    n->saved[1] = wc;
    conv_shape *ctx = gw_arena_alloc(gw_step_arena(), sizeof *ctx, "conv2d");
    *ctx = s;
    n->ctx = ctx;
  }
  return y;
}
