// Dropout: y = x * mask / (1 - p), with mask ~ Bernoulli(1 - p) drawn from the given stream;
// dx = dy * mask / (1 - p).
#include "autograd/op.h"

static void dropout_backward(gw_node *n) {
  gw_tensor *dx = gw_empty_like(n->out->grad);
  gw_k_binary(GW_BIN_MUL, n->out->grad, n->saved[0], dx);
  gw_grad_add(n->in[0], dx);
}

gw_tensor *gw_dropout(gw_tensor *x, float p, gw_rng *rng) {
  gw_check_f32("dropout", x);
  GW_CHECK(p >= 0.0f && p < 1.0f, "dropout: probability %g must be in [0, 1)", p);
  if (p == 0.0f) return x;
  GW_CHECK(rng, "dropout: needs a random stream (gw_rng) when p > 0");
  gw_tensor *scale = gw_new_out(x->ndim, x->shape);  // mask / (1 - p)
  gw_rng_bernoulli(rng, gw_f32(scale), gw_numel(scale), 1.0f - p);
  gw_k_unary(GW_UN_AFFINE, gw_f32(scale), gw_f32(scale), gw_numel(scale), 1.0f / (1.0f - p), 0.0f);
  gw_tensor *y = gw_new_out(x->ndim, x->shape);
  gw_k_binary(GW_BIN_MUL, x, scale, y);
  gw_node *n = gw_record("dropout", y, dropout_backward, 1, &x);
  if (n) n->saved[0] = scale;
  return y;
}
