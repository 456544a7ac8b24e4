// Every hot kernel of tensor/kernels against a plain reference written here with naive
// loops (STYLE.md: keep a plain version beside the fast one and test one against the other).
// Sizes include cases above GW_PARALLEL_MIN so the parallel paths are checked too.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

TestSuite(tensor_kernels, .init = gwt_setup, .fini = gwt_teardown);

// ---------------------------------------------------------------- helpers

static float *fbuf(int64_t n) {
  return gw_arena_alloc(gw_arena_current(), (size_t)(n ? n : 1) * sizeof(float), "test");
}
static int32_t *ibuf(int64_t n) {
  return gw_arena_alloc(gw_arena_current(), (size_t)(n ? n : 1) * sizeof(int32_t), "test");
}
static float *randn_buf(gw_rng *r, int64_t n) {
  float *p = fbuf(n);
  gw_rng_normal(r, p, n, 0.0f, 1.0f);
  return p;
}
static float *copy_buf(const float *x, int64_t n) {
  float *p = fbuf(n);
  memcpy(p, x, (size_t)n * sizeof(float));
  return p;
}
static double dot(const float *a, const float *b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}
static double sum_abs(const float *a, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += fabs((double)a[i]);
  return s;
}
// |a - b| <= tol * scale, for two inner products that should agree
static void assert_adjoint(double lhs, double rhs, double scale, const char *what) {
  cr_assert(fabs(lhs - rhs) <= 1e-5 * scale, "%s: <Ax, y> = %.9g but <x, A^T y> = %.9g", what,
            lhs, rhs);
}

static bool next_index(int ndim, const int64_t *shape, int64_t *idx) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++idx[d] < shape[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// Element of t at index idx of a broadcast output of out_nd dims (size-1 dims repeat).
static float at_bcast(const gw_tensor *t, int out_nd, const int64_t *idx) {
  int lead = out_nd - t->ndim;
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++)
    if (t->shape[d] != 1) off += idx[d + lead] * t->strides[d];
  if (t->dtype == GW_I32) return (float)((const int32_t *)t->data)[off];
  return ((const float *)t->data)[off];
}

// ---------------------------------------------------------------- binary ops

static float ref_apply(gw_binop op, float a, float b) {
  switch (op) {
    case GW_BIN_ADD: return a + b;
    case GW_BIN_SUB: return a - b;
    case GW_BIN_MUL: return a * b;
    case GW_BIN_DIV: return a / b;
    case GW_BIN_MAX: return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
    case GW_BIN_MIN: return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
    case GW_BIN_POW: return powf(a, b);
    case GW_BIN_GE: return a >= b ? 1.0f : 0.0f;
    case GW_BIN_GT: return a > b ? 1.0f : 0.0f;
    case GW_BIN_EQ: return a == b ? 1.0f : 0.0f;
  }
  return 0.0f;
}
static const char *const binop_names[] = {"add", "sub", "mul", "div", "max",
                                          "min", "pow", "ge",  "gt",  "eq"};

// out (row-major, out's shape) = a op b by walking every output index.
static void ref_binary(gw_binop op, const gw_tensor *a, const gw_tensor *b, const gw_tensor *out,
                       float *ref, bool acc) {
  int64_t idx[GW_MAX_DIMS] = {0};
  int64_t n = gw_numel(out);
  for (int64_t i = 0; i < n; i++) {
    float v = ref_apply(op, at_bcast(a, out->ndim, idx), at_bcast(b, out->ndim, idx));
    ref[i] = acc ? ref[i] + v : v;
    next_index(out->ndim, out->shape, idx);
  }
}

// Values in multiples of 0.5 in [-2, 2] (many ties for max/min/ge/eq); positive ones for
// div and pow.
static gw_tensor *quantized(gw_rng *r, int ndim, const int64_t *shape, bool positive) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  float *p = gw_f32(t);
  for (int64_t i = 0; i < gw_numel(t); i++) {
    float v = (float)((int)gw_rng_below(r, 9) - 4) * 0.5f;
    p[i] = positive ? fabsf(v) + 0.25f : v;
  }
  return t;
}

// A view of a fresh base tensor: kind 0 = contiguous, 1 = transposed (last two dims),
// 2 = every other element of the last dim, 3 = expanded from size 1 along dim 0.
static gw_tensor *make_operand(gw_rng *r, int kind, int ndim, const int64_t *shape, bool pos) {
  int64_t s[GW_MAX_DIMS];
  memcpy(s, shape, (size_t)ndim * sizeof(int64_t));
  if (kind == 1 && ndim >= 2) {
    s[ndim - 1] = shape[ndim - 2];
    s[ndim - 2] = shape[ndim - 1];
    return gw_view_transpose(quantized(r, ndim, s, pos), -1, -2);
  }
  if (kind == 2 && ndim >= 1) {
    s[ndim - 1] = 2 * shape[ndim - 1];
    return gw_view_slice(quantized(r, ndim, s, pos), -1, 1, s[ndim - 1], 2);
  }
  if (kind == 3 && ndim >= 1) {
    s[0] = 1;
    return gw_view_expand(quantized(r, ndim, s, pos), ndim, shape);
  }
  return quantized(r, ndim, shape, pos);
}

typedef struct bin_case {
  int na;
  int64_t sa[4];
  int ka;
  int nb;
  int64_t sb[4];
  int kb;
} bin_case;

// Checks every op whose bit is set in `ops`.
static void check_binary_case(gw_rng *r, const bin_case *c, unsigned ops) {
  for (int op = GW_BIN_ADD; op <= GW_BIN_EQ; op++) {
    if (!(ops & (1u << op))) continue;
    bool pos = op == GW_BIN_DIV || op == GW_BIN_POW;
    gw_tensor *a = make_operand(r, c->ka, c->na, c->sa, pos);
    gw_tensor *b = make_operand(r, c->kb, c->nb, c->sb, pos);
    int64_t oshape[GW_MAX_DIMS];
    int on = gw_broadcast_shape("test", a, b, oshape);
    gw_tensor *out = gw_empty(GW_F32, on, oshape);
    int64_t n = gw_numel(out);
    float *ref = fbuf(n);
    gw_k_binary((gw_binop)op, a, b, out);
    ref_binary((gw_binop)op, a, b, out, ref, false);
    char what[160];
    snprintf(what, sizeof what, "%s: a %s (kind %d) b %s (kind %d)", binop_names[op],
             gw_shape_str(a), c->ka, gw_shape_str(b), c->kb);
    gwt_assert_close_buf(gw_f32(out), ref, n, 0.0, op == GW_BIN_POW ? 1e-6 : 0.0, what);
    // accumulate: out += a op b
    for (int64_t i = 0; i < n; i++) gw_f32(out)[i] = ref[i] = (float)(i % 7) - 3.0f;
    gw_k_binary_acc((gw_binop)op, a, b, out);
    ref_binary((gw_binop)op, a, b, out, ref, true);
    strncat(what, " (accumulate)", sizeof what - strlen(what) - 1);
    gwt_assert_close_buf(gw_f32(out), ref, n, 0.0, op == GW_BIN_POW ? 1e-6 : 0.0, what);
  }
}

