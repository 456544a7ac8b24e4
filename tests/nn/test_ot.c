// Optimal transport: IPOT and log-domain Sinkhorn plans meet the uniform marginals and
// approach the exact plan where it is known; gradients of the unrolled iterations, of the
// Wasserstein distance and of the thresholded cosine cost match finite differences; the
// Gromov-Wasserstein distance equals an independent double-precision computation and its
// gradient is that of sum(C_gamma(x, y) * gamma) with the plan gamma held constant.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "testutil.h"

TestSuite(nn_ot, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

// Row sums of T (B, n, m) must be 1/n and column sums 1/m, entries >= 0.
static void assert_marginals(const char *what, const gw_tensor *plan, double row_tol,
                             double col_tol) {
  gw_tensor *t = gw_contiguous(plan);
  int64_t B = t->shape[0], n = t->shape[1], m = t->shape[2];
  const float *p = gw_f32(t);
  for (int64_t b = 0; b < B; b++) {
    for (int64_t i = 0; i < n; i++) {
      double s = 0.0;
      for (int64_t j = 0; j < m; j++) {
        cr_assert(p[(b * n + i) * m + j] >= 0.0f, "%s: negative entry", what);
        s += p[(b * n + i) * m + j];
      }
      cr_assert(fabs(s - 1.0 / n) <= row_tol, "%s: row %lld of sample %lld sums to %.8f, want %.8f",
                what, (long long)i, (long long)b, s, 1.0 / n);
    }
    for (int64_t j = 0; j < m; j++) {
      double s = 0.0;
      for (int64_t i = 0; i < n; i++) s += p[(b * n + i) * m + j];
      cr_assert(fabs(s - 1.0 / m) <= col_tol, "%s: column %lld of sample %lld sums to %.8f, want "
                "%.8f", what, (long long)j, (long long)b, s, 1.0 / m);
    }
  }
}

// IPOT's plan meets both marginals after enough iterations (the columns exactly after every
// iteration, since sigma is updated last).
Test(nn_ot, ipot_marginals) {
  gw_rng r = gwt_rng(1);
  gw_tensor *C = gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(2, 3, 4));
  assert_marginals("ipot, 1 iteration (columns)", gw_ot_ipot(C, 0.5f, 1), 1.0, 1e-6);
  assert_marginals("ipot, 200 iterations", gw_ot_ipot(C, 0.5f, 200), 1e-5, 1e-6);
  gw_tensor *C2 = gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(1, 5, 2));
  assert_marginals("ipot n > m", gw_ot_ipot(C2, 0.3f, 200), 1e-5, 1e-6);
}

// Log-domain Sinkhorn meets both marginals, also with a small eps where plain Sinkhorn would
// underflow (exp(-1 / 0.002) = 0 in float).
Test(nn_ot, sinkhorn_marginals) {
  gw_rng r = gwt_rng(2);
  gw_tensor *C = gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(2, 3, 4));
  assert_marginals("sinkhorn eps 0.1", gw_ot_sinkhorn_log(C, 0.1f, 200), 1e-5, 1e-6);
  gw_tensor *C2 = gw_mul_scalar(C, 1.0f);
  gw_tensor *T = gw_ot_sinkhorn_log(C2, 0.002f, 500);
  for (int64_t i = 0; i < gw_numel(T); i++) cr_assert(isfinite(gw_f32(T)[i]), "non-finite plan");
  assert_marginals("sinkhorn eps 0.002", T, 1e-4, 1e-6);
}

