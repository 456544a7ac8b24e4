// Pixel packing: depth-to-space and space-to-depth, as 6-dim permutation copies.
#include "tensor/kernels.h"

// x (B, C*r*r, H, W) -> y (B, C, H*r, W*r): y[b, c, h*r+i, w*r+j] = x[b, (c*r+i)*r+j, h, w]
void gw_k_pixel_shuffle(const gw_tensor *x, int64_t r, gw_tensor *y) {
  int64_t B = x->shape[0], C = x->shape[1] / (r * r), H = x->shape[2], W = x->shape[3];
  gw_tensor *v = gw_view_reshape(x, GW_SHAPE(B, C, r, r, H, W));
  gw_tensor *p = gw_view_permute(v, (int[]){0, 1, 4, 2, 5, 3});  // (B, C, H, r, W, r)
  gw_k_copy(gw_view_reshape(y, GW_SHAPE(B, C, H, r, W, r)), p);
}

// x (B, C, H*r, W*r) -> y (B, C*r*r, H, W), the inverse of the above
void gw_k_pixel_unshuffle(const gw_tensor *x, int64_t r, gw_tensor *y) {
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2] / r, W = x->shape[3] / r;
  gw_tensor *v = gw_view_reshape(x, GW_SHAPE(B, C, H, r, W, r));
  gw_tensor *p = gw_view_permute(v, (int[]){0, 1, 3, 5, 2, 4});  // (B, C, r, r, H, W)
  gw_k_copy(gw_view_reshape(y, GW_SHAPE(B, C, r, r, H, W)), p);
}