// Binary ops with broadcasting over several stride patterns (contiguous, transposed,
// stepped, expanded, 0-dim, leading dims added), every op, set and accumulate.
Test(tensor_kernels, binary_broadcast_patterns) {
  gw_rng r = gwt_rng(1);
  bin_case cases[] = {
      {3, {3, 4, 5}, 0, 3, {3, 4, 5}, 0},  // same shape
      {3, {3, 4, 5}, 0, 1, {5}, 0},        // a row broadcast
      {3, {3, 1, 5}, 0, 2, {4, 1}, 0},     // both broadcast
      {2, {4, 5}, 1, 2, {4, 5}, 2},        // transposed with stepped
      {2, {4, 5}, 3, 0, {0}, 0},           // expanded with a 0-dim scalar
      {0, {0}, 0, 3, {2, 4, 5}, 1},        // scalar with transposed
      {3, {2, 3, 4}, 2, 2, {1, 4}, 3},     // stepped with expanded (1, 4)
      {4, {2, 1, 3, 1}, 0, 3, {4, 1, 5}, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_binary_case(&r, &cases[i], ~0u);
}

// The same on sizes above GW_PARALLEL_MIN (a few ops: the iteration is shared by all): many
// rows, one long row (cut into pieces), a long strided row, and a transposed operand.
Test(tensor_kernels, binary_parallel_sizes) {
  gw_rng r = gwt_rng(2);
  bin_case cases[] = {
      {2, {256, 300}, 0, 1, {300}, 0},
      {1, {70001}, 0, 1, {70001}, 0},
      {1, {40000}, 2, 0, {0}, 0},
      {2, {300, 130}, 1, 2, {300, 130}, 0},
      {3, {9, 64, 64}, 0, 3, {9, 1, 64}, 0},
  };
  unsigned ops = 1u << GW_BIN_SUB | 1u << GW_BIN_DIV | 1u << GW_BIN_MAX | 1u << GW_BIN_GE;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_binary_case(&r, &cases[i], ops);
}

// NaN propagates through max and min as in torch.maximum; the output may be an operand.
Test(tensor_kernels, binary_nan_and_in_place) {
  gw_tensor *a = gw_from_floats((float[]){1, NAN, 3, NAN}, 4, GW_SHAPE(4));
  gw_tensor *b = gw_from_floats((float[]){NAN, 2, 1, NAN}, 4, GW_SHAPE(4));
  gw_tensor *out = gw_empty(GW_F32, GW_SHAPE(4));
  for (int op = GW_BIN_MAX; op <= GW_BIN_MIN; op++) {
    gw_k_binary((gw_binop)op, a, b, out);
    cr_assert(isnan(gw_f32(out)[0]) && isnan(gw_f32(out)[1]) && isnan(gw_f32(out)[3]),
              "%s does not propagate NaN", binop_names[op]);
    cr_assert_eq(gw_f32(out)[2], op == GW_BIN_MAX ? 3.0f : 1.0f);
  }
  gw_rng r = gwt_rng(3);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(50, 40));
  gw_tensor *y = gwt_randn(&r, GW_SHAPE(40));
  float *want = fbuf(2000);
  ref_binary(GW_BIN_MUL, x, y, x, want, false);
  gw_k_binary(GW_BIN_MUL, x, y, x);  // in place
  gwt_assert_close_buf(gw_f32(x), want, 2000, 0.0, 0.0, "in-place mul");
  GWT_EXPECT_ERROR(gw_k_binary(GW_BIN_ADD, x, gwt_randn(&r, GW_SHAPE(3)), x),
                   "binary op: operand (3,) does not broadcast to the output (50, 40)");
}

// where(cond, a, b) with all three broadcast, against the plain loop.
Test(tensor_kernels, where_broadcast) {
  gw_rng r = gwt_rng(4);
  gw_tensor *cond = gwt_randint(&r, 2, GW_SHAPE(4, 1));
  gw_tensor *a = gwt_randn(&r, GW_SHAPE(3, 4, 5));
  gw_tensor *b = gw_view_transpose(gwt_randn(&r, GW_SHAPE(5, 1)), 0, 1);  // (1, 5)
  gw_tensor *out = gw_empty(GW_F32, GW_SHAPE(3, 4, 5));
  gw_k_where(cond, a, b, out);
  int64_t idx[3] = {0};
  for (int i = 0; i < 60; i++) {
    float want = at_bcast(cond, 3, idx) != 0.0f ? at_bcast(a, 3, idx) : at_bcast(b, 3, idx);
    cr_assert_eq(gw_f32(out)[i], want, "where element %d", i);
    next_index(3, out->shape, idx);
  }
}

// ---------------------------------------------------------------- reductions

// x (outer, n, inner) reduced over n, in double.
static void ref_reduce(const float *x, int64_t outer, int64_t n, int64_t inner, double *sum,
                       double *maxv, int32_t *arg, double *lse, double *mean, double *m2) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0.0, mx = -INFINITY;
      int32_t a = -1;
      for (int64_t k = 0; k < n; k++) {
        double v = x[(o * n + k) * inner + i];
        s += v;
        if (a < 0 || v > mx || (isnan(v) && !isnan(mx))) {
          mx = v;
          a = (int32_t)k;
        }
      }
      double e = 0.0, mu = s / (double)n, q = 0.0;
      for (int64_t k = 0; k < n; k++) {
        double v = x[(o * n + k) * inner + i];
        e += exp(v - mx);
        q += (v - mu) * (v - mu);
      }
      int64_t at = o * inner + i;
      sum[at] = s;
      maxv[at] = mx;
      arg[at] = a;
      lse[at] = mx == -INFINITY ? -INFINITY : mx + log(e);
      mean[at] = mu;
      m2[at] = q;
    }
}

static void check_reductions(const float *x, int64_t outer, int64_t n, int64_t inner,
                             const char *what) {
  int64_t m = outer * inner;
  double *sum = malloc((size_t)m * 5 * sizeof(double));
  double *mx = sum + m, *lse = sum + 2 * m, *mean = sum + 3 * m, *m2 = sum + 4 * m;
  int32_t *arg = ibuf(m);
  ref_reduce(x, outer, n, inner, sum, mx, arg, lse, mean, m2);
  float *y = fbuf(m), *y2 = fbuf(m), *want = fbuf(m);
  int32_t *ka = ibuf(m);
  double scale = sum_abs(x, outer * n * inner) / (double)m;  // typical |sum| bound per output
  char w[160];

  gw_k_reduce_sum(x, y, outer, n, inner);
  for (int64_t i = 0; i < m; i++) want[i] = (float)sum[i];
  snprintf(w, sizeof w, "%s: sum", what);
  gwt_assert_close_buf(y, want, m, 1e-6 * scale + 1e-6, 1e-5, w);

  gw_k_reduce_max(x, y, ka, outer, n, inner);
  for (int64_t i = 0; i < m; i++) {
    cr_assert(y[i] == (float)mx[i] || (isnan(y[i]) && isnan(mx[i])), "%s: max[%lld] %g vs %g",
              what, (long long)i, y[i], mx[i]);
    cr_assert_eq(ka[i], arg[i], "%s: argmax[%lld] %d, expected %d (the first maximum)", what,
                 (long long)i, ka[i], arg[i]);
  }
  gw_k_reduce_max(x, y2, NULL, outer, n, inner);  // arg may be NULL
  cr_assert(memcmp(y, y2, (size_t)m * sizeof(float)) == 0);

  gw_k_reduce_logsumexp(x, y, outer, n, inner);
  for (int64_t i = 0; i < m; i++) want[i] = (float)lse[i];
  snprintf(w, sizeof w, "%s: logsumexp", what);
  gwt_assert_close_buf(y, want, m, 1e-5, 1e-5, w);

  for (int corr = 0; corr <= 1; corr++) {
    gw_k_reduce_var(x, y, y2, outer, n, inner, corr);
    for (int64_t i = 0; i < m; i++) want[i] = n - corr > 0 ? (float)(m2[i] / (n - corr)) : NAN;
    snprintf(w, sizeof w, "%s: var (correction %d)", what, corr);
    gwt_assert_close_buf(y, want, m, 1e-6, 1e-5, w);
    for (int64_t i = 0; i < m; i++) want[i] = (float)mean[i];
    snprintf(w, sizeof w, "%s: mean from var", what);
    gwt_assert_close_buf(y2, want, m, 1e-6, 1e-5, w);
  }
  gw_k_reduce_var(x, y, NULL, outer, n, inner, 1);  // mean may be NULL
  free(sum);
}

// Sum, max/argmax, logsumexp and var over each axis of a 3-dim tensor, and over rows whose
// length is not a multiple of the 16 lanes, against double-precision loops.
Test(tensor_kernels, reductions_each_axis) {
  gw_rng r = gwt_rng(5);
  int64_t shape[3] = {4, 5, 6};
  float *x = randn_buf(&r, 120);
  for (int axis = 0; axis < 3; axis++) {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= shape[d];
    for (int d = axis + 1; d < 3; d++) inner *= shape[d];
    char what[64];
    snprintf(what, sizeof what, "(4, 5, 6) axis %d", axis);
    check_reductions(x, outer, shape[axis], inner, what);
  }
  check_reductions(x, 1, 120, 1, "full 120");
  check_reductions(randn_buf(&r, 7 * 33), 7, 33, 1, "(7, 33) rows");
  check_reductions(randn_buf(&r, 3 * 17 * 2), 3, 17, 2, "(3, 17, 2)");
  check_reductions(randn_buf(&r, 5), 5, 1, 1, "n = 1");
  // Ties give the first maximum; large magnitudes keep logsumexp finite.
  float ties[] = {1, 3, 3, 2, -1e30f, 80, 90, 100};
  check_reductions(ties, 2, 4, 1, "ties and large values");
}

// Above GW_PARALLEL_MIN: contiguous rows (inner 1), the pieces-of-inner path, and a full
// reduction of one long buffer (fixed blocks combined in order).
Test(tensor_kernels, reductions_parallel_sizes) {
  gw_rng r = gwt_rng(6);
  check_reductions(randn_buf(&r, 3 * 20000), 3, 20000, 1, "(3, 20000)");
  check_reductions(randn_buf(&r, 3 * 100 * 300), 3, 100, 300, "(3, 100, 300)");
  check_reductions(randn_buf(&r, 1 * 50 * 1000), 1, 50, 1000, "(1, 50, 1000)");
  int64_t n = (1 << 17) + 123;
  float *x = randn_buf(&r, n);
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  float got = gw_k_sum_all(x, n);
  cr_assert(fabs(got - s) < 1e-6 * sum_abs(x, n), "sum_all of %lld: %.9g vs %.9g", (long long)n,
            got, s);
  float y;
  gw_k_reduce_sum(x, &y, 1, n, 1);
  cr_assert_eq(y, got, "reduce_sum over everything is sum_all");
  cr_assert_eq(gw_k_sum_all(x, 0), 0.0f);
}

