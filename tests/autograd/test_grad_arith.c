// Gradient checks for the broadcasting arithmetic of autograd/arith.c: add, sub, mul, div,
// maximum, minimum, where, masked_fill; and their misuse errors.
#include "gradtest.h"

TestSuite(grad_arith, .init = gwt_setup, .fini = gwt_teardown);

typedef gw_tensor *(*binary_fn)(gw_tensor *, gw_tensor *);

// op(view_a(in[0]), view_b(in[1]))
typedef struct bin_ctx {
  binary_fn op;
  gt_layout la, lb;
} bin_ctx;

static gw_tensor *bin_f(gw_tensor *const *in, void *vctx) {
  bin_ctx *c = vctx;
  return c->op(gt_view(in[0], c->la), gt_view(in[1], c->lb));
}

static const struct {
  const char *name;
  binary_fn op;
} smooth_ops[] = {{"add", gw_add}, {"sub", gw_sub}, {"mul", gw_mul}, {"div", gw_div}};

// Shape pairs that broadcast as in PyTorch (b of a lower rank, size-1 dims on either side, a
// 0-dim operand).
static const struct {
  int na, nb;
  int64_t a[3], b[3];
} pairs[] = {
    {2, 2, {3, 4}, {3, 4}},       {3, 1, {2, 3, 4}, {4}},     {2, 2, {3, 1}, {1, 4}},
    {3, 2, {2, 1, 4}, {3, 1}},    {2, 0, {3, 4}, {0}},        {1, 3, {4}, {2, 3, 4}},
    {3, 3, {2, 3, 1}, {1, 1, 5}},
};

// A value for b: U(0.5, 2) with a random sign for div (away from the pole at 0), else N(0,1).
static gw_tensor *operand(gw_rng *r, bool divisor, int nd, const int64_t *shape) {
  if (!divisor) return gwt_randn(r, nd, shape);
  gw_tensor *t = gwt_uniform(r, 0.5f, 2.0f, nd, shape);
  for (int64_t i = 0; i < gw_numel(t); i++)
    if (gw_rng_float(r) < 0.5f) gw_f32(t)[i] = -gw_f32(t)[i];
  return t;
}

// add, sub, mul and div match finite differences for every broadcast pattern, with the
// gradient of a broadcast operand summed back down to its shape.
Test(grad_arith, smooth_ops_broadcast) {
  gw_rng r = gwt_rng(1);
  for (size_t o = 0; o < sizeof smooth_ops / sizeof *smooth_ops; o++) {
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++) {
      gw_tensor *a = gwt_leaf(gwt_randn(&r, pairs[p].na, pairs[p].a));
      gw_tensor *b = gwt_leaf(operand(&r, o == 3, pairs[p].nb, pairs[p].b));
      bin_ctx c = {smooth_ops[o].op, GT_PLAIN, GT_PLAIN};
      char name[64];
      snprintf(name, sizeof name, "%s pair %zu", smooth_ops[o].name, p);
      GT_CHECK(name, bin_f, &c, a, b);
      // the same with the operands swapped (a broadcast left operand)
      if (o == 3) continue;  // a would be the divisor
      c.op = smooth_ops[o].op;
      snprintf(name, sizeof name, "%s pair %zu swapped", smooth_ops[o].name, p);
      GT_CHECK(name, bin_f, &c, b, a);
    }
  }
}

// The same ops on transposed and strided operands (the kernels read any strides).
Test(grad_arith, smooth_ops_strided) {
  gw_rng r = gwt_rng(2);
  const gt_layout layouts[][2] = {{GT_TRANSPOSED, GT_PLAIN}, {GT_PLAIN, GT_STRIDED},
                                  {GT_TRANSPOSED, GT_STRIDED}, {GT_STRIDED, GT_TRANSPOSED}};
  for (size_t o = 0; o < sizeof smooth_ops / sizeof *smooth_ops; o++) {
    for (size_t k = 0; k < sizeof layouts / sizeof *layouts; k++) {
      gw_tensor *va = gwt_randn(&r, GW_SHAPE(3, 4)), *vb = operand(&r, o == 3, GW_SHAPE(3, 4));
      bin_ctx c = {smooth_ops[o].op, layouts[k][0], layouts[k][1]};
      char name[64];
      snprintf(name, sizeof name, "%s %s/%s", smooth_ops[o].name, gt_layout_name(c.la),
               gt_layout_name(c.lb));
      GT_CHECK(name, bin_f, &c, gt_leaf_as(va, c.la), gt_leaf_as(vb, c.lb));
    }
  }
}