// For a cost that is 0 on a permutation and 1 elsewhere the exact plan is the permutation / n;
// both IPOT and Sinkhorn (small eps) converge to it, and the Wasserstein distance to 0.
Test(nn_ot, permutation_cost_exact_plan) {
  const int n = 4;
  int perm[2][4] = {{2, 0, 3, 1}, {1, 3, 0, 2}};
  gw_tensor *C = gw_full(1.0f, GW_SHAPE(2, n, n));
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < n; i++) gw_f32(C)[(b * n + perm[b][i]) * n + i] = 0.0f;  // col i: row perm
  gw_tensor *plans[2] = {gw_ot_ipot(C, 0.5f, 50), gw_ot_sinkhorn_log(C, 0.02f, 50)};
  const char *names[2] = {"ipot", "sinkhorn"};
  for (int k = 0; k < 2; k++) {
    gw_tensor *T = gw_contiguous(plans[k]);
    for (int b = 0; b < 2; b++)
      for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
          float want = perm[b][j] == i ? 0.25f : 0.0f;
          float got = gw_f32(T)[(b * n + i) * n + j];
          cr_assert(fabsf(got - want) < 1e-5f, "%s: plan[%d, %d, %d] = %g, want %g", names[k], b, i,
                    j, got, want);
        }
  }
  gw_tensor *w = gw_ot_wasserstein(C, 0.5f, 50);
  cr_assert(w->ndim == 1 && w->shape[0] == 2, "wasserstein shape %s", gw_shape_str(w));
  for (int b = 0; b < 2; b++) cr_assert(fabsf(gw_f32(w)[b]) < 1e-5f, "distance %g", gw_f32(w)[b]);
}

// The best assignment of a 4x4 cost (rows to columns) by trying all 24 permutations (Heap's
// algorithm); *best_cost its cost and *second the next best.
static void find_assignment(const float *c, int best[4], double *best_cost, double *second) {
  const int n = 4;
  int p[4] = {0, 1, 2, 3}, cnt[4] = {0};
  for (int k = 0;;) {
    double cost = 0.0;
    for (int i = 0; i < n; i++) cost += c[i * n + p[i]];
    if (cost < *best_cost) {
      *second = *best_cost;
      *best_cost = cost;
      memcpy(best, p, sizeof p);
    } else if (cost < *second) {
      *second = cost;
    }
    while (k < n && cnt[k] >= k) cnt[k++] = 0;
    if (k >= n) break;
    int j = k % 2 ? cnt[k] : 0, tmp = p[j];
    p[j] = p[k];
    p[k] = tmp;
    cnt[k]++;
    k = 1;
  }
}

// A random 4x4 cost whose optimal assignment (found by trying all 24 permutations) wins by a
// clear margin: IPOT approaches the exact plan (unlike entropic OT it has no blur) and the
// Wasserstein distance approaches the optimal cost; Sinkhorn with a small eps does too.
Test(nn_ot, random_cost_exact_plan) {
  const int n = 4;
  gw_rng r = gwt_rng(3);
  gw_tensor *C;
  int best[4];
  double best_cost, second;
  // draw costs until one has a clear optimum (deterministic: the stream is seeded)
  for (int tries = 0; tries < 50; tries++) {
    C = gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(1, n, n));
    best_cost = second = INFINITY;
    find_assignment(gw_f32(C), best, &best_cost, &second);
    if (second - best_cost > 0.05) break;
  }
  cr_assert(second - best_cost > 0.05, "the test needs a clear optimum (margin %g)",
            second - best_cost);
  gw_tensor *plans[2] = {gw_ot_ipot(C, 0.1f, 300), gw_ot_sinkhorn_log(C, 0.005f, 500)};
  const char *names[2] = {"ipot", "sinkhorn"};
  for (int k = 0; k < 2; k++) {
    gw_tensor *T = gw_contiguous(plans[k]);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        float want = best[i] == j ? 0.25f : 0.0f, got = gw_f32(T)[i * n + j];
        cr_assert(fabsf(got - want) < 1e-3f, "%s: plan[%d, %d] = %g, want %g", names[k], i, j, got,
                  want);
      }
  }
  float w = gw_item(gw_ot_wasserstein(C, 0.1f, 300));
  cr_assert(fabs(w - best_cost / n) < 1e-4, "wasserstein %g, exact %g", w, best_cost / n);
}

// ---- gradient checks (B = 2, n = 3, m = 4) ----

typedef struct ot_ctx {
  float a;  // beta, eps or threshold ratio
  int iters;
} ot_ctx;

static gw_tensor *f_ipot(gw_tensor *const *in, void *c) {
  ot_ctx *o = c;
  return gw_ot_ipot(in[0], o->a, o->iters);
}

