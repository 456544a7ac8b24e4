// Views: reshape, permute, transpose, slice, expand; contiguous copies; copy_into; 6 dims.
#include <string.h>

#include "testutil.h"

TestSuite(tensor_views, .init = gwt_setup, .fini = gwt_teardown);

// 0, 1, 2, ... as float, row-major.
static gw_tensor *arange(int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  for (int64_t i = 0; i < gw_numel(t); i++) gw_f32(t)[i] = (float)i;
  return t;
}

// The element of a (possibly strided) float tensor at a multi-index.
static float at(const gw_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
  return ((const float *)t->data)[off];
}

// Advances a row-major multi-index; false after the last one.
static bool next_index(int ndim, const int64_t *shape, int64_t *idx) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++idx[d] < shape[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// Asserts that the view's elements in row-major order are `expected` (n of them).
static void assert_elements(const gw_tensor *v, const float *expected, const char *what) {
  int64_t idx[GW_MAX_DIMS] = {0};
  int64_t n = gw_numel(v);
  for (int64_t i = 0; i < n; i++) {
    float got = at(v, idx);
    cr_assert_eq(got, expected[i], "%s %s: element %lld is %g, expected %g", what, gw_shape_str(v),
                 (long long)i, got, expected[i]);
    next_index(v->ndim, v->shape, idx);
  }
}

static void assert_shape(const gw_tensor *t, int ndim, const int64_t *shape, const char *what) {
  cr_assert_eq(t->ndim, ndim, "%s: %d dims, expected %d", what, t->ndim, ndim);
  for (int d = 0; d < ndim; d++)
    cr_assert_eq(t->shape[d], shape[d], "%s: shape %s, expected %s", what, gw_shape_str(t),
                 gw_shape_str_n(ndim, shape));
}

static void assert_strides(const gw_tensor *t, int ndim, const int64_t *strides, const char *what) {
  for (int d = 0; d < ndim; d++)
    cr_assert_eq(t->strides[d], strides[d], "%s: strides %s, expected %s", what,
                 gw_shape_str_n(t->ndim, t->strides), gw_shape_str_n(ndim, strides));
}

// The row-major elements of t, read through `at` (an independent path from gw_k_copy).
static float *elements(const gw_tensor *t) {
  float *out = gw_arena_alloc(gw_arena_current(), (size_t)gw_numel(t) * sizeof(float), "test");
  int64_t idx[GW_MAX_DIMS] = {0};
  for (int64_t i = 0; i < gw_numel(t); i++) {
    out[i] = at(t, idx);
    next_index(t->ndim, t->shape, idx);
  }
  return out;
}

// Reshape of contiguous data is a view with row-major strides; -1 infers one dim.
Test(tensor_views, reshape_contiguous_and_infer) {
  gw_tensor *x = arange(GW_SHAPE(2, 3, 4));
  gw_tensor *v = gw_view_reshape(x, GW_SHAPE(6, -1));
  assert_shape(v, GW_SHAPE(6, 4), "reshape (6, -1)");
  assert_strides(v, GW_SHAPE(4, 1), "reshape (6, -1)");
  cr_assert_eq(v->data, x->data, "reshape of contiguous data must not copy");
  assert_elements(v, gw_f32(x), "reshape");
  gw_tensor *w = gw_view_reshape(x, GW_SHAPE(-1));
  assert_shape(w, GW_SHAPE(24), "reshape (-1)");
  gw_tensor *u = gw_view_reshape(x, GW_SHAPE(1, 2, 1, 12, 1));
  assert_shape(u, GW_SHAPE(1, 2, 1, 12, 1), "reshape with 1s");
  assert_elements(u, gw_f32(x), "reshape with 1s");
  gw_tensor *s = gw_view_reshape(gw_from_floats((float[]){5.0f}, 1, GW_SHAPE(1, 1)), 0, NULL);
  cr_assert_eq(s->ndim, 0);
  cr_assert_eq(gw_item(s), 5.0f);
}

// Reshape errors name the shapes.
Test(tensor_views, reshape_errors) {
  gw_tensor *x = arange(GW_SHAPE(2, 3, 4));
  GWT_EXPECT_ERROR(gw_view_reshape(x, GW_SHAPE(5, 5)),
                   "reshape: cannot reshape (2, 3, 4) (24 elements) into (5, 5)");
  GWT_EXPECT_ERROR(gw_view_reshape(x, GW_SHAPE(-1, 5)), "cannot reshape (2, 3, 4) into (-1, 5)");
  GWT_EXPECT_ERROR(gw_view_reshape(x, GW_SHAPE(-1, -1)), "more than one -1 in the shape (-1, -1)");
  GWT_EXPECT_ERROR(gw_view_reshape(x, GW_SHAPE(1, 1, 1, 2, 3, 4, 1)), "at most 6");
}

// Non-contiguous views reshape without a copy exactly when PyTorch's rule allows: each run
// of input dims that is contiguous within itself maps onto output dims with the same
// element count. Where allowed, the view has the right elements; where refused, the
// message names shape and strides, and gw_can_view_reshape agrees with gw_view_reshape.
Test(tensor_views, reshape_of_noncontiguous_follows_pytorch) {
  gw_tensor *x = arange(GW_SHAPE(4, 6));
  gw_tensor *t = gw_view_transpose(x, 0, 1);  // (6, 4) strides (1, 6)
  float *te = elements(t);

  // Splitting a dim is always possible: (6, 4) -> (6, 2, 2), (3, 2, 4), (6, 1, 4), (6, 4, 1).
  struct { int nd; int64_t shape[6]; bool ok; } cases[] = {
      {3, {6, 2, 2}, true},  {3, {3, 2, 4}, true},  {3, {6, 1, 4}, true}, {3, {6, 4, 1}, true},
      {4, {1, 6, 4, 1}, true}, {4, {2, 3, 2, 2}, true},
      {1, {24}, false}, {2, {4, 6}, false}, {2, {12, 2}, false}, {2, {3, 8}, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *s = gw_shape_str_n(cases[i].nd, cases[i].shape);
    bool can = gw_can_view_reshape(t, cases[i].nd, cases[i].shape);
    cr_assert_eq(can, cases[i].ok, "transposed (6, 4) -> %s: can_view %d, PyTorch says %d", s, can,
                 cases[i].ok);
    if (cases[i].ok) {
      gw_tensor *v = gw_view_reshape(t, cases[i].nd, cases[i].shape);
      cr_assert_eq(v->data, x->data);
      assert_elements(v, te, s);
    } else {
      GWT_EXPECT_ERROR(gw_view_reshape(t, cases[i].nd, cases[i].shape),
                       "reshape: (6, 4) with strides (1, 6) cannot be viewed as");
    }
  }

  // A permuted 3-dim tensor (2, 4, 3) with strides (12, 1, 4): the batch dim is its own
  // chunk; dims 1 and 2 cannot merge.
  gw_tensor *p = gw_view_permute(arange(GW_SHAPE(2, 3, 4)), (int[]){0, 2, 1});
  float *pe = elements(p);
  cr_assert(gw_can_view_reshape(p, GW_SHAPE(2, 2, 2, 3)));
  assert_elements(gw_view_reshape(p, GW_SHAPE(2, 2, 2, 3)), pe, "permuted split");
  cr_assert(gw_can_view_reshape(p, GW_SHAPE(1, 2, 4, 3, 1)));
  assert_elements(gw_view_reshape(p, GW_SHAPE(1, 2, 4, 3, 1)), pe, "permuted with 1s");
  cr_assert(!gw_can_view_reshape(p, GW_SHAPE(8, 3)));
  cr_assert(!gw_can_view_reshape(p, GW_SHAPE(2, 12)));
  cr_assert(!gw_can_view_reshape(p, GW_SHAPE(-1)));

  // A column slice (4, 3) of (4, 6): rows are apart, each row is contiguous.
  gw_tensor *c = gw_view_slice(x, 1, 0, 3, 1);
  float *ce = elements(c);
  cr_assert(!gw_can_view_reshape(c, GW_SHAPE(12)));
  cr_assert(gw_can_view_reshape(c, GW_SHAPE(2, 2, 3)));
  gw_tensor *cv = gw_view_reshape(c, GW_SHAPE(2, 2, 3));
  assert_strides(cv, GW_SHAPE(12, 6, 1), "split rows of a column slice");
  assert_elements(cv, ce, "split rows of a column slice");

  // A row slice of contiguous data is contiguous (with an offset): any reshape is a view.
  gw_tensor *r = gw_view_slice(x, 0, 1, 3, 1);
  cr_assert(gw_is_contiguous(r));
  gw_tensor *rv = gw_view_reshape(r, GW_SHAPE(3, 4));
  cr_assert_eq(rv->offset, 6);
  assert_elements(rv, gw_f32(x) + 6, "reshape of a row slice");

  // An expanded (1, 4) -> (3, 4) (stride 0) splits its last dim but cannot flatten.
  gw_tensor *e = gw_view_expand(arange(GW_SHAPE(1, 4)), GW_SHAPE(3, 4));
  cr_assert(!gw_can_view_reshape(e, GW_SHAPE(12)));
  gw_tensor *ev = gw_view_reshape(e, GW_SHAPE(3, 2, 2));
  assert_strides(ev, GW_SHAPE(0, 2, 1), "split of an expanded view");
  assert_elements(ev, elements(e), "split of an expanded view");

  // A stepped slice (every other element) of a vector reshapes with the step as stride.
  gw_tensor *st = gw_view_slice(arange(GW_SHAPE(12)), 0, 0, 12, 2);
  gw_tensor *sv = gw_view_reshape(st, GW_SHAPE(2, 3));
  assert_strides(sv, GW_SHAPE(6, 2), "reshape of a stepped slice");
  assert_elements(sv, (float[]){0, 2, 4, 6, 8, 10}, "reshape of a stepped slice");
}

// Permute and transpose move shape and strides together and share storage; negative dims
// count from the end; bad orders and dims stop with the shape in the message.
Test(tensor_views, permute_and_transpose) {
  gw_tensor *x = arange(GW_SHAPE(2, 3, 4));
  gw_tensor *p = gw_view_permute(x, (int[]){2, 0, 1});
  assert_shape(p, GW_SHAPE(4, 2, 3), "permute");
  assert_strides(p, GW_SHAPE(1, 12, 4), "permute");
  cr_assert_eq(p->data, x->data);
  float expect[24];
  int k = 0;
  for (int c = 0; c < 4; c++)
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 3; b++) expect[k++] = (float)(a * 12 + b * 4 + c);
  assert_elements(p, expect, "permute (2, 0, 1)");
  cr_assert(!gw_is_contiguous(p));

  gw_tensor *t = gw_view_transpose(x, -1, 0);  // (4, 3, 2)
  assert_shape(t, GW_SHAPE(4, 3, 2), "transpose(-1, 0)");
  assert_strides(t, GW_SHAPE(1, 4, 12), "transpose(-1, 0)");
  gw_tensor *tt = gw_view_transpose(t, 0, 2);
  assert_elements(tt, gw_f32(x), "transpose twice");
  cr_assert(gw_is_contiguous(tt));
  cr_assert_eq(gw_view_transpose(x, 1, 1)->strides[1], 4, "transpose of a dim with itself");

  GWT_EXPECT_ERROR(
      gw_view_permute(x, (int[]){0, 0, 1}),
      "permute: the order given is not a permutation of the 3 dimensions of (2, 3, 4)");
  GWT_EXPECT_ERROR(gw_view_permute(x, (int[]){0, 1, 3}), "not a permutation");
  GWT_EXPECT_ERROR(gw_view_transpose(x, 0, 3),
                   "transpose: dimension 3 is out of range for a 3-dim tensor");
  GWT_EXPECT_ERROR(gw_view_transpose(x, -4, 0), "dimension -4 is out of range");
}

// Slices: negative bounds count from the end, an end past the size is clamped, steps skip
// elements, and slices of slices compose. An inverted or out-of-range range stops.
Test(tensor_views, slice_bounds_and_steps) {
  gw_tensor *x = arange(GW_SHAPE(10));
  assert_elements(gw_view_slice(x, 0, -3, -1, 1), (float[]){7, 8}, "[-3:-1]");
  assert_elements(gw_view_slice(x, 0, -3, 10, 1), (float[]){7, 8, 9}, "[-3:]");
  assert_elements(gw_view_slice(x, 0, 2, 100, 1), (float[]){2, 3, 4, 5, 6, 7, 8, 9}, "[2:100]");
  assert_elements(gw_view_slice(x, 0, 0, 10, 3), (float[]){0, 3, 6, 9}, "[::3]");
  assert_elements(gw_view_slice(x, 0, 1, 10, 3), (float[]){1, 4, 7}, "[1::3]");
  assert_elements(gw_view_slice(x, 0, 1, 9, 4), (float[]){1, 5}, "[1:9:4]");
  cr_assert_eq(gw_numel(gw_view_slice(x, 0, 4, 4, 1)), 0, "an empty slice");
  gw_tensor *ss = gw_view_slice(gw_view_slice(x, 0, 1, 10, 2), 0, 1, -1, 2);  // [1,3,5,7,9][1:-1:2]
  assert_elements(ss, (float[]){3, 7}, "slice of a slice");
  cr_assert_eq(ss->strides[0], 4);
  cr_assert_eq(ss->data, x->data);

  gw_tensor *m = arange(GW_SHAPE(3, 4, 5));
  gw_tensor *ms = gw_view_slice(m, -1, 1, 5, 2);  // last dim, elements 1 and 3
  assert_shape(ms, GW_SHAPE(3, 4, 2), "slice of the last dim");
  float expect[24];
  for (int i = 0; i < 12; i++) {
    expect[2 * i] = (float)(i * 5 + 1);
    expect[2 * i + 1] = (float)(i * 5 + 3);
  }
  assert_elements(ms, expect, "slice of the last dim");

  GWT_EXPECT_ERROR(gw_view_slice(x, 0, 5, 3, 1),
                   "slice: [5, 3) is out of range for dimension 0 of (10,)");
  GWT_EXPECT_ERROR(gw_view_slice(x, 0, -20, 3, 1), "out of range for dimension 0 of (10,)");
  GWT_EXPECT_ERROR(gw_view_slice(x, 0, 0, 3, 0), "slice: step must be >= 1 (got 0)");
  GWT_EXPECT_ERROR(gw_view_slice(m, 3, 0, 1, 1), "slice: dimension 3 is out of range");
}

// Expand adds leading dims and stretches size-1 dims with stride 0 (no copy); -1 keeps a
// dim; anything else stops naming both shapes.
Test(tensor_views, expand_rules_and_errors) {
  gw_tensor *x = arange(GW_SHAPE(3, 1));
  gw_tensor *e = gw_view_expand(x, GW_SHAPE(2, 3, 4));
  assert_shape(e, GW_SHAPE(2, 3, 4), "expand");
  assert_strides(e, GW_SHAPE(0, 1, 0), "expand");
  cr_assert_eq(e->data, x->data);
  float expect[24];
  for (int i = 0; i < 24; i++) expect[i] = (float)((i / 4) % 3);
  assert_elements(e, expect, "expand (3, 1) -> (2, 3, 4)");
  assert_shape(gw_view_expand(x, GW_SHAPE(-1, 5)), GW_SHAPE(3, 5), "expand (-1, 5)");
  assert_shape(gw_view_expand(x, GW_SHAPE(3, 1)), GW_SHAPE(3, 1), "expand to the same shape");
  gw_tensor *s = gw_view_expand(gw_scalar(2.5f), GW_SHAPE(2, 2));
  assert_elements(s, (float[]){2.5f, 2.5f, 2.5f, 2.5f}, "expand of a 0-dim tensor");

  gw_tensor *y = arange(GW_SHAPE(3, 2));
  GWT_EXPECT_ERROR(gw_view_expand(y, GW_SHAPE(3, 4)),
                   "expand: dimension 1 has size 2 and cannot expand to 4 ((3, 2) to (3, 4))");
  GWT_EXPECT_ERROR(gw_view_expand(y, GW_SHAPE(6)), "expand: cannot expand (3, 2) to (6,)");
  GWT_EXPECT_ERROR(gw_view_expand(y, GW_SHAPE(-1, 3, 2)), "-1 is not allowed for a new leading");
  GWT_EXPECT_ERROR(gw_view_expand(y, GW_SHAPE(1, 1, 1, 1, 1, 3, 2)), "cannot expand (3, 2)");
}

// gw_contiguous returns the tensor itself when it is already row-major (including row
// slices with an offset and size-1 dims with any stride), and a correct copy otherwise.
Test(tensor_views, contiguous_copies_only_when_needed) {
  gw_tensor *x = arange(GW_SHAPE(4, 6));
  cr_assert_eq(gw_contiguous(x), x);
  gw_tensor *rows = gw_view_slice(x, 0, 1, 3, 1);
  cr_assert_eq(gw_contiguous(rows), rows, "a row slice is already row-major");
  gw_tensor *one = gw_view_slice(x, 1, 2, 3, 1);  // (4, 1), stride 6: not row-major
  gw_tensor *onec = gw_contiguous(one);
  cr_assert_neq(onec, one);
  assert_elements(onec, (float[]){2, 8, 14, 20}, "column copy");
  // A size-1 dim with an arbitrary stride does not make a tensor non-contiguous.
  gw_tensor *u = gw_view_reshape(x, GW_SHAPE(4, 1, 6));
  u->strides[1] = 12345;
  cr_assert(gw_is_contiguous(u));
  cr_assert_eq(gw_contiguous(u), u);

  gw_tensor *t = gw_view_transpose(x, 0, 1);
  gw_tensor *tc = gw_contiguous(t);
  cr_assert_neq(tc->data, x->data);
  cr_assert(gw_is_contiguous(tc));
  assert_strides(tc, GW_SHAPE(4, 1), "copy of a transpose");
  assert_elements(tc, elements(t), "copy of a transpose");
  cr_assert_eq(gw_contiguous(tc), tc);
  gw_tensor *cl = gw_clone(x);
  cr_assert_neq(cl->data, x->data, "clone always copies");
  assert_elements(cl, gw_f32(x), "clone");

  gw_tensor *e = gw_view_expand(arange(GW_SHAPE(3)), GW_SHAPE(2, 3));
  gw_tensor *ec = gw_contiguous(e);
  assert_elements(ec, (float[]){0, 1, 2, 0, 1, 2}, "copy of an expand");

  gw_tensor *xi = gw_from_ints((int32_t[]){1, 2, 3, 4, 5, 6}, 6, GW_SHAPE(2, 3));
  gw_tensor *ti = gw_contiguous(gw_view_transpose(xi, 0, 1));
  cr_assert_eq(ti->dtype, GW_I32);
  int32_t want[] = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; i++) cr_assert_eq(gw_i32(ti)[i], want[i], "int32 transpose copy %d", i);
}

