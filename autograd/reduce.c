// Reductions: sum, mean, var over any dims; logsumexp and max over one dim; argmax.
//
// Forward reduces one dim at a time through the (outer, n, inner) kernels of
// tensor/kernels/reduce.c. Backward broadcasts the output gradient back over the reduced
// dims (an expand view, no copy) and scales it by the local derivative.
#include <string.h>

#include "autograd/op.h"

// Which dims are reduced: mask[d] is true for each. n_dims == 0 means all.
static void dims_mask(const char *op, const gw_tensor *x, int n_dims, const int *dims, bool *mask) {
  for (int d = 0; d < GW_MAX_DIMS; d++) mask[d] = n_dims == 0;
  for (int k = 0; k < n_dims; k++) {
    int d = gw_norm_dim(op, dims[k], x->ndim);
    GW_CHECK(!mask[d], "%s: dimension %d is listed twice", op, dims[k]);
    mask[d] = true;
  }
}

// Shape with reduced dims set to 1 (keepdim) and the number of elements reduced per output.
static int64_t keep_shape(const gw_tensor *x, const bool *mask, int64_t *shape) {
  int64_t count = 1;
  for (int d = 0; d < x->ndim; d++) {
    shape[d] = mask[d] ? 1 : x->shape[d];
    if (mask[d]) count *= x->shape[d];
  }
  return count;
}

// The output tensor in keepdim or squeezed form.
static gw_tensor *shaped(gw_tensor *kept, const bool *mask, bool keepdim) {
  if (keepdim) return kept;
  int64_t shape[GW_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < kept->ndim; d++)
    if (!mask[d]) shape[nd++] = kept->shape[d];
  return gw_view_reshape(kept, nd, shape);
}

// Sum of contiguous x over the masked dims, keepdim shape, row-major.
static gw_tensor *sum_kept(const gw_tensor *x, const bool *mask) {
  int64_t cur[GW_MAX_DIMS];
  memcpy(cur, x->shape, sizeof cur);
  const gw_tensor *src = x;
  for (int d = x->ndim - 1; d >= 0; d--) {
    if (!mask[d] || cur[d] == 1) continue;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < d; k++) outer *= cur[k];
    for (int k = d + 1; k < x->ndim; k++) inner *= cur[k];
    int64_t n = cur[d];
    cur[d] = 1;
    gw_tensor *dst = gw_new_out(x->ndim, cur);
    gw_k_reduce_sum(gw_f32(src), gw_f32(dst), outer, n, inner);
    src = dst;
  }
  if (src == x) {  // nothing to reduce: a copy in the kept shape
    gw_tensor *c = gw_new_out(x->ndim, cur);
    memcpy(c->data, gw_f32(x), (size_t)gw_numel(c) * sizeof(float));
    return c;
  }
  return (gw_tensor *)src;
}

// dx += scale * expand(dy)
static void broadcast_back(gw_node *n, float scale) {
  gw_tensor *x = n->in[0];
  gw_tensor *dy = gw_view_reshape(n->out->grad, (int)n->i[0], n->saved[1]->shape);  // keepdim
  gw_tensor *g = gw_view_expand(dy, x->ndim, x->shape);
  if (scale != 1.0f) {
    gw_tensor *s = gw_new_out(x->ndim, x->shape);
    gw_k_binary(GW_BIN_MUL, g, gw_scalar(scale), s);
    g = s;
  }
  gw_grad_add(x, g);
}

static void sum_backward(gw_node *n) { broadcast_back(n, n->f[0]); }

// sum and mean share everything but the scale
static gw_tensor *sum_or_mean(const char *op, gw_tensor *x, int n_dims, const int *dims,
                              bool keepdim, bool mean) {
  gw_check_f32(op, x);
  bool mask[GW_MAX_DIMS];
  dims_mask(op, x, n_dims, dims, mask);
  int64_t kshape[GW_MAX_DIMS];
  int64_t count = keep_shape(x, mask, kshape);
  gw_tensor *kept = sum_kept(gw_rowmajor(x), mask);
  float scale = mean ? 1.0f / (float)count : 1.0f;
  if (mean) gw_k_unary(GW_UN_AFFINE, gw_f32(kept), gw_f32(kept), gw_numel(kept), scale, 0.0f);
  gw_tensor *y = shaped(kept, mask, keepdim);
  gw_node *n = gw_record(op, y, sum_backward, 1, &x);
  if (n) {
    n->f[0] = scale;
    n->i[0] = x->ndim;
    n->saved[1] = kept;  // for its keepdim shape
  }
  return y;
}

gw_tensor *gw_sum(gw_tensor *x, int n_dims, const int *dims, bool keepdim) {
  return sum_or_mean("sum", x, n_dims, dims, keepdim, false);
}
gw_tensor *gw_mean(gw_tensor *x, int n_dims, const int *dims, bool keepdim) {
  return sum_or_mean("mean", x, n_dims, dims, keepdim, true);
}
gw_tensor *gw_sum_all(gw_tensor *x) { return gw_sum(x, 0, NULL, false); }
gw_tensor *gw_mean_all(gw_tensor *x) { return gw_mean(x, 0, NULL, false); }

// ---- var: dx = dy * 2 (x - mean) / (N - correction) ----
static void var_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *xc = n->saved[0], *mean = n->saved[2];
  gw_tensor *dy = gw_view_reshape(n->out->grad, x->ndim, mean->shape);
  gw_tensor *diff = gw_new_out(x->ndim, x->shape);
  gw_k_binary(GW_BIN_SUB, xc, mean, diff);
  gw_tensor *g = gw_new_out(x->ndim, x->shape);
  gw_k_binary(GW_BIN_MUL, diff, dy, g);
  gw_k_unary(GW_UN_AFFINE, gw_f32(g), gw_f32(g), gw_numel(g), n->f[0], 0.0f);
  gw_grad_add(x, g);
}

