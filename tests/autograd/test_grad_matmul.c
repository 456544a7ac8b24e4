// Gradient checks for autograd/matmul.c: matmul in every torch.matmul case (vectors,
// matrices, batches with broadcast batch dims) and with every operand layout sgemm is handed
// (row-major, transposed as a flag, a leading-dim stride, copied); linear with and without a
// bias, on 1-, 2- and 3-dim and strided inputs; and misuse errors.
#include "gradtest.h"

TestSuite(grad_matmul, .init = gwt_setup, .fini = gwt_teardown);

// Operand views: GT_PLAIN/GT_TRANSPOSED/GT_STRIDED from gradtest.h, plus a leading-dim
// slice (rows of a wider matrix: row stride > columns, no copy), a batch-dim permutation, and
// an expanded batch dim (batch stride 0).
enum { M_COLS = 3, M_BATCH_PERM = 4, M_EXPAND = 5 };

typedef struct mm_ctx {
  int la, lb;  // layout of each operand
  int64_t expand_to;
} mm_ctx;

static gw_tensor *view_of(gw_tensor *x, int l, int64_t expand_to) {
  switch (l) {
    case M_COLS: return gw_slice(x, -1, 1, x->shape[x->ndim - 1] - 1, 1);
    case M_BATCH_PERM: return gw_transpose(x, 0, 1);
    case M_EXPAND: {
      int64_t shape[GW_MAX_DIMS];
      memcpy(shape, x->shape, sizeof shape);
      shape[0] = expand_to;
      return gw_expand(x, x->ndim, shape);
    }
    default: return gt_view(x, (gt_layout)l);
  }
}

static gw_tensor *mm_f(gw_tensor *const *in, void *vctx) {
  mm_ctx *c = vctx;
  return gw_matmul(view_of(in[0], c->la, c->expand_to), view_of(in[1], c->lb, c->expand_to));
}

// The leaf that view_of(leaf, l) turns into a tensor of the logical shape.
static gw_tensor *leaf_for(gw_rng *r, int l, int nd, const int64_t *logical) {
  int64_t shape[GW_MAX_DIMS];
  memcpy(shape, logical, (size_t)nd * sizeof(int64_t));
  switch (l) {
    case M_COLS:
      shape[nd - 1] += 2;
      return gwt_leaf(gwt_randn(r, nd, shape));
    case M_BATCH_PERM: {
      int64_t t = shape[0];
      shape[0] = shape[1];
      shape[1] = t;
      return gwt_leaf(gwt_randn(r, nd, shape));
    }
    case M_EXPAND:
      shape[0] = 1;
      return gwt_leaf(gwt_randn(r, nd, shape));
    default: return gt_leaf_as(gwt_randn(r, nd, logical), (gt_layout)l);
  }
}

static void check_mm(const char *name, gw_rng *r, int na, const int64_t *a, int nb,
                     const int64_t *b, int la, int lb) {
  mm_ctx c = {la, lb, la == M_EXPAND ? a[0] : b[0]};
  GT_CHECK(name, mm_f, &c, leaf_for(r, la, na, a), leaf_for(r, lb, nb, b));
}
#define SH(...) GW_SHAPE(__VA_ARGS__)

