// Checks for autograd/dropout.c: the gradient for a fixed mask, determinism for a given
// random stream, the mean preserved by the 1/(1-p) scale, p = 0 as the identity; misuse.
#include "gradtest.h"

TestSuite(grad_dropout, .init = gwt_setup, .fini = gwt_teardown);

typedef struct drop_ctx {
  float p;
  gw_rng rng;  // copied for every call, so each evaluation draws the same mask
  gt_layout l;
} drop_ctx;

static gw_tensor *drop_f(gw_tensor *const *in, void *vctx) {
  drop_ctx *c = vctx;
  gw_rng rng = c->rng;
  return gw_dropout(gt_view(in[0], c->l), c->p, &rng);
}

// For a fixed mask dropout is linear: the gradient is mask / (1 - p), on row-major, transposed
// and strided inputs, for several p.
Test(grad_dropout, gradcheck_fixed_mask) {
  gw_rng r = gwt_rng(1);
  const float ps[] = {0.1f, 0.5f, 0.9f};
  for (int i = 0; i < 3; i++)
    for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
      drop_ctx c = {ps[i], gw_rng_stream(7, "dropout"), (gt_layout)l};
      char name[48];
      snprintf(name, sizeof name, "dropout p %.1f %s", ps[i], gt_layout_name(c.l));
      GT_CHECK(name, drop_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(4, 5)), c.l));
    }
}

// Each kept element is x / (1 - p) and gets gradient 1 / (1 - p); each dropped one is 0 and
// gets 0.
Test(grad_dropout, kept_and_dropped) {
  gw_rng r = gwt_rng(2);
  gw_tensor *x = gwt_leaf(gwt_uniform(&r, 1.0f, 2.0f, GW_SHAPE(50)));
  gw_rng d = gw_rng_stream(3, "dropout");
  gw_tensor *y = gw_dropout(x, 0.25f, &d);
  gw_backward(gw_sum_all(y));
  int kept = 0;
  for (int i = 0; i < 50; i++) {
    float xi = gw_f32(x)[i], yi = gw_f32(y)[i], gi = gw_f32(x->grad)[i];
    if (yi == 0.0f) {
      cr_assert_eq(gi, 0.0f, "dropped element %d got gradient %g", i, gi);
    } else {
      kept++;
      cr_assert_float_eq(yi, xi / 0.75f, 1e-6f, "kept element %d: %g for %g", i, yi, xi);
      cr_assert_float_eq(gi, 1.0f / 0.75f, 1e-6f, "kept element %d gradient %g", i, gi);
    }
  }
  cr_assert(kept > 0 && kept < 50, "%d of 50 kept at p = 0.25", kept);
}

// The same stream state gives the same mask bit for bit; the stream advances, so a second
// draw from it differs; another seed differs.
Test(grad_dropout, deterministic_per_stream) {
  gw_rng r = gwt_rng(4);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(8, 16));
  gw_rng a = gw_rng_stream(11, "dropout"), b = gw_rng_stream(11, "dropout");
  gw_tensor *ya = gw_dropout(x, 0.5f, &a), *yb = gw_dropout(x, 0.5f, &b);
  gwt_assert_same_bits(ya, yb, "same stream, same mask");
  cr_assert_eq(a.counter, b.counter);
  cr_assert_gt(a.counter, 0, "dropout advanced its stream");
  gw_tensor *ya2 = gw_dropout(x, 0.5f, &a);
  cr_assert_geq(gt_first_diff(ya, ya2), 0, "the next draw from the stream gives another mask");
  gw_rng c = gw_rng_stream(12, "dropout");
  cr_assert_geq(gt_first_diff(ya, gw_dropout(x, 0.5f, &c)), 0, "another seed gives another mask");
}

// The 1/(1-p) scale keeps the mean: over 40000 ones the mean stays within 0.02 of 1 (about 4
// standard deviations at p = 0.5), and the kept fraction is within 0.01 of 1 - p.
Test(grad_dropout, mean_preserved) {
  const float ps[] = {0.1f, 0.5f, 0.8f};
  for (int i = 0; i < 3; i++) {
    gw_tensor *x = gw_full(1.0f, GW_SHAPE(40000));
    gw_rng d = gw_rng_stream(5, "dropout");
    gw_tensor *y = gw_dropout(x, ps[i], &d);
    double sum = 0.0;
    int64_t kept = 0;
    for (int64_t j = 0; j < 40000; j++) {
      sum += gw_f32(y)[j];
      kept += gw_f32(y)[j] != 0.0f;
    }
    double mean = sum / 40000.0, frac = (double)kept / 40000.0;
    cr_assert(fabs(mean - 1.0) < 0.02 + 0.02 * ps[i], "p %.1f: mean %g", ps[i], mean);
    cr_assert(fabs(frac - (1.0 - ps[i])) < 0.01, "p %.1f: kept fraction %g", ps[i], frac);
  }
}

// p = 0 returns the input itself, draws nothing and records nothing (even without a stream).
Test(grad_dropout, p_zero_is_identity) {
  gw_rng r = gwt_rng(6);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4)));
  gw_rng d = gw_rng_stream(1, "dropout");
  int64_t before = gw_tape_size();
  cr_assert_eq(gw_dropout(x, 0.0f, &d), x);
  cr_assert_eq(gw_dropout(x, 0.0f, NULL), x);
  cr_assert_eq(d.counter, 0, "p = 0 drew from the stream");
  cr_assert_eq(gw_tape_size(), before, "p = 0 recorded a node");
}

// Misuse: p outside [0, 1), no stream, a wrong dtype.
Test(grad_dropout, errors_name_op) {
  gw_rng r = gwt_rng(7);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(3));
  gw_rng d = gw_rng_stream(1, "dropout");
  GWT_EXPECT_ERROR(gw_dropout(x, 1.0f, &d), "dropout: probability 1 must be in [0, 1)");
  GWT_EXPECT_ERROR(gw_dropout(x, -0.5f, &d), "dropout: probability -0.5 must be in [0, 1)");
  GWT_EXPECT_ERROR(gw_dropout(x, 0.5f, NULL), "dropout: needs a random stream");
  GWT_EXPECT_ERROR(gw_dropout(gwt_randint(&r, 2, GW_SHAPE(3)), 0.5f, &d),
                   "dropout: expected a float32 tensor, got int32 (3,)");
}