// An expanded operand (stride 0) gets the sum of the gradients of all its copies.
static gw_tensor *mul_expanded_f(gw_tensor *const *in, void *ctx) {
  return gw_mul(in[0], gw_expand(in[1], GW_SHAPE(2, 3, 4)));
}
Test(grad_arith, expanded_operand) {
  gw_rng r = gwt_rng(3);
  gw_tensor *a = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4)));
  gw_tensor *b = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 1)));
  GT_CHECK("mul by expanded", mul_expanded_f, NULL, a, b);
}

// b = a + d with |d| in [0.1, 1] and a random sign, broadcast back to b's shape: no pair of
// elements that meet is closer than 0.1 > 2 * GT_MARGIN, so the winner never changes under
// perturbation. Returns b; a is given.
static gw_tensor *apart_from(gw_rng *r, const gw_tensor *a) {
  gw_tensor *b = gw_empty_like(a);
  for (int64_t i = 0; i < gw_numel(a); i++) {
    float d = 0.1f + 0.9f * gw_rng_float(r);
    gw_f32(b)[i] = gw_f32(a)[i] + (gw_rng_float(r) < 0.5f ? -d : d);
  }
  return b;
}

// maximum and minimum send the gradient to the winner, also when one side is broadcast or
// strided (values kept apart so there are no ties).
Test(grad_arith, maximum_minimum_away_from_ties) {
  gw_rng r = gwt_rng(4);
  binary_fn ops[] = {gw_maximum, gw_minimum};
  for (int o = 0; o < 2; o++) {
    // same shape, plain and strided/transposed
    gw_tensor *va = gwt_randn(&r, GW_SHAPE(3, 4)), *vb = apart_from(&r, va);
    bin_ctx c = {ops[o], GT_PLAIN, GT_PLAIN};
    GT_CHECK(o ? "minimum" : "maximum", bin_f, &c, gt_leaf_as(va, GT_PLAIN),
             gt_leaf_as(vb, GT_PLAIN));
    c = (bin_ctx){ops[o], GT_TRANSPOSED, GT_STRIDED};
    GT_CHECK(o ? "minimum strided" : "maximum strided", bin_f, &c, gt_leaf_as(va, c.la),
             gt_leaf_as(vb, c.lb));
    // broadcast: b (4) against a (3, 4); a's rows are b plus offsets
    gw_tensor *b = gwt_randn(&r, GW_SHAPE(4));
    gw_tensor *a = apart_from(&r, gw_contiguous(gw_view_expand(b, GW_SHAPE(3, 4))));
    c = (bin_ctx){ops[o], GT_PLAIN, GT_PLAIN};
    GT_CHECK(o ? "minimum broadcast" : "maximum broadcast", bin_f, &c, gwt_leaf(a), gwt_leaf(b));
  }
}

// On ties maximum and minimum split the gradient half to each input, as PyTorch does.
Test(grad_arith, maximum_minimum_ties_split) {
  binary_fn ops[] = {gw_maximum, gw_minimum};
  for (int o = 0; o < 2; o++) {
    gw_tensor *a = gwt_leaf(gw_from_floats((float[]){1, 2, 3}, 3, GW_SHAPE(3)));
    gw_tensor *b = gwt_leaf(gw_from_floats((float[]){1, 5, -3}, 3, GW_SHAPE(3)));
    gw_backward(gw_sum_all(ops[o](a, b)));
    float want_a[2][3] = {{0.5f, 0, 1}, {0.5f, 1, 0}};
    gw_tensor *ga = gw_from_floats(want_a[o], 3, GW_SHAPE(3));
    gw_tensor *gb = gw_from_floats((float[]){0.5f, 1 - want_a[o][1], 1 - want_a[o][2]}, 3,
                                   GW_SHAPE(3));
    gwt_assert_close(a->grad, ga, 0, 0, o ? "minimum da" : "maximum da");
    gwt_assert_close(b->grad, gb, 0, 0, o ? "minimum db" : "maximum db");
  }
}

