// Gradient checks for autograd/losses.c: cross-entropy with integer targets (ignore_index,
// label smoothing, (N, C, d...) shapes, every reduction), with soft targets, BCE with logits
// (soft targets, a broadcast weight), L1 and smooth L1 (away from their kinks), MSE, and KL
// divergence with both target kinds; misuse errors.
#include "gradtest.h"

TestSuite(grad_losses, .init = gwt_setup, .fini = gwt_teardown);

static const gw_reduction reductions[] = {GW_MEAN, GW_SUM, GW_NONE, GW_BATCHMEAN};
static const char *const red_names[] = {"mean", "sum", "none", "batchmean"};

// ---- cross-entropy with integer targets ----
typedef struct ce_ctx {
  const gw_tensor *targets;
  int ignore;
  float smoothing;
  gw_reduction red;
  gt_layout l;
} ce_ctx;

static gw_tensor *ce_f(gw_tensor *const *in, void *vctx) {
  ce_ctx *c = vctx;
  return gw_cross_entropy(gt_view(in[0], c->l), c->targets, c->ignore, c->smoothing, c->red);
}

// Random targets in [0, C) with every `every`-th one set to the ignore index (none if 0).
static gw_tensor *targets_with_ignored(gw_rng *r, int64_t C, int every, int ignore, int nd,
                                       const int64_t *shape) {
  gw_tensor *t = gwt_randint(r, C, nd, shape);
  if (every)
    for (int64_t i = 0; i < gw_numel(t); i += every) gw_i32(t)[i] = ignore;
  return t;
}

// (N, C) logits: every reduction, with and without ignored targets and label smoothing.
Test(grad_losses, cross_entropy_2d) {
  gw_rng r = gwt_rng(1);
  for (int red = 0; red < 4; red++)
    for (int ign = 0; ign < 2; ign++)
      for (int sm = 0; sm < 2; sm++) {
        ce_ctx c = {targets_with_ignored(&r, 5, ign ? 3 : 0, -100, GW_SHAPE(6)), -100,
                    sm ? 0.1f : 0.0f, reductions[red], GT_PLAIN};
        char name[80];
        snprintf(name, sizeof name, "cross_entropy %s ignore %d smoothing %.1f", red_names[red],
                 ign, c.smoothing);
        GT_CHECK(name, ce_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(6, 5))));
      }
}

// (N, C, d) and (N, C, d1, d2) logits (classes in dim 1), an ignore index that is a class
// number, and strided logits; large label smoothing.
Test(grad_losses, cross_entropy_spatial_and_strided) {
  gw_rng r = gwt_rng(2);
  for (int red = 0; red < 3; red++) {
    ce_ctx c = {targets_with_ignored(&r, 4, 4, 2, GW_SHAPE(2, 3)), 2, 0.2f, reductions[red],
                GT_PLAIN};
    char name[64];
    snprintf(name, sizeof name, "cross_entropy (N,C,d) %s", red_names[red]);
    GT_CHECK(name, ce_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4, 3))));
    c.targets = targets_with_ignored(&r, 3, 5, -1, GW_SHAPE(2, 2, 3));
    c.ignore = -1;
    snprintf(name, sizeof name, "cross_entropy (N,C,d1,d2) %s", red_names[red]);
    GT_CHECK(name, ce_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 2, 3))));
  }
  for (int l = GT_TRANSPOSED; l <= GT_STRIDED; l++) {
    ce_ctx c = {gwt_randint(&r, 5, GW_SHAPE(4)), -100, 0.0f, GW_MEAN, (gt_layout)l};
    GT_CHECK(gt_layout_name(c.l), ce_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(4, 5)), c.l));
  }
  ce_ctx c = {gwt_randint(&r, 5, GW_SHAPE(4)), -100, 0.9f, GW_SUM, GT_PLAIN};
  GT_CHECK("cross_entropy smoothing 0.9", ce_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 5))));
}

