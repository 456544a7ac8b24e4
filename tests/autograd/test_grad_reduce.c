// Gradient checks for the reductions of autograd/reduce.c: sum, mean and var over any set of
// dims (keepdim or not), logsumexp and max over one dim, sum_all, mean_all; argmax records
// nothing; and misuse errors.
#include "gradtest.h"

TestSuite(grad_reduce, .init = gwt_setup, .fini = gwt_teardown);

typedef enum red_kind { R_SUM, R_MEAN, R_VAR0, R_VAR1, R_LOGSUMEXP, R_MAX } red_kind;
static const char *const red_names[] = {"sum", "mean", "var c=0", "var c=1", "logsumexp", "max"};

typedef struct red_ctx {
  red_kind k;
  int n_dims;
  int dims[3];
  bool keepdim;
  gt_layout l;
} red_ctx;

static gw_tensor *red_f(gw_tensor *const *in, void *vctx) {
  red_ctx *c = vctx;
  gw_tensor *x = gt_view(in[0], c->l);
  switch (c->k) {
    case R_SUM: return gw_sum(x, c->n_dims, c->dims, c->keepdim);
    case R_MEAN: return gw_mean(x, c->n_dims, c->dims, c->keepdim);
    case R_VAR0: return gw_var(x, c->n_dims, c->dims, 0, c->keepdim);
    case R_VAR1: return gw_var(x, c->n_dims, c->dims, 1, c->keepdim);
    case R_LOGSUMEXP: return gw_logsumexp(x, c->dims[0], c->keepdim);
    case R_MAX: return gw_max(x, c->dims[0], c->keepdim, NULL);
  }
  return NULL;
}

// The dim sets checked on a (2, 3, 4) input: all dims, one dim (first, middle, last,
// negative), two dims (apart and adjacent), the three listed explicitly.
static const struct {
  int n;
  int dims[3];
} dim_sets[] = {{0, {0}}, {1, {0}}, {1, {1}}, {1, {-1}}, {2, {0, 2}}, {2, {2, 1}}, {3, {0, 1, 2}}};

// sum, mean and var (correction 0 and 1) over every dim set, with and without keepdim.
Test(grad_reduce, sum_mean_var_dim_sets) {
  gw_rng r = gwt_rng(1);
  for (int k = R_SUM; k <= R_VAR1; k++)
    for (size_t s = 0; s < sizeof dim_sets / sizeof *dim_sets; s++)
      for (int keep = 0; keep < 2; keep++) {
        red_ctx c = {(red_kind)k, dim_sets[s].n, {0}, keep, GT_PLAIN};
        memcpy(c.dims, dim_sets[s].dims, sizeof c.dims);
        char name[64];
        snprintf(name, sizeof name, "%s set %zu keepdim %d", red_names[k], s, keep);
        GT_CHECK(name, red_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))));
      }
}

// The same reductions of transposed and strided inputs (read through a row-major copy).
Test(grad_reduce, strided_inputs) {
  gw_rng r = gwt_rng(2);
  for (int k = R_SUM; k <= R_MAX; k++)
    for (int l = GT_TRANSPOSED; l <= GT_STRIDED; l++) {
      red_ctx c = {(red_kind)k, 1, {-1}, false, (gt_layout)l};
      gw_tensor *v = k == R_MAX ? gt_distinct(&r, 0.1f, GW_SHAPE(3, 4, 5))
                                : gwt_randn(&r, GW_SHAPE(3, 4, 5));
      char name[64];
      snprintf(name, sizeof name, "%s %s", red_names[k], gt_layout_name(c.l));
      GT_CHECK(name, red_f, &c, gt_leaf_as(v, c.l));
    }
}

// N(0, s^2) values
static gw_tensor *randn_scaled(gw_rng *r, float s, int ndim, const int64_t *shape) {
  gw_tensor *t = gwt_randn(r, ndim, shape);
  for (int64_t i = 0; i < gw_numel(t); i++) gw_f32(t)[i] *= s;
  return t;
}

// logsumexp and max over each dim, keepdim or not; max on distinct values (no ties, so the
// argmax does not move under perturbation).
Test(grad_reduce, logsumexp_and_max_each_dim) {
  gw_rng r = gwt_rng(3);
  for (int k = R_LOGSUMEXP; k <= R_MAX; k++)
    for (int d = -1; d < 3; d++)
      for (int keep = 0; keep < 2; keep++) {
        red_ctx c = {(red_kind)k, 1, {d}, keep, GT_PLAIN};
        gw_tensor *v = k == R_MAX ? gt_distinct(&r, 0.1f, GW_SHAPE(2, 3, 4))
                                  : randn_scaled(&r, 3.0f, GW_SHAPE(2, 3, 4));
        char name[64];
        snprintf(name, sizeof name, "%s dim %d keepdim %d", red_names[k], d, keep);
        GT_CHECK(name, red_f, &c, gwt_leaf(v));
      }
}

