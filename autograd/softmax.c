// Softmax and log-softmax over the last dim, with an optional keep-mask.
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - softmax(x) * sum(dy)
#include "autograd/op.h"

static void softmax_backward(gw_node *n) {
  gw_tensor *y = n->out, *dy = n->out->grad;
  int64_t cols = y->ndim ? y->shape[y->ndim - 1] : 1;
  gw_tensor *dx = gw_zeros_like(dy);
  gw_k_softmax_backward(gw_f32(y), gw_f32(dy), gw_f32(dx), gw_numel(y) / cols, cols, n->i[0]);
  gw_grad_add(n->in[0], dx);
}

static gw_tensor *softmax(const char *op, gw_tensor *x, const gw_tensor *mask, bool log) {
  gw_check_f32(op, x);
  GW_CHECK(x->ndim >= 1, "%s: needs at least 1 dim", op);
  const int32_t *m = NULL;
  if (mask) {
    GW_CHECK(mask->dtype == GW_I32, "%s: the mask must be int32 (1 keeps an entry, 0 leaves it "
             "out), got %s %s", op, gw_dtype_name(mask->dtype), gw_shape_str(mask));
    int64_t shape[GW_MAX_DIMS];
    int nd = gw_broadcast_shapes(op, x->ndim, x->shape, mask->ndim, mask->shape, shape);
    bool fits = nd == x->ndim;
    for (int i = 0; fits && i < nd; i++) fits = shape[i] == x->shape[i];
    GW_CHECK(fits, "%s: the mask %s does not broadcast to the input %s", op, gw_shape_str(mask),
             gw_shape_str(x));
    gw_tensor *full = gw_empty(GW_I32, x->ndim, x->shape);
    gw_k_copy(full, gw_view_expand(mask, x->ndim, x->shape));
    m = gw_i32(full);
  }
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = gw_new_out(x->ndim, x->shape);
  int64_t cols = x->shape[x->ndim - 1];
  gw_k_softmax(gw_f32(xc), m, gw_f32(y), gw_numel(x) / (cols ? cols : 1), cols, log);
  gw_node *n = gw_record(op, y, softmax_backward, 1, &x);
  if (n) n->i[0] = log;
  return y;
}

gw_tensor *gw_softmax(gw_tensor *x, const gw_tensor *mask) { return softmax("softmax", x, mask, false); }
gw_tensor *gw_log_softmax(gw_tensor *x, const gw_tensor *mask) {
  return softmax("log_softmax", x, mask, true);
}