// Values: the mean divides by the targets not ignored; a batch with every target ignored has
// loss 0 and zero gradient (not NaN); smoothing mixes in the mean over classes.
Test(grad_losses, cross_entropy_values) {
  gw_tensor *x = gwt_leaf(gw_from_floats((float[]){1, 2, 3, 0, 0, 0}, 6, GW_SHAPE(2, 3)));
  gw_tensor *t = gw_from_ints((int32_t[]){2, -100}, 2, GW_SHAPE(2));
  float lse = logf(expf(1) + expf(2) + expf(3));
  cr_assert_float_eq(gw_item(gw_cross_entropy(x, t, -100, 0.0f, GW_MEAN)), lse - 3, 1e-5f);
  float smoothed = 0.9f * (lse - 3) + 0.1f * (lse - 2);
  cr_assert_float_eq(gw_item(gw_cross_entropy(x, t, -100, 0.1f, GW_SUM)), smoothed, 1e-5f);
  gw_tensor *all = gw_from_ints((int32_t[]){-100, -100}, 2, GW_SHAPE(2));
  gw_tensor *loss = gw_cross_entropy(x, all, -100, 0.0f, GW_MEAN);
  cr_assert_eq(gw_item(loss), 0.0f, "every target ignored: loss %g", gw_item(loss));
  gw_backward(loss);
  for (int i = 0; i < 6; i++) cr_assert_eq(gw_f32(x->grad)[i], 0.0f, "grad %d", i);
}

// ---- cross-entropy with soft targets: gradients to the logits and to the targets ----
typedef struct soft_ctx {
  gw_reduction red;
} soft_ctx;
static gw_tensor *ce_soft_f(gw_tensor *const *in, void *vctx) {
  soft_ctx *c = vctx;
  return gw_cross_entropy_soft(in[0], in[1], c->red);
}
static gw_tensor *probs(gw_rng *r, int nd, const int64_t *shape) {
  bool prev = gw_no_grad_begin();
  int perm[GW_MAX_DIMS];
  for (int i = 0; i < nd; i++) perm[i] = i;
  perm[1] = nd - 1;  // classes (dim 1) last for the softmax, then back
  perm[nd - 1] = 1;
  gw_tensor *p = gw_contiguous(gw_view_permute(
      gw_softmax(gw_contiguous(gw_view_permute(gwt_randn(r, nd, shape), perm)), NULL), perm));
  gw_no_grad_end(prev);
  return p;
}
Test(grad_losses, cross_entropy_soft) {
  gw_rng r = gwt_rng(3);
  for (int red = 0; red < 4; red++) {
    soft_ctx c = {reductions[red]};
    char name[64];
    snprintf(name, sizeof name, "cross_entropy_soft %s", red_names[red]);
    GT_CHECK(name, ce_soft_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 5))),
             gwt_leaf(probs(&r, GW_SHAPE(4, 5))));
    snprintf(name, sizeof name, "cross_entropy_soft (N,C,d) %s", red_names[red]);
    GT_CHECK(name, ce_soft_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))),
             gwt_leaf(probs(&r, GW_SHAPE(2, 3, 4))));
  }
  // one-hot soft targets give the integer-target loss
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3));
  gw_tensor *onehot = gw_from_floats((float[]){0, 1, 0, 0, 0, 1}, 6, GW_SHAPE(2, 3));
  float soft = gw_item(gw_cross_entropy_soft(x, onehot, GW_MEAN));
  float hard = gw_item(gw_cross_entropy(x, gw_from_ints((int32_t[]){1, 2}, 2, GW_SHAPE(2)), -100,
                                        0.0f, GW_MEAN));
  cr_assert_float_eq(soft, hard, 1e-5f);
}

// ---- pointwise losses ----
typedef enum pw_kind { PW_BCE, PW_BCE_WEIGHT, PW_L1, PW_SMOOTH_L1, PW_SMOOTH_L1_HALF, PW_MSE,
                       PW_KL, PW_KL_LOG } pw_kind;
static const char *const pw_names[] = {"bce_with_logits", "bce_with_logits weighted", "l1_loss",
                                       "smooth_l1_loss beta 1", "smooth_l1_loss beta 0.5",
                                       "mse_loss", "kl_div", "kl_div log_target"};

