// Helpers shared by the gradient-check suites (tests/autograd/test_grad_*.c): a gradcheck
// call with the default step and tolerances, inputs kept away from kinks and ties, and
// non-contiguous views of contiguous leaves.
//
// gwt_gradcheck perturbs its inputs in place, so they must be contiguous leaves. To check an
// op on a strided input, the test stores the values in a contiguous leaf and the function
// under test builds the view (gt_view) before calling the op: the gradient then flows
// through the view op into the leaf, and the op itself sees the strided layout.
#ifndef GW_TEST_GRADTEST_H
#define GW_TEST_GRADTEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

// gwt_gradcheck(name, f, ctx, inputs...) with GWT_EPS, GWT_ATOL and GWT_RTOL.
#define GT_CHECK(name, f, ctx, ...)                                                              \
  do {                                                                                           \
    gw_tensor *gt_ins_[] = {__VA_ARGS__};                                                        \
    gwt_gradcheck((name), (f), (ctx), (int)(sizeof gt_ins_ / sizeof *gt_ins_), gt_ins_, GWT_EPS, \
                  GWT_ATOL, GWT_RTOL);                                                           \
  } while (0)

// Smallest distance kept from a kink or a tie: five finite-difference steps.
#define GT_MARGIN (5.0 * GWT_EPS)

// How the function under test sees a leaf:
//   GT_PLAIN       the leaf itself (row-major)
//   GT_TRANSPOSED  the leaf stores the values with its last two dims swapped; the view is
//                  gw_transpose(leaf, -1, -2) (column-major)
//   GT_STRIDED     the leaf stores the values at odd positions of a last dim twice as long,
//                  with other values between; the view is gw_slice(leaf, -1, 1, end, 2)
//                  (an offset and a stride of 2)
typedef enum gt_layout { GT_PLAIN, GT_TRANSPOSED, GT_STRIDED } gt_layout;

static inline const char *gt_layout_name(gt_layout l) {
  return l == GT_PLAIN ? "plain" : l == GT_TRANSPOSED ? "transposed" : "strided";
}

// A leaf that, seen through gt_view(leaf, l), holds the values of v (any layout).
static inline gw_tensor *gt_leaf_as(const gw_tensor *v, gt_layout l) {
  if (l == GT_PLAIN) return gwt_leaf(gw_clone(v));
  if (l == GT_TRANSPOSED) return gwt_leaf(gw_clone(gw_view_transpose(v, -1, -2)));
  int64_t shape[GW_MAX_DIMS];
  memcpy(shape, v->shape, sizeof shape);
  shape[v->ndim - 1] *= 2;
  gw_tensor *s = gw_full(7.0f, v->ndim, shape);  // the values between are never read
  gw_k_copy(gw_view_slice(s, -1, 1, shape[v->ndim - 1], 2), v);
  return gwt_leaf(s);
}

// The view of a leaf made by gt_leaf_as, through recorded ops (gradients reach the leaf).
static inline gw_tensor *gt_view(gw_tensor *leaf, gt_layout l) {
  if (l == GT_TRANSPOSED) return gw_transpose(leaf, -1, -2);
  if (l == GT_STRIDED) return gw_slice(leaf, -1, 1, leaf->shape[leaf->ndim - 1], 2);
  return leaf;
}

// U(lo, hi) values at least GT_MARGIN away from each of the n_kinks points (resampled).
static inline gw_tensor *gt_away(gw_rng *r, float lo, float hi, int n_kinks, const float *kinks,
                                 int ndim, const int64_t *shape) {
  gw_tensor *t = gwt_uniform(r, lo, hi, ndim, shape);
  float *p = gw_f32(t);
  for (int64_t i = 0; i < gw_numel(t); i++) {
    for (int k = 0; k < n_kinks; k++) {
      if (fabsf(p[i] - kinks[k]) < GT_MARGIN) {
        p[i] = lo + (hi - lo) * gw_rng_float(r);
        k = -1;  // check every kink again
      }
    }
  }
  return t;
}

// Values spaced `gap` apart in a random order (plus a small offset): no two are within
// 2 * GT_MARGIN of each other, so maxima are unique and stay so under perturbation.
static inline gw_tensor *gt_distinct(gw_rng *r, float gap, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  int64_t n = gw_numel(t);
  int32_t *perm = gw_arena_alloc(gw_arena_current(), (size_t)n * sizeof(int32_t), "gt_distinct");
  gw_rng_permutation(r, perm, n);
  float shift = 0.37f - 0.5f * gap * (float)n;  // centred near 0
  for (int64_t i = 0; i < n; i++) gw_f32(t)[i] = shift + gap * (float)perm[i];
  return t;
}

// The index of the first element of a and b (same shape) that differ, or -1.
static inline int64_t gt_first_diff(const gw_tensor *a, const gw_tensor *b) {
  gw_tensor *ca = gw_contiguous(a), *cb = gw_contiguous(b);
  for (int64_t i = 0; i < gw_numel(ca); i++)
    if (gw_f32(ca)[i] != gw_f32(cb)[i]) return i;
  return -1;
}

#endif