// gw_copy_into writes through strided views on both sides (a transposed destination, a
// stepped and offset source), leaves the rest of the destination storage untouched, and
// stops on a shape or dtype mismatch naming both.
Test(tensor_views, copy_into_strided_views) {
  gw_tensor *buf = gw_full(-1.0f, GW_SHAPE(5, 8));
  gw_tensor *dst = gw_view_transpose(gw_view_slice(gw_view_slice(buf, 0, 1, 4, 1), 1, 0, 8, 2),
                                     0, 1);  // (4, 3): buf[1:4, ::2]^T
  gw_tensor *src = gw_view_slice(arange(GW_SHAPE(4, 9)), 1, 2, 9, 3);  // (4, 3): cols 2, 5, 8
  gw_copy_into(dst, src);
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 8; j++) {
      float got = gw_f32(buf)[i * 8 + j];
      bool written = i >= 1 && i < 4 && j % 2 == 0;
      // dst[c][r] = buf[1 + r][2c] = src[c][r] = (c * 9 + 2 + 3r)
      float want = written ? (float)((j / 2) * 9 + 2 + 3 * (i - 1)) : -1.0f;
      cr_assert_eq(got, want, "buf[%d][%d] = %g, expected %g", i, j, got, want);
    }

  // Large enough for the parallel path, with both sides strided.
  gw_tensor *big = arange(GW_SHAPE(300, 200));
  gw_tensor *bt = gw_empty(GW_F32, GW_SHAPE(200, 300));
  gw_copy_into(gw_view_transpose(bt, 0, 1), big);
  for (int i = 0; i < 300; i += 7)
    for (int j = 0; j < 200; j += 3)
      cr_assert_eq(gw_f32(bt)[j * 300 + i], (float)(i * 200 + j));

  gw_tensor *ia = gw_zeros(GW_I32, GW_SHAPE(3, 2));
  gw_tensor *ib = gw_from_ints((int32_t[]){1, 2, 3, 4, 5, 6}, 6, GW_SHAPE(2, 3));
  gw_copy_into(ia, gw_view_transpose(ib, 0, 1));
  int32_t want[] = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; i++) cr_assert_eq(gw_i32(ia)[i], want[i]);

  GWT_EXPECT_ERROR(gw_copy_into(gw_empty(GW_F32, GW_SHAPE(2, 3)), arange(GW_SHAPE(3, 2))),
                   "copy: destination (2, 3) float32 and source (3, 2) float32 differ");
  GWT_EXPECT_ERROR(gw_copy_into(gw_empty(GW_F32, GW_SHAPE(3, 2)), ia),
                   "destination (3, 2) float32 and source (3, 2) int32 differ");
}