static gw_tensor *f_sinkhorn(gw_tensor *const *in, void *c) {
  ot_ctx *o = c;
  return gw_ot_sinkhorn_log(in[0], o->a, o->iters);
}

static gw_tensor *f_wasserstein(gw_tensor *const *in, void *c) {
  ot_ctx *o = c;
  return gw_ot_wasserstein(in[0], o->a, o->iters);
}

static gw_tensor *f_cosine(gw_tensor *const *in, void *c) {
  return gw_ot_cosine_cost(in[0], in[1], ((ot_ctx *)c)->a);
}

// The plan's gradient flows through all unrolled IPOT iterations.
Test(nn_ot, ipot_gradcheck) {
  gw_rng r = gwt_rng(10);
  gw_tensor *C = gwt_leaf(gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(2, 3, 4)));
  ot_ctx c = {0.5f, 10};
  gwt_gradcheck("ipot", f_ipot, &c, 1, &C, 3e-3, 1e-4, GWT_RTOL);
}

// The plan's gradient through the log-domain Sinkhorn iterations.
Test(nn_ot, sinkhorn_gradcheck) {
  gw_rng r = gwt_rng(11);
  gw_tensor *C = gwt_leaf(gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(2, 3, 4)));
  ot_ctx c = {0.5f, 10};
  gwt_gradcheck("sinkhorn", f_sinkhorn, &c, 1, &C, GWT_EPS, 1e-4, GWT_RTOL);
  c.a = 0.1f;
  gwt_gradcheck("sinkhorn small eps", f_sinkhorn, &c, 1, &C, 1e-3, 1e-4, GWT_RTOL);
}

// The Wasserstein distance's gradient reaches the cost directly and through the plan.
Test(nn_ot, wasserstein_gradcheck) {
  gw_rng r = gwt_rng(12);
  gw_tensor *C = gwt_leaf(gwt_uniform(&r, 0.0f, 1.0f, GW_SHAPE(2, 3, 4)));
  ot_ctx c = {0.5f, 10};
  gwt_gradcheck("wasserstein", f_wasserstein, &c, 1, &C, GWT_EPS, GWT_ATOL, GWT_RTOL);
  // through the plan: the gradient is not just the plan itself (d/dC sum(C * T) = T + ...)
  gw_tensor *T = gw_ot_ipot(C, 0.5f, 10);
  gw_zero_grad(C);
  gw_backward(gw_sum_all(gw_ot_wasserstein(C, 0.5f, 10)));
  double diff = 0.0;
  for (int64_t i = 0; i < 24; i++) diff = fmax(diff, fabs(gw_f32(C->grad)[i] - gw_f32(T)[i]));
  cr_assert(diff > 1e-3, "the gradient equals the plan: nothing flowed through the iterations");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// The cosine cost 1 - cos(x_i, y_j) and its threshold relu(C - t), t = min + ratio (max - min)
// over the batch: values against a direct double computation, and gradients with the
// threshold put in the middle of the widest gap between cost values (away from the relu's
// kink) and with a unique minimum and maximum.
Test(nn_ot, cosine_cost_values_and_gradcheck) {
  gw_rng r = gwt_rng(13);
  const int B = 2, n = 3, m = 4, d = 5;
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, n, d)));
  gw_tensor *y = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, m, d)));
  double cost[24], sorted[24];
  for (int b = 0; b < B; b++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < m; j++) {
        const float *xi = gw_f32(x) + (b * n + i) * d, *yj = gw_f32(y) + (b * m + j) * d;
        double dot = 0, nx = 0, ny = 0;
        for (int k = 0; k < d; k++) {
          dot += (double)xi[k] * yj[k];
          nx += (double)xi[k] * xi[k];
          ny += (double)yj[k] * yj[k];
        }
        cost[(b * n + i) * m + j] = 1.0 - dot / (sqrt(nx) * sqrt(ny));
      }
  memcpy(sorted, cost, sizeof cost);
  qsort(sorted, 24, sizeof(double), cmp_double);
  cr_assert(sorted[1] - sorted[0] > 0.02 && sorted[23] - sorted[22] > 0.02,
            "the test needs a unique min and max");
  int gap = 1;
  for (int k = 1; k < 22; k++)
    if (sorted[k + 1] - sorted[k] > sorted[gap + 1] - sorted[gap]) gap = k;
  double t = 0.5 * (sorted[gap] + sorted[gap + 1]);
  cr_assert(sorted[gap + 1] - sorted[gap] > 0.05, "widest gap %g", sorted[gap + 1] - sorted[gap]);
  float ratio = (float)((t - sorted[0]) / (sorted[23] - sorted[0]));
  // values
  gw_tensor *raw = gw_contiguous(gw_ot_cosine_cost(x, y, -1.0f));
  gw_tensor *thr = gw_contiguous(gw_ot_cosine_cost(x, y, ratio));
  cr_assert(thr->ndim == 3 && thr->shape[0] == B && thr->shape[1] == n && thr->shape[2] == m);
  double tt = sorted[0] + ratio * (sorted[23] - sorted[0]);
  for (int k = 0; k < 24; k++) {
    cr_assert(fabs(gw_f32(raw)[k] - cost[k]) < 1e-6, "cost %d: %g, want %g", k, gw_f32(raw)[k],
              cost[k]);
    double want = fmax(cost[k] - tt, 0.0);
    cr_assert(fabs(gw_f32(thr)[k] - want) < 1e-6, "thresholded cost %d: %g, want %g", k,
              gw_f32(thr)[k], want);
  }
  gw_tensor *ins[2] = {x, y};
  ot_ctx c = {-1.0f, 0};
  gwt_gradcheck("cosine cost", f_cosine, &c, 2, ins, 1e-3, GWT_ATOL, GWT_RTOL);
  c.a = ratio;
  gwt_gradcheck("cosine cost thresholded", f_cosine, &c, 2, ins, 1e-3, GWT_ATOL, GWT_RTOL);
}