// NaN wins a max (its index is reported); an all -inf row has logsumexp -inf, not NaN;
// variance of one element with correction 1 is NaN, as in PyTorch.
Test(tensor_kernels, reductions_special_values) {
  float x[] = {1, NAN, 5, NAN, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  float y[2];
  int32_t a[2];
  gw_k_reduce_max(x, y, a, 2, 4, 1);
  cr_assert(isnan(y[0]) && a[0] == 1, "NaN must win the max at its first index (got %g at %d)",
            y[0], a[0]);
  cr_assert(y[1] == -INFINITY && a[1] == 0);
  gw_k_reduce_logsumexp(x + 4, y, 1, 4, 1);
  cr_assert(y[0] == -INFINITY, "logsumexp of all -inf is %g", y[0]);
  gw_k_reduce_var(x, y, NULL, 1, 1, 1, 1);
  cr_assert(isnan(y[0]), "var of one element with correction 1 is %g", y[0]);
}

// x summed down to out's shape: the reverse of broadcasting. Every right-aligned target
// shape of a 4-dim x, plus a parallel-size case, against a plain index loop.
Test(tensor_kernels, sum_to) {
  gw_rng r = gwt_rng(7);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3, 4, 5));
  struct { int nd; int64_t s[4]; } targets[] = {
      {3, {3, 1, 5}}, {1, {5}}, {1, {1}}, {0, {0}}, {4, {2, 1, 4, 1}}, {4, {2, 3, 4, 5}},
      {4, {1, 1, 1, 1}}, {2, {4, 1}}, {4, {1, 3, 1, 5}}, {2, {4, 5}},
  };
  for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
    gw_tensor *out = gw_empty(GW_F32, targets[t].nd, targets[t].s);
    gw_k_sum_to(x, out);
    int64_t m = gw_numel(out);
    double *ref = calloc((size_t)m, sizeof(double));
    int64_t idx[4] = {0}, ostr[GW_MAX_DIMS];
    gw_contiguous_strides(out->ndim, out->shape, ostr);
    int lead = 4 - out->ndim;
    for (int64_t i = 0; i < 120; i++) {
      int64_t o = 0;
      for (int d = 0; d < out->ndim; d++)
        if (out->shape[d] != 1) o += idx[d + lead] * ostr[d];
      ref[o] += gw_f32(x)[i];
      next_index(4, x->shape, idx);
    }
    float *want = fbuf(m);
    for (int64_t i = 0; i < m; i++) want[i] = (float)ref[i];
    free(ref);
    char what[64];
    snprintf(what, sizeof what, "sum_to %s", gw_shape_str(out));
    gwt_assert_close_buf(gw_f32(out), want, m, 1e-5, 1e-5, what);
  }
  gw_tensor *big = gwt_randn(&r, GW_SHAPE(64, 1024));
  gw_tensor *col = gw_empty(GW_F32, GW_SHAPE(1024));
  gw_k_sum_to(big, col);
  float *want = fbuf(1024);
  for (int j = 0; j < 1024; j++) {
    double s = 0.0;
    for (int i = 0; i < 64; i++) s += gw_f32(big)[i * 1024 + j];
    want[j] = (float)s;
  }
  gwt_assert_close_buf(gw_f32(col), want, 1024, 1e-5, 1e-5, "sum_to (64, 1024) -> (1024,)");
  GWT_EXPECT_ERROR(gw_k_sum_to(x, gw_empty(GW_F32, GW_SHAPE(3))),
                   "sum_to: cannot reduce (2, 3, 4, 5) to (3,)");
  GWT_EXPECT_ERROR(gw_k_sum_to(gw_empty(GW_F32, GW_SHAPE(5)), gw_empty(GW_F32, GW_SHAPE(1, 5))),
                   "sum_to: cannot reduce (5,) to (1, 5)");
}

// ---------------------------------------------------------------- matrix products

// C = alpha op(A) op(B) + beta C in double, on the stored layouts.
static void ref_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                     float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0.0;
      for (int64_t k = 0; k < K; k++) {
        double a = ta ? A[k * lda + i] : A[i * lda + k];
        double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
      }
      C[i * ldc + j] = (float)(alpha * s + (beta == 0.0f ? 0.0 : beta * (double)C[i * ldc + j]));
    }
}

// Matrices with padding columns (leading dim > width) filled with NaN: a kernel that reads
// or writes outside op(A), op(B) or C shows NaN or changed padding.
static float *padded(gw_rng *r, int64_t rows, int64_t cols, int64_t ld) {
  float *p = fbuf(rows * ld);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < ld; j++) p[i * ld + j] = j < cols ? (float)gw_rng_float(r) - 0.5f : NAN;
  return p;
}

static void check_gemm(gw_rng *r, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                       float beta, int64_t pad) {
  int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  int64_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
  float *A = padded(r, ar, ac, lda), *B = padded(r, br, bc, ldb), *C = padded(r, M, N, ldc);
  if (beta == 0.0f)  // beta = 0 must not read C (NaN there must not leak)
    for (int64_t i = 0; i < M * ldc; i++) C[i] = NAN;
  float *Cref = copy_buf(C, M * ldc);
  gw_k_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  ref_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cref, ldc);
  char what[128];
  snprintf(what, sizeof what, "gemm ta=%d tb=%d M=%lld N=%lld K=%lld lda=%lld alpha=%g beta=%g",
           ta, tb, (long long)M, (long long)N, (long long)K, (long long)lda, alpha, beta);
  for (int64_t i = 0; i < M; i++) {
    gwt_assert_close_buf(C + i * ldc, Cref + i * ldc, N, 1e-5 * (double)(K + 1), 1e-5, what);
    for (int64_t j = N; j < ldc; j++)
      cr_assert(isnan(C[i * ldc + j]), "%s: padding C[%lld][%lld] was written", what,
                (long long)i, (long long)j);
  }
}

// gemm with every transpose combination, leading dims larger than the widths, alpha/beta,
// beta = 0 over a NaN-filled C, K = 0, and a size large enough for threaded sgemm.
Test(tensor_kernels, gemm_transposes_and_leading_dims) {
  gw_rng r = gwt_rng(8);
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      check_gemm(&r, ta, tb, 7, 5, 9, 1.0f, 0.0f, 0);
      check_gemm(&r, ta, tb, 7, 5, 9, 1.5f, 0.5f, 3);
      check_gemm(&r, ta, tb, 33, 65, 17, -0.5f, 1.0f, 5);
      check_gemm(&r, ta, tb, 1, 8, 3, 1.0f, 0.0f, 2);
      check_gemm(&r, ta, tb, 130, 70, 90, 1.0f, 0.0f, 1);
    }
  // K = 0: C = beta * C (and beta = 0 clears it, NaN included).
  float C[6] = {1, 2, 3, 4, NAN, 6};
  gw_k_gemm(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, C, 3);
  cr_assert(C[0] == 2 && C[3] == 8 && isnan(C[4]));
  gw_k_gemm(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3);
  for (int i = 0; i < 6; i++) cr_assert_eq(C[i], 0.0f, "K = 0, beta = 0: C[%d] = %g", i, C[i]);
}

// Batched gemm: a few small products, many small ones (parallel over the batch) and a
// few large ones (one after another), each against the reference on its own pointers.
Test(tensor_kernels, gemm_batched) {
  gw_rng r = gwt_rng(9);
  struct { int64_t batch, M, N, K; bool ta, tb; } cases[] = {
      {3, 4, 3, 6, false, false}, {5, 4, 3, 6, true, false}, {40, 8, 8, 16, false, true},
      {40, 8, 8, 16, true, true}, {2, 80, 70, 60, false, false}, {1, 5, 5, 5, true, true},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t B = cases[c].batch, M = cases[c].M, N = cases[c].N, K = cases[c].K;
    bool ta = cases[c].ta, tb = cases[c].tb;
    int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N;
    const float **pa = gw_arena_alloc(gw_arena_current(), (size_t)B * sizeof *pa, "test");
    const float **pb = gw_arena_alloc(gw_arena_current(), (size_t)B * sizeof *pb, "test");
    float **pc = gw_arena_alloc(gw_arena_current(), (size_t)B * sizeof *pc, "test");
    float **pref = gw_arena_alloc(gw_arena_current(), (size_t)B * sizeof *pref, "test");
    for (int64_t i = 0; i < B; i++) {
      pa[i] = padded(&r, ta ? K : M, ta ? M : K, lda);
      pb[i] = padded(&r, tb ? N : K, tb ? K : N, ldb);
      pc[i] = padded(&r, M, N, ldc);
      pref[i] = copy_buf(pc[i], M * ldc);
    }
    // B[1] shared with B[0] in the first case: products may share operands.
    if (c == 0) pb[1] = pb[0];
    gw_k_gemm_batched(B, ta, tb, M, N, K, 0.75f, pa, lda, pb, ldb, 0.25f, pc, ldc);
    for (int64_t i = 0; i < B; i++) {
      ref_gemm(ta, tb, M, N, K, 0.75f, pa[i], lda, pb[i], ldb, 0.25f, pref[i], ldc);
      char what[96];
      snprintf(what, sizeof what, "gemm_batched case %zu product %lld", c, (long long)i);
      gwt_assert_close_buf(pc[i], pref[i], M * ldc, 1e-5 * (double)K, 1e-5, what);
    }
  }
}