typedef struct pw_ctx {
  pw_kind k;
  gw_reduction red;
  gw_tensor *weight;
  gt_layout l;
} pw_ctx;

static gw_tensor *pw_f(gw_tensor *const *in, void *vctx) {
  pw_ctx *c = vctx;
  gw_tensor *a = gt_view(in[0], c->l), *b = in[1];
  switch (c->k) {
    case PW_BCE: return gw_bce_with_logits(a, b, NULL, c->red);
    case PW_BCE_WEIGHT: return gw_bce_with_logits(a, b, c->weight, c->red);
    case PW_L1: return gw_l1_loss(a, b, c->red);
    case PW_SMOOTH_L1: return gw_smooth_l1_loss(a, b, 1.0f, c->red);
    case PW_SMOOTH_L1_HALF: return gw_smooth_l1_loss(a, b, 0.5f, c->red);
    case PW_MSE: return gw_mse_loss(a, b, c->red);
    case PW_KL: return gw_kl_div(a, b, false, c->red);
    case PW_KL_LOG: return gw_kl_div(a, b, true, c->red);
  }
  return NULL;
}

// Rows of 5 probabilities >= 0.5 / 6.5 ~ 0.077: p log p has a pole in its derivative at 0,
// and the finite-difference step must stay small against p.
static gw_tensor *kl_probs(gw_rng *r) {
  gw_tensor *p = gwt_uniform(r, 0.5f, 1.5f, GW_SHAPE(4, 5));
  for (int i = 0; i < 4; i++) {
    float s = 0.0f;
    for (int j = 0; j < 5; j++) s += gw_f32(p)[i * 5 + j];
    for (int j = 0; j < 5; j++) gw_f32(p)[i * 5 + j] /= s;
  }
  return p;
}

// A prediction and a target for each loss, (4, 5): for L1 and smooth L1 the difference is
// kept GT_MARGIN away from 0 and from +-beta (the kinks of the loss or of its derivative);
// BCE targets are soft scores in [0, 1] with logits spanning both signs; KL targets are
// probabilities well above 0 (or their logs) and log_q any log-probabilities.
static void make_pair(gw_rng *r, pw_kind k, gw_tensor **a, gw_tensor **b) {
  *b = gwt_randn(r, GW_SHAPE(4, 5));
  switch (k) {
    case PW_BCE:
    case PW_BCE_WEIGHT:
      *a = gwt_uniform(r, -6.0f, 6.0f, GW_SHAPE(4, 5));
      *b = gwt_uniform(r, 0.0f, 1.0f, GW_SHAPE(4, 5));
      return;
    case PW_L1:
    case PW_SMOOTH_L1:
    case PW_SMOOTH_L1_HALF: {
      float beta = k == PW_SMOOTH_L1_HALF ? 0.5f : 1.0f;
      gw_tensor *d = gt_away(r, -2.0f, 2.0f, 3, (float[]){0.0f, -beta, beta}, GW_SHAPE(4, 5));
      *a = gw_empty_like(*b);
      gw_k_binary(GW_BIN_ADD, *b, d, *a);
      return;
    }
    case PW_MSE: *a = gwt_randn(r, GW_SHAPE(4, 5)); return;
    case PW_KL:
    case PW_KL_LOG: {
      *a = gw_log_softmax(gwt_randn(r, GW_SHAPE(4, 5)), NULL);
      *b = kl_probs(r);
      if (k == PW_KL_LOG) *b = gw_log(*b);
      return;
    }
  }
}

// Each pointwise loss under each reduction, gradients to both the prediction and the target,
// on row-major and transposed predictions.
Test(grad_losses, pointwise_losses) {
  gw_rng r = gwt_rng(4);
  for (int k = PW_BCE; k <= PW_KL_LOG; k++)
    for (int red = 0; red < 4; red++)
      for (int l = GT_PLAIN; l <= GT_TRANSPOSED; l++) {
        gw_tensor *a, *b;
        make_pair(&r, (pw_kind)k, &a, &b);
        pw_ctx c = {(pw_kind)k, reductions[red], gwt_uniform(&r, 0.5f, 2.0f, GW_SHAPE(5)),
                    (gt_layout)l};
        char name[96];
        snprintf(name, sizeof name, "%s %s %s", pw_names[k], red_names[red], gt_layout_name(c.l));
        GT_CHECK(name, pw_f, &c, gt_leaf_as(a, c.l), gwt_leaf(b));
      }
}