gw_tensor *gw_var(gw_tensor *x, int n_dims, const int *dims, int correction, bool keepdim) {
  gw_check_f32("var", x);
  bool mask[GW_MAX_DIMS];
  dims_mask("var", x, n_dims, dims, mask);
  int64_t kshape[GW_MAX_DIMS];
  int64_t count = keep_shape(x, mask, kshape);
  gw_tensor *xc = gw_rowmajor(x);
  // mean, then mean of squared deviations (two passes, like the kernel)
  gw_tensor *mean = sum_kept(xc, mask);
  gw_k_unary(GW_UN_AFFINE, gw_f32(mean), gw_f32(mean), gw_numel(mean), 1.0f / (float)count, 0.0f);
  gw_tensor *dev = gw_new_out(x->ndim, x->shape);
  gw_k_binary(GW_BIN_SUB, xc, mean, dev);
  gw_k_binary(GW_BIN_MUL, dev, dev, dev);
  gw_tensor *kept = sum_kept(dev, mask);
  float denom = (float)(count - correction);
  gw_k_unary(GW_UN_AFFINE, gw_f32(kept), gw_f32(kept), gw_numel(kept), 1.0f / denom, 0.0f);
  gw_tensor *y = shaped(kept, mask, keepdim);
  gw_node *n = gw_record("var", y, var_backward, 1, &x);
  if (n) {
    n->saved[0] = xc;
    n->saved[2] = mean;
    n->f[0] = 2.0f / denom;
  }
  return y;
}

// Views x (contiguous) as (outer, n, inner) around dim d.
static void split_at(const gw_tensor *x, int d, int64_t *outer, int64_t *n, int64_t *inner) {
  *outer = *inner = 1;
  for (int k = 0; k < d; k++) *outer *= x->shape[k];
  for (int k = d + 1; k < x->ndim; k++) *inner *= x->shape[k];
  *n = x->shape[d];
}

// ---- logsumexp: dx = dy * exp(x - y) ----
static void logsumexp_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *xc = n->saved[0], *kept = n->saved[1];
  gw_tensor *dy = gw_view_reshape(n->out->grad, x->ndim, kept->shape);
  gw_tensor *g = gw_new_out(x->ndim, x->shape);
  gw_k_binary(GW_BIN_SUB, xc, kept, g);
  gw_k_unary(GW_UN_EXP, gw_f32(g), gw_f32(g), gw_numel(g), 0, 0);
  gw_k_binary(GW_BIN_MUL, g, dy, g);
  gw_grad_add(x, g);
}

gw_tensor *gw_logsumexp(gw_tensor *x, int dim, bool keepdim) {
  gw_check_f32("logsumexp", x);
  int d = gw_norm_dim("logsumexp", dim, x->ndim);
  bool mask[GW_MAX_DIMS] = {false};
  mask[d] = true;
  int64_t kshape[GW_MAX_DIMS], outer, n, inner;
  keep_shape(x, mask, kshape);
  gw_tensor *xc = gw_rowmajor(x);
  split_at(xc, d, &outer, &n, &inner);
  gw_tensor *kept = gw_new_out(x->ndim, kshape);
  gw_k_reduce_logsumexp(gw_f32(xc), gw_f32(kept), outer, n, inner);
  gw_tensor *y = shaped(kept, mask, keepdim);
  gw_node *node = gw_record("logsumexp", y, logsumexp_backward, 1, &x);
  if (node) {
    node->saved[0] = xc;
    node->saved[1] = kept;
  }
  return y;
}

// ---- max over one dim: the gradient goes to the argmax ----
static void max_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *arg = n->saved[0];
  int64_t outer = n->i[0], len = n->i[1], inner = n->i[2];
  gw_tensor *dx = gw_zeros(GW_F32, x->ndim, x->shape);
  gw_tensor *dy = gw_rowmajor(n->out->grad);
  gw_k_scatter_add(gw_f32(dx), outer, len, inner, gw_i32(arg), 1, gw_f32(dy));
  gw_grad_add(x, dx);
}

gw_tensor *gw_max(gw_tensor *x, int dim, bool keepdim, gw_tensor **argmax) {
  gw_check_f32("max", x);
  int d = gw_norm_dim("max", dim, x->ndim);
  GW_CHECK(x->ndim == 0 || x->shape[d] > 0, "max: dimension %d of %s is empty", d, gw_shape_str(x));
  bool mask[GW_MAX_DIMS] = {false};
  mask[d] = true;
  int64_t kshape[GW_MAX_DIMS], outer, n, inner;
  keep_shape(x, mask, kshape);
  gw_tensor *xc = gw_rowmajor(x);
  split_at(xc, d, &outer, &n, &inner);
  gw_tensor *kept = gw_new_out(x->ndim, kshape);
  gw_tensor *arg = gw_empty(GW_I32, x->ndim, kshape);
  gw_k_reduce_max(gw_f32(xc), gw_f32(kept), gw_i32(arg), outer, n, inner);
  gw_tensor *y = shaped(kept, mask, keepdim);
  if (argmax) *argmax = shaped(arg, mask, keepdim);
  gw_node *node = gw_record("max", y, max_backward, 1, &x);
  if (node) {
    node->saved[0] = arg;
    node->i[0] = outer;
    node->i[1] = n;
    node->i[2] = inner;
  }
  return y;
}

gw_tensor *gw_argmax(const gw_tensor *x, int dim, bool keepdim) {
  bool prev = gw_no_grad_begin();
  gw_tensor *arg;
  gw_max((gw_tensor *)x, dim, keepdim, &arg);
  gw_no_grad_end(prev);
  return arg;
}
