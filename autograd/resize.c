// Resizing and repacking (B, C, H, W) maps: nearest and bilinear upsampling, pixel shuffle and
// unshuffle, constant padding.
#include "autograd/op.h"

static void check_4d(const char *op, const gw_tensor *x) {
  gw_check_f32(op, x);
  GW_CHECK(x->ndim == 4, "%s: expects (B, C, H, W), got %s", op, gw_shape_str(x));
}

// ---- upsampling: node i[0] = 1 for bilinear ----
static void upsample_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *dy = n->out->grad;
  gw_tensor *dx = gw_zeros_like(x);
  int64_t planes = x->shape[0] * x->shape[1];
  if (n->i[0])
    gw_k_upsample_bilinear_backward(gw_f32(dy), planes, x->shape[2], x->shape[3], dy->shape[2],
                                    dy->shape[3], gw_f32(dx));
  else
    gw_k_upsample_nearest_backward(gw_f32(dy), planes, x->shape[2], x->shape[3], dy->shape[2],
                                   dy->shape[3], gw_f32(dx));
  gw_grad_add(x, dx);
}

static gw_tensor *upsample(const char *op, gw_tensor *x, int out_h, int out_w, bool bilinear) {
  check_4d(op, x);
  GW_CHECK(out_h >= 1 && out_w >= 1, "%s: output size %dx%d", op, out_h, out_w);
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = gw_new_out(GW_SHAPE(x->shape[0], x->shape[1], out_h, out_w));
  int64_t planes = x->shape[0] * x->shape[1];
  if (bilinear)
    gw_k_upsample_bilinear(gw_f32(xc), planes, x->shape[2], x->shape[3], out_h, out_w, gw_f32(y));
  else
    gw_k_upsample_nearest(gw_f32(xc), planes, x->shape[2], x->shape[3], out_h, out_w, gw_f32(y));
  gw_node *n = gw_record(op, y, upsample_backward, 1, &x);
  if (n) n->i[0] = bilinear;
  return y;
}

gw_tensor *gw_upsample_nearest(gw_tensor *x, int out_h, int out_w) {
  return upsample("upsample_nearest", x, out_h, out_w, false);
}
gw_tensor *gw_upsample_bilinear(gw_tensor *x, int out_h, int out_w) {
  return upsample("upsample_bilinear", x, out_h, out_w, true);
}

// ---- pixel shuffle / unshuffle: each is the other's backward; i[0] = r, i[1] = 1 for shuffle ----
static void shuffle_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  gw_tensor *dx = gw_empty_like(x);
  if (n->i[1])
    gw_k_pixel_unshuffle(n->out->grad, n->i[0], dx);
  else
    gw_k_pixel_shuffle(n->out->grad, n->i[0], dx);
  gw_grad_add(x, dx);
}

static gw_tensor *shuffle(const char *op, gw_tensor *x, int r, bool up) {
  check_4d(op, x);
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  GW_CHECK(r >= 1, "%s: factor %d", op, r);
  if (up)
    GW_CHECK(C % (r * r) == 0, "%s: %lld channels do not divide by r*r = %d", op, (long long)C, r * r);
  else
    GW_CHECK(H % r == 0 && W % r == 0, "%s: %lldx%lld does not divide by r = %d", op, (long long)H,
             (long long)W, r);
  gw_tensor *xc = gw_rowmajor(x);
  gw_tensor *y = up ? gw_new_out(GW_SHAPE(B, C / (r * r), H * r, W * r))
                    : gw_new_out(GW_SHAPE(B, C * r * r, H / r, W / r));
  if (up)
    gw_k_pixel_shuffle(xc, r, y);
  else
    gw_k_pixel_unshuffle(xc, r, y);
  gw_node *n = gw_record(op, y, shuffle_backward, 1, &x);
  if (n) {
    n->i[0] = r;
    n->i[1] = up;
  }
  return y;
}

gw_tensor *gw_pixel_shuffle(gw_tensor *x, int r) { return shuffle("pixel_shuffle", x, r, true); }
gw_tensor *gw_pixel_unshuffle(gw_tensor *x, int r) { return shuffle("pixel_unshuffle", x, r, false); }

// ---- pad: dx = dy cropped back (padding with negated amounts) ----
static void pad_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  int64_t *before = n->ctx, *after = before + GW_MAX_DIMS;
  int64_t nb[GW_MAX_DIMS], na[GW_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) {
    nb[d] = -before[d];
    na[d] = -after[d];
  }
  gw_tensor *dx = gw_empty_like(x);
  gw_k_pad(n->out->grad, nb, na, 0.0f, dx);
  gw_grad_add(x, dx);
}

gw_tensor *gw_pad(gw_tensor *x, int n_dims, const int64_t *pads, float value) {
  gw_check_f32("pad", x);
  GW_CHECK(n_dims >= 0 && n_dims <= x->ndim, "pad: %d dims to pad but the input %s has %d", n_dims,
           gw_shape_str(x), x->ndim);
  int64_t *before = gw_arena_calloc(gw_arena_current(), 2 * GW_MAX_DIMS * sizeof(int64_t), "pad");
  int64_t *after = before + GW_MAX_DIMS;
  int64_t shape[GW_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
  for (int k = 0; k < n_dims; k++) {  // pads run from the last dim backwards, as in PyTorch
    int d = x->ndim - 1 - k;
    before[d] = pads[2 * k];
    after[d] = pads[2 * k + 1];
    shape[d] += before[d] + after[d];
    GW_CHECK(shape[d] >= 0, "pad: dim %d of %s would have negative size", d, gw_shape_str(x));
  }
  gw_tensor *y = gw_new_out(x->ndim, shape);
  gw_k_pad(x, before, after, value, y);
  gw_node *n = gw_record("pad", y, pad_backward, 1, &x);
  if (n) n->ctx = before;
  return y;
}