// where(cond, a, b) routes the gradient by the condition, with cond, a and b broadcast
// together; masked_fill gives no gradient where the value was filled in.
typedef struct where_ctx {
  const gw_tensor *cond;
  gt_layout la;
} where_ctx;
static gw_tensor *where_f(gw_tensor *const *in, void *vctx) {
  where_ctx *c = vctx;
  return gw_where(c->cond, gt_view(in[0], c->la), in[1]);
}
static gw_tensor *masked_fill_f(gw_tensor *const *in, void *vctx) {
  where_ctx *c = vctx;
  return gw_masked_fill(gt_view(in[0], c->la), c->cond, -1.5f);
}
Test(grad_arith, where_and_masked_fill) {
  gw_rng r = gwt_rng(5);
  // cond (3, 4), a (3, 4), b (4)
  where_ctx c = {gwt_randint(&r, 2, GW_SHAPE(3, 4)), GT_PLAIN};
  GT_CHECK("where", where_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(4))));
  // cond (3, 1) broadcast over columns, a (1, 4), b (3, 4)
  c.cond = gwt_randint(&r, 2, GW_SHAPE(3, 1));
  GT_CHECK("where broadcast cond", where_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 4))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  // a transposed
  c = (where_ctx){gwt_randint(&r, 2, GW_SHAPE(3, 4)), GT_TRANSPOSED};
  GT_CHECK("where transposed", where_f, &c,
           gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 4)), GT_TRANSPOSED),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  // masked_fill with a (4) mask broadcast over rows, plain and strided
  c = (where_ctx){gw_from_ints((int32_t[]){1, 0, 1, 0}, 4, GW_SHAPE(4)), GT_PLAIN};
  GT_CHECK("masked_fill", masked_fill_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  c.la = GT_STRIDED;
  GT_CHECK("masked_fill strided", masked_fill_f, &c,
           gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 4)), GT_STRIDED));
  // the filled entries get exactly zero gradient
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4)));
  gw_tensor *y = gw_masked_fill(x, c.cond, 9.0f);
  cr_assert_eq(gw_f32(y)[1], 9.0f);
  gw_backward(gw_sum_all(y));
  for (int i = 0; i < 8; i++)
    cr_assert_eq(gw_f32(x->grad)[i], (i % 2) ? 0.0f : 1.0f, "masked_fill grad[%d]", i);
}

// Misuse: a wrong dtype or shapes that do not broadcast stop with the op and the shapes.
Test(grad_arith, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(6);
  gw_tensor *a = gwt_randn(&r, GW_SHAPE(2, 3)), *b = gwt_randn(&r, GW_SHAPE(4, 3));
  gw_tensor *ints = gwt_randint(&r, 3, GW_SHAPE(2, 3));
  GWT_EXPECT_ERROR(gw_add(a, ints), "add: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_mul(ints, a), "mul: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_sub(a, b), "sub: shapes (2, 3) and (4, 3) do not broadcast");
  GWT_EXPECT_ERROR(gw_div(b, a), "div: shapes (4, 3) and (2, 3) do not broadcast");
  GWT_EXPECT_ERROR(gw_maximum(a, b), "maximum: shapes (2, 3) and (4, 3) do not broadcast");
  GWT_EXPECT_ERROR(gw_where(a, a, a), "where: expected an int32 tensor");
  GWT_EXPECT_ERROR(gw_where(ints, a, b), "where: shapes (2, 3) and (4, 3) do not broadcast");
  GWT_EXPECT_ERROR(gw_masked_fill(a, gwt_randint(&r, 2, GW_SHAPE(4)), 0.0f),
                   "where: shapes (2, 3) and (4,) do not broadcast");
}
