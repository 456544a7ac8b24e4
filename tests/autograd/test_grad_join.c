// Gradient checks for autograd/join.c: concat and stack along each dim (strided inputs, an
// input that needs no gradient, one input passed twice), split into pieces; misuse errors.
#include "gradtest.h"

TestSuite(grad_join, .init = gwt_setup, .fini = gwt_teardown);

typedef struct join_ctx {
  int dim;
  int count;
  gt_layout l[3];
  gw_tensor *constant;  // joined after the inputs when not NULL
} join_ctx;

static gw_tensor *concat_f(gw_tensor *const *in, void *vctx) {
  join_ctx *c = vctx;
  gw_tensor *xs[4];
  int n = 0;
  for (int k = 0; k < c->count; k++) xs[n++] = gt_view(in[k], c->l[k]);
  if (c->constant) xs[n++] = c->constant;
  return gw_concat(n, xs, c->dim);
}

static gw_tensor *stack_f(gw_tensor *const *in, void *vctx) {
  join_ctx *c = vctx;
  gw_tensor *xs[3];
  for (int k = 0; k < c->count; k++) xs[k] = gt_view(in[k], c->l[k]);
  return gw_stack(c->count, xs, c->dim);
}

// concat of three (2, x, 3)-like inputs along each dim (positive and negative), each input
// getting back exactly the slice of the gradient where it landed.
Test(grad_join, concat_each_dim) {
  gw_rng r = gwt_rng(1);
  const int dims[] = {0, 1, 2, -1, -3};
  for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
    int d = dims[i] < 0 ? dims[i] + 3 : dims[i];
    gw_tensor *xs[3];
    for (int k = 0; k < 3; k++) {
      int64_t shape[3] = {2, 3, 4};
      shape[d] = k + 1;
      xs[k] = gwt_leaf(gwt_randn(&r, 3, shape));
    }
    join_ctx c = {dims[i], 3, {GT_PLAIN, GT_PLAIN, GT_PLAIN}, NULL};
    char name[48];
    snprintf(name, sizeof name, "concat dim %d", dims[i]);
    GT_CHECK(name, concat_f, &c, xs[0], xs[1], xs[2]);
  }
}

// concat of transposed and strided inputs, and with a constant input (no gradient wanted).
Test(grad_join, concat_strided_and_constant) {
  gw_rng r = gwt_rng(2);
  join_ctx c = {1, 3, {GT_TRANSPOSED, GT_STRIDED, GT_PLAIN}, gwt_randn(&r, GW_SHAPE(3, 2))};
  GT_CHECK("concat strided", concat_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 4)), c.l[0]),
           gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 2)), c.l[1]),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 1))));
  c = (join_ctx){0, 1, {GT_PLAIN}, gwt_randn(&r, GW_SHAPE(2, 4))};
  GT_CHECK("concat single input", concat_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
}

// The same tensor joined twice gets both slices of the gradient added.
static gw_tensor *concat_twice_f(gw_tensor *const *in, void *ctx) {
  return gw_concat(3, (gw_tensor *[]){in[0], in[1], in[0]}, 0);
}
Test(grad_join, concat_same_input_twice) {
  gw_rng r = gwt_rng(3);
  GT_CHECK("concat x, y, x", concat_twice_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 3))));
}

// stack along a new first, middle and last dim (negative dims count from the new rank).
Test(grad_join, stack_each_dim) {
  gw_rng r = gwt_rng(4);
  const int dims[] = {0, 1, 2, -1, -3};
  for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
    join_ctx c = {dims[i], 3, {GT_PLAIN, GT_TRANSPOSED, GT_STRIDED}, NULL};
    char name[48];
    snprintf(name, sizeof name, "stack dim %d", dims[i]);
    gw_tensor *xs[3];
    for (int k = 0; k < 3; k++) xs[k] = gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 4)), c.l[k]);
    GT_CHECK(name, stack_f, &c, xs[0], xs[1], xs[2]);
    gw_tensor *y = stack_f(xs, &c);
    int d = dims[i] < 0 ? dims[i] + 3 : dims[i];
    cr_assert(y->ndim == 3 && y->shape[d] == 3, "stack dim %d gave %s", dims[i], gw_shape_str(y));
  }
}

// split's pieces are views whose gradients land back in their ranges; pieces used in
// different ways (scaled, unused) get their own gradients (zero for the unused one).
static gw_tensor *split_f(gw_tensor *const *in, void *vctx) {
  int dim = *(int *)vctx;
  gw_tensor *p[3];
  gw_split(in[0], dim, 3, (int64_t[]){2, 1, 3}, p);
  return gw_concat(2, (gw_tensor *[]){gw_mul_scalar(p[2], 3.0f), gw_exp(p[0])}, dim);
}
Test(grad_join, split_pieces) {
  gw_rng r = gwt_rng(5);
  int dim = 1;
  GT_CHECK("split dim 1", split_f, &dim, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 6))));
  dim = -1;
  GT_CHECK("split dim -1", split_f, &dim, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 2, 6))));
  dim = 0;
  GT_CHECK("split dim 0", split_f, &dim, gwt_leaf(gwt_randn(&r, GW_SHAPE(6, 2))));
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(6, 2)));
  gw_backward(gw_sum_all(split_f(&x, &dim)));
  for (int i = 4; i < 6; i++) cr_assert_eq(gw_f32(x->grad)[i], 0.0f, "unused piece got a gradient");
}

// Misuse: shapes that do not join, a wrong dtype, split sizes that do not add up.
Test(grad_join, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(6);
  gw_tensor *a = gwt_randn(&r, GW_SHAPE(2, 3)), *b = gwt_randn(&r, GW_SHAPE(2, 4));
  GWT_EXPECT_ERROR(gw_concat(2, (gw_tensor *[]){a, b}, 0),
                   "concat: input 1 is (2, 4) but input 0 is (2, 3); they may differ only in "
                   "dim 0");
  GWT_EXPECT_ERROR(gw_concat(2, (gw_tensor *[]){a, gwt_randn(&r, GW_SHAPE(6))}, 0),
                   "concat: input 1 is (6,) but input 0 is (2, 3)");
  GWT_EXPECT_ERROR(gw_concat(2, (gw_tensor *[]){a, gwt_randint(&r, 2, GW_SHAPE(2, 3))}, 0),
                   "concat: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_stack(2, (gw_tensor *[]){a, b}, 0),
                   "stack: input 1 is (2, 4) but input 0 is (2, 3)");
  gw_tensor *out[2];
  GWT_EXPECT_ERROR(gw_split(b, 1, 2, (int64_t[]){1, 2}, out),
                   "split: sizes add up to 3 but dim 1 of (2, 4) has 4");
}
