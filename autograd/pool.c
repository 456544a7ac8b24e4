// Pooling over (B, C, H, W): max, average, adaptive average. Kernels in tensor/kernels/pool.c.
#include "autograd/op.h"

static gw_conv_geom pool_geom(const char *op, const gw_tensor *x, int k, int s, int p) {
  GW_CHECK(x->ndim == 4, "%s: expects (B, C, H, W), got %s", op, gw_shape_str(x));
  GW_CHECK(k >= 1 && p >= 0 && 2 * p <= k, "%s: kernel %d with padding %d (padding may be at most "
           "half the kernel)", op, k, p);
  gw_conv_geom g = {.C = 1, .H = x->shape[2], .W = x->shape[3], .KH = k, .KW = k,
                    .SH = s ? s : k, .SW = s ? s : k, .PH = p, .PW = p};
  gw_conv_geom_init(&g);
  GW_CHECK(g.OH > 0 && g.OW > 0, "%s: kernel %d is larger than the padded input %s", op, k,
           gw_shape_str(x));
  return g;
}

// ---- max pool: the gradient goes to each window's maximum ----
static void maxpool_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  gw_conv_geom *g = n->ctx;
  gw_tensor *dx = gw_zeros_like(x);
  gw_k_maxpool2d_backward(gw_f32(n->out->grad), gw_i32(n->saved[0]), x->shape[0] * x->shape[1], g,
                          gw_f32(dx));
  gw_grad_add(x, dx);
}

gw_tensor *gw_maxpool2d(gw_tensor *x, int k, int s, int p) {
  gw_check_f32("maxpool2d", x);
  gw_conv_geom *g = gw_arena_alloc(gw_arena_current(), sizeof *g, "maxpool2d");
  *g = pool_geom("maxpool2d", x, k, s, p);
  gw_tensor *xc = gw_rowmajor(x);
  int64_t planes = x->shape[0] * x->shape[1];
  gw_tensor *y = gw_new_out(GW_SHAPE(x->shape[0], x->shape[1], g->OH, g->OW));
  gw_tensor *arg = gw_empty(GW_I32, y->ndim, y->shape);
  gw_k_maxpool2d(gw_f32(xc), planes, g, gw_f32(y), gw_i32(arg));
  gw_node *n = gw_record("maxpool2d", y, maxpool_backward, 1, &x);
  if (n) {
    n->saved[0] = arg;
    n->ctx = g;
  }
  return y;
}

// ---- average pool: each window's gradient is shared evenly ----
static void avgpool_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  gw_tensor *dx = gw_zeros_like(x);
  gw_k_avgpool2d_backward(gw_f32(n->out->grad), x->shape[0] * x->shape[1], n->ctx, gw_f32(dx));
  gw_grad_add(x, dx);
}

gw_tensor *gw_avgpool2d(gw_tensor *x, int k, int s, int p) {
  gw_check_f32("avgpool2d", x);
  gw_conv_geom *g = gw_arena_alloc(gw_arena_current(), sizeof *g, "avgpool2d");
  *g = pool_geom("avgpool2d", x, k, s, p);
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = gw_new_out(GW_SHAPE(x->shape[0], x->shape[1], g->OH, g->OW));
  gw_k_avgpool2d(gw_f32(xc), x->shape[0] * x->shape[1], g, gw_f32(y));
  gw_node *n = gw_record("avgpool2d", y, avgpool_backward, 1, &x);
  if (n) n->ctx = g;
  return y;
}

// ---- adaptive average pool to (OH, OW) ----
static void adaptive_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  gw_tensor *dx = gw_zeros_like(x);
  gw_k_adaptive_avgpool2d_backward(gw_f32(n->out->grad), x->shape[0] * x->shape[1], x->shape[2],
                                   x->shape[3], n->out->shape[2], n->out->shape[3], gw_f32(dx));
  gw_grad_add(x, dx);
}

gw_tensor *gw_adaptive_avgpool2d(gw_tensor *x, int out_h, int out_w) {
  gw_check_f32("adaptive_avgpool2d", x);
  GW_CHECK(x->ndim == 4 && out_h >= 1 && out_w >= 1,
           "adaptive_avgpool2d: expects (B, C, H, W) and a positive output size, got %s -> %dx%d",
           gw_shape_str(x), out_h, out_w);
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = gw_new_out(GW_SHAPE(x->shape[0], x->shape[1], out_h, out_w));
  gw_k_adaptive_avgpool2d(gw_f32(xc), x->shape[0] * x->shape[1], x->shape[2], x->shape[3], out_h,
                          out_w, gw_f32(y));
  gw_record("adaptive_avgpool2d", y, adaptive_backward, 1, &x);
  return y;
}