// ---- Gromov-Wasserstein, recomputed in double ----

enum { GB = 2, GN = 3, GM = 4, GD = 5 };

// Thresholded cosine cost of a (B, k, d) set with itself, in double (ratio < 0: no threshold).
static void cost_self(const double *x, int k, double ratio, double *C) {
  for (int b = 0; b < GB; b++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        const double *xi = x + (b * k + i) * GD, *xj = x + (b * k + j) * GD;
        double dot = 0, ni = 0, nj = 0;
        for (int e = 0; e < GD; e++) {
          dot += xi[e] * xj[e];
          ni += xi[e] * xi[e];
          nj += xj[e] * xj[e];
        }
        C[(b * k + i) * k + j] = 1.0 - dot / ((sqrt(ni) + 1e-12) * (sqrt(nj) + 1e-12));
      }
  if (ratio < 0) return;
  int total = GB * k * k;
  double lo = INFINITY, hi = -INFINITY;
  for (int e = 0; e < total; e++) {
    lo = fmin(lo, C[e]);
    hi = fmax(hi, C[e]);
  }
  double t = lo + ratio * (hi - lo);
  for (int e = 0; e < total; e++) C[e] = fmax(C[e] - t, 0.0);
}

// C_gamma = Cst - 2 Cs gamma Ct^T with Cst_ij = sum_k Cs_ik^2 / n + sum_k Ct_jk^2 / m, per sample.
static void cost_gamma(const double *Cs, const double *Ct, const double *gamma, double *Cg) {
  for (int b = 0; b < GB; b++) {
    const double *cs = Cs + b * GN * GN, *ct = Ct + b * GM * GM, *g = gamma + b * GN * GM;
    for (int i = 0; i < GN; i++)
      for (int j = 0; j < GM; j++) {
        double v = 0.0;
        for (int k = 0; k < GN; k++) v += cs[i * GN + k] * cs[i * GN + k] / GN;
        for (int k = 0; k < GM; k++) v += ct[j * GM + k] * ct[j * GM + k] / GM;
        double cross = 0.0;
        for (int k = 0; k < GN; k++)
          for (int l = 0; l < GM; l++) cross += cs[i * GN + k] * g[k * GM + l] * ct[j * GM + l];
        Cg[(b * GN + i) * GM + j] = v - 2.0 * cross;
      }
  }
}