// Six dims, the most a tensor has: a full reversal permute, a copy, a reshape of the
// permuted view and a slice, all checked against index arithmetic; seven dims stop.
Test(tensor_views, six_dims) {
  int64_t shape[6] = {2, 3, 1, 2, 4, 3};
  gw_tensor *x = arange(6, shape);
  int64_t xs[6];
  gw_contiguous_strides(6, shape, xs);
  gw_tensor *p = gw_view_permute(x, (int[]){5, 4, 3, 2, 1, 0});
  gw_tensor *pc = gw_contiguous(p);
  cr_assert(gw_is_contiguous(pc));
  int64_t idx[6] = {0};
  int64_t i = 0;
  do {  // idx over the permuted shape (3, 4, 2, 1, 3, 2)
    int64_t src = 0;
    for (int d = 0; d < 6; d++) src += idx[d] * xs[5 - d];
    cr_assert_eq(gw_f32(pc)[i], (float)src, "permuted element %lld", (long long)i);
    i++;
  } while (next_index(6, p->shape, idx));
  cr_assert_eq(i, 144);
}

// A 7-dim view stops; a legal 6-dim split of the permuted tensor gives the same elements as
// its copy; a 6-dim slice matches index arithmetic; 7-dim tensors and negative sizes stop.
Test(tensor_views, six_dims_limits) {
  int64_t shape[6] = {2, 3, 1, 2, 4, 3};
  gw_tensor *x = arange(6, shape);
  gw_tensor *p = gw_view_permute(x, (int[]){5, 4, 3, 2, 1, 0});  // (3, 4, 2, 1, 3, 2)
  GWT_EXPECT_ERROR(gw_view_reshape(p, GW_SHAPE(3, 2, 2, 2, 1, 3, 2)), "at most 6");
  gw_tensor *v = gw_view_reshape(p, GW_SHAPE(3, 2, 2, 2, 3, 2));  // drops the size-1 dim
  assert_elements(v, gw_f32(gw_contiguous(p)), "6-dim view of a 6-dim permute");
  gw_tensor *sl = gw_view_slice(gw_view_slice(x, 4, 1, 4, 2), 5, -2, 3, 1);  // (2,3,1,2,2,2)
  assert_shape(sl, GW_SHAPE(2, 3, 1, 2, 2, 2), "6-dim slice");
  int64_t idx[6] = {0};
  int64_t k = 0;
  float *se = elements(sl);
  do {
    int64_t src = ((((idx[0] * 3 + idx[1]) * 1 + idx[2]) * 2 + idx[3]) * 4 + 1 + 2 * idx[4]) * 3 +
                  1 + idx[5];
    cr_assert_eq(se[k], (float)src, "6-dim slice element %lld", (long long)k);
    k++;
  } while (next_index(6, sl->shape, idx));
  GWT_EXPECT_ERROR(gw_empty(GW_F32, GW_SHAPE(1, 1, 1, 1, 1, 1, 1)),
                   "tensor: 7 dimensions asked, at most 6 are supported");
  GWT_EXPECT_ERROR(gw_empty(GW_F32, GW_SHAPE(2, -3)), "negative size -3 in dimension 1 of (2, -3)");
}

// Broadcast shapes follow PyTorch and the error names the op and both shapes.
Test(tensor_views, broadcast_shapes) {
  int64_t out[GW_MAX_DIMS];
  int nd = gw_broadcast_shapes("add", GW_SHAPE(3, 1, 5), GW_SHAPE(4, 1), out);
  cr_assert(nd == 3 && out[0] == 3 && out[1] == 4 && out[2] == 5,
            "broadcast (3, 1, 5) with (4, 1) gave %s", gw_shape_str_n(nd, out));
  nd = gw_broadcast_shapes("add", 0, NULL, GW_SHAPE(2, 2), out);
  cr_assert_eq(nd, 2);
  GWT_EXPECT_ERROR(gw_broadcast_shapes("mul", GW_SHAPE(3, 2), GW_SHAPE(4), out),
                   "mul: shapes (3, 2) and (4,) do not broadcast (dimension 1: 2 vs 4)");
}
