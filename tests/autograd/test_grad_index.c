// Gradient checks for autograd/index.c: index_select and gather along each dim with repeated
// indices (their gradients add up), embedding with and without a padding index (whose row
// gets no gradient); misuse errors.
#include "gradtest.h"

TestSuite(grad_index, .init = gwt_setup, .fini = gwt_teardown);

typedef struct idx_ctx {
  int dim;
  const gw_tensor *idx;
  gt_layout l;
  int padding_idx;
} idx_ctx;

static gw_tensor *index_select_f(gw_tensor *const *in, void *vctx) {
  idx_ctx *c = vctx;
  return gw_index_select(gt_view(in[0], c->l), c->dim, c->idx);
}
static gw_tensor *gather_f(gw_tensor *const *in, void *vctx) {
  idx_ctx *c = vctx;
  return gw_gather(gt_view(in[0], c->l), c->dim, c->idx);
}
static gw_tensor *embedding_f(gw_tensor *const *in, void *vctx) {
  idx_ctx *c = vctx;
  return gw_embedding(in[0], c->idx, c->padding_idx);
}

// index_select along each dim of a (3, 4, 5) input, with repeated and skipped indices, on
// row-major, transposed and strided inputs.
Test(grad_index, index_select_each_dim) {
  gw_rng r = gwt_rng(1);
  for (int d = -1; d < 3; d++)
    for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
      int64_t n = (int64_t[]){3, 4, 5}[d < 0 ? 2 : d];
      // 5 picks among n: at least one repeat
      gw_tensor *idx = gwt_randint(&r, n, GW_SHAPE(5));
      gw_i32(idx)[3] = gw_i32(idx)[0];
      idx_ctx c = {d, idx, (gt_layout)l, -1};
      char name[64];
      snprintf(name, sizeof name, "index_select dim %d %s", d, gt_layout_name(c.l));
      GT_CHECK(name, index_select_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 4, 5)), c.l));
    }
  // an empty selection gives an empty output and a zero gradient
  idx_ctx c = {0, gw_empty(GW_I32, GW_SHAPE(0)), GT_PLAIN, -1};
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 2)));
  gw_tensor *y = index_select_f(&x, &c);
  cr_assert(y->shape[0] == 0 && y->shape[1] == 2, "empty selection gave %s", gw_shape_str(y));
}

// gather along each dim, with indices narrower or wider than the input along that dim
// (repeats included), on row-major and transposed inputs.
Test(grad_index, gather_each_dim) {
  gw_rng r = gwt_rng(2);
  for (int d = -1; d < 3; d++)
    for (int l = GT_PLAIN; l <= GT_TRANSPOSED; l++)
      for (int64_t m = 2; m <= 6; m += 4) {
        int dd = d < 0 ? 2 : d;
        int64_t xs[3] = {3, 4, 5}, is[3] = {3, 4, 5};
        is[dd] = m;
        idx_ctx c = {d, gwt_randint(&r, xs[dd], 3, is), (gt_layout)l, -1};
        char name[64];
        snprintf(name, sizeof name, "gather dim %d m %lld %s", d, (long long)m,
                 gt_layout_name(c.l));
        GT_CHECK(name, gather_f, &c, gt_leaf_as(gwt_randn(&r, 3, xs), c.l));
      }
}

// embedding with ids of several shapes and repeated ids (their gradients add up).
Test(grad_index, embedding_no_padding) {
  gw_rng r = gwt_rng(3);
  const struct {
    int nd;
    int64_t shape[3];
  } ids[] = {{1, {6}}, {2, {2, 3}}, {3, {2, 2, 2}}, {0, {0}}};
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    idx_ctx c = {0, gwt_randint(&r, 5, ids[i].nd, ids[i].shape), GT_PLAIN, -1};
    char name[48];
    snprintf(name, sizeof name, "embedding ids %d-dim", ids[i].nd);
    GT_CHECK(name, embedding_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 3))));
  }
}

