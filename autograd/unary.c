// Unary ops: neg, scalar add/mul, exp, log, sqrt, pow, abs, relu, gelu, silu, sigmoid,
// tanh, softplus, clamp.
//
// They share one forward and one backward; the math of each (f and f') sits side by side
// in tensor/kernels/unary.c. The node saves the op in i[0] and its two scalar parameters
// in f[0], f[1]; the backward reads x (the input) and y (the output).
#include "autograd/op.h"

static void unary_backward(gw_node *n) {
  gw_tensor *x = n->saved[0], *y = n->out, *dy = n->out->grad;
  gw_tensor *dx = gw_zeros_like(dy);
  gw_k_unary_backward((gw_unop)n->i[0], gw_f32(x), gw_f32(y), gw_f32(dy), gw_f32(dx), gw_numel(dx),
                      n->f[0], n->f[1]);
  gw_grad_add(n->in[0], dx);
}

static gw_tensor *unary(gw_unop op, gw_tensor *x, float p0, float p1) {
  const char *name = gw_unop_names[op];
  gw_check_f32(name, x);
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = gw_new_out(x->ndim, x->shape);
  gw_k_unary(op, gw_f32(xc), gw_f32(y), gw_numel(y), p0, p1);
  gw_node *n = gw_record(name, y, unary_backward, 1, &x);
  if (n) {
    n->saved[0] = xc;
    n->i[0] = op;
    n->f[0] = p0;
    n->f[1] = p1;
  }
  return y;
}

gw_tensor *gw_neg(gw_tensor *x) { return unary(GW_UN_NEG, x, 0, 0); }
gw_tensor *gw_add_scalar(gw_tensor *x, float c) { return unary(GW_UN_AFFINE, x, 1.0f, c); }
gw_tensor *gw_mul_scalar(gw_tensor *x, float c) { return unary(GW_UN_AFFINE, x, c, 0.0f); }
gw_tensor *gw_exp(gw_tensor *x) { return unary(GW_UN_EXP, x, 0, 0); }
gw_tensor *gw_log(gw_tensor *x) { return unary(GW_UN_LOG, x, 0, 0); }
gw_tensor *gw_sqrt(gw_tensor *x) { return unary(GW_UN_SQRT, x, 0, 0); }
gw_tensor *gw_pow(gw_tensor *x, float p) { return unary(GW_UN_POW, x, p, 0); }
gw_tensor *gw_abs(gw_tensor *x) { return unary(GW_UN_ABS, x, 0, 0); }
gw_tensor *gw_relu(gw_tensor *x) { return unary(GW_UN_RELU, x, 0, 0); }
gw_tensor *gw_gelu(gw_tensor *x) { return unary(GW_UN_GELU_ERF, x, 0, 0); }
gw_tensor *gw_gelu_tanh(gw_tensor *x) { return unary(GW_UN_GELU_TANH, x, 0, 0); }
gw_tensor *gw_silu(gw_tensor *x) { return unary(GW_UN_SILU, x, 0, 0); }
gw_tensor *gw_sigmoid(gw_tensor *x) { return unary(GW_UN_SIGMOID, x, 0, 0); }
gw_tensor *gw_tanh(gw_tensor *x) { return unary(GW_UN_TANH, x, 0, 0); }
gw_tensor *gw_softplus(gw_tensor *x) { return unary(GW_UN_SOFTPLUS, x, 0, 0); }
gw_tensor *gw_clamp(gw_tensor *x, float lo, float hi) {
  GW_CHECK(lo <= hi, "clamp: the lower bound %g is above the upper bound %g", lo, hi);
  return unary(GW_UN_CLAMP, x, lo, hi);
}
