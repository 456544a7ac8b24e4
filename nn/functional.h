// Small compositions of autograd ops used across models: L2 normalisation, cosine
// similarity matrices, box conversions.
#ifndef GW_NN_FUNCTIONAL_H
#define GW_NN_FUNCTIONAL_H

#include "autograd/autograd.h"

// x / (||x||_2 over the last dim + eps)   (eps 1e-12 as in the OT code; F.normalize uses
// max(||x||, eps) instead, which differs only for near-zero vectors)
gw_tensor *gw_l2_normalize(gw_tensor *x, float eps);
// cos(x_i, y_j): x (.., n, d), y (.., m, d) -> (.., n, m)
gw_tensor *gw_cosine_matrix(gw_tensor *x, gw_tensor *y);
// (cx, cy, w, h) -> (x1, y1, x2, y2) and back, over the last dim of size 4
gw_tensor *gw_box_cxcywh_to_xyxy(gw_tensor *b);
gw_tensor *gw_box_xyxy_to_cxcywh(gw_tensor *b);
// A 0-dim tensor's value x where it is the minimum (or maximum) over all elements of x
gw_tensor *gw_min_all(gw_tensor *x);
gw_tensor *gw_max_all(gw_tensor *x);

#endif