// Every rank combination of torch.matmul: vector @ vector (a 0-dim dot product), vector @
// matrix, matrix @ vector, matrix @ matrix, and vectors and matrices against batches.
Test(grad_matmul, rank_cases) {
  gw_rng r = gwt_rng(1);
  check_mm("vec @ vec", &r, SH(4), SH(4), GT_PLAIN, GT_PLAIN);
  check_mm("vec @ mat", &r, SH(4), SH(4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("mat @ vec", &r, SH(3, 4), SH(4), GT_PLAIN, GT_PLAIN);
  check_mm("mat @ mat", &r, SH(3, 4), SH(4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("vec @ batch", &r, SH(4), SH(2, 4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("batch @ vec", &r, SH(2, 3, 4), SH(4), GT_PLAIN, GT_PLAIN);
  check_mm("mat @ batch", &r, SH(3, 4), SH(2, 4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("batch @ mat", &r, SH(2, 3, 4), SH(4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("4-d batch @ mat", &r, SH(2, 2, 3, 4), SH(4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("batch @ batch", &r, SH(2, 3, 4), SH(2, 4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("1-row @ 1-col", &r, SH(1, 4), SH(4, 1), GT_PLAIN, GT_PLAIN);
  check_mm("col @ row (K = 1)", &r, SH(3, 1), SH(1, 5), GT_PLAIN, GT_PLAIN);
}

// Batch dims broadcast as in PyTorch: size-1 dims and missing leading dims on either side;
// the gradient of the broadcast operand is summed over the batch.
Test(grad_matmul, broadcast_batch_dims) {
  gw_rng r = gwt_rng(2);
  check_mm("(2,1,3,4) @ (3,4,2)", &r, SH(2, 1, 3, 4), SH(3, 4, 2), GT_PLAIN, GT_PLAIN);
  check_mm("(1,3,4) @ (2,4,5)", &r, SH(1, 3, 4), SH(2, 4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("(2,3,4) @ (1,4,5)", &r, SH(2, 3, 4), SH(1, 4, 5), GT_PLAIN, GT_PLAIN);
  check_mm("(3,4) @ (2,2,4,3)", &r, SH(3, 4), SH(2, 2, 4, 3), GT_PLAIN, GT_PLAIN);
  check_mm("(2,1,3,4) @ (1,2,4,3)", &r, SH(2, 1, 3, 4), SH(1, 2, 4, 3), GT_PLAIN, GT_PLAIN);
}

// Transposed operands are passed to sgemm as flags; column slices with a leading dim; step
// slices copied; every pairing, for matrices and for batches (including batch @ matrix,
// where the batch is folded into the rows of one product when it can be).
Test(grad_matmul, operand_layouts) {
  gw_rng r = gwt_rng(3);
  const int layouts[] = {GT_PLAIN, GT_TRANSPOSED, GT_STRIDED, M_COLS};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      char name[96];
      snprintf(name, sizeof name, "mat @ mat layouts %d/%d", layouts[i], layouts[j]);
      check_mm(name, &r, SH(3, 4), SH(4, 5), layouts[i], layouts[j]);
      snprintf(name, sizeof name, "batch @ batch layouts %d/%d", layouts[i], layouts[j]);
      check_mm(name, &r, SH(2, 3, 4), SH(2, 4, 5), layouts[i], layouts[j]);
      snprintf(name, sizeof name, "batch @ mat layouts %d/%d", layouts[i], layouts[j]);
      check_mm(name, &r, SH(2, 3, 4), SH(4, 5), layouts[i], layouts[j]);
      snprintf(name, sizeof name, "mat @ batch layouts %d/%d", layouts[i], layouts[j]);
      check_mm(name, &r, SH(3, 4), SH(2, 4, 5), layouts[i], layouts[j]);
    }
}

// Permuted batch dims (the batch strides are not in row-major order) and an expanded batch
// dim (stride 0) on either side.
Test(grad_matmul, batch_layouts) {
  gw_rng r = gwt_rng(4);
  check_mm("perm batch @ mat", &r, SH(2, 3, 3, 4), SH(4, 2), M_BATCH_PERM, GT_PLAIN);
  check_mm("batch @ perm batch", &r, SH(3, 2, 2, 4), SH(3, 2, 4, 2), GT_PLAIN, M_BATCH_PERM);
  check_mm("expanded batch @ batch", &r, SH(2, 3, 4), SH(2, 4, 5), M_EXPAND, GT_PLAIN);
  check_mm("batch @ expanded batch", &r, SH(2, 3, 4), SH(2, 4, 5), GT_PLAIN, M_EXPAND);
  check_mm("expanded batch @ mat", &r, SH(3, 3, 4), SH(4, 5), M_EXPAND, GT_PLAIN);
}

// The same input on both sides (x @ x, x @ x^T, linear(x, x)) gets both gradients added.
static gw_tensor *gram_f(gw_tensor *const *in, void *ctx) {
  return gw_matmul(in[0], gw_transpose(in[0], -1, -2));
}
static gw_tensor *square_f(gw_tensor *const *in, void *ctx) { return gw_matmul(in[0], in[0]); }
static gw_tensor *linear_self_f(gw_tensor *const *in, void *ctx) {
  return gw_linear(in[0], in[0], NULL);
}
Test(grad_matmul, operand_used_twice) {
  gw_rng r = gwt_rng(5);
  GT_CHECK("x @ x", square_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 4))));
  GT_CHECK("batched x @ x", square_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 3))));
  GT_CHECK("linear(x, x)", linear_self_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 4))));
  GT_CHECK("x @ x^T", gram_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))));
  GT_CHECK("batched x @ x^T", gram_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))));
}

