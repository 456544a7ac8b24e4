// LaConv's aggregation as an op: x (B, C, H, W) convolved with per-sample, per-pixel depthwise
// kernels w (B, G, k*k, H, W) (channel c uses group c mod G). Forward and backward are the
// fused kernels of tensor/kernels/laconv.c: no unfolded copy of x is ever made.
#include "autograd/op.h"

static void laconv_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *w = n->in[1];
  gw_tensor *xc = n->saved[0], *wc = n->saved[1];
  float *dx = x->requires_grad ? gw_f32(gw_grad_of(x)) : NULL;
  float *dw = w->requires_grad ? gw_f32(gw_grad_of(w)) : NULL;
  gw_k_laconv_backward(gw_f32(xc), gw_f32(wc), gw_f32(n->out->grad), dx, dw, x->shape[0],
                       x->shape[1], w->shape[1], x->shape[2], x->shape[3], n->i[0]);
}

gw_tensor *gw_laconv(gw_tensor *x, gw_tensor *w, int k) {
  gw_check_f32("laconv", x);
  gw_check_f32("laconv", w);
  GW_CHECK(k >= 1 && k % 2 == 1, "laconv: the kernel size %d must be odd", k);
  GW_CHECK(x->ndim == 4 && w->ndim == 5, "laconv: expects x (B, C, H, W) and kernels "
           "(B, G, k*k, H, W), got %s and %s", gw_shape_str(x), gw_shape_str(w));
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], G = w->shape[1];
  GW_CHECK(w->shape[0] == B && w->shape[2] == (int64_t)k * k && w->shape[3] == H && w->shape[4] == W &&
               G >= 1 && C % G == 0,
           "laconv: kernels %s do not fit x %s with k = %d (expected (%lld, G, %d, %lld, %lld) "
           "with G dividing %lld)", gw_shape_str(w), gw_shape_str(x), k, (long long)B, k * k,
           (long long)H, (long long)W, (long long)C);
  gw_tensor *xc = gw_rowmajor(x), *wc = gw_rowmajor(w);
  gw_tensor *y = gw_new_out(4, x->shape);
  gw_k_laconv(gw_f32(xc), gw_f32(wc), gw_f32(y), B, C, G, H, W, k);
  gw_node *n = gw_record("laconv", y, laconv_backward, 2, (gw_tensor *[]){x, w});
  if (n) {
    n->saved[0] = xc;
    n->saved[1] = wc;
    n->i[0] = k;
  }
  return y;
}