// With padding_idx, the padding row gets exactly no gradient even where it is looked up, and
// every other row gets what it gets without padding; the forward still reads the row.
Test(grad_index, embedding_padding_row_gets_no_gradient) {
  gw_rng r = gwt_rng(4);
  gw_tensor *ids = gw_from_ints((int32_t[]){2, 0, 2, 4, 1, 2}, 6, GW_SHAPE(2, 3));
  gw_tensor *values = gwt_randn(&r, GW_SHAPE(5, 3));
  gw_tensor *w = gwt_randn(&r, GW_SHAPE(2, 3, 3));
  gw_tensor *grads[2];
  for (int pad = 0; pad < 2; pad++) {
    gw_tensor *table = gwt_leaf(values);
    gw_tensor *y = gw_embedding(table, ids, pad ? 2 : -1);
    cr_assert_eq(gw_f32(y)[0], gw_f32(values)[2 * 3], "the padding row is still looked up");
    gw_backward(gw_sum_all(gw_mul(y, w)));
    grads[pad] = table->grad;
  }
  for (int64_t v = 0; v < 5; v++)
    for (int64_t j = 0; j < 3; j++) {
      float with = gw_f32(grads[1])[v * 3 + j], without = gw_f32(grads[0])[v * 3 + j];
      if (v == 2)
        cr_assert_eq(with, 0.0f, "padding row 2 got gradient %g at column %lld", with,
                     (long long)j);
      else
        cr_assert_eq(with, without, "row %lld: %g with padding_idx, %g without", (long long)v, with,
                     without);
    }
  cr_assert_neq(gw_f32(grads[0])[2 * 3], 0.0f, "without padding_idx row 2 does get a gradient");
  // the rows other than padding_idx still match finite differences when it is not looked up
  idx_ctx c = {0, gw_from_ints((int32_t[]){0, 1, 3, 1}, 4, GW_SHAPE(4)), GT_PLAIN, 2};
  GT_CHECK("embedding padding_idx not looked up", embedding_f, &c, gwt_leaf(values));
}

// Misuse: float indices, indices out of range, shapes that do not fit.
Test(grad_index, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(5);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(3, 4));
  GWT_EXPECT_ERROR(gw_index_select(x, 0, gwt_randn(&r, GW_SHAPE(2))),
                   "index_select: expected an int32 tensor of indices, got float32 (2,)");
  GWT_EXPECT_ERROR(gw_index_select(x, 1, gw_from_ints((int32_t[]){1, 4}, 2, GW_SHAPE(2))),
                   "index_select: index 4 at position 1 is out of range [0, 4)");
  GWT_EXPECT_ERROR(gw_index_select(x, 0, gwt_randint(&r, 3, GW_SHAPE(2, 2))),
                   "index_select: indices must be 1-dim, got (2, 2)");
  GWT_EXPECT_ERROR(gw_gather(x, 1, gwt_randint(&r, 4, GW_SHAPE(2, 4))),
                   "gather: indices (2, 4) must match the input (3, 4) in every dim but 1");
  GWT_EXPECT_ERROR(gw_gather(x, 0, gw_from_ints((int32_t[]){0, 1, -1, 2}, 4, GW_SHAPE(1, 4))),
                   "gather: index -1 at position 2 is out of range [0, 3)");
  GWT_EXPECT_ERROR(gw_embedding(gwt_randn(&r, GW_SHAPE(4)), gwt_randint(&r, 4, GW_SHAPE(2)), -1),
                   "embedding: the table must be (V, D), got (4,)");
  GWT_EXPECT_ERROR(gw_embedding(x, gwt_randint(&r, 3, GW_SHAPE(2)), 3),
                   "embedding: padding index 3 is outside the table (3, 4)");
  GWT_EXPECT_ERROR(gw_embedding(x, gw_from_ints((int32_t[]){0, 3}, 2, GW_SHAPE(2)), -1),
                   "embedding: index 3 at position 1 is out of range [0, 3)");
  gw_tensor *int_table = gwt_randint(&r, 3, GW_SHAPE(3, 4));
  GWT_EXPECT_ERROR(gw_embedding(int_table, gwt_randint(&r, 3, GW_SHAPE(2)), -1),
                   "embedding: expected a float32 tensor, got int32 (3, 4)");
}
