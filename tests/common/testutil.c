#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

_Thread_local jmp_buf *gwt_error_jump;

static void jump_on_error(const char *message) {
  (void)message;
  if (gwt_error_jump) longjmp(*gwt_error_jump, 1);
  // Not expecting an error: let gw_fatal print it and stop the test.
}

static int threads_at_setup;

void gwt_setup(void) {
  gw_init();
  gw_set_error_handler(jump_on_error);
  threads_at_setup = gw_get_threads();
}

void gwt_teardown(void) {
  gw_set_threads(threads_at_setup);  // a test that changes the thread count leaves none behind
  gw_shutdown();
}

void gwt_expect_error_failed(const char *stmt, const char *want, bool raised) {
  if (!raised)
    cr_assert_fail("expected `%s` to stop with an error containing \"%s\", but it returned", stmt,
                   want);
  else
    cr_assert_fail("`%s` stopped with \"%s\", which does not contain \"%s\"", stmt, gw_last_error(),
                   want);
}

gw_rng gwt_rng(uint64_t seed) { return gw_rng_stream(seed, "test"); }

gw_tensor *gwt_randn(gw_rng *r, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  gw_rng_normal(r, gw_f32(t), gw_numel(t), 0.0f, 1.0f);
  return t;
}

gw_tensor *gwt_uniform(gw_rng *r, float lo, float hi, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  gw_rng_uniform(r, gw_f32(t), gw_numel(t), lo, hi);
  return t;
}

gw_tensor *gwt_randint(gw_rng *r, int64_t n, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_I32, ndim, shape);
  for (int64_t i = 0; i < gw_numel(t); i++) gw_i32(t)[i] = (int32_t)gw_rng_below(r, (uint64_t)n);
  return t;
}

gw_tensor *gwt_leaf(gw_tensor *t) {
  gw_tensor *c = gw_clone(t);
  gw_set_requires_grad(c, true);
  return c;
}

void gwt_assert_close_buf(const float *a, const float *b, int64_t n, double atol, double rtol,
                          const char *what) {
  int64_t worst = -1;
  double worst_excess = 0.0;
  int64_t bad = 0;
  for (int64_t i = 0; i < n; i++) {
    double diff = fabs((double)a[i] - (double)b[i]);
    double allowed = atol + rtol * fabs((double)b[i]);
    bool nan_mismatch = isnan(a[i]) != isnan(b[i]);
    if (diff > allowed || nan_mismatch || (isnan(diff) && !(isnan(a[i]) && isnan(b[i])) &&
                                           !(isinf(a[i]) && a[i] == b[i]))) {
      bad++;
      double excess = nan_mismatch || isnan(diff) ? INFINITY : diff - allowed;
      if (worst < 0 || excess > worst_excess) {
        worst = i;
        worst_excess = excess;
      }
    }
  }
  if (bad)
    cr_assert_fail("%s: %lld of %lld elements differ; worst at flat index %lld: got %.8g, expected "
                   "%.8g (|diff| %.3g, allowed %.3g = atol %.1g + rtol %.1g * |expected|)",
                   what, (long long)bad, (long long)n, (long long)worst, a[worst], b[worst],
                   fabs((double)a[worst] - (double)b[worst]), atol + rtol * fabs((double)b[worst]),
                   atol, rtol);
}

void gwt_assert_close(const gw_tensor *actual, const gw_tensor *expected, double atol, double rtol,
                      const char *what) {
  cr_assert(gw_same_shape(actual, expected), "%s: shape %s, expected %s", what,
            gw_shape_str(actual), gw_shape_str(expected));
  gw_tensor *a = gw_contiguous(actual), *b = gw_contiguous(expected);
  gwt_assert_close_buf(gw_f32(a), gw_f32(b), gw_numel(a), atol, rtol, what);
}

void gwt_assert_same_bits(const gw_tensor *a, const gw_tensor *b, const char *what) {
  cr_assert(gw_same_shape(a, b), "%s: shape %s vs %s", what, gw_shape_str(a), gw_shape_str(b));
  gw_tensor *ca = gw_contiguous(a), *cb = gw_contiguous(b);
  int64_t n = gw_numel(ca);
  for (int64_t i = 0; i < n; i++)
    if (memcmp(gw_f32(ca) + i, gw_f32(cb) + i, sizeof(float)) != 0)
      cr_assert_fail("%s: the bits differ first at flat index %lld: %.9g vs %.9g", what,
                     (long long)i, gw_f32(ca)[i], gw_f32(cb)[i]);
}

// L = sum(w * f(inputs)) in double, without recording
static double weighted_sum(gwt_fn f, void *ctx, gw_tensor *const *inputs, const gw_tensor *w) {
  gw_arena *a = gw_arena_current();
  gw_arena_mark m = gw_arena_get_mark(a);
  bool prev = gw_no_grad_begin();
  gw_tensor *y = gw_contiguous(f(inputs, ctx));
  gw_no_grad_end(prev);
  double s = 0.0;
  const float *py = gw_f32(y), *pw = gw_f32(w);
  for (int64_t i = 0; i < gw_numel(y); i++) s += (double)pw[i] * (double)py[i];
  gw_arena_rewind(a, m);
  return s;
}

void gwt_gradcheck(const char *name, gwt_fn f, void *ctx, int n, gw_tensor *const *inputs,
                   double eps, double atol, double rtol) {
  gw_rng r = gw_rng_stream(12345, name);
  for (int i = 0; i < n; i++)
    if (inputs[i] && inputs[i]->requires_grad) gw_zero_grad(inputs[i]);
  gw_tensor *y = f(inputs, ctx);
  gw_tensor *w = gwt_randn(&r, y->ndim, y->shape);
  gw_tensor *loss = gw_sum_all(gw_mul(y, w));
  gw_backward(loss);
  bool checked = false;
  for (int i = 0; i < n; i++) {
    gw_tensor *x = inputs[i];
    if (!x || !x->requires_grad) continue;
    checked = true;
    cr_assert(x->grad, "%s: input %d got no gradient", name, i);
    cr_assert(gw_is_contiguous(x), "%s: gradcheck inputs must be contiguous", name);
    int64_t count = gw_numel(x);
    gw_tensor *numeric = gw_empty(GW_F32, x->ndim, x->shape);
    float *px = gw_f32(x);
    for (int64_t j = 0; j < count; j++) {
      float keep = px[j];
      px[j] = keep + (float)eps;
      double up = weighted_sum(f, ctx, inputs, w);
      px[j] = keep - (float)eps;
      double down = weighted_sum(f, ctx, inputs, w);
      px[j] = keep;
      gw_f32(numeric)[j] = (float)((up - down) / (2.0 * eps));
    }
    char what[160];
    snprintf(what, sizeof what, "%s: gradient of input %d %s (analytic vs finite differences)", name,
             i, gw_shape_str(x));
    gwt_assert_close(x->grad, numeric, atol, rtol, what);
  }
  cr_assert(checked, "%s: no input requires a gradient, nothing was checked", name);
}