// ---------------------------------------------------------------- softmax

static void ref_softmax(const float *x, const int32_t *mask, double *y, int64_t rows, int64_t n,
                        bool log_) {
  for (int64_t r = 0; r < rows; r++) {
    double m = -INFINITY, s = 0.0;
    for (int64_t j = 0; j < n; j++)
      if ((!mask || mask[r * n + j]) && x[r * n + j] > m) m = x[r * n + j];
    for (int64_t j = 0; j < n; j++)
      if ((!mask || mask[r * n + j]) && m > -INFINITY) s += exp(x[r * n + j] - m);
    for (int64_t j = 0; j < n; j++) {
      bool kept = (!mask || mask[r * n + j]) && m > -INFINITY;
      double p = kept ? exp(x[r * n + j] - m) / s : 0.0;
      y[r * n + j] = log_ ? (kept ? x[r * n + j] - m - log(s) : -INFINITY) : p;
    }
  }
}

static void check_softmax(gw_rng *r, int64_t rows, int64_t n, bool with_mask) {
  int64_t total = rows * n;
  float *x = randn_buf(r, total);
  int32_t *mask = NULL;
  if (with_mask) {
    mask = ibuf(total);
    for (int64_t i = 0; i < total; i++) mask[i] = gw_rng_below(r, 4) != 0;
    for (int64_t j = 0; j < n; j++) mask[1 * n + j] = 0;  // row 1 fully masked
    for (int64_t j = 0; j < n; j++) mask[2 * n + j] = 1;  // row 2 fully kept
    x[2 * n + 1] = -INFINITY;                              // an unmasked -inf entry
  }
  double *ref = malloc((size_t)total * sizeof(double));
  float *y = fbuf(total), *want = fbuf(total);
  for (int log_ = 0; log_ <= 1; log_++) {
    gw_k_softmax(x, mask, y, rows, n, log_);
    ref_softmax(x, mask, ref, rows, n, log_);
    for (int64_t i = 0; i < total; i++) want[i] = (float)ref[i];
    char what[96];
    snprintf(what, sizeof what, "%s (%lld, %lld) mask %d", log_ ? "log_softmax" : "softmax",
             (long long)rows, (long long)n, with_mask);
    gwt_assert_close_buf(y, want, total, 1e-6, 1e-5, what);
    for (int64_t i = 0; i < total; i++)
      cr_assert(!isnan(y[i]), "%s: NaN at %lld", what, (long long)i);

    // Backward: dx_i += sum_j dy_j dy_j/dx_i with the Jacobian written out:
    //   softmax: J_ji = p_j (d_ij - p_i);  log_softmax: J_ji = d_ij - p_i (kept j only).
    float *dy = randn_buf(r, total), *dx = fbuf(total);
    double *p = malloc((size_t)total * sizeof(double));
    ref_softmax(x, mask, p, rows, n, false);
    for (int64_t i = 0; i < total; i++) dx[i] = want[i] = 0.5f;
    gw_k_softmax_backward(y, dy, dx, rows, n, log_);
    for (int64_t row = 0; row < rows; row++)
      for (int64_t i = 0; i < n; i++) {
        double g = 0.0;
        for (int64_t j = 0; j < n; j++) {
          int64_t ri = row * n + i, rj = row * n + j;
          bool kept_j = ref[rj] != -INFINITY;
          if (log_) g += kept_j ? dy[rj] * ((i == j) - p[ri]) : 0.0;
          else g += dy[rj] * p[rj] * ((i == j) - p[ri]);
        }
        bool kept_i = log_ ? ref[row * n + i] != -INFINITY : true;
        want[row * n + i] += kept_i ? (float)g : 0.0f;
      }
    free(p);
    strncat(what, " backward", sizeof what - strlen(what) - 1);
    gwt_assert_close_buf(dx, want, total, 1e-5, 1e-4, what);
  }
  free(ref);
}

// Softmax and log-softmax, with and without a mask (a fully masked row gives zeros / -inf,
// never NaN), forward and backward (accumulating), small and above GW_PARALLEL_MIN.
Test(tensor_kernels, softmax_with_mask) {
  gw_rng r = gwt_rng(10);
  check_softmax(&r, 6, 9, false);
  check_softmax(&r, 6, 9, true);
  check_softmax(&r, 4, 1, false);
  check_softmax(&r, 300, 120, true);
  // The fully masked row is exactly zeros / -inf.
  float x[3] = {1, 2, 3}, y[3];
  int32_t m[3] = {0, 0, 0};
  gw_k_softmax(x, m, y, 1, 3, false);
  for (int i = 0; i < 3; i++) cr_assert_eq(y[i], 0.0f);
  gw_k_softmax(x, m, y, 1, 3, true);
  for (int i = 0; i < 3; i++) cr_assert_eq(y[i], -INFINITY);
}

// ---------------------------------------------------------------- layernorm

static void check_layernorm(gw_rng *r, int64_t rows, int64_t d, bool affine) {
  int64_t total = rows * d;
  float *x = randn_buf(r, total);
  for (int64_t i = 0; i < total; i++) x[i] = 3.0f * x[i] + 1.5f;  // off-centre, wide
  float *gamma = affine ? randn_buf(r, d) : NULL, *beta = affine ? randn_buf(r, d) : NULL;
  float *y = fbuf(total), *mean = fbuf(rows), *rstd = fbuf(rows);
  const float eps = 1e-5f;
  gw_k_layernorm(x, gamma, beta, y, mean, rstd, rows, d, eps);
  float *want = fbuf(total), *wmean = fbuf(rows), *wrstd = fbuf(rows);
  double *xhat = malloc((size_t)total * sizeof(double));
  double *rs = malloc((size_t)rows * sizeof(double));
  for (int64_t row = 0; row < rows; row++) {
    double mu = 0.0, v = 0.0;
    for (int64_t j = 0; j < d; j++) mu += x[row * d + j];
    mu /= (double)d;
    for (int64_t j = 0; j < d; j++) v += (x[row * d + j] - mu) * (x[row * d + j] - mu);
    rs[row] = 1.0 / sqrt(v / (double)d + eps);
    wmean[row] = (float)mu;
    wrstd[row] = (float)rs[row];
    for (int64_t j = 0; j < d; j++) {
      xhat[row * d + j] = (x[row * d + j] - mu) * rs[row];
      want[row * d + j] =
          (float)(xhat[row * d + j] * (affine ? gamma[j] : 1.0) + (affine ? beta[j] : 0.0));
    }
  }
  char what[96];
  snprintf(what, sizeof what, "layernorm (%lld, %lld) affine %d", (long long)rows, (long long)d,
           affine);
  gwt_assert_close_buf(y, want, total, 1e-5, 1e-4, what);
  gwt_assert_close_buf(mean, wmean, rows, 1e-5, 1e-5, "layernorm saved mean");
  gwt_assert_close_buf(rstd, wrstd, rows, 1e-6, 1e-5, "layernorm saved rstd");

  // Backward through the written-out Jacobian of one row:
  //   dy_j/dx_i = gamma_j rstd (d_ij - 1/d - xhat_i xhat_j / d)
  float *dy = randn_buf(r, total), *dx = fbuf(total), *dg = fbuf(d), *db = fbuf(d);
  float *wdx = fbuf(total), *wdg = fbuf(d), *wdb = fbuf(d);
  for (int64_t i = 0; i < total; i++) dx[i] = wdx[i] = 0.25f;
  for (int64_t j = 0; j < d; j++) dg[j] = db[j] = wdg[j] = wdb[j] = -0.5f;
  gw_k_layernorm_backward(x, gamma, mean, rstd, dy, dx, affine ? dg : NULL, affine ? db : NULL,
                          rows, d);
  double *sg = calloc((size_t)d, sizeof(double)), *sb = calloc((size_t)d, sizeof(double));
  for (int64_t row = 0; row < rows; row++) {
    const double *h = xhat + row * d;
    const float *g = dy + row * d;
    for (int64_t i = 0; i < d; i++) {
      double s = 0.0;
      for (int64_t j = 0; j < d; j++)
        s += g[j] * (affine ? gamma[j] : 1.0) * rs[row] * ((i == j) - 1.0 / d - h[i] * h[j] / d);
      wdx[row * d + i] += (float)s;
      sg[i] += g[i] * h[i];
      sb[i] += g[i];
    }
  }
  for (int64_t j = 0; j < d; j++) {
    wdg[j] += (float)sg[j];
    wdb[j] += (float)sb[j];
  }
  free(sg);
  free(sb);
  gwt_assert_close_buf(dx, wdx, total, 1e-4, 1e-3, "layernorm backward dx");
  if (affine) {
    gwt_assert_close_buf(dg, wdg, d, 1e-4 * rows, 1e-4, "layernorm backward dgamma");
    gwt_assert_close_buf(db, wdb, d, 1e-4 * rows, 1e-4, "layernorm backward dbeta");
  }
  // dx may be NULL when only the parameters want gradients; dgamma is then the same.
  if (affine) {
    float *dg2 = fbuf(d), *wdg2 = fbuf(d);
    memset(dg2, 0, (size_t)d * sizeof(float));
    gw_k_layernorm_backward(x, gamma, mean, rstd, dy, NULL, dg2, NULL, rows, d);
    for (int64_t j = 0; j < d; j++) wdg2[j] = dg[j] + 0.5f;
    gwt_assert_close_buf(dg2, wdg2, d, 1e-5 * rows, 1e-5, "layernorm dgamma without dx");
  }
  free(xhat);
  free(rs);
}

