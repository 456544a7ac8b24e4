// Gradient checks for autograd/pool.c: max pooling (on distinct values, so no window has a
// tie or a maximum that moves under perturbation), average pooling with padding counted in
// the divisor, adaptive average pooling to smaller, equal and larger sizes; strided inputs;
// misuse errors.
#include "gradtest.h"

TestSuite(grad_pool, .init = gwt_setup, .fini = gwt_teardown);

typedef enum pool_kind { P_MAX, P_AVG, P_ADAPTIVE } pool_kind;

typedef struct pool_ctx {
  pool_kind kind;
  int k, s, p;  // kernel, stride, padding; for adaptive: k = out_h, s = out_w
  gt_layout l;
} pool_ctx;

static gw_tensor *pool_f(gw_tensor *const *in, void *vctx) {
  pool_ctx *c = vctx;
  gw_tensor *x = gt_view(in[0], c->l);
  switch (c->kind) {
    case P_MAX: return gw_maxpool2d(x, c->k, c->s, c->p);
    case P_AVG: return gw_avgpool2d(x, c->k, c->s, c->p);
    case P_ADAPTIVE: return gw_adaptive_avgpool2d(x, c->k, c->s);
  }
  return NULL;
}

// (kernel, stride, padding) on (B, C, H, W) inputs: non-overlapping, overlapping, stride
// larger than the kernel, padded, windows that do not tile the input, non-square inputs.
static const struct {
  int k, s, p;
  int64_t x[4];
} windows[] = {
    {2, 0, 0, {2, 2, 4, 4}},  // stride 0 means the kernel
    {2, 2, 0, {1, 2, 5, 5}},  // the last row and column are left out
    {3, 1, 0, {1, 2, 5, 4}},  {3, 2, 1, {2, 2, 5, 5}}, {2, 1, 1, {1, 2, 3, 4}},
    {3, 3, 1, {1, 3, 4, 5}},  {1, 2, 0, {1, 2, 5, 5}}, {4, 2, 2, {1, 2, 6, 6}},
};

// Max and average pooling over every window geometry, on row-major, transposed and strided
// inputs.
Test(grad_pool, max_and_avg_windows) {
  gw_rng r = gwt_rng(1);
  for (int kind = P_MAX; kind <= P_AVG; kind++)
    for (size_t i = 0; i < sizeof windows / sizeof *windows; i++)
      for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
        pool_ctx c = {(pool_kind)kind, windows[i].k, windows[i].s, windows[i].p, (gt_layout)l};
        gw_tensor *v = kind == P_MAX ? gt_distinct(&r, 0.1f, 4, windows[i].x)
                                     : gwt_randn(&r, 4, windows[i].x);
        char name[80];
        snprintf(name, sizeof name, "%s k%d s%d p%d %s", kind == P_MAX ? "maxpool" : "avgpool",
                 c.k, c.s, c.p, gt_layout_name(c.l));
        GT_CHECK(name, pool_f, &c, gt_leaf_as(v, c.l));
      }
}

// Adaptive average pooling to 1x1 (global), to sizes that do not divide the input (bins of
// different widths that overlap), to the input's own size (identity), and to a larger size.
Test(grad_pool, adaptive_sizes) {
  gw_rng r = gwt_rng(2);
  const struct {
    int oh, ow;
    int64_t x[4];
  } sizes[] = {{1, 1, {2, 3, 4, 5}}, {2, 3, {1, 2, 5, 7}}, {3, 2, {2, 2, 7, 4}},
               {4, 4, {1, 2, 4, 4}}, {6, 5, {1, 2, 4, 3}}, {1, 3, {1, 1, 1, 7}}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (int l = GT_PLAIN; l <= GT_TRANSPOSED; l++) {
      pool_ctx c = {P_ADAPTIVE, sizes[i].oh, sizes[i].ow, 0, (gt_layout)l};
      char name[64];
      snprintf(name, sizeof name, "adaptive %dx%d %s", c.k, c.s, gt_layout_name(c.l));
      GT_CHECK(name, pool_f, &c, gt_leaf_as(gwt_randn(&r, 4, sizes[i].x), c.l));
    }
}

// The values: average pooling divides by the window size including padding cells (PyTorch's
// count_include_pad), max pooling's gradient goes to the one maximum of each window.
Test(grad_pool, values_and_routing) {
  gw_tensor *x = gwt_leaf(gw_from_floats((float[]){1, 2, 3, 4}, 4, GW_SHAPE(1, 1, 2, 2)));
  gw_tensor *y = gw_avgpool2d(x, 2, 2, 1);  // four windows, each one real cell and 3 padding
  gwt_assert_close(y, gw_from_floats((float[]){0.25f, 0.5f, 0.75f, 1.0f}, 4, GW_SHAPE(1, 1, 2, 2)),
                   0, 1e-6, "avgpool with padding");
  gw_tensor *m = gw_maxpool2d(x, 2, 1, 1);  // (1, 1, 3, 3): each cell wins its windows
  gw_backward(gw_sum_all(m));
  gwt_assert_close(x->grad, gw_from_floats((float[]){1, 2, 2, 4}, 4, GW_SHAPE(1, 1, 2, 2)), 0, 0,
                   "maxpool routing");
}

// Misuse: the wrong rank, too much padding, a kernel larger than the input, a wrong dtype.
Test(grad_pool, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(3);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(1, 2, 4, 4));
  GWT_EXPECT_ERROR(gw_maxpool2d(gwt_randn(&r, GW_SHAPE(3, 4)), 2, 2, 0),
                   "maxpool2d: expects (B, C, H, W), got (3, 4)");
  GWT_EXPECT_ERROR(gw_avgpool2d(x, 2, 2, 2),
                   "avgpool2d: kernel 2 with padding 2 (padding may be at most half the kernel)");
  GWT_EXPECT_ERROR(gw_maxpool2d(x, 5, 1, 0),
                   "maxpool2d: kernel 5 is larger than the padded input (1, 2, 4, 4)");
  GWT_EXPECT_ERROR(gw_adaptive_avgpool2d(x, 0, 2), "adaptive_avgpool2d: expects (B, C, H, W) and a "
                   "positive output size, got (1, 2, 4, 4) -> 0x2");
  GWT_EXPECT_ERROR(gw_maxpool2d(gwt_randint(&r, 2, GW_SHAPE(1, 2, 4, 4)), 2, 2, 0),
                   "maxpool2d: expected a float32 tensor, got int32 (1, 2, 4, 4)");
}