// sum_all and mean_all give 0-dim outputs; a 0-dim and a 1-dim input work too.
static gw_tensor *sum_all_f(gw_tensor *const *in, void *ctx) { return gw_sum_all(in[0]); }
static gw_tensor *mean_all_f(gw_tensor *const *in, void *ctx) {
  return gw_mean_all(gw_transpose(in[0], 0, 1));
}
Test(grad_reduce, sum_all_mean_all) {
  gw_rng r = gwt_rng(4);
  GT_CHECK("sum_all", sum_all_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  GT_CHECK("sum_all 0-dim", sum_all_f, NULL, gwt_leaf(gw_scalar(1.5f)));
  GT_CHECK("mean_all transposed", mean_all_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  gw_tensor *y = gw_sum_all(gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  cr_assert_eq(y->ndim, 0, "sum_all gives a 0-dim tensor, got %s", gw_shape_str(y));
  red_ctx c = {R_LOGSUMEXP, 1, {0}, false, GT_PLAIN};
  GT_CHECK("logsumexp 1-dim", red_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(5))));
  c.k = R_MAX;
  GT_CHECK("max 1-dim", red_f, &c, gwt_leaf(gt_distinct(&r, 0.1f, GW_SHAPE(5))));
  c.k = R_VAR1;
  GT_CHECK("var 1-dim", red_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(5))));
}

// Reductions of a reduction: the gradient of var of a mean of an expanded input.
static gw_tensor *chain_f(gw_tensor *const *in, void *ctx) {
  gw_tensor *e = gw_expand(in[0], GW_SHAPE(3, 2, 4));
  gw_tensor *m = gw_mean(gw_mul(e, in[1]), 1, (int[]){1}, true);
  return gw_var(m, 1, (int[]){-1}, 1, false);
}
Test(grad_reduce, chained) {
  gw_rng r = gwt_rng(5);
  GT_CHECK("chain", chain_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 1))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 2, 4))));
}

// max routes the gradient to the maximum only, and gives its index; argmax records no node.
Test(grad_reduce, max_routes_to_argmax) {
  gw_tensor *x = gwt_leaf(gw_from_floats((float[]){1, 5, 2, 7, 0, 3}, 6, GW_SHAPE(2, 3)));
  gw_tensor *arg;
  gw_tensor *y = gw_max(x, 1, false, &arg);
  cr_assert_eq(gw_i32(arg)[0], 1);
  cr_assert_eq(gw_i32(arg)[1], 0);
  gw_backward(gw_sum_all(gw_mul(y, gw_from_floats((float[]){2, 3}, 2, GW_SHAPE(2)))));
  gwt_assert_close(x->grad, gw_from_floats((float[]){0, 2, 0, 3, 0, 0}, 6, GW_SHAPE(2, 3)), 0, 0,
                   "max grad");
  int64_t before = gw_tape_size();
  gw_tensor *am = gw_argmax(x, 0, true);
  cr_assert_eq(gw_tape_size(), before, "argmax recorded a node");
  cr_assert_eq(am->dtype, GW_I32);
  cr_assert(am->ndim == 2 && am->shape[0] == 1 && am->shape[1] == 3);
  cr_assert(gw_i32(am)[0] == 1 && gw_i32(am)[1] == 0 && gw_i32(am)[2] == 1);
}

// Misuse: a wrong dtype, a dim out of range or listed twice stops naming the op.
Test(grad_reduce, errors_name_op) {
  gw_rng r = gwt_rng(6);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3)), *ints = gwt_randint(&r, 3, GW_SHAPE(2, 3));
  GWT_EXPECT_ERROR(gw_sum(ints, 0, NULL, false),
                   "sum: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_var(ints, 0, NULL, 1, false), "var: expected a float32 tensor");
  GWT_EXPECT_ERROR(gw_mean(x, 1, (int[]){2}, false),
                   "mean: dimension 2 is out of range for a 2-dim tensor");
  GWT_EXPECT_ERROR(gw_sum(x, 2, (int[]){1, -1}, false), "sum: dimension -1 is listed twice");
  GWT_EXPECT_ERROR(gw_max(x, -3, false, NULL), "max: dimension -3 is out of range");
  GWT_EXPECT_ERROR(gw_logsumexp(ints, 0, false), "logsumexp: expected a float32 tensor");
}