// Layer norm forward (with and without gamma/beta) and backward (dx, dgamma, dbeta, all
// accumulating) against double loops; 600 x 64 takes the parallel, row-blocked path.
Test(tensor_kernels, layernorm_forward_backward) {
  gw_rng r = gwt_rng(11);
  check_layernorm(&r, 5, 13, true);
  check_layernorm(&r, 5, 13, false);
  check_layernorm(&r, 600, 64, true);
  check_layernorm(&r, 1, 1, true);
}

// ---------------------------------------------------------------- batchnorm

static void check_batchnorm(gw_rng *r, int64_t B, int64_t C, int64_t S, bool affine) {
  int64_t total = B * C * S, N = B * S;
  float *x = randn_buf(r, total);
  for (int64_t i = 0; i < total; i++) x[i] = 2.0f * x[i] + (float)((i / S) % C);  // channel offsets
  float *gamma = affine ? randn_buf(r, C) : NULL, *beta = affine ? randn_buf(r, C) : NULL;
  float *mean = fbuf(C), *var = fbuf(C), *rstd = fbuf(C);
  gw_k_batchnorm_stats(x, B, C, S, mean, var);
  double *mu = calloc((size_t)C, sizeof(double)), *v = calloc((size_t)C, sizeof(double));
  float *wmean = fbuf(C), *wvar = fbuf(C);
  for (int64_t c = 0; c < C; c++) {
    for (int64_t b = 0; b < B; b++)
      for (int64_t k = 0; k < S; k++) mu[c] += x[(b * C + c) * S + k];
    mu[c] /= (double)N;
    for (int64_t b = 0; b < B; b++)
      for (int64_t k = 0; k < S; k++) {
        double d = x[(b * C + c) * S + k] - mu[c];
        v[c] += d * d;
      }
    v[c] /= (double)N;
    wmean[c] = (float)mu[c];
    wvar[c] = (float)v[c];
    rstd[c] = (float)(1.0 / sqrt(v[c] + 1e-5));
  }
  char what[96];
  snprintf(what, sizeof what, "batchnorm stats (%lld, %lld, %lld)", (long long)B, (long long)C,
           (long long)S);
  gwt_assert_close_buf(mean, wmean, C, 1e-5, 1e-5, what);
  gwt_assert_close_buf(var, wvar, C, 1e-5, 1e-5, what);

  float *y = fbuf(total), *want = fbuf(total);
  gw_k_batchnorm_apply(x, mean, rstd, gamma, beta, y, B, C, S);
  for (int64_t i = 0; i < total; i++) {
    int64_t c = (i / S) % C;
    want[i] = (float)((x[i] - mean[c]) * (double)rstd[c] * (affine ? gamma[c] : 1.0) +
                      (affine ? beta[c] : 0.0));
  }
  snprintf(what, sizeof what, "batchnorm apply (%lld, %lld, %lld)", (long long)B, (long long)C,
           (long long)S);
  gwt_assert_close_buf(y, want, total, 1e-5, 1e-5, what);

  // Backward, training mode through the written-out Jacobian of a channel:
  //   dy_j/dx_i = gamma rstd (d_ij - 1/N - xhat_i xhat_j / N);  eval mode: gamma rstd d_ij.
  float *dy = randn_buf(r, total);
  for (int training = 0; training <= 1; training++) {
    float *dx = fbuf(total), *dg = fbuf(C), *db = fbuf(C);
    float *wdx = fbuf(total), *wdg = fbuf(C), *wdb = fbuf(C);
    for (int64_t i = 0; i < total; i++) dx[i] = wdx[i] = 0.25f;
    for (int64_t c = 0; c < C; c++) dg[c] = db[c] = wdg[c] = wdb[c] = -0.5f;
    gw_k_batchnorm_backward(x, dy, mean, rstd, gamma, dx, affine ? dg : NULL, affine ? db : NULL,
                            B, C, S, training);
    for (int64_t c = 0; c < C; c++) {
      double g = affine ? gamma[c] : 1.0, rs = rstd[c], sg = 0.0, sb = 0.0;
      for (int64_t bi = 0; bi < B; bi++)
        for (int64_t si = 0; si < S; si++) {
          int64_t i = (bi * C + c) * S + si;
          double hi = (x[i] - mean[c]) * rs, acc = 0.0;
          sg += dy[i] * hi;
          sb += dy[i];
          for (int64_t bj = 0; bj < B; bj++)
            for (int64_t sj = 0; sj < S; sj++) {
              int64_t j = (bj * C + c) * S + sj;
              double hj = (x[j] - mean[c]) * rs;
              double jac = training ? (i == j) - 1.0 / N - hi * hj / N : (double)(i == j);
              acc += dy[j] * g * rs * jac;
            }
          wdx[i] += (float)acc;
        }
      wdg[c] += (float)sg;
      wdb[c] += (float)sb;
    }
    snprintf(what, sizeof what, "batchnorm backward dx (%lld, %lld, %lld) training %d",
             (long long)B, (long long)C, (long long)S, training);
    gwt_assert_close_buf(dx, wdx, total, 1e-4, 1e-3, what);
    if (affine) {
      gwt_assert_close_buf(dg, wdg, C, 1e-4 * (double)N, 1e-4, "batchnorm backward dgamma");
      gwt_assert_close_buf(db, wdb, C, 1e-4 * (double)N, 1e-4, "batchnorm backward dbeta");
    }
  }
  free(mu);
  free(v);
}

// Batch norm statistics, apply and backward (training and eval, with and without
// gamma/beta, accumulating) against double loops; (8, 16, 400) goes parallel.
Test(tensor_kernels, batchnorm) {
  gw_rng r = gwt_rng(21);
  check_batchnorm(&r, 3, 4, 5, true);
  check_batchnorm(&r, 2, 3, 37, false);
  check_batchnorm(&r, 5, 2, 1, true);
  check_batchnorm(&r, 8, 16, 40, true);
}

// Above GW_PARALLEL_MIN the statistics and apply still match (the O(N^2) backward check is
// left to the small sizes).
Test(tensor_kernels, batchnorm_parallel_size) {
  gw_rng r = gwt_rng(22);
  const int64_t B = 8, C = 16, S = 400, total = B * C * S;
  float *x = randn_buf(&r, total), *mean = fbuf(C), *var = fbuf(C), *wm = fbuf(C), *wv = fbuf(C);
  gw_k_batchnorm_stats(x, B, C, S, mean, var);
  for (int64_t c = 0; c < C; c++) {
    double s = 0.0, q = 0.0;
    for (int64_t b = 0; b < B; b++)
      for (int64_t k = 0; k < S; k++) s += x[(b * C + c) * S + k];
    s /= (double)(B * S);
    for (int64_t b = 0; b < B; b++)
      for (int64_t k = 0; k < S; k++) {
        double d = x[(b * C + c) * S + k] - s;
        q += d * d;
      }
    wm[c] = (float)s;
    wv[c] = (float)(q / (double)(B * S));
  }
  gwt_assert_close_buf(mean, wm, C, 1e-5, 1e-5, "batchnorm mean (8, 16, 400)");
  gwt_assert_close_buf(var, wv, C, 1e-5, 1e-5, "batchnorm var (8, 16, 400)");
}

// ---------------------------------------------------------------- im2col / col2im

