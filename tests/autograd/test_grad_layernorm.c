// Gradient checks for autograd/layernorm.c: layer normalisation over the last dim with and
// without gamma and beta, on 1- to 3-dim and strided inputs, small and large eps; misuse.
#include "gradtest.h"

TestSuite(grad_layernorm, .init = gwt_setup, .fini = gwt_teardown);

typedef struct ln_ctx {
  gt_layout l;
  float eps;
  bool strided_params;
} ln_ctx;

// layernorm(view(in[0]), in[1], in[2]); gamma and beta may be NULL
static gw_tensor *ln_f(gw_tensor *const *in, void *vctx) {
  ln_ctx *c = vctx;
  gw_tensor *g = in[1], *b = in[2];
  if (c->strided_params) {
    if (g) g = gt_view(g, GT_STRIDED);
    if (b) b = gt_view(b, GT_STRIDED);
  }
  return gw_layernorm(gt_view(in[0], c->l), g, b, c->eps);
}

// Every combination of gamma and beta present or absent, on (3, 5) inputs.
Test(grad_layernorm, gamma_beta_combinations) {
  gw_rng r = gwt_rng(1);
  ln_ctx c = {GT_PLAIN, 1e-5f, false};
  for (int has_g = 0; has_g < 2; has_g++)
    for (int has_b = 0; has_b < 2; has_b++) {
      gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 5)));
      gw_tensor *g = has_g ? gwt_leaf(gwt_uniform(&r, 0.5f, 1.5f, GW_SHAPE(5))) : NULL;
      gw_tensor *b = has_b ? gwt_leaf(gwt_randn(&r, GW_SHAPE(5))) : NULL;
      char name[48];
      snprintf(name, sizeof name, "layernorm gamma %d beta %d", has_g, has_b);
      GT_CHECK(name, ln_f, &c, x, g, b);
    }
}

// 1-dim and 3-dim inputs, and more rows than one parameter-gradient block (64 rows), so the
// blocked sums over rows are exercised.
Test(grad_layernorm, ranks_and_many_rows) {
  gw_rng r = gwt_rng(2);
  ln_ctx c = {GT_PLAIN, 1e-5f, false};
  GT_CHECK("layernorm 1-d", ln_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(6))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(6))), gwt_leaf(gwt_randn(&r, GW_SHAPE(6))));
  GT_CHECK("layernorm 3-d", ln_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(4))), gwt_leaf(gwt_randn(&r, GW_SHAPE(4))));
  // 70 rows of 2: x is not perturbed (it does not require a gradient), only gamma and beta
  GT_CHECK("layernorm 70 rows", ln_f, &c, gwt_randn(&r, GW_SHAPE(70, 2)),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(2))), gwt_leaf(gwt_randn(&r, GW_SHAPE(2))));
}

// Strided and transposed inputs and strided gamma/beta.
Test(grad_layernorm, strided) {
  gw_rng r = gwt_rng(3);
  for (int l = GT_TRANSPOSED; l <= GT_STRIDED; l++) {
    ln_ctx c = {(gt_layout)l, 1e-5f, l == GT_STRIDED};
    gw_tensor *g = gwt_randn(&r, GW_SHAPE(5)), *b = gwt_randn(&r, GW_SHAPE(5));
    gw_tensor *pl = c.strided_params ? gt_leaf_as(g, GT_STRIDED) : gwt_leaf(g);
    gw_tensor *bl = c.strided_params ? gt_leaf_as(b, GT_STRIDED) : gwt_leaf(b);
    GT_CHECK(gt_layout_name(c.l), ln_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 5)), c.l), pl, bl);
  }
}

// A large eps (it enters the gradient through rstd) and a low-variance row.
Test(grad_layernorm, eps_matters) {
  gw_rng r = gwt_rng(4);
  ln_ctx c = {GT_PLAIN, 0.5f, false};
  GT_CHECK("layernorm eps 0.5", ln_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 5))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(5))), NULL);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 5));
  for (int j = 0; j < 5; j++) gw_f32(x)[j] *= 0.3f;  // row 0: std ~0.3, still >> the FD step
  c.eps = 1e-5f;
  GT_CHECK("layernorm small-variance row", ln_f, &c, gwt_leaf(x), NULL, NULL);
}

// Misuse: gamma or beta of the wrong size, a wrong dtype.
Test(grad_layernorm, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(5);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3));
  GWT_EXPECT_ERROR(gw_layernorm(x, gwt_randn(&r, GW_SHAPE(4)), NULL, 1e-5f),
                   "layernorm: gamma (4,) does not match the last dim of (2, 3)");
  GWT_EXPECT_ERROR(gw_layernorm(x, NULL, gwt_randn(&r, GW_SHAPE(3, 1)), 1e-5f),
                   "layernorm: beta (3, 1) does not match the last dim of (2, 3)");
  GWT_EXPECT_ERROR(gw_layernorm(gwt_randint(&r, 2, GW_SHAPE(2, 3)), NULL, NULL, 1e-5f),
                   "layernorm: expected a float32 tensor, got int32 (2, 3)");
}