// IPOT in double, as documented in nn/ot.h.
static void ipot_double(const double *C, double beta, int iters, double *T) {
  for (int b = 0; b < GB; b++) {
    const double *c = C + b * GN * GM;
    double *t = T + b * GN * GM, A[GN * GM], Q[GN * GM], delta[GN], sigma[GM];
    for (int e = 0; e < GN * GM; e++) {
      A[e] = exp(-c[e] / beta);
      t[e] = 1.0;
    }
    for (int j = 0; j < GM; j++) sigma[j] = 1.0 / GM;
    for (int it = 0; it < iters; it++) {
      for (int e = 0; e < GN * GM; e++) Q[e] = A[e] * t[e];
      for (int i = 0; i < GN; i++) {
        double s = 0;
        for (int j = 0; j < GM; j++) s += Q[i * GM + j] * sigma[j];
        delta[i] = 1.0 / (GN * s);
      }
      for (int j = 0; j < GM; j++) {
        double s = 0;
        for (int i = 0; i < GN; i++) s += Q[i * GM + j] * delta[i];
        sigma[j] = 1.0 / (GM * s);
      }
      for (int i = 0; i < GN; i++)
        for (int j = 0; j < GM; j++) t[i * GM + j] = delta[i] * Q[i * GM + j] * sigma[j];
    }
  }
}

typedef struct gw_params {
  double ratio, beta;
  int outer, inner;
} gw_params;

// The plan: gamma = p q^T, then `outer` times gamma = IPOT(C_gamma(gamma)).
static void gw_plan(const double *x, const double *y, gw_params g, double *gamma) {
  double Cs[GB * GN * GN], Ct[GB * GM * GM], Cg[GB * GN * GM];
  cost_self(x, GN, g.ratio, Cs);
  cost_self(y, GM, g.ratio, Ct);
  for (int e = 0; e < GB * GN * GM; e++) gamma[e] = 1.0 / (GN * GM);
  for (int k = 0; k < g.outer; k++) {
    cost_gamma(Cs, Ct, gamma, Cg);
    ipot_double(Cg, g.beta, g.inner, gamma);
  }
}

// sum_ij C_gamma(x, y)_ij gamma_ij per sample, for a given (fixed) gamma.
static void gw_fixed(const double *x, const double *y, gw_params g, const double *gamma,
                     double *out) {
  double Cs[GB * GN * GN], Ct[GB * GM * GM], Cg[GB * GN * GM];
  cost_self(x, GN, g.ratio, Cs);
  cost_self(y, GM, g.ratio, Ct);
  cost_gamma(Cs, Ct, gamma, Cg);
  for (int b = 0; b < GB; b++) {
    out[b] = 0.0;
    for (int e = 0; e < GN * GM; e++) out[b] += Cg[b * GN * GM + e] * gamma[b * GN * GM + e];
  }
}

// The smallest |C - t| over the off-diagonal entries of a self cost before thresholding: the
// distance of the relu's kink from the test point.
static double kink_margin(const double *x, int k, double ratio) {
  double C[GB * GM * GM];
  cost_self(x, k, -1.0, C);
  double lo = INFINITY, hi = -INFINITY, margin = INFINITY;
  for (int e = 0; e < GB * k * k; e++) {
    lo = fmin(lo, C[e]);
    hi = fmax(hi, C[e]);
  }
  double t = lo + ratio * (hi - lo);
  for (int b = 0; b < GB; b++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++)
        if (i != j) margin = fmin(margin, fabs(C[(b * k + i) * k + j] - t));
  return margin;
}

