// Elementwise arithmetic with broadcasting: add, sub, mul, div, maximum, minimum, where.
//
// Forward: one call of the strided binary kernel. Backward: the local derivative times the
// output gradient, summed back down to each input's shape (gw_grad_add does the summing
// when an input was broadcast).
#include "autograd/op.h"

// Output shape of a broadcast binary op, after checking both are float32.
static gw_tensor *binary_out(const char *op, gw_tensor *a, gw_tensor *b) {
  gw_check_f32(op, a);
  gw_check_f32(op, b);
  int64_t shape[GW_MAX_DIMS];
  int nd = gw_broadcast_shape(op, a, b, shape);
  return gw_new_out(nd, shape);
}

static gw_tensor *binary_op(const char *name, gw_binop op, gw_tensor *a, gw_tensor *b,
                            gw_backward_fn backward) {
  gw_tensor *y = binary_out(name, a, b);
  gw_k_binary(op, a, b, y);
  gw_record(name, y, backward, 2, (gw_tensor *[]){a, b});
  return y;
}

// ---- add: da = dy, db = dy ----
static void add_backward(gw_node *n) {
  gw_grad_add(n->in[0], n->out->grad);
  gw_grad_add(n->in[1], n->out->grad);
}
gw_tensor *gw_add(gw_tensor *a, gw_tensor *b) { return binary_op("add", GW_BIN_ADD, a, b, add_backward); }

// ---- sub: da = dy, db = -dy ----
static void sub_backward(gw_node *n) {
  gw_grad_add(n->in[0], n->out->grad);
  if (!gw_in_wants_grad(n, 1)) return;
  gw_tensor *g = gw_empty_like(n->out->grad);
  gw_k_unary(GW_UN_NEG, gw_f32(n->out->grad), gw_f32(g), gw_numel(g), 0, 0);
  gw_grad_add(n->in[1], g);
}
gw_tensor *gw_sub(gw_tensor *a, gw_tensor *b) { return binary_op("sub", GW_BIN_SUB, a, b, sub_backward); }

// ---- mul: da = dy * b, db = dy * a ----
static void mul_backward(gw_node *n) {
  gw_tensor *dy = n->out->grad, *a = n->in[0], *b = n->in[1];
  for (int i = 0; i < 2; i++) {
    if (!gw_in_wants_grad(n, i)) continue;
    gw_tensor *g = gw_empty_like(dy);
    gw_k_binary(GW_BIN_MUL, dy, i == 0 ? b : a, g);
    gw_grad_add(n->in[i], g);
  }
}
gw_tensor *gw_mul(gw_tensor *a, gw_tensor *b) { return binary_op("mul", GW_BIN_MUL, a, b, mul_backward); }

// ---- div: da = dy / b, db = -dy * y / b ----
static void div_backward(gw_node *n) {
  gw_tensor *dy = n->out->grad, *b = n->in[1];
  gw_tensor *g = gw_empty_like(dy);
  gw_k_binary(GW_BIN_DIV, dy, b, g);  // dy / b
  if (gw_in_wants_grad(n, 1)) {
    gw_tensor *gb = gw_empty_like(dy);
    gw_k_binary(GW_BIN_MUL, g, n->out, gb);  // dy / b * y = dy * a / b^2
    gw_k_unary(GW_UN_NEG, gw_f32(gb), gw_f32(gb), gw_numel(gb), 0, 0);
    gw_grad_add(b, gb);
  }
  gw_grad_add(n->in[0], g);
}
gw_tensor *gw_div(gw_tensor *a, gw_tensor *b) { return binary_op("div", GW_BIN_DIV, a, b, div_backward); }

// ---- maximum / minimum: the gradient goes to the winning input, half to each on ties, as
// PyTorch does ----
static void extremum_backward(gw_node *n, bool is_max) {
  gw_tensor *dy = n->out->grad, *a = n->in[0], *b = n->in[1];
  gw_tensor *share_a = gw_empty_like(dy), *tie = gw_empty_like(dy);
  gw_k_binary(GW_BIN_GT, is_max ? a : b, is_max ? b : a, share_a);  // 1 where a strictly wins
  gw_k_binary(GW_BIN_EQ, a, b, tie);
  gw_k_binary_acc(GW_BIN_MUL, tie, gw_scalar(0.5f), share_a);
  for (int i = 0; i < 2; i++) {
    if (!gw_in_wants_grad(n, i)) continue;
    gw_tensor *share = share_a;
    if (i == 1) {  // b's share = 1 - a's share
      share = gw_empty_like(dy);
      gw_k_binary(GW_BIN_SUB, gw_scalar(1.0f), share_a, share);
    }
    gw_tensor *g = gw_empty_like(dy);
    gw_k_binary(GW_BIN_MUL, dy, share, g);
    gw_grad_add(n->in[i], g);
  }
}
static void maximum_backward(gw_node *n) { extremum_backward(n, true); }
static void minimum_backward(gw_node *n) { extremum_backward(n, false); }
gw_tensor *gw_maximum(gw_tensor *a, gw_tensor *b) {
  return binary_op("maximum", GW_BIN_MAX, a, b, maximum_backward);
}
gw_tensor *gw_minimum(gw_tensor *a, gw_tensor *b) {
  return binary_op("minimum", GW_BIN_MIN, a, b, minimum_backward);
}

// ---- where: da = dy where cond, db = dy elsewhere ----
static void where_backward(gw_node *n) {
  gw_tensor *dy = n->out->grad, *cond = n->saved[0];
  gw_tensor *zero = gw_scalar(0.0f);
  for (int i = 0; i < 2; i++) {
    if (!gw_in_wants_grad(n, i)) continue;
    gw_tensor *g = gw_empty_like(dy);
    gw_k_where(cond, i == 0 ? dy : zero, i == 0 ? zero : dy, g);
    gw_grad_add(n->in[i], g);
  }
}

gw_tensor *gw_where(const gw_tensor *cond, gw_tensor *a, gw_tensor *b) {
  gw_check_i32("where", cond);
  gw_check_f32("where", a);
  gw_check_f32("where", b);
  int64_t ab[GW_MAX_DIMS], shape[GW_MAX_DIMS];
  int nab = gw_broadcast_shapes("where", a->ndim, a->shape, b->ndim, b->shape, ab);
  int nd = gw_broadcast_shapes("where", nab, ab, cond->ndim, cond->shape, shape);
  gw_tensor *y = gw_new_out(nd, shape);
  gw_k_where(cond, a, b, y);
  gw_node *n = gw_record("where", y, where_backward, 2, (gw_tensor *[]){a, b});
  if (n) n->saved[0] = (gw_tensor *)cond;
  return y;
}

gw_tensor *gw_masked_fill(gw_tensor *a, const gw_tensor *mask, float value) {
  return gw_where(mask, a, gw_scalar(value));
}
