// Shape ops: reshape, permute, transpose, slice, expand, squeeze, unsqueeze, flatten, and
// contig (a row-major copy). All but contig (and reshape of a non-viewable layout) return
// views that share x's data; backward routes dy back through the inverse view.
#include <string.h>

#include "autograd/op.h"

// ---- reshape: dx = dy viewed in x's shape ----
static void reshape_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  gw_grad_add(x, gw_view_reshape(n->out->grad, x->ndim, x->shape));
}

gw_tensor *gw_reshape(gw_tensor *x, int ndim, const int64_t *shape) {
  const gw_tensor *src = gw_can_view_reshape(x, ndim, shape) ? x : gw_contiguous(x);
  gw_tensor *y = gw_view_reshape(src, ndim, shape);
  gw_record("reshape", y, reshape_backward, 1, &x);
  return y;
}

gw_tensor *gw_unsqueeze(gw_tensor *x, int dim) {
  int d = gw_norm_dim("unsqueeze", dim, x->ndim + 1);  // -1 is a new last dim
  int64_t shape[GW_MAX_DIMS];
  for (int i = 0, k = 0; i <= x->ndim; i++) shape[i] = i == d ? 1 : x->shape[k++];
  return gw_reshape(x, x->ndim + 1, shape);
}

gw_tensor *gw_squeeze(gw_tensor *x, int dim) {
  int d = gw_norm_dim("squeeze", dim, x->ndim);
  GW_CHECK(x->shape[d] == 1, "squeeze: dimension %d of %s has size %lld, not 1", dim,
           gw_shape_str(x), (long long)x->shape[d]);
  int64_t shape[GW_MAX_DIMS];
  for (int i = 0, k = 0; i < x->ndim; i++)
    if (i != d) shape[k++] = x->shape[i];
  return gw_reshape(x, x->ndim - 1, shape);
}

gw_tensor *gw_flatten(gw_tensor *x, int start_dim, int end_dim) {
  int s = gw_norm_dim("flatten", start_dim, x->ndim), e = gw_norm_dim("flatten", end_dim, x->ndim);
  GW_CHECK(s <= e, "flatten: start dim %d is after end dim %d", start_dim, end_dim);
  int64_t shape[GW_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < s; i++) shape[k++] = x->shape[i];
  int64_t m = 1;
  for (int i = s; i <= e; i++) m *= x->shape[i];
  shape[k++] = m;
  for (int i = e + 1; i < x->ndim; i++) shape[k++] = x->shape[i];
  return gw_reshape(x, k, shape);
}

// ---- permute: dx = dy permuted back ----
static void permute_backward(gw_node *n) {
  int inv[GW_MAX_DIMS];
  for (int i = 0; i < n->in[0]->ndim; i++) inv[n->i[i]] = i;
  gw_grad_add(n->in[0], gw_view_permute(n->out->grad, inv));
}

gw_tensor *gw_permute(gw_tensor *x, const int *perm) {
  gw_tensor *y = gw_view_permute(x, perm);
  gw_node *n = gw_record("permute", y, permute_backward, 1, &x);
  if (n)
    for (int i = 0; i < x->ndim; i++) n->i[i] = perm[i];
  return y;
}

gw_tensor *gw_transpose(gw_tensor *x, int dim0, int dim1) {
  int d0 = gw_norm_dim("transpose", dim0, x->ndim), d1 = gw_norm_dim("transpose", dim1, x->ndim);
  int perm[GW_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) perm[i] = i;
  perm[d0] = d1;
  perm[d1] = d0;
  return gw_permute(x, perm);
}

// ---- slice: dx[slice] += dy ----
static void slice_backward(gw_node *n) {
  gw_tensor *x = n->in[0];
  if (!x->requires_grad) return;
  gw_tensor *dx = gw_view_slice(gw_grad_of(x), (int)n->i[0], n->i[1], n->i[2], n->i[3]);
  gw_k_add_into(dx, n->out->grad);
}

gw_tensor *gw_slice(gw_tensor *x, int dim, int64_t start, int64_t end, int64_t step) {
  int d = gw_norm_dim("slice", dim, x->ndim);
  int64_t len = x->shape[d];
  if (start < 0) start += len;  // resolve negative bounds once, for forward and backward
  if (end < 0) end += len;
  if (end > len) end = len;
  gw_tensor *y = gw_view_slice(x, d, start, end, step);
  gw_node *n = gw_record("slice", y, slice_backward, 1, &x);
  if (n) {
    n->i[0] = d;
    n->i[1] = start;
    n->i[2] = end;
    n->i[3] = step;
  }
  return y;
}

// ---- expand: dx = dy summed over the expanded dims ----
static void expand_backward(gw_node *n) { gw_grad_add(n->in[0], n->out->grad); }

gw_tensor *gw_expand(gw_tensor *x, int ndim, const int64_t *shape) {
  gw_tensor *y = gw_view_expand(x, ndim, shape);
  gw_record("expand", y, expand_backward, 1, &x);
  return y;
}

// ---- contig: a copy; dx = dy ----
static void contig_backward(gw_node *n) { gw_grad_add(n->in[0], n->out->grad); }

gw_tensor *gw_contig(gw_tensor *x) {
  if (gw_is_contiguous(x)) return x;
  gw_tensor *y = gw_clone(x);
  gw_record("contiguous", y, contig_backward, 1, &x);
  return y;
}
