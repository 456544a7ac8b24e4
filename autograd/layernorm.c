// Layer normalisation over the last dim, one node with a fused backward
// (tensor/kernels/layernorm.c has the formulas).
#include "autograd/op.h"

static void layernorm_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
  gw_tensor *xc = n->saved[0], *mean = n->saved[1], *rstd = n->saved[2];
  int64_t d = x->shape[x->ndim - 1], rows = gw_numel(x) / d;
  gw_tensor *dy = n->out->grad;
  gw_tensor *dx = x->requires_grad ? gw_zeros_like(dy) : NULL;
  gw_tensor *dg = gamma && gamma->requires_grad ? gw_zeros(GW_F32, 1, &d) : NULL;
  gw_tensor *db = beta && beta->requires_grad ? gw_zeros(GW_F32, 1, &d) : NULL;
  gw_k_layernorm_backward(gw_f32(xc), gamma ? gw_f32(gw_rowmajor(gamma)) : NULL, gw_f32(mean),
                          gw_f32(rstd), gw_f32(dy), dx ? gw_f32(dx) : NULL, dg ? gw_f32(dg) : NULL,
                          db ? gw_f32(db) : NULL, rows, d);
  if (dx) gw_grad_add(x, dx);
  if (dg) gw_grad_add(gamma, dg);
  if (db) gw_grad_add(beta, db);
}

gw_tensor *gw_layernorm(gw_tensor *x, gw_tensor *gamma, gw_tensor *beta, float eps) {
  gw_check_f32("layernorm", x);
  GW_CHECK(x->ndim >= 1, "layernorm: needs at least 1 dim");
  int64_t d = x->shape[x->ndim - 1], rows = gw_numel(x) / (d ? d : 1);
  for (int k = 0; k < 2; k++) {
    gw_tensor *p = k ? beta : gamma;
    if (!p) continue;
    gw_check_f32("layernorm", p);
    GW_CHECK(p->ndim == 1 && p->shape[0] == d, "layernorm: %s %s does not match the last dim of %s",
             k ? "beta" : "gamma", gw_shape_str(p), gw_shape_str(x));
  }
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = gw_new_out(x->ndim, x->shape);
  gw_tensor *mean = gw_new_out(1, &rows), *rstd = gw_new_out(1, &rows);
  gw_k_layernorm(gw_f32(xc), gamma ? gw_f32(gw_rowmajor(gamma)) : NULL,
                 beta ? gw_f32(gw_rowmajor(beta)) : NULL, gw_f32(y), gw_f32(mean), gw_f32(rstd), rows,
                 d, eps);
  gw_node *n = gw_record("layernorm", y, layernorm_backward, 3, (gw_tensor *[]){x, gamma, beta});
  if (n) {
    n->saved[0] = xc;
    n->saved[1] = mean;
    n->saved[2] = rstd;
  }
  return y;
}
