// Gradient checks for the shape ops of autograd/shape.c: reshape (as a view and through a
// copy), permute, transpose, slice (steps, negative bounds), expand, unsqueeze, squeeze,
// flatten, contig; chains of views; and misuse errors.
//
// The functions return the views themselves: gwt_gradcheck multiplies them by random weights
// with the strided elementwise kernel, so the view's layout is what is read.
#include "gradtest.h"

TestSuite(grad_shape, .init = gwt_setup, .fini = gwt_teardown);

typedef enum shape_kind {
  S_RESHAPE, S_RESHAPE_COPY, S_RESHAPE_INFER, S_PERMUTE, S_TRANSPOSE, S_SLICE, S_SLICE_STEP,
  S_SLICE_NEG, S_SLICE_PAST_END, S_SLICE_STEP_ON_STRIDED, S_EXPAND, S_EXPAND_LEADING,
  S_UNSQUEEZE0, S_UNSQUEEZE_LAST, S_SQUEEZE, S_FLATTEN, S_FLATTEN_TRANSPOSED, S_CONTIG,
  S_CONTIG_PLAIN, S_CHAIN, S_COUNT
} shape_kind;

static const char *const names[S_COUNT] = {
    "reshape", "reshape of transposed (copy)", "reshape -1", "permute", "transpose", "slice",
    "slice step 2", "slice negative bounds", "slice past the end", "slice step 3 of transposed",
    "expand", "expand leading dims", "unsqueeze 0", "unsqueeze -1", "squeeze", "flatten",
    "flatten transposed", "contig of transposed", "contig of row-major", "chain"};

// The leaf shape each case starts from.
static const int64_t leaf_shapes[S_COUNT][4] = {
    [S_RESHAPE] = {2, 3, 4},     [S_RESHAPE_COPY] = {2, 3, 4}, [S_RESHAPE_INFER] = {2, 3, 4},
    [S_PERMUTE] = {2, 3, 4},     [S_TRANSPOSE] = {2, 3, 4},    [S_SLICE] = {4, 5},
    [S_SLICE_STEP] = {7, 5},     [S_SLICE_NEG] = {4, 6},       [S_SLICE_PAST_END] = {4, 5},
    [S_SLICE_STEP_ON_STRIDED] = {8, 3}, [S_EXPAND] = {3, 1},   [S_EXPAND_LEADING] = {1, 4},
    [S_UNSQUEEZE0] = {3, 4},     [S_UNSQUEEZE_LAST] = {3, 4},  [S_SQUEEZE] = {3, 1, 4},
    [S_FLATTEN] = {2, 3, 4},     [S_FLATTEN_TRANSPOSED] = {2, 3, 4}, [S_CONTIG] = {3, 4},
    [S_CONTIG_PLAIN] = {3, 4},   [S_CHAIN] = {4, 3, 5},
};

static int leaf_ndim(int k) {
  int n = 0;
  while (n < 4 && leaf_shapes[k][n]) n++;
  return n;
}

static gw_tensor *shape_f(gw_tensor *const *in, void *vctx) {
  shape_kind k = *(shape_kind *)vctx;
  gw_tensor *x = in[0];
  switch (k) {
    case S_RESHAPE: return gw_reshape(x, GW_SHAPE(4, 6));
    case S_RESHAPE_COPY: return gw_reshape(gw_transpose(x, 1, 2), GW_SHAPE(8, 3));
    case S_RESHAPE_INFER: return gw_reshape(x, GW_SHAPE(-1, 2, 3));
    case S_PERMUTE: return gw_permute(x, (int[]){2, 0, 1});
    case S_TRANSPOSE: return gw_transpose(x, 0, -1);
    case S_SLICE: return gw_slice(x, 1, 1, 4, 1);
    case S_SLICE_STEP: return gw_slice(x, 0, 1, 7, 2);
    case S_SLICE_NEG: return gw_slice(x, -1, -5, -1, 2);
    case S_SLICE_PAST_END: return gw_slice(x, 0, 2, 100, 1);
    case S_SLICE_STEP_ON_STRIDED: return gw_slice(gw_transpose(x, 0, 1), 1, 0, 8, 3);
    case S_EXPAND: return gw_expand(x, GW_SHAPE(3, 4));
    case S_EXPAND_LEADING: return gw_expand(x, GW_SHAPE(2, 3, 4));
    case S_UNSQUEEZE0: return gw_unsqueeze(x, 0);
    case S_UNSQUEEZE_LAST: return gw_unsqueeze(x, -1);
    case S_SQUEEZE: return gw_squeeze(x, 1);
    case S_FLATTEN: return gw_flatten(x, 1, 2);
    case S_FLATTEN_TRANSPOSED: return gw_flatten(gw_transpose(x, 0, 2), 0, 1);
    case S_CONTIG: return gw_contig(gw_transpose(x, 0, 1));
    case S_CONTIG_PLAIN: return gw_contig(x);
    case S_CHAIN: {  // slice -> permute -> reshape (copy) -> expand -> slice
      gw_tensor *v = gw_slice(x, 2, 1, 5, 2);              // (4, 3, 2)
      v = gw_permute(v, (int[]){2, 0, 1});                // (2, 4, 3)
      v = gw_reshape(v, GW_SHAPE(2, 12));                 // copy: not viewable
      v = gw_expand(gw_unsqueeze(v, 0), GW_SHAPE(3, 2, 12));
      return gw_slice(v, 2, 0, 12, 5);                    // (3, 2, 3)
    }
    case S_COUNT: break;
  }
  return NULL;
}