// Only one operand requiring a gradient: the other is a constant.
static gw_tensor *mm_const_f(gw_tensor *const *in, void *ctx) {
  return gw_matmul(in[0], (gw_tensor *)ctx);
}
Test(grad_matmul, constant_operand) {
  gw_rng r = gwt_rng(6);
  gw_tensor *b = gwt_randn(&r, GW_SHAPE(4, 5));
  GT_CHECK("batch @ const", mm_const_f, b, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))));
}

// ---- linear ----
typedef struct lin_ctx {
  gt_layout lx;
  bool strided_bias;
} lin_ctx;
static gw_tensor *lin_f(gw_tensor *const *in, void *vctx) {
  lin_ctx *c = vctx;
  gw_tensor *bias = in[2];
  if (bias && c->strided_bias) bias = gt_view(bias, GT_STRIDED);
  return gw_linear(gt_view(in[0], c->lx), in[1], bias);
}

// linear on 1-, 2-, 3- and 4-dim inputs, with and without a bias.
Test(grad_matmul, linear_ranks_and_bias) {
  gw_rng r = gwt_rng(7);
  lin_ctx c = {GT_PLAIN, false};
  const struct {
    int nd;
    int64_t shape[4];
  } xs[] = {{1, {4}}, {2, {3, 4}}, {3, {2, 3, 4}}, {4, {2, 1, 3, 4}}};
  for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
    gw_tensor *x = gwt_leaf(gwt_randn(&r, xs[i].nd, xs[i].shape));
    gw_tensor *w = gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 4)));
    gw_tensor *b = gwt_leaf(gwt_randn(&r, GW_SHAPE(5)));
    char name[64];
    snprintf(name, sizeof name, "linear %d-dim with bias", xs[i].nd);
    GT_CHECK(name, lin_f, &c, x, w, b);
    snprintf(name, sizeof name, "linear %d-dim no bias", xs[i].nd);
    GT_CHECK(name, lin_f, &c, x, w, NULL);
  }
}

// linear on transposed and strided inputs, and with a strided bias.
Test(grad_matmul, linear_strided) {
  gw_rng r = gwt_rng(8);
  for (int l = GT_TRANSPOSED; l <= GT_STRIDED; l++) {
    lin_ctx c = {(gt_layout)l, false};
    gw_tensor *x = gt_leaf_as(gwt_randn(&r, GW_SHAPE(2, 3, 4)), c.lx);
    GT_CHECK(gt_layout_name(c.lx), lin_f, &c, x, gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 4))),
             gwt_leaf(gwt_randn(&r, GW_SHAPE(5))));
  }
  lin_ctx c = {GT_PLAIN, true};
  GT_CHECK("strided bias", lin_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 4))),
           gt_leaf_as(gwt_randn(&r, GW_SHAPE(5)), GT_STRIDED));
}

// Misuse: mismatched inner dims, batch dims that do not broadcast, a weight or bias that
// does not fit, a wrong dtype.
Test(grad_matmul, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(9);
  gw_tensor *a = gwt_randn(&r, GW_SHAPE(2, 3)), *b = gwt_randn(&r, GW_SHAPE(4, 5));
  GWT_EXPECT_ERROR(gw_matmul(a, b), "matmul: inner dimensions differ: (2, 3) @ (4, 5)");
  GWT_EXPECT_ERROR(gw_matmul(gwt_randn(&r, GW_SHAPE(2, 2, 3)), gwt_randn(&r, GW_SHAPE(3, 3, 4))),
                   "matmul (batch dims): shapes (2,) and (3,) do not broadcast");
  GWT_EXPECT_ERROR(gw_matmul(a, gwt_randint(&r, 2, GW_SHAPE(3, 2))),
                   "matmul: expected a float32 tensor, got int32 (3, 2)");
  GWT_EXPECT_ERROR(gw_matmul(gw_scalar(2.0f), a),
                   "matmul: operands need at least 1 dim (got () @ (2, 3))");
  GWT_EXPECT_ERROR(gw_linear(a, b, NULL),
                   "linear: input (2, 3) does not fit the weight (4, 5) (expected (..., 5))");
  GWT_EXPECT_ERROR(gw_linear(a, gwt_randn(&r, GW_SHAPE(4, 3)), gwt_randn(&r, GW_SHAPE(3))),
                   "linear: bias (3,) does not match the weight (4, 3)");
  GWT_EXPECT_ERROR(gw_linear(a, gw_view_transpose(gwt_randn(&r, GW_SHAPE(3, 4)), 0, 1), NULL),
                   "linear: the weight (4, 3) must be contiguous");
}
