// Gradient checks for autograd/softmax.c: softmax and log_softmax over the last dim, on 1- to
// 3-dim and strided inputs, with large logits, and with keep-masks (full-shape and broadcast,
// including a row with every entry masked, which gives zeros and no gradient); misuse errors.
#include "gradtest.h"

TestSuite(grad_softmax, .init = gwt_setup, .fini = gwt_teardown);

typedef struct sm_ctx {
  bool log;
  const gw_tensor *mask;
  gt_layout l;
} sm_ctx;

// softmax or log_softmax of the view. log_softmax gives -inf at masked entries; those are
// replaced by 0 (a where, whose gradient there is 0) so that sum(w * y) stays finite.
static gw_tensor *sm_f(gw_tensor *const *in, void *vctx) {
  sm_ctx *c = vctx;
  gw_tensor *x = gt_view(in[0], c->l);
  if (!c->log) return gw_softmax(x, c->mask);
  gw_tensor *y = gw_log_softmax(x, c->mask);
  return c->mask ? gw_masked_fill(y, c->mask, 0.0f) : y;
}

static gw_tensor *scaled_randn(gw_rng *r, float s, int nd, const int64_t *shape) {
  gw_tensor *t = gwt_randn(r, nd, shape);
  for (int64_t i = 0; i < gw_numel(t); i++) gw_f32(t)[i] *= s;
  return t;
}

// Both ops on 1-, 2- and 3-dim inputs, row-major, transposed and strided.
Test(grad_softmax, shapes_and_layouts) {
  gw_rng r = gwt_rng(1);
  for (int log = 0; log < 2; log++) {
    sm_ctx c = {log, NULL, GT_PLAIN};
    GT_CHECK(log ? "log_softmax 1-d" : "softmax 1-d", sm_f, &c,
             gwt_leaf(gwt_randn(&r, GW_SHAPE(5))));
    GT_CHECK(log ? "log_softmax 3-d" : "softmax 3-d", sm_f, &c,
             gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))));
    GT_CHECK(log ? "log_softmax single column" : "softmax single column", sm_f, &c,
             gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 1))));
    for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
      c.l = (gt_layout)l;
      char name[64];
      snprintf(name, sizeof name, "%s %s", log ? "log_softmax" : "softmax", gt_layout_name(c.l));
      GT_CHECK(name, sm_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 5)), c.l));
    }
  }
}

// Large logits (spread of ~60) do not overflow: the max is subtracted first.
Test(grad_softmax, large_logits_stable) {
  gw_rng r = gwt_rng(2);
  for (int log = 0; log < 2; log++) {
    sm_ctx c = {log, NULL, GT_PLAIN};
    gw_tensor *x = scaled_randn(&r, 3.0f, GW_SHAPE(3, 5));
    for (int64_t i = 0; i < 15; i++) gw_f32(x)[i] += 100.0f;
    GT_CHECK(log ? "log_softmax +100" : "softmax +100", sm_f, &c, gwt_leaf(x));
    gw_tensor *y = sm_f((gw_tensor *[]){gwt_leaf(scaled_randn(&r, 30.0f, GW_SHAPE(3, 5)))}, &c);
    for (int64_t i = 0; i < 15; i++)
      cr_assert(isfinite(gw_f32(y)[i]), "%s of large logits gave %g",
                log ? "log_softmax" : "softmax", gw_f32(y)[i]);
  }
}

// Masks of the input's shape and broadcast ones ((5) over rows, (3, 1) per row), with a row
// fully masked: masked entries get no probability and no gradient.
Test(grad_softmax, masks) {
  gw_rng r = gwt_rng(3);
  gw_tensor *full = gw_from_ints((int32_t[]){1, 0, 1, 1, 0,  //
                                             0, 0, 0, 0, 0,  // fully masked row
                                             1, 1, 1, 1, 1,  //
                                             0, 0, 1, 0, 0},
                                 20, GW_SHAPE(4, 5));
  gw_tensor *cols = gw_from_ints((int32_t[]){1, 1, 0, 1, 0}, 5, GW_SHAPE(5));
  gw_tensor *rows = gw_from_ints((int32_t[]){1, 0, 1, 1}, 4, GW_SHAPE(4, 1));
  const gw_tensor *masks[] = {full, cols, rows};
  for (int log = 0; log < 2; log++)
    for (int m = 0; m < 3; m++)
      for (int l = GT_PLAIN; l <= GT_TRANSPOSED; l++) {
        sm_ctx c = {log, masks[m], (gt_layout)l};
        char name[64];
        snprintf(name, sizeof name, "%s mask %d %s", log ? "log_softmax" : "softmax", m,
                 gt_layout_name(c.l));
        GT_CHECK(name, sm_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(4, 5)), c.l));
      }
  // a (2, 4, 5) input with the (4, 5) mask broadcast over the batch
  sm_ctx c = {false, full, GT_PLAIN};
  GT_CHECK("softmax batch-broadcast mask", sm_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4, 5))));
}

// The fully masked row gives zeros (softmax) or -inf (log_softmax), never NaN, and its input
// gets exactly zero gradient; kept entries of other rows sum to 1.
Test(grad_softmax, fully_masked_row) {
  gw_rng r = gwt_rng(4);
  gw_tensor *mask = gw_from_ints((int32_t[]){0, 0, 0, 1, 0, 1}, 6, GW_SHAPE(2, 3));
  for (int log = 0; log < 2; log++) {
    gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
    gw_tensor *y = log ? gw_log_softmax(x, mask) : gw_softmax(x, mask);
    for (int j = 0; j < 3; j++) {
      float v = gw_f32(y)[j];
      cr_assert(log ? v == -INFINITY : v == 0.0f, "masked row entry %d is %g", j, v);
    }
    float s = log ? expf(gw_f32(y)[3]) + expf(gw_f32(y)[5]) : gw_f32(y)[3] + gw_f32(y)[5];
    cr_assert_float_eq(s, 1.0f, 1e-6f, "kept entries sum to %g", s);
    gw_tensor *w = gwt_randn(&r, GW_SHAPE(2, 3));
    gw_backward(gw_sum_all(gw_mul(gw_masked_fill(y, mask, 0.0f), w)));
    for (int j = 0; j < 6; j++) {
      float g = gw_f32(x->grad)[j];
      cr_assert(isfinite(g), "gradient %d is %g", j, g);
      if (!gw_i32(mask)[j]) cr_assert_eq(g, 0.0f, "masked entry %d got gradient %g", j, g);
    }
  }
}

// Misuse: a wrong dtype, a mask that does not broadcast to the input.
Test(grad_softmax, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(5);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(3, 5));
  GWT_EXPECT_ERROR(gw_softmax(gwt_randint(&r, 2, GW_SHAPE(3, 5)), NULL),
                   "softmax: expected a float32 tensor, got int32 (3, 5)");
  GWT_EXPECT_ERROR(gw_softmax(x, gwt_randint(&r, 2, GW_SHAPE(4))),
                   "softmax: shapes (3, 5) and (4,) do not broadcast");
  GWT_EXPECT_ERROR(gw_log_softmax(x, gwt_randint(&r, 2, GW_SHAPE(2, 3, 5))),
                   "log_softmax: the mask (2, 3, 5) does not broadcast to the input (3, 5)");
  GWT_EXPECT_ERROR(gw_log_softmax(x, gwt_randn(&r, GW_SHAPE(3, 5))),
                   "log_softmax: the mask must be int32");
  GWT_EXPECT_ERROR(gw_softmax(gw_scalar(1.0f), NULL), "softmax: needs at least 1 dim");
}