static float *ref_im2col(const float *x, const gw_conv_geom *g) {
  int64_t rows = g->C * g->KH * g->KW, cols = g->OH * g->OW;
  float *col = fbuf(rows * cols);
  for (int64_t c = 0; c < g->C; c++)
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++)
        for (int64_t oh = 0; oh < g->OH; oh++)
          for (int64_t ow = 0; ow < g->OW; ow++) {
            int64_t ih = oh * g->SH - g->PH + kh * g->DH, iw = ow * g->SW - g->PW + kw * g->DW;
            bool in = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W;
            col[((c * g->KH + kh) * g->KW + kw) * cols + oh * g->OW + ow] =
                in ? x[(c * g->H + ih) * g->W + iw] : 0.0f;
          }
  return col;
}

static gw_conv_geom geoms[] = {
    {.C = 2, .H = 7, .W = 6, .KH = 3, .KW = 2, .SH = 2, .SW = 1, .PH = 1, .DH = 1, .DW = 2},
    {.C = 3, .H = 5, .W = 5, .KH = 3, .KW = 3, .SH = 1, .SW = 1, .PH = 1, .PW = 1},
    {.C = 1, .H = 8, .W = 9, .KH = 3, .KW = 3, .SH = 2, .SW = 2, .PH = 2, .PW = 2, .DH = 2,
     .DW = 2},
    {.C = 2, .H = 4, .W = 4, .KH = 1, .KW = 1},
    {.C = 1, .H = 3, .W = 10, .KH = 2, .KW = 5, .SH = 1, .SW = 3, .PH = 0, .PW = 2},
    {.C = 1, .H = 3, .W = 3, .KH = 1, .KW = 1, .PH = 2, .PW = 2},
    {.C = 1, .H = 5, .W = 2, .KH = 1, .KW = 2, .PW = 2, .DW = 3},
    {.C = 4, .H = 16, .W = 16, .KH = 5, .KW = 5, .SH = 1, .SW = 1, .PH = 2, .PW = 2},
};

// im2col equals the plain gather for strides, paddings (wider than the kernel too) and
// dilations; col2im equals the plain scatter-add and is im2col's adjoint:
// <col2im(c), x> == <c, im2col(x)>.
Test(tensor_kernels, im2col_col2im) {
  gw_rng r = gwt_rng(12);
  for (size_t k = 0; k < sizeof geoms / sizeof geoms[0]; k++) {
    gw_conv_geom g = geoms[k];
    gw_conv_geom_init(&g);
    cr_assert(g.OH > 0 && g.OW > 0);
    int64_t xn = g.C * g.H * g.W, cn = g.C * g.KH * g.KW * g.OH * g.OW;
    float *x = randn_buf(&r, xn), *col = fbuf(cn);
    memset(col, 0x7f, (size_t)cn * sizeof(float));  // every entry must be written
    gw_k_im2col(x, &g, col);
    float *want = ref_im2col(x, &g);
    char what[64];
    snprintf(what, sizeof what, "im2col geometry %zu", k);
    gwt_assert_close_buf(col, want, cn, 0.0, 0.0, what);

    float *c = randn_buf(&r, cn), *folded = fbuf(xn), *wfold = fbuf(xn);
    for (int64_t i = 0; i < xn; i++) folded[i] = wfold[i] = 1.0f;  // col2im accumulates
    gw_k_col2im(c, &g, folded);
    for (int64_t ch = 0; ch < g.C; ch++)
      for (int64_t kh = 0; kh < g.KH; kh++)
        for (int64_t kw = 0; kw < g.KW; kw++)
          for (int64_t oh = 0; oh < g.OH; oh++)
            for (int64_t ow = 0; ow < g.OW; ow++) {
              int64_t ih = oh * g.SH - g.PH + kh * g.DH, iw = ow * g.SW - g.PW + kw * g.DW;
              if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                wfold[(ch * g.H + ih) * g.W + iw] +=
                    c[((ch * g.KH + kh) * g.KW + kw) * g.OH * g.OW + oh * g.OW + ow];
            }
    snprintf(what, sizeof what, "col2im geometry %zu", k);
    gwt_assert_close_buf(folded, wfold, xn, 1e-5, 1e-5, what);
    for (int64_t i = 0; i < xn; i++) folded[i] = 0.0f;
    gw_k_col2im(c, &g, folded);
    snprintf(what, sizeof what, "col2im adjoint geometry %zu", k);
    assert_adjoint(dot(folded, x, xn), dot(c, col, cn), sum_abs(c, cn) * 4.0, what);

    // Through a zero-padded copy: the same unfolding bit for bit, the same folding (summed
    // into the scratch first, so within rounding); the scratch may hold anything before.
    int64_t pn = g.C * (g.H + 2 * g.PH) * (g.W + 2 * g.PW);
    float *xp = randn_buf(&r, pn), *pcol = fbuf(cn), *pfold = fbuf(xn);
    memset(pcol, 0x7f, (size_t)cn * sizeof(float));
    gw_k_im2col_padded(x, &g, xp, pcol);
    snprintf(what, sizeof what, "im2col padded geometry %zu", k);
    gwt_assert_close_buf(pcol, col, cn, 0.0, 0.0, what);
    for (int64_t i = 0; i < xn; i++) folded[i] = pfold[i] = 1.0f;
    gw_k_col2im(c, &g, folded);
    gw_k_col2im_padded(c, &g, randn_buf(&r, pn), pfold);
    snprintf(what, sizeof what, "col2im padded geometry %zu", k);
    gwt_assert_close_buf(pfold, folded, xn, 1e-5, 1e-5, what);
  }
}

// ---------------------------------------------------------------- gather and scatter

// index_select / index_add and gather / scatter_add against plain loops, with repeated
// indices (scatter-add sums them), small and above GW_PARALLEL_MIN; bad indices stop.
Test(tensor_kernels, gather_scatter_index) {
  gw_rng r = gwt_rng(13);
  struct { int64_t outer, n, inner, m; } cases[] = {
      {3, 5, 4, 7}, {1, 6, 1, 10}, {2, 3, 130, 2}, {4, 100, 200, 150}, {64, 40, 16, 40},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t O = cases[c].outer, n = cases[c].n, I = cases[c].inner, m = cases[c].m;
    float *x = randn_buf(&r, O * n * I), *dy = randn_buf(&r, O * m * I);
    int32_t *idx = ibuf(m), *gidx = ibuf(O * m * I);
    for (int64_t j = 0; j < m; j++) idx[j] = (int32_t)gw_rng_below(&r, (uint64_t)n);
    idx[m - 1] = idx[0];  // a repeat
    for (int64_t j = 0; j < O * m * I; j++) gidx[j] = (int32_t)gw_rng_below(&r, (uint64_t)n);
    char what[96];

    float *y = fbuf(O * m * I), *want = fbuf(O * m * I);
    gw_k_index_select(x, O, n, I, idx, m, y);
    for (int64_t o = 0; o < O; o++)
      for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < I; i++) want[(o * m + j) * I + i] = x[(o * n + idx[j]) * I + i];
    snprintf(what, sizeof what, "index_select case %zu", c);
    gwt_assert_close_buf(y, want, O * m * I, 0.0, 0.0, what);

    gw_k_gather(x, O, n, I, gidx, m, y);
    for (int64_t o = 0; o < O; o++)
      for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < I; i++) {
          int64_t at = (o * m + j) * I + i;
          want[at] = x[(o * n + gidx[at]) * I + i];
        }
    snprintf(what, sizeof what, "gather case %zu", c);
    gwt_assert_close_buf(y, want, O * m * I, 0.0, 0.0, what);

    float *dx = fbuf(O * n * I), *wdx = fbuf(O * n * I);
    for (int64_t i = 0; i < O * n * I; i++) dx[i] = wdx[i] = 0.5f;
    gw_k_index_add(dx, O, n, I, idx, m, dy);
    for (int64_t o = 0; o < O; o++)
      for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < I; i++) wdx[(o * n + idx[j]) * I + i] += dy[(o * m + j) * I + i];
    snprintf(what, sizeof what, "index_add case %zu", c);
    gwt_assert_close_buf(dx, wdx, O * n * I, 0.0, 0.0, what);

    for (int64_t i = 0; i < O * n * I; i++) dx[i] = wdx[i] = 0.5f;
    gw_k_scatter_add(dx, O, n, I, gidx, m, dy);
    for (int64_t o = 0; o < O; o++)
      for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < I; i++) {
          int64_t at = (o * m + j) * I + i;
          wdx[(o * n + gidx[at]) * I + i] += dy[at];
        }
    snprintf(what, sizeof what, "scatter_add case %zu", c);
    gwt_assert_close_buf(dx, wdx, O * n * I, 0.0, 0.0, what);
  }
  int32_t bad[] = {0, 4, 7, 1};
  GWT_EXPECT_ERROR(gw_k_check_indices("gather", bad, 4, 5),
                   "gather: index 7 at position 2 is out of range [0, 5)");
  int32_t neg[] = {-1};
  GWT_EXPECT_ERROR(gw_k_check_indices("embedding", neg, 1, 5), "index -1 at position 0");
  gw_k_check_indices("ok", bad, 2, 5);
}

