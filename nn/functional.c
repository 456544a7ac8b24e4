#include "nn/functional.h"

gw_tensor *gw_l2_normalize(gw_tensor *x, float eps) {
  gw_tensor *norm = gw_sqrt(gw_sum(gw_mul(x, x), 1, (int[]){-1}, true));
  return gw_div(x, gw_add_scalar(norm, eps));
}

gw_tensor *gw_cosine_matrix(gw_tensor *x, gw_tensor *y) {
  return gw_matmul(gw_l2_normalize(x, 1e-12f), gw_transpose(gw_l2_normalize(y, 1e-12f), -1, -2));
}

gw_tensor *gw_box_cxcywh_to_xyxy(gw_tensor *b) {
  GW_CHECK(b->ndim >= 1 && b->shape[b->ndim - 1] == 4, "box conversion: expects (.., 4), got %s",
           gw_shape_str(b));
  gw_tensor *c = gw_slice(b, -1, 0, 2, 1), *half = gw_mul_scalar(gw_slice(b, -1, 2, 4, 1), 0.5f);
  return gw_concat(2, (gw_tensor *[]){gw_sub(c, half), gw_add(c, half)}, -1);
}

gw_tensor *gw_box_xyxy_to_cxcywh(gw_tensor *b) {
  GW_CHECK(b->ndim >= 1 && b->shape[b->ndim - 1] == 4, "box conversion: expects (.., 4), got %s",
           gw_shape_str(b));
  gw_tensor *p1 = gw_slice(b, -1, 0, 2, 1), *p2 = gw_slice(b, -1, 2, 4, 1);
  return gw_concat(2, (gw_tensor *[]){gw_mul_scalar(gw_add(p1, p2), 0.5f), gw_sub(p2, p1)}, -1);
}

gw_tensor *gw_max_all(gw_tensor *x) {
  return gw_max(gw_reshape(x, GW_SHAPE(-1)), 0, false, NULL);
}

gw_tensor *gw_min_all(gw_tensor *x) { return gw_neg(gw_max_all(gw_neg(x))); }
