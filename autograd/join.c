// Joining and splitting: concat, stack, split.
//   y = concat(x_0, .., x_k) along dim:  dx_i = the slice of dy where x_i landed
#include "autograd/op.h"

static void concat_backward(gw_node *n) {
  int dim = (int)n->i[0];
  int64_t at = 0;
  for (int k = 0; k < n->n_in; k++) {
    int64_t len = n->in[k]->shape[dim];
    if (n->in[k]->requires_grad)
      gw_grad_add(n->in[k], gw_view_slice(n->out->grad, dim, at, at + len, 1));
    at += len;
  }
}

gw_tensor *gw_concat(int count, gw_tensor *const *xs, int dim) {
  GW_CHECK(count >= 1, "concat: nothing to join");
  const gw_tensor *first = xs[0];
  int d = gw_norm_dim("concat", dim, first->ndim);
  int64_t shape[GW_MAX_DIMS];
  for (int i = 0; i < first->ndim; i++) shape[i] = first->shape[i];
  shape[d] = 0;
  for (int k = 0; k < count; k++) {
    gw_check_f32("concat", xs[k]);
    GW_CHECK(xs[k]->ndim == first->ndim, "concat: input %d is %s but input 0 is %s", k,
             gw_shape_str(xs[k]), gw_shape_str(first));
    for (int i = 0; i < first->ndim; i++)
      GW_CHECK(i == d || xs[k]->shape[i] == first->shape[i],
               "concat: input %d is %s but input 0 is %s; they may differ only in dim %d", k,
               gw_shape_str(xs[k]), gw_shape_str(first), d);
    shape[d] += xs[k]->shape[d];
  }
  gw_tensor *y = gw_new_out(first->ndim, shape);
  gw_k_concat((const gw_tensor *const *)xs, count, d, y);
  gw_node *n = gw_record("concat", y, concat_backward, count, xs);
  if (n) n->i[0] = d;
  return y;
}

gw_tensor *gw_stack(int count, gw_tensor *const *xs, int dim) {
  GW_CHECK(count >= 1, "stack: nothing to join");
  int d = gw_norm_dim("stack", dim, xs[0]->ndim + 1);  // -1 is a new last dim
  gw_tensor *parts[count];
  for (int k = 0; k < count; k++) {
    GW_CHECK(gw_same_shape(xs[k], xs[0]), "stack: input %d is %s but input 0 is %s", k,
             gw_shape_str(xs[k]), gw_shape_str(xs[0]));
    parts[k] = gw_unsqueeze(xs[k], d);
  }
  return gw_concat(count, parts, d);
}

void gw_split(gw_tensor *x, int dim, int count, const int64_t *sizes, gw_tensor **outs) {
  int d = gw_norm_dim("split", dim, x->ndim);
  int64_t total = 0;
  for (int k = 0; k < count; k++) total += sizes[k];
  GW_CHECK(total == x->shape[d], "split: sizes add up to %lld but dim %d of %s has %lld",
           (long long)total, d, gw_shape_str(x), (long long)x->shape[d]);
  int64_t at = 0;
  for (int k = 0; k < count; k++) {
    outs[k] = gw_slice(x, d, at, at + sizes[k], 1);
    at += sizes[k];
  }
}