// ---------------------------------------------------------------- concat, pad, pixel shuffle

// Concat along each dim of inputs with different extents (one a transposed view) equals
// placing each input at its offset.
Test(tensor_kernels, concat_along_each_dim) {
  gw_rng r = gwt_rng(14);
  for (int dim = 0; dim < 3; dim++) {
    int64_t base[3] = {2, 3, 4}, ext[3] = {2, 1, 3};
    gw_tensor *xs[3];
    int64_t total = 0;
    for (int k = 0; k < 3; k++) {
      int64_t s[3] = {base[0], base[1], base[2]};
      s[dim] = ext[k];
      total += ext[k];
      if (k == 1) {  // a transposed view with the same shape
        gw_tensor *t = gwt_randn(&r, GW_SHAPE(s[0], s[2], s[1]));
        xs[k] = gw_view_transpose(t, 1, 2);
      } else {
        xs[k] = gwt_randn(&r, 3, s);
      }
    }
    int64_t os[3] = {base[0], base[1], base[2]};
    os[dim] = total;
    gw_tensor *out = gw_empty(GW_F32, 3, os);
    gw_k_concat((const gw_tensor *const *)xs, 3, dim, out);
    int64_t idx[3] = {0};
    for (int64_t i = 0; i < gw_numel(out); i++) {
      int64_t p = idx[dim], k = 0;
      while (p >= ext[k]) p -= ext[k++];
      int64_t src[3] = {idx[0], idx[1], idx[2]};
      src[dim] = p;
      cr_assert_eq(gw_f32(out)[i], at_bcast(xs[k], 3, src), "concat dim %d element %lld", dim,
                   (long long)i);
      next_index(3, os, idx);
    }
  }
}

// Constant padding with positive amounts, cropping with negative ones, both at once, and a
// crop that removes a whole dim (only the pad value remains).
Test(tensor_kernels, pad_and_crop) {
  gw_rng r = gwt_rng(15);
  gw_tensor *x = gw_view_transpose(gwt_randn(&r, GW_SHAPE(2, 4, 3)), 1, 2);  // (2, 3, 4) strided
  struct { int64_t before[3], after[3]; } cases[] = {
      {{1, 0, 2}, {0, 2, 1}}, {{0, -1, 0}, {0, 0, -2}}, {{1, -1, 2}, {-1, 1, -3}},
      {{0, 0, -3}, {0, 0, 1}}, {{0, 0, 0}, {0, 0, 0}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t os[3];
    for (int d = 0; d < 3; d++) os[d] = cases[c].before[d] + x->shape[d] + cases[c].after[d];
    gw_tensor *out = gw_empty(GW_F32, 3, os);
    gw_k_pad(x, cases[c].before, cases[c].after, 9.0f, out);
    int64_t idx[3] = {0};
    for (int64_t i = 0; i < gw_numel(out); i++) {
      int64_t src[3];
      bool inside = true;
      for (int d = 0; d < 3; d++) {
        src[d] = idx[d] - cases[c].before[d];
        inside = inside && src[d] >= 0 && src[d] < x->shape[d];
      }
      float want = inside ? at_bcast(x, 3, src) : 9.0f;
      cr_assert_eq(gw_f32(out)[i], want, "pad case %zu element %lld: %g, expected %g", c,
                   (long long)i, gw_f32(out)[i], want);
      next_index(3, os, idx);
    }
  }
}

// Pixel shuffle follows y[b, c, h*r+i, w*r+j] = x[b, (c*r+i)*r+j, h, w], unshuffle is its
// inverse, and shuffle -> unshuffle returns the input exactly.
Test(tensor_kernels, pixel_shuffle_round_trip) {
  gw_rng r = gwt_rng(16);
  const int64_t B = 2, C = 2, R = 3, H = 2, W = 3;
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(B, C * R * R, H, W));
  gw_tensor *y = gw_empty(GW_F32, GW_SHAPE(B, C, H * R, W * R));
  gw_k_pixel_shuffle(x, R, y);
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          for (int64_t i = 0; i < R; i++)
            for (int64_t j = 0; j < R; j++) {
              float got = gw_f32(y)[((b * C + c) * H * R + h * R + i) * W * R + w * R + j];
              float want = gw_f32(x)[((b * C * R * R + (c * R + i) * R + j) * H + h) * W + w];
              cr_assert_eq(got, want, "shuffle b%lld c%lld h%lld w%lld i%lld j%lld", (long long)b,
                           (long long)c, (long long)h, (long long)w, (long long)i, (long long)j);
            }
  gw_tensor *back = gw_empty(GW_F32, x->ndim, x->shape);
  gw_k_pixel_unshuffle(y, R, back);
  gwt_assert_same_bits(back, x, "unshuffle(shuffle(x))");
  gw_tensor *z = gwt_randn(&r, GW_SHAPE(1, 3, 4, 6));
  gw_tensor *zu = gw_empty(GW_F32, GW_SHAPE(1, 12, 2, 3));
  gw_k_pixel_unshuffle(z, 2, zu);
  gw_tensor *zz = gw_empty(GW_F32, z->ndim, z->shape);
  gw_k_pixel_shuffle(zu, 2, zz);
  gwt_assert_same_bits(zz, z, "shuffle(unshuffle(z))");
}

// ---------------------------------------------------------------- pooling and resizing

static void ref_maxpool(const float *x, int64_t planes, const gw_conv_geom *g, float *y,
                        int32_t *arg) {
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        float best = -INFINITY;
        int32_t at = -1;
        for (int64_t kh = 0; kh < g->KH; kh++)
          for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t ih = oh * g->SH - g->PH + kh * g->DH, iw = ow * g->SW - g->PW + kw * g->DW;
            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
            float v = x[(p * g->H + ih) * g->W + iw];
            if (isnan(best)) continue;  // the first NaN is kept
            if (at < 0 || v > best || isnan(v)) {
              best = v;
              at = (int32_t)(ih * g->W + iw);
            }
          }
        y[(p * g->OH + oh) * g->OW + ow] = best;
        arg[(p * g->OH + oh) * g->OW + ow] = at;
      }
}

// count_include_pad: the divisor counts window cells inside the padded input.
static void ref_avgpool(const float *x, int64_t planes, const gw_conv_geom *g, float *y) {
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        double s = 0.0;
        int count = 0;
        for (int64_t kh = 0; kh < g->KH; kh++)
          for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t ih = oh * g->SH - g->PH + kh, iw = ow * g->SW - g->PW + kw;
            if (ih >= -g->PH && ih < g->H + g->PH && iw >= -g->PW && iw < g->W + g->PW) count++;
            if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W) s += x[(p * g->H + ih) * g->W + iw];
          }
        y[(p * g->OH + oh) * g->OW + ow] = (float)(s / count);
      }
}

// Max and average pooling (stride, padding, dilation for max) against plain loops, the
// max pool's argmax and backward (gradient to each window's maximum), and the average
// pool's backward as its adjoint; one case above GW_PARALLEL_MIN.
Test(tensor_kernels, max_and_avg_pool) {
  gw_rng r = gwt_rng(17);
  struct { int64_t planes, H, W, K, S, P, D; } cases[] = {
      {3, 7, 8, 3, 2, 1, 1}, {2, 6, 6, 2, 2, 0, 1}, {2, 9, 7, 3, 1, 1, 2},
      {1, 5, 5, 5, 1, 2, 1}, {64, 32, 32, 2, 2, 0, 1}, {4, 4, 6, 3, 3, 1, 1},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    gw_conv_geom g = {.C = 1, .H = cases[c].H, .W = cases[c].W, .KH = cases[c].K,
                      .KW = cases[c].K, .SH = cases[c].S, .SW = cases[c].S, .PH = cases[c].P,
                      .PW = cases[c].P, .DH = cases[c].D, .DW = cases[c].D};
    gw_conv_geom_init(&g);
    int64_t P = cases[c].planes, xn = P * g.H * g.W, yn = P * g.OH * g.OW;
    float *x = randn_buf(&r, xn);
    for (int64_t i = 0; i < xn; i += 5) x[i] = x[i > 0 ? i - 1 : 0];  // some ties
    float *y = fbuf(yn), *want = fbuf(yn);
    int32_t *arg = ibuf(yn), *warg = ibuf(yn);
    char what[64];
    gw_k_maxpool2d(x, P, &g, y, arg);
    ref_maxpool(x, P, &g, want, warg);
    snprintf(what, sizeof what, "maxpool case %zu", c);
    gwt_assert_close_buf(y, want, yn, 0.0, 0.0, what);
    for (int64_t i = 0; i < yn; i++)
      cr_assert_eq(arg[i], warg[i], "%s: arg[%lld] %d, expected %d", what, (long long)i, arg[i],
                   warg[i]);
    float *dy = randn_buf(&r, yn), *dx = fbuf(xn), *wdx = fbuf(xn);
    for (int64_t i = 0; i < xn; i++) dx[i] = wdx[i] = 1.0f;
    gw_k_maxpool2d_backward(dy, arg, P, &g, dx);
    for (int64_t p = 0; p < P; p++)
      for (int64_t o = 0; o < g.OH * g.OW; o++)
        wdx[p * g.H * g.W + warg[p * g.OH * g.OW + o]] += dy[p * g.OH * g.OW + o];
    snprintf(what, sizeof what, "maxpool backward case %zu", c);
    gwt_assert_close_buf(dx, wdx, xn, 0.0, 0.0, what);

    if (cases[c].D != 1) continue;  // average pooling has no dilation
    gw_k_avgpool2d(x, P, &g, y);
    ref_avgpool(x, P, &g, want);
    snprintf(what, sizeof what, "avgpool case %zu", c);
    gwt_assert_close_buf(y, want, yn, 1e-6, 1e-5, what);
    for (int64_t i = 0; i < xn; i++) dx[i] = 0.0f;
    gw_k_avgpool2d_backward(dy, P, &g, dx);
    snprintf(what, sizeof what, "avgpool adjoint case %zu", c);
    assert_adjoint(dot(y, dy, yn), dot(x, dx, xn), sum_abs(dy, yn) * 4.0, what);
  }
  // NaN in a window wins the max.
  gw_conv_geom g = {.C = 1, .H = 2, .W = 2, .KH = 2, .KW = 2, .SH = 2, .SW = 2};
  gw_conv_geom_init(&g);
  float x[4] = {1, NAN, 5, 2}, y;
  int32_t a;
  gw_k_maxpool2d(x, 1, &g, &y, &a);
  cr_assert(isnan(y) && a == 1, "maxpool: NaN must win (got %g at %d)", y, a);
}