// BCE stays finite and exact for large logits (|x| up to 30), and with a (4, 1) weight.
Test(grad_losses, bce_large_logits_and_weight_shapes) {
  gw_rng r = gwt_rng(5);
  gw_tensor *a = gwt_uniform(&r, -30.0f, 30.0f, GW_SHAPE(4, 5));
  gw_tensor *b = gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(4, 5));
  pw_ctx c = {PW_BCE_WEIGHT, GW_SUM, gwt_uniform(&r, 0.5f, 2.0f, GW_SHAPE(4, 1)), GT_PLAIN};
  GT_CHECK("bce large logits, (4, 1) weight", pw_f, &c, gwt_leaf(a), gwt_leaf(b));
  gw_tensor *big = gw_from_floats((float[]){100, -100}, 2, GW_SHAPE(2));
  gw_tensor *l = gw_bce_with_logits(big, gw_from_floats((float[]){1, 0}, 2, GW_SHAPE(2)), NULL,
                                    GW_SUM);
  cr_assert(isfinite(gw_item(l)) && gw_item(l) < 1e-6f, "bce of confident right answers: %g",
            gw_item(l));
}

// KL with zeros in the target: 0 * log 0 counts as 0, so the loss is finite and those
// entries give no gradient to log_q (only log_q is checked: the loss is not differentiable in
// p at p = 0).
static gw_tensor *kl_zero_f(gw_tensor *const *in, void *ctx) {
  return gw_kl_div(in[0], (gw_tensor *)ctx, false, GW_BATCHMEAN);
}
static gw_tensor *kl_zero_log_f(gw_tensor *const *in, void *ctx) {
  return gw_kl_div(in[0], (gw_tensor *)ctx, true, GW_SUM);
}
Test(grad_losses, kl_div_target_zeros) {
  gw_rng r = gwt_rng(6);
  gw_tensor *p = gw_from_floats((float[]){0.5f, 0, 0.5f, 0, 1, 0}, 6, GW_SHAPE(2, 3));
  gw_tensor *log_q = gwt_leaf(gw_log_softmax(gwt_randn(&r, GW_SHAPE(2, 3)), NULL));
  GT_CHECK("kl_div zeros in p", kl_zero_f, p, log_q);
  gw_tensor *loss = kl_zero_f(&log_q, p);
  cr_assert(isfinite(gw_item(loss)), "kl_div with zeros in p: %g", gw_item(loss));
  // log_target with p = 0 given as log p = -inf gives the same value and gradient
  gw_tensor *log_p = gw_log(p);
  float v = gw_item(gw_kl_div(log_q, log_p, true, GW_BATCHMEAN));
  cr_assert_float_eq(v, gw_item(loss), 1e-6f, "kl_div log_target %g vs %g", v, gw_item(loss));
  GT_CHECK("kl_div log_target -inf in log p", kl_zero_log_f, log_p, log_q);
}

