// Batch normalisation as one node: x (B, C) or (B, C, spatial...), statistics per channel.
//
// Training: normalise with the batch's mean and biased variance, and move the running
// statistics towards the batch's (mean, unbiased variance) by `momentum`, as PyTorch does.
// Evaluation: normalise with the running statistics. The formulas are in
// tensor/kernels/batchnorm.c.
#include <math.h>

#include "autograd/op.h"

static void dims_of(const gw_tensor *x, int64_t *B, int64_t *C, int64_t *S) {
  *B = x->shape[0];
  *C = x->shape[1];
  *S = 1;
  for (int d = 2; d < x->ndim; d++) *S *= x->shape[d];
}

static void batchnorm_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
  gw_tensor *xc = n->saved[0], *mean = n->saved[1], *rstd = n->saved[2];
  int64_t B, C, S;
  dims_of(x, &B, &C, &S);
  float *dx = x->requires_grad ? gw_f32(gw_grad_of(x)) : NULL;
  float *dg = gamma && gamma->requires_grad ? gw_f32(gw_grad_of(gamma)) : NULL;
  float *db = beta && beta->requires_grad ? gw_f32(gw_grad_of(beta)) : NULL;
  gw_k_batchnorm_backward(gw_f32(xc), gw_f32(n->out->grad), gw_f32(mean), gw_f32(rstd),
                          gamma ? gw_f32(gamma) : NULL, dx, dg, db, B, C, S, n->i[0]);
}

gw_tensor *gw_batchnorm(gw_tensor *x, gw_tensor *gamma, gw_tensor *beta, gw_tensor *running_mean,
                        gw_tensor *running_var, bool training, float momentum, float eps) {
  gw_check_f32("batchnorm", x);
  GW_CHECK(x->ndim >= 2, "batchnorm: expects (B, C, ...), got %s", gw_shape_str(x));
  int64_t B, C, S;
  dims_of(x, &B, &C, &S);
  gw_tensor *stats[4] = {gamma, beta, running_mean, running_var};
  const char *names[4] = {"weight", "bias", "running_mean", "running_var"};
  for (int k = 0; k < 4; k++)
    GW_CHECK(!stats[k] || (stats[k]->ndim == 1 && stats[k]->shape[0] == C &&
                           gw_is_contiguous(stats[k]) && stats[k]->dtype == GW_F32),
             "batchnorm: %s %s does not match the %lld channels of %s", names[k],
             gw_shape_str(stats[k]), (long long)C, gw_shape_str(x));
  GW_CHECK(training || (running_mean && running_var),
           "batchnorm: evaluation mode needs the running statistics");
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *mean = gw_new_out(1, &C), *rstd = gw_new_out(1, &C);
  float *pm = gw_f32(mean), *pr = gw_f32(rstd);
  if (training) {
    GW_CHECK(B * S > 1, "batchnorm: training needs more than one value per channel (got %s). "
             "HINT: use a batch larger than 1, or evaluation mode", gw_shape_str(x));
    gw_k_batchnorm_stats(gw_f32(xc), B, C, S, pm, pr);  // pr holds the variance for now
    if (running_mean && running_var) {
      float unbias = (float)(B * S) / (float)(B * S - 1);
      float *rm = gw_f32(running_mean), *rv = gw_f32(running_var);
      for (int64_t c = 0; c < C; c++) {
        rm[c] = (1.0f - momentum) * rm[c] + momentum * pm[c];
        rv[c] = (1.0f - momentum) * rv[c] + momentum * pr[c] * unbias;
      }
    }
    for (int64_t c = 0; c < C; c++) pr[c] = 1.0f / sqrtf(pr[c] + eps);
  } else {
    const float *rm = gw_f32(running_mean), *rv = gw_f32(running_var);
    for (int64_t c = 0; c < C; c++) {
      pm[c] = rm[c];
      pr[c] = 1.0f / sqrtf(rv[c] + eps);
    }
  }
  gw_tensor *y = gw_new_out(x->ndim, x->shape);
  gw_k_batchnorm_apply(gw_f32(xc), pm, pr, gamma ? gw_f32(gamma) : NULL, beta ? gw_f32(beta) : NULL,
                       gw_f32(y), B, C, S);
  gw_node *n = gw_record("batchnorm", y, batchnorm_backward, 3, (gw_tensor *[]){x, gamma, beta});
  if (n) {
    n->saved[0] = xc;
    n->saved[1] = mean;
    n->saved[2] = rstd;
    n->i[0] = training;
  }
  return y;
}