// Adaptive average pooling with PyTorch's bins [floor(i*H/OH), ceil((i+1)*H/OH)), down and
// up (overlapping bins), and its backward as the adjoint.
Test(tensor_kernels, adaptive_avgpool) {
  gw_rng r = gwt_rng(18);
  struct { int64_t planes, H, W, OH, OW; } cases[] = {
      {2, 7, 5, 3, 5}, {3, 4, 4, 6, 3}, {1, 9, 10, 1, 1}, {2, 5, 7, 2, 4}, {40, 40, 40, 7, 7},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t P = cases[c].planes, H = cases[c].H, W = cases[c].W, OH = cases[c].OH,
            OW = cases[c].OW;
    float *x = randn_buf(&r, P * H * W), *y = fbuf(P * OH * OW), *want = fbuf(P * OH * OW);
    gw_k_adaptive_avgpool2d(x, P, H, W, OH, OW, y);
    for (int64_t p = 0; p < P; p++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t h0 = (int64_t)floor((double)oh * H / OH);
          int64_t h1 = (int64_t)ceil((double)(oh + 1) * H / OH);
          int64_t w0 = (int64_t)floor((double)ow * W / OW);
          int64_t w1 = (int64_t)ceil((double)(ow + 1) * W / OW);
          double s = 0.0;
          for (int64_t ih = h0; ih < h1; ih++)
            for (int64_t iw = w0; iw < w1; iw++) s += x[(p * H + ih) * W + iw];
          want[(p * OH + oh) * OW + ow] = (float)(s / (double)((h1 - h0) * (w1 - w0)));
        }
    char what[64];
    snprintf(what, sizeof what, "adaptive_avgpool case %zu", c);
    gwt_assert_close_buf(y, want, P * OH * OW, 1e-6, 1e-5, what);
    float *dy = randn_buf(&r, P * OH * OW), *dx = fbuf(P * H * W);
    memset(dx, 0, (size_t)(P * H * W) * sizeof(float));
    gw_k_adaptive_avgpool2d_backward(dy, P, H, W, OH, OW, dx);
    snprintf(what, sizeof what, "adaptive_avgpool adjoint case %zu", c);
    assert_adjoint(dot(y, dy, P * OH * OW), dot(x, dx, P * H * W), sum_abs(dy, P * OH * OW) * 4,
                   what);
  }
}

// Nearest and bilinear (align_corners=False) resizing against PyTorch's formulas written
// as plain loops, up and down, identity sizes, a 1-pixel input; backward as the adjoint.
Test(tensor_kernels, upsample_nearest_bilinear) {
  gw_rng r = gwt_rng(19);
  struct { int64_t planes, H, W, OH, OW; } cases[] = {
      {2, 4, 5, 7, 10}, {1, 5, 6, 3, 4}, {3, 3, 3, 3, 3}, {1, 1, 1, 4, 3}, {2, 3, 4, 6, 8},
      {16, 32, 32, 64, 64},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t P = cases[c].planes, H = cases[c].H, W = cases[c].W, OH = cases[c].OH,
            OW = cases[c].OW;
    int64_t xn = P * H * W, yn = P * OH * OW;
    float *x = randn_buf(&r, xn), *y = fbuf(yn), *want = fbuf(yn);
    char what[64];
    // nearest: src = min(floor(dst * (in / out)), in - 1), the scale in float as PyTorch has it
    gw_k_upsample_nearest(x, P, H, W, OH, OW, y);
    for (int64_t p = 0; p < P; p++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t ih = (int64_t)floorf((float)oh * ((float)H / (float)OH));
          int64_t iw = (int64_t)floorf((float)ow * ((float)W / (float)OW));
          ih = ih < H - 1 ? ih : H - 1;
          iw = iw < W - 1 ? iw : W - 1;
          want[(p * OH + oh) * OW + ow] = x[(p * H + ih) * W + iw];
        }
    snprintf(what, sizeof what, "upsample_nearest case %zu", c);
    gwt_assert_close_buf(y, want, yn, 0.0, 0.0, what);
    float *dy = randn_buf(&r, yn), *dx = fbuf(xn);
    memset(dx, 0, (size_t)xn * sizeof(float));
    gw_k_upsample_nearest_backward(dy, P, H, W, OH, OW, dx);
    snprintf(what, sizeof what, "upsample_nearest adjoint case %zu", c);
    assert_adjoint(dot(y, dy, yn), dot(x, dx, xn), sum_abs(dy, yn) * 4, what);

    // bilinear: src = max(0, (dst + 0.5) * in / out - 0.5), taps floor(src) and the next
    gw_k_upsample_bilinear(x, P, H, W, OH, OW, y);
    for (int64_t p = 0; p < P; p++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double sh = fmax(0.0, (oh + 0.5) * H / OH - 0.5);
          double sw = fmax(0.0, (ow + 0.5) * W / OW - 0.5);
          int64_t h0 = (int64_t)floor(sh), w0 = (int64_t)floor(sw);
          if (h0 > H - 1) h0 = H - 1;
          if (w0 > W - 1) w0 = W - 1;
          int64_t h1 = h0 + 1 < H ? h0 + 1 : H - 1, w1 = w0 + 1 < W ? w0 + 1 : W - 1;
          double lh = sh - h0, lw = sw - w0;
          const float *xp = x + p * H * W;
          double v = (1 - lh) * ((1 - lw) * xp[h0 * W + w0] + lw * xp[h0 * W + w1]) +
                     lh * ((1 - lw) * xp[h1 * W + w0] + lw * xp[h1 * W + w1]);
          want[(p * OH + oh) * OW + ow] = (float)v;
        }
    snprintf(what, sizeof what, "upsample_bilinear case %zu", c);
    gwt_assert_close_buf(y, want, yn, 1e-5, 1e-5, what);
    if (H == OH && W == OW) gwt_assert_close_buf(y, x, yn, 0.0, 0.0, "bilinear identity size");
    memset(dx, 0, (size_t)xn * sizeof(float));
    gw_k_upsample_bilinear_backward(dy, P, H, W, OH, OW, dx);
    snprintf(what, sizeof what, "upsample_bilinear adjoint case %zu", c);
    assert_adjoint(dot(y, dy, yn), dot(x, dx, xn), sum_abs(dy, yn) * 4, what);
  }
}

// ---------------------------------------------------------------- strided copy and add

// gw_k_add_into accumulates through strided views on both sides, large enough to go
// parallel.
Test(tensor_kernels, add_into_strided) {
  gw_rng r = gwt_rng(20);
  gw_tensor *dst = gw_view_transpose(gwt_randn(&r, GW_SHAPE(300, 200)), 0, 1);  // (200, 300)
  gw_tensor *src = gw_view_slice(gwt_randn(&r, GW_SHAPE(200, 600)), 1, 0, 600, 2);
  gw_tensor *want = gw_clone(dst);
  int64_t idx[2] = {0};
  for (int64_t i = 0; i < 60000; i++) {
    gw_f32(want)[i] += at_bcast(src, 2, idx);
    next_index(2, want->shape, idx);
  }
  gw_k_add_into(dst, src);
  gwt_assert_close(dst, want, 0.0, 0.0, "add_into transposed += stepped");
}