// The distance equals the double-precision recomputation, and its gradient wrt x and y is
// the gradient of sum(C_gamma(x, y) * gamma) with gamma fixed at the plan of the unperturbed
// inputs (the documented behaviour: the plan is held constant, as VoLTA's detach does),
// checked against central differences in double.
Test(nn_ot, gromov_wasserstein_fixed_plan_gradient) {
  gw_params g = {0.1, 0.1, 5, 20};
  gw_rng r = gwt_rng(14);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(GB, GN, GD)));
  gw_tensor *y = gwt_leaf(gwt_randn(&r, GW_SHAPE(GB, GM, GD)));
  double xd[GB * GN * GD], yd[GB * GM * GD];
  for (int e = 0; e < GB * GN * GD; e++) xd[e] = gw_f32(x)[e];
  for (int e = 0; e < GB * GM * GD; e++) yd[e] = gw_f32(y)[e];
  double mx = kink_margin(xd, GN, g.ratio), my = kink_margin(yd, GM, g.ratio);
  cr_assert(mx > 1e-3 && my > 1e-3, "cost values too close to the threshold (%g, %g)", mx, my);
  double gamma[GB * GN * GM], want[GB];
  gw_plan(xd, yd, g, gamma);
  gw_fixed(xd, yd, g, gamma, want);
  gw_tensor *gwd = gw_ot_gromov_wasserstein(x, y, (float)g.ratio, (float)g.beta, g.outer, g.inner);
  cr_assert(gwd->ndim == 1 && gwd->shape[0] == GB, "shape %s", gw_shape_str(gwd));
  for (int b = 0; b < GB; b++)
    cr_assert(fabs(gw_f32(gwd)[b] - want[b]) < 1e-5 + 1e-4 * fabs(want[b]),
              "GWD of sample %d: %.8g, want %.8g", b, gw_f32(gwd)[b], want[b]);
  // analytic gradient of sum(w * GWD)
  double wts[GB] = {0.7, -1.3};
  gw_tensor *w = gw_from_floats((float[]){0.7f, -1.3f}, 2, GW_SHAPE(2));
  gw_backward(gw_sum_all(gw_mul(gwd, w)));
  cr_assert(x->grad && y->grad);
  // central differences in double of sum(w * fixed-plan GWD)
  const double h = 1e-6;
  double *vars[2] = {xd, yd};
  gw_tensor *leaves[2] = {x, y};
  int counts[2] = {GB * GN * GD, GB * GM * GD};
  double worst = 0.0, scale = 0.0;
  for (int v = 0; v < 2; v++)
    for (int e = 0; e < counts[v]; e++) {
      double keep = vars[v][e], out[GB], up = 0.0, down = 0.0;
      vars[v][e] = keep + h;
      gw_fixed(xd, yd, g, gamma, out);
      for (int b = 0; b < GB; b++) up += wts[b] * out[b];
      vars[v][e] = keep - h;
      gw_fixed(xd, yd, g, gamma, out);
      for (int b = 0; b < GB; b++) down += wts[b] * out[b];
      vars[v][e] = keep;
      double numeric = (up - down) / (2 * h), analytic = gw_f32(leaves[v]->grad)[e];
      scale = fmax(scale, fabs(numeric));
      cr_assert(fabs(analytic - numeric) < 1e-4 + 1e-3 * fabs(numeric),
                "d GWD / d %s[%d]: analytic %.7g, fixed-plan finite difference %.7g",
                v ? "y" : "x", e, analytic, numeric);
      worst = fmax(worst, fabs(analytic - numeric));
    }
  cr_assert(scale > 1e-2, "the gradient is too small to test anything (%g)", scale);
  cr_log_info("gromov-wasserstein: worst gradient error %.3g (largest gradient %.3g)", worst,
              scale);
}

// Misuse names the op and the shapes.
Test(nn_ot, errors) {
  gw_tensor *C = gw_zeros(GW_F32, GW_SHAPE(3, 4));
  GWT_EXPECT_ERROR(gw_ot_ipot(C, 0.5f, 5), "ipot");
  GWT_EXPECT_ERROR(gw_ot_sinkhorn_log(C, 0.5f, 5), "sinkhorn");
  GWT_EXPECT_ERROR(gw_ot_ipot(gw_zeros(GW_F32, GW_SHAPE(1, 3, 4)), 0.0f, 5), "beta");
  GWT_EXPECT_ERROR(gw_ot_cosine_cost(gw_zeros(GW_F32, GW_SHAPE(1, 3, 4)),
                                     gw_zeros(GW_F32, GW_SHAPE(1, 3, 5)), 0.1f), "ot cost");
}
