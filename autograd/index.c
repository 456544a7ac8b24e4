// Indexing: index_select, gather, embedding. The backward of each is a scatter-add.
#include "autograd/op.h"

static void around(const gw_tensor *x, int d, int64_t *outer, int64_t *inner) {
  *outer = *inner = 1;
  for (int k = 0; k < d; k++) *outer *= x->shape[k];
  for (int k = d + 1; k < x->ndim; k++) *inner *= x->shape[k];
}

// ---- index_select: y = x[.., idx, ..] along dim;  dx[.., idx[j], ..] += dy[.., j, ..] ----
static void index_select_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *idx = n->saved[0];
  int d = (int)n->i[0];
  int64_t outer, inner;
  around(x, d, &outer, &inner);
  gw_tensor *dx = gw_zeros(GW_F32, x->ndim, x->shape);
  gw_k_index_add(gw_f32(dx), outer, x->shape[d], inner, gw_i32(idx), gw_numel(idx),
                 gw_f32(n->out->grad));
  gw_grad_add(x, dx);
}

gw_tensor *gw_index_select(gw_tensor *x, int dim, const gw_tensor *idx) {
  gw_check_f32("index_select", x);
  gw_check_i32("index_select", idx);
  GW_CHECK(idx->ndim == 1, "index_select: indices must be 1-dim, got %s", gw_shape_str(idx));
  int d = gw_norm_dim("index_select", dim, x->ndim);
  gw_tensor *ic = gw_contiguous(idx);
  gw_k_check_indices("index_select", gw_i32(ic), gw_numel(ic), x->shape[d]);
  gw_tensor *xc = gw_rowmajor(x);
  int64_t outer, inner, shape[GW_MAX_DIMS];
  around(x, d, &outer, &inner);
  for (int k = 0; k < x->ndim; k++) shape[k] = x->shape[k];
  shape[d] = idx->shape[0];
  gw_tensor *y = gw_new_out(x->ndim, shape);
  gw_k_index_select(gw_f32(xc), outer, x->shape[d], inner, gw_i32(ic), idx->shape[0], gw_f32(y));
  gw_node *n = gw_record("index_select", y, index_select_backward, 1, &x);
  if (n) {
    n->saved[0] = ic;
    n->i[0] = d;
  }
  return y;
}

// ---- gather: y[.., j, ..] = x[.., idx[.., j, ..], ..];  backward scatter-adds ----
static void gather_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *idx = n->saved[0];
  int d = (int)n->i[0];
  int64_t outer, inner;
  around(x, d, &outer, &inner);
  gw_tensor *dx = gw_zeros(GW_F32, x->ndim, x->shape);
  gw_k_scatter_add(gw_f32(dx), outer, x->shape[d], inner, gw_i32(idx), idx->shape[d],
                   gw_f32(n->out->grad));
  gw_grad_add(x, dx);
}

gw_tensor *gw_gather(gw_tensor *x, int dim, const gw_tensor *idx) {
  gw_check_f32("gather", x);
  gw_check_i32("gather", idx);
  int d = gw_norm_dim("gather", dim, x->ndim);
  GW_CHECK(idx->ndim == x->ndim, "gather: indices %s and input %s need the same number of dims",
           gw_shape_str(idx), gw_shape_str(x));
  for (int k = 0; k < x->ndim; k++)
    GW_CHECK(k == d || idx->shape[k] == x->shape[k],
             "gather: indices %s must match the input %s in every dim but %d", gw_shape_str(idx),
             gw_shape_str(x), d);
  gw_tensor *ic = gw_contiguous(idx);
  gw_k_check_indices("gather", gw_i32(ic), gw_numel(ic), x->shape[d]);
  gw_tensor *xc = gw_rowmajor(x);
  int64_t outer, inner;
  around(x, d, &outer, &inner);
  gw_tensor *y = gw_new_out(idx->ndim, idx->shape);
  gw_k_gather(gw_f32(xc), outer, x->shape[d], inner, gw_i32(ic), idx->shape[d], gw_f32(y));
  gw_node *n = gw_record("gather", y, gather_backward, 1, &x);
  if (n) {
    n->saved[0] = ic;
    n->i[0] = d;
  }
  return y;
}

// ---- embedding: y[.., :] = table[ids[..], :]; rows at padding_idx get no gradient ----
static void embedding_backward(gw_node *n) {
  gw_tensor *table = n->in[0], *ids = n->saved[0];
  if (!table->requires_grad) return;
  int64_t V = table->shape[0], D = table->shape[1];
  gw_tensor *dy = n->out->grad;
  int64_t m = gw_numel(ids);
  const int32_t *id = gw_i32(ids);
  int padding_idx = (int)n->i[0];
  gw_tensor *dt = gw_zeros(GW_F32, 2, table->shape);
  gw_k_index_add(gw_f32(dt), 1, V, D, id, m, gw_f32(dy));
  if (padding_idx >= 0)
    for (int64_t j = 0; j < D; j++) gw_f32(dt)[padding_idx * D + j] = 0.0f;
  gw_grad_add(table, dt);
}

gw_tensor *gw_embedding(gw_tensor *table, const gw_tensor *ids, int padding_idx) {
  gw_check_f32("embedding", table);
  gw_check_i32("embedding", ids);
  GW_CHECK(table->ndim == 2, "embedding: the table must be (V, D), got %s", gw_shape_str(table));
  GW_CHECK(ids->ndim + 1 <= GW_MAX_DIMS, "embedding: ids %s have too many dims", gw_shape_str(ids));
  GW_CHECK(padding_idx < table->shape[0], "embedding: padding index %d is outside the table %s",
           padding_idx, gw_shape_str(table));
  gw_tensor *ic = gw_contiguous(ids);
  int64_t m = gw_numel(ic);
  gw_k_check_indices("embedding", gw_i32(ic), m, table->shape[0]);
  gw_tensor *tc = gw_rowmajor(table);
  int64_t shape[GW_MAX_DIMS];
  for (int k = 0; k < ids->ndim; k++) shape[k] = ids->shape[k];
  shape[ids->ndim] = table->shape[1];
  gw_tensor *y = gw_new_out(ids->ndim + 1, shape);
  gw_k_index_select(gw_f32(tc), 1, table->shape[0], table->shape[1], gw_i32(ic), m, gw_f32(y));
  gw_node *n = gw_record("embedding", y, embedding_backward, 1, &table);
  if (n) {
    n->saved[0] = ic;
    n->i[0] = padding_idx;
  }
  return y;
}
