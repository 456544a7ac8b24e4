// LaConv's aggregation: gradients against finite differences, and the forward against a
// plain loop over the definition (every sample, channel, pixel and tap).
#include "testutil.h"

TestSuite(grad_laconv, .init = gwt_setup, .fini = gwt_teardown);

typedef struct laconv_ctx {
  int k;
} laconv_ctx;

static gw_tensor *laconv_f(gw_tensor *const *in, void *vctx) {
  return gw_laconv(in[0], in[1], ((laconv_ctx *)vctx)->k);
}

// y[b, c, h, w] = sum_{i,j} w[b, c % G, i*k + j, h, w] * x[b, c, h + i - p, w + j - p]
static void reference(const float *x, const float *w, float *y, int B, int C, int G, int H, int W,
                      int k) {
  int p = k / 2;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int h = 0; h < H; h++)
        for (int ww = 0; ww < W; ww++) {
          double s = 0.0;
          for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
              int hs = h + i - p, ws = ww + j - p;
              if (hs < 0 || hs >= H || ws < 0 || ws >= W) continue;
              s += (double)w[(((b * G + c % G) * k * k + i * k + j) * H + h) * W + ww] *
                   x[((b * C + c) * H + hs) * W + ws];
            }
          y[((b * C + c) * H + h) * W + ww] = (float)s;
        }
}

Test(grad_laconv, forward_matches_the_definition) {
  gw_rng r = gwt_rng(3);
  int shapes[][6] = {{2, 4, 2, 5, 6, 3}, {1, 6, 3, 7, 4, 5}, {2, 3, 1, 4, 4, 1}, {1, 8, 8, 6, 5, 3}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int B = shapes[s][0], C = shapes[s][1], G = shapes[s][2], H = shapes[s][3], W = shapes[s][4], k = shapes[s][5];
    gw_tensor *x = gwt_randn(&r, GW_SHAPE(B, C, H, W));
    gw_tensor *w = gwt_randn(&r, GW_SHAPE(B, G, k * k, H, W));
    gw_tensor *y = gw_laconv(x, w, k);
    gw_tensor *want = gw_empty_like(y);
    reference(gw_f32(x), gw_f32(w), gw_f32(want), B, C, G, H, W, k);
    gwt_assert_close(y, want, 1e-5, 1e-5, "laconv forward");
  }
}

Test(grad_laconv, gradients_of_input_and_kernels) {
  gw_rng r = gwt_rng(4);
  int shapes[][6] = {{2, 4, 2, 4, 5, 3}, {1, 3, 3, 3, 4, 5}, {1, 4, 1, 3, 3, 1}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int B = shapes[s][0], C = shapes[s][1], G = shapes[s][2], H = shapes[s][3], W = shapes[s][4], k = shapes[s][5];
    laconv_ctx ctx = {k};
    gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, C, H, W)));
    gw_tensor *w = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, G, k * k, H, W)));
    gwt_gradcheck("laconv", laconv_f, &ctx, 2, (gw_tensor *[]){x, w}, GWT_EPS, GWT_ATOL, GWT_RTOL);
  }
}

Test(grad_laconv, shape_errors_name_the_op) {
  gw_rng r = gwt_rng(5);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(1, 6, 4, 4));
  gw_tensor *w = gwt_randn(&r, GW_SHAPE(1, 4, 9, 4, 4));  // 4 groups do not divide 6 channels
  GWT_EXPECT_ERROR(gw_laconv(x, w, 3), "laconv: kernels");
  GWT_EXPECT_ERROR(gw_laconv(x, gwt_randn(&r, GW_SHAPE(1, 2, 4, 4, 4)), 2), "must be odd");
}
