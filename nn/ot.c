#include "nn/ot.h"

#include <math.h>

#include "nn/functional.h"

gw_tensor *gw_ot_cosine_cost(gw_tensor *x, gw_tensor *y, float ratio) {
  GW_CHECK(x->ndim == 3 && y->ndim == 3 && x->shape[0] == y->shape[0] && x->shape[2] == y->shape[2],
           "ot cost: x %s and y %s should be (B, n, d) and (B, m, d)", gw_shape_str(x),
           gw_shape_str(y));
  gw_tensor *c = gw_add_scalar(gw_neg(gw_cosine_matrix(x, y)), 1.0f);  // 1 - cos
  if (ratio < 0.0f) return c;
  gw_tensor *lo = gw_min_all(c), *hi = gw_max_all(c);
  gw_tensor *t = gw_add(lo, gw_mul_scalar(gw_sub(hi, lo), ratio));
  return gw_relu(gw_sub(c, t));
}

static void check_cost(const char *op, const gw_tensor *C) {
  GW_CHECK(C->ndim == 3, "%s: the cost should be (B, n, m), got %s", op, gw_shape_str(C));
}

gw_tensor *gw_ot_ipot(gw_tensor *C, float beta, int iters) {
  check_cost("ipot", C);
  GW_CHECK(beta > 0.0f && iters >= 1, "ipot: beta %g and %d iterations", beta, iters);
  int64_t B = C->shape[0], n = C->shape[1], m = C->shape[2];
  gw_tensor *A = gw_exp(gw_mul_scalar(C, -1.0f / beta));
  gw_tensor *T = gw_full(1.0f, GW_SHAPE(B, n, m));
  gw_tensor *sigma = gw_full(1.0f / (float)m, GW_SHAPE(B, m, 1));
  for (int it = 0; it < iters; it++) {
    gw_tensor *Q = gw_mul(A, T);
    gw_tensor *delta = gw_div(gw_scalar(1.0f), gw_mul_scalar(gw_matmul(Q, sigma), (float)n));  // (B,n,1)
    sigma = gw_div(gw_scalar(1.0f),
                   gw_mul_scalar(gw_matmul(gw_transpose(Q, 1, 2), delta), (float)m));       // (B,m,1)
    T = gw_mul(gw_mul(delta, Q), gw_transpose(sigma, 1, 2));
  }
  return T;
}

gw_tensor *gw_ot_sinkhorn_log(gw_tensor *C, float eps, int iters) {
  check_cost("sinkhorn", C);
  GW_CHECK(eps > 0.0f && iters >= 1, "sinkhorn: eps %g and %d iterations", eps, iters);
  int64_t B = C->shape[0], n = C->shape[1], m = C->shape[2];
  float log_a = -logf((float)n), log_b = -logf((float)m);
  gw_tensor *nC = gw_mul_scalar(C, -1.0f / eps);  // -C / eps
  gw_tensor *f = gw_zeros(GW_F32, GW_SHAPE(B, n, 1)), *g = gw_zeros(GW_F32, GW_SHAPE(B, 1, m));
  // f and g are kept divided by eps: f~ = f / eps
  for (int it = 0; it < iters; it++) {
    f = gw_sub(gw_scalar(log_a), gw_logsumexp(gw_add(nC, g), 2, true));  // (B, n, 1)
    g = gw_sub(gw_scalar(log_b), gw_logsumexp(gw_add(nC, f), 1, true));  // (B, 1, m)
  }
  return gw_exp(gw_add(gw_add(nC, f), g));
}

gw_tensor *gw_ot_wasserstein(gw_tensor *C, float beta, int iters) {
  gw_tensor *T = gw_ot_ipot(C, beta, iters);
  return gw_sum(gw_mul(C, T), 2, (int[]){1, 2}, false);
}

gw_tensor *gw_ot_gromov_wasserstein(gw_tensor *x, gw_tensor *y, float ratio, float beta, int outer,
                                    int inner) {
  GW_CHECK(x->ndim == 3 && y->ndim == 3 && x->shape[0] == y->shape[0] && x->shape[2] == y->shape[2],
           "gromov_wasserstein: x %s and y %s should be (B, n, d) and (B, m, d)", gw_shape_str(x),
           gw_shape_str(y));
  int64_t B = x->shape[0], n = x->shape[1], m = y->shape[1];
  gw_tensor *Cs = gw_ot_cosine_cost(x, x, ratio);  // (B, n, n)
  gw_tensor *Ct = gw_ot_cosine_cost(y, y, ratio);  // (B, m, m)
  gw_tensor *p = gw_full(1.0f / (float)n, GW_SHAPE(B, n, 1));
  gw_tensor *q = gw_full(1.0f / (float)m, GW_SHAPE(B, m, 1));
  // Cst = (Cs*Cs) p 1_m^T + 1_n q^T (Ct*Ct)^T: a column plus a row, broadcast to (B, n, m)
  gw_tensor *col = gw_matmul(gw_mul(Cs, Cs), p);                                       // (B, n, 1)
  gw_tensor *row = gw_matmul(gw_transpose(q, 1, 2), gw_transpose(gw_mul(Ct, Ct), 1, 2));  // (B, 1, m)
  gw_tensor *Cst = gw_add(col, row);
  gw_tensor *CtT = gw_transpose(Ct, 1, 2);
  // the transport plan, found without gradient
  bool prev = gw_no_grad_begin();
  gw_tensor *gamma = gw_matmul(p, gw_transpose(q, 1, 2));  // (B, n, m)
  for (int k = 0; k < outer; k++) {
    gw_tensor *Cg = gw_sub(Cst, gw_mul_scalar(gw_matmul(gw_matmul(Cs, gamma), CtT), 2.0f));
    gamma = gw_ot_ipot(Cg, beta, inner);
  }
  gw_no_grad_end(prev);
  gamma = gw_detach(gamma);
  gw_tensor *Cg = gw_sub(Cst, gw_mul_scalar(gw_matmul(gw_matmul(Cs, gamma), CtT), 2.0f));
  return gw_sum(gw_mul(Cg, gamma), 2, (int[]){1, 2}, false);
}