// Every shape op routes the gradient back through its inverse: a view's gradient lands on
// the elements it viewed (sums for expanded copies, zeros for elements a slice skipped).
Test(grad_shape, every_op) {
  gw_rng r = gwt_rng(1);
  for (int k = 0; k < S_COUNT; k++) {
    shape_kind kind = (shape_kind)k;
    GT_CHECK(names[k], shape_f, &kind, gwt_leaf(gwt_randn(&r, leaf_ndim(k), leaf_shapes[k])));
  }
}

// The shapes the views produce, and that views share the input's storage.
Test(grad_shape, output_shapes) {
  gw_rng r = gwt_rng(2);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 6)));
  gw_tensor *s = gw_slice(x, -1, -5, -1, 2);
  cr_assert(s->ndim == 2 && s->shape[0] == 4 && s->shape[1] == 2, "slice gave %s",
            gw_shape_str(s));
  cr_assert_eq(s->data, x->data, "slice shares the input's storage");
  gw_tensor *sc = gw_contiguous(s);
  cr_assert(gw_f32(sc)[0] == gw_f32(x)[1] && gw_f32(sc)[1] == gw_f32(x)[3] &&
            gw_f32(sc)[2] == gw_f32(x)[7], "slice picked the wrong elements");
  gw_tensor *f = gw_flatten(gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))), 0, -1);
  cr_assert(f->ndim == 1 && f->shape[0] == 24, "flatten gave %s", gw_shape_str(f));
  gw_tensor *u = gw_unsqueeze(x, -1), *u0 = gw_unsqueeze(x, 0), *u1 = gw_unsqueeze(x, -2);
  cr_assert(u->ndim == 3 && u->shape[2] == 1 && u->shape[0] == 4, "unsqueeze -1 gave %s",
            gw_shape_str(u));
  cr_assert(u0->ndim == 3 && u0->shape[0] == 1, "unsqueeze 0 gave %s", gw_shape_str(u0));
  cr_assert(u1->ndim == 3 && u1->shape[1] == 1, "unsqueeze -2 gave %s", gw_shape_str(u1));
  gw_tensor *c = gw_contig(x);
  cr_assert_eq(c, x, "contig of a row-major tensor returns it");
}

// Misuse: sizes that do not fit stop naming the op and the shapes.
Test(grad_shape, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(3);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3));
  GWT_EXPECT_ERROR(gw_reshape(x, GW_SHAPE(4, 2)),
                   "reshape: cannot reshape (2, 3) (6 elements) into (4, 2)");
  GWT_EXPECT_ERROR(gw_squeeze(x, 1), "squeeze: dimension 1 of (2, 3) has size 3, not 1");
  GWT_EXPECT_ERROR(gw_expand(x, GW_SHAPE(2, 4)),
                   "expand: dimension 1 has size 3 and cannot expand to 4 ((2, 3) to (2, 4))");
  GWT_EXPECT_ERROR(gw_slice(x, 1, 2, 1, 1),
                   "slice: [2, 1) is out of range for dimension 1 of (2, 3)");
  GWT_EXPECT_ERROR(gw_slice(x, 0, 0, 2, 0), "slice: step must be >= 1");
  GWT_EXPECT_ERROR(gw_permute(x, (int[]){0, 0}), "permute: the order given is not a permutation");
  GWT_EXPECT_ERROR(gw_transpose(x, 0, 2), "transpose: dimension 2 is out of range for a 2-dim");
  GWT_EXPECT_ERROR(gw_unsqueeze(x, 3), "unsqueeze: dimension 3 is out of range for a 3-dim");
  GWT_EXPECT_ERROR(gw_unsqueeze(x, -4), "unsqueeze: dimension -4 is out of range");
  GWT_EXPECT_ERROR(gw_flatten(x, 1, 0), "flatten: start dim 1 is after end dim 0");
}