// Values of the reductions: mean over elements, sum, batchmean = sum / N, none keeps the shape.
Test(grad_losses, reduction_values) {
  gw_tensor *a = gw_from_floats((float[]){1, 2, 3, 4, 5, 6}, 6, GW_SHAPE(2, 3));
  gw_tensor *b = gw_zeros(GW_F32, GW_SHAPE(2, 3));
  cr_assert_float_eq(gw_item(gw_mse_loss(a, b, GW_SUM)), 91.0f, 1e-4f);
  cr_assert_float_eq(gw_item(gw_mse_loss(a, b, GW_MEAN)), 91.0f / 6, 1e-4f);
  cr_assert_float_eq(gw_item(gw_mse_loss(a, b, GW_BATCHMEAN)), 91.0f / 2, 1e-4f);
  gw_tensor *none = gw_l1_loss(a, b, GW_NONE);
  gwt_assert_close(none, a, 0, 0, "l1 none");
  // smooth L1: 0.5 d^2 / beta inside beta, |d| - beta / 2 outside
  gw_tensor *s = gw_smooth_l1_loss(gw_from_floats((float[]){0.5f, 3}, 2, GW_SHAPE(2)),
                                   gw_zeros(GW_F32, GW_SHAPE(2)), 1.0f, GW_NONE);
  gwt_assert_close(s, gw_from_floats((float[]){0.125f, 2.5f}, 2, GW_SHAPE(2)), 1e-6, 0,
                   "smooth_l1 values");
}

// Misuse: wrong dtypes, shapes that do not match, targets out of range, bad parameters.
Test(grad_losses, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(7);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3)), *y = gwt_randn(&r, GW_SHAPE(3, 2));
  GWT_EXPECT_ERROR(gw_mse_loss(x, y, GW_MEAN),
                   "mse_loss: input (2, 3) and target (3, 2) must have the same shape");
  GWT_EXPECT_ERROR(gw_l1_loss(x, gwt_randint(&r, 2, GW_SHAPE(2, 3)), GW_MEAN),
                   "l1_loss: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_smooth_l1_loss(x, x, 0.0f, GW_MEAN), "smooth_l1_loss: beta 0 must be > 0");
  GWT_EXPECT_ERROR(gw_kl_div(x, y, false, GW_BATCHMEAN),
                   "kl_div: input (2, 3) and target (3, 2) must have the same shape");
  GWT_EXPECT_ERROR(gw_cross_entropy(x, gwt_randn(&r, GW_SHAPE(2)), -100, 0.0f, GW_MEAN),
                   "cross_entropy: expected an int32 tensor of indices, got float32 (2,)");
  GWT_EXPECT_ERROR(gw_cross_entropy(x, gwt_randint(&r, 3, GW_SHAPE(3)), -100, 0.0f, GW_MEAN),
                   "cross_entropy: targets (3,) do not match logits (2, 3)");
  GWT_EXPECT_ERROR(gw_cross_entropy(x, gwt_randint(&r, 3, GW_SHAPE(2, 3)), -100, 0.0f, GW_MEAN),
                   "cross_entropy: logits (2, 3) need targets with one dim less (got (2, 3))");
  GWT_EXPECT_ERROR(
      gw_cross_entropy(x, gw_from_ints((int32_t[]){0, 3}, 2, GW_SHAPE(2)), -100, 0.0f, GW_MEAN),
      "cross_entropy: target 3 at position 1 is not a class in [0, 3)");
  GWT_EXPECT_ERROR(gw_cross_entropy(x, gwt_randint(&r, 3, GW_SHAPE(2)), -100, 1.0f, GW_MEAN),
                   "cross_entropy: label smoothing 1 must be in [0, 1)");
  GWT_EXPECT_ERROR(gw_cross_entropy_soft(x, y, GW_MEAN),
                   "cross_entropy_soft: logits (2, 3) and target probabilities (3, 2) must have "
                   "one shape");
  GWT_EXPECT_ERROR(gw_bce_with_logits(x, x, gwt_randn(&r, GW_SHAPE(2)), GW_MEAN),
                   "bce_with_logits: weight (2,) does not broadcast to the input (2, 3)");
  GWT_EXPECT_ERROR(gw_bce_with_logits(x, x, gwt_randn(&r, GW_SHAPE(1, 2, 3)), GW_MEAN),
                   "bce_with_logits: weight (1, 2, 3) does not broadcast to the input (2, 3)");
  GWT_EXPECT_ERROR(gw_cross_entropy_soft(x, gwt_randint(&r, 2, GW_SHAPE(2, 3)), GW_MEAN),
                   "cross_entropy_soft: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_bce_with_logits(x, y, NULL, GW_MEAN),
                   "bce_with_logits: input (2, 3) and target (3, 2) must have the same shape");
}
