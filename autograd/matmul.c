// Matrix products: matmul (torch.matmul semantics) and linear.
//
// Forward and backward both go through matmul_into(), which hands sgemm each operand as it
// lies in memory: a row-major matrix, or a transposed one (passed as a flag with its
// leading dimension). Only an operand that is neither is copied. When the right operand is
// the same matrix for the whole batch, the batch is folded into the rows of one large
// product, which is what sgemm runs fastest.
//
//   y = a @ b:   da = dy @ b^T,   db = a^T @ dy   (summed over broadcast batch dims)
#include <string.h>

#include "autograd/op.h"

// How sgemm should read the last two dims of t: as stored (trans = false) or transposed.
typedef struct mat_layout {
  bool ok;
  bool trans;
  int64_t ld;
} mat_layout;

static mat_layout layout_of(const gw_tensor *t) {
  int nd = t->ndim;
  int64_t rows = t->shape[nd - 2], cols = t->shape[nd - 1];
  int64_t s0 = t->strides[nd - 2], s1 = t->strides[nd - 1];
  if ((cols == 1 || s1 == 1) && (rows == 1 || s0 >= (cols > 1 ? cols : 1)))
    return (mat_layout){true, false, rows == 1 ? (cols > 1 ? cols : 1) : s0};
  if ((rows == 1 || s0 == 1) && (cols == 1 || s1 >= (rows > 1 ? rows : 1)))
    return (mat_layout){true, true, cols == 1 ? (rows > 1 ? rows : 1) : s1};
  return (mat_layout){false, false, 0};
}

// out (batch.., M, N) = a (.., M, K) @ b (.., K, N) + beta * out. a and b have >= 2 dims and
// batch dims that broadcast to out's; out is row-major.
static void matmul_into(const gw_tensor *a, const gw_tensor *b, gw_tensor *out, float beta) {
  int nd = out->ndim;
  int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1], N = b->shape[b->ndim - 1];
  mat_layout la = layout_of(a), lb = layout_of(b);
  if (!la.ok) {
    a = gw_contiguous(a);
    la = layout_of(a);
  }
  if (!lb.ok) {
    b = gw_contiguous(b);
    lb = layout_of(b);
  }
  // Batch strides of a, b and out over out's batch dims (0 where broadcast).
  int nb = nd - 2;
  int64_t bshape[GW_MAX_DIMS], sa[GW_MAX_DIMS], sb[GW_MAX_DIMS], so[GW_MAX_DIMS];
  int64_t batch = 1;
  bool b_shared = true;
  for (int i = 0; i < nb; i++) {
    int ia = i - (nb - (a->ndim - 2)), ib = i - (nb - (b->ndim - 2));
    bshape[i] = out->shape[i];
    sa[i] = (ia < 0 || a->shape[ia] == 1) ? 0 : a->strides[ia];
    sb[i] = (ib < 0 || b->shape[ib] == 1) ? 0 : b->strides[ib];
    so[i] = out->strides[i];
    batch *= bshape[i];
    if (sb[i] != 0 && bshape[i] != 1) b_shared = false;
  }
  // Fold: b is one matrix for the whole batch and a's rows run on through its batch dims.
  if (b_shared && !la.trans && batch > 1) {
    bool rows_chain = true;
    int64_t expect = la.ld * M;
    for (int i = nb - 1; i >= 0; i--) {
      if (bshape[i] == 1) continue;
      if (sa[i] != expect) rows_chain = false;
      expect *= bshape[i];
    }
    if (rows_chain) {
      gw_k_gemm(false, lb.trans, batch * M, N, K, 1.0f, gw_f32(a), la.ld, gw_f32(b), lb.ld, beta,
                gw_f32(out), N);
      return;
    }
  }
  gw_arena *ar = gw_arena_current();
  gw_arena_mark mark = gw_arena_get_mark(ar);
  const float **pa = gw_arena_alloc(ar, (size_t)batch * sizeof *pa, "matmul");
  const float **pb = gw_arena_alloc(ar, (size_t)batch * sizeof *pb, "matmul");
  float **pc = gw_arena_alloc(ar, (size_t)batch * sizeof *pc, "matmul");
  for (int64_t t = 0; t < batch; t++) {
    int64_t r = t, oa = 0, ob = 0, oc = 0;
    for (int i = nb - 1; i >= 0; i--) {
      int64_t idx = r % bshape[i];
      r /= bshape[i];
      oa += idx * sa[i];
      ob += idx * sb[i];
      oc += idx * so[i];
    }
    pa[t] = gw_f32(a) + oa;
    pb[t] = gw_f32(b) + ob;
    pc[t] = gw_f32(out) + oc;
  }
  gw_k_gemm_batched(batch, la.trans, lb.trans, M, N, K, 1.0f, pa, la.ld, pb, lb.ld, beta, pc, N);
  gw_arena_rewind(ar, mark);
}

// dst += a @ b, where the product has the broadcast shape `full`; when dst's shape is
// smaller (broadcast batch dims), the product is made first and summed down.
static void matmul_accumulate(gw_tensor *param, const gw_tensor *a, const gw_tensor *b, int nd,
                              const int64_t *full) {
  gw_tensor *dst = gw_grad_of(param);
  bool same = dst->ndim == nd;
  for (int i = 0; same && i < nd; i++) same = dst->shape[i] == full[i];
  if (same) {
    matmul_into(a, b, dst, 1.0f);
    return;
  }
  gw_tensor *tmp = gw_new_out(nd, full);
  matmul_into(a, b, tmp, 0.0f);
  gw_grad_add(param, tmp);
}

// Views of a (.., M, K) as (P, K) and dy (.., M, N) as (P, N), when a's rows can be viewed
// flat; used to form db = a^T dy as one product when b was a single matrix.
static bool fold_rows(const gw_tensor *a, gw_tensor **a2) {
  int64_t K = a->shape[a->ndim - 1];
  int64_t shape[2] = {-1, K};
  if (!gw_can_view_reshape(a, 2, shape)) return false;
  *a2 = gw_view_reshape(a, 2, shape);
  return true;
}

static void matmul_backward(gw_node *n) {
  // a and b as the forward used them (>= 2 dims); the 1-dim cases were reshaped views.
  gw_tensor *a = n->saved[0], *b = n->saved[1];
  gw_tensor *dy = gw_view_reshape(n->out->grad, n->saved[2]->ndim, n->saved[2]->shape);
  int nd = dy->ndim;
  gw_tensor *ga = n->in[0], *gb = n->in[1];
  if (ga->requires_grad) {
    // da (.., M, K) = dy (.., M, N) @ b^T
    int64_t full[GW_MAX_DIMS];
    memcpy(full, dy->shape, sizeof full);
    full[nd - 1] = a->shape[a->ndim - 1];
    gw_tensor *bt = gw_view_transpose(b, -1, -2);
    if (ga->ndim == a->ndim) {
      matmul_accumulate(ga, dy, bt, nd, full);
    } else {  // a was a vector (K): (.., 1, K) sums down to it
      gw_tensor *tmp = gw_new_out(nd, full);
      matmul_into(dy, bt, tmp, 0.0f);
      gw_grad_add(ga, tmp);
    }
  }
  if (gb->requires_grad) {
    // db (.., K, N) = a^T @ dy
    gw_tensor *a2, *dy2;
    if (b->ndim == 2 && gb->ndim == 2 && nd > 2 && fold_rows(a, &a2) && fold_rows(dy, &dy2)) {
      matmul_into(gw_view_transpose(a2, 0, 1), dy2, gw_grad_of(gb), 1.0f);
      return;
    }
    int64_t full[GW_MAX_DIMS];
    memcpy(full, dy->shape, sizeof full);
    full[nd - 2] = b->shape[b->ndim - 2];
    gw_tensor *at = gw_view_transpose(a, -1, -2);
    if (gb->ndim == b->ndim) {
      matmul_accumulate(gb, at, dy, nd, full);
    } else {  // b was a vector (K): drop the trailing 1 of (.., K, 1), then sum down
      gw_tensor *tmp = gw_new_out(nd, full);
      matmul_into(at, dy, tmp, 0.0f);
      gw_grad_add(gb, gw_view_reshape(tmp, nd - 1, full));
    }
  }
}

gw_tensor *gw_matmul(gw_tensor *a_in, gw_tensor *b_in) {
  gw_check_f32("matmul", a_in);
  gw_check_f32("matmul", b_in);
  GW_CHECK(a_in->ndim >= 1 && b_in->ndim >= 1, "matmul: operands need at least 1 dim (got %s @ %s)",
           gw_shape_str(a_in), gw_shape_str(b_in));
  // Vectors become a row (left) or a column (right), as torch.matmul does.
  gw_tensor *a = a_in->ndim == 1 ? gw_view_reshape(a_in, GW_SHAPE(1, a_in->shape[0])) : a_in;
  gw_tensor *b = b_in->ndim == 1 ? gw_view_reshape(b_in, GW_SHAPE(b_in->shape[0], 1)) : b_in;
  int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
  int64_t K2 = b->shape[b->ndim - 2], N = b->shape[b->ndim - 1];
  GW_CHECK(K == K2, "matmul: inner dimensions differ: %s @ %s (%lld vs %lld)", gw_shape_str(a_in),
           gw_shape_str(b_in), (long long)K, (long long)K2);
  int64_t batch[GW_MAX_DIMS];
  int nbd = gw_broadcast_shapes("matmul (batch dims)", a->ndim - 2, a->shape, b->ndim - 2, b->shape,
                                batch);
  GW_CHECK(nbd + 2 <= GW_MAX_DIMS, "matmul: too many batch dims");
  int64_t full[GW_MAX_DIMS];
  memcpy(full, batch, (size_t)nbd * sizeof(int64_t));
  full[nbd] = M;
  full[nbd + 1] = N;
  gw_tensor *y = gw_new_out(nbd + 2, full);
  matmul_into(a, b, y, 0.0f);
  gw_tensor *kept = y;
  // Drop the dims that were added for vectors.
  if (a_in->ndim == 1 || b_in->ndim == 1) {
    int64_t shape[GW_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < nbd; i++) shape[k++] = batch[i];
    if (a_in->ndim != 1) shape[k++] = M;
    if (b_in->ndim != 1) shape[k++] = N;
    y = gw_view_reshape(y, k, shape);
  }
  gw_node *n = gw_record("matmul", y, matmul_backward, 2, (gw_tensor *[]){a_in, b_in});
  if (n) {
    n->saved[0] = a;
    n->saved[1] = b;
    n->saved[2] = kept;  // the output in its matrix shape
  }
  return y;
}

// ---- linear: y = x w^T + bias, one node ----
//   dx = dy w,   dw = dy^T x (over all rows),   dbias = sum of dy over rows
static void linear_backward(gw_node *n) {
  gw_tensor *x = n->in[0], *w = n->in[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
  int64_t N = w->shape[0], K = w->shape[1];
  gw_tensor *xc = n->saved[0];
  gw_tensor *dy = gw_rowmajor(n->out->grad);
  int64_t rows = gw_numel(dy) / N;
  if (x->requires_grad)
    gw_k_gemm(false, false, rows, K, N, 1.0f, gw_f32(dy), N, gw_f32(w), K, 1.0f, gw_f32(gw_grad_of(x)),
              K);
  if (w->requires_grad)
    gw_k_gemm(true, false, N, K, rows, 1.0f, gw_f32(dy), N, gw_f32(xc), K, 1.0f,
              gw_f32(gw_grad_of(w)), K);
  if (bias && bias->requires_grad) {
    gw_tensor *db = gw_new_out(1, &N);
    gw_k_reduce_sum(gw_f32(dy), gw_f32(db), 1, rows, N);
    gw_grad_add(bias, db);
  }
}

gw_tensor *gw_linear(gw_tensor *x, gw_tensor *w, gw_tensor *bias) {
  gw_check_f32("linear", x);
  gw_check_f32("linear", w);
  GW_CHECK(w->ndim == 2 && x->ndim >= 1 && x->shape[x->ndim - 1] == w->shape[1],
           "linear: input %s does not fit the weight %s (expected (..., %lld))", gw_shape_str(x),
           gw_shape_str(w), (long long)(w->ndim == 2 ? w->shape[1] : -1));
  GW_CHECK(gw_is_contiguous(w), "linear: the weight %s must be contiguous", gw_shape_str(w));
  int64_t N = w->shape[0], K = w->shape[1];
  if (bias) {
    gw_check_f32("linear", bias);
    GW_CHECK(bias->ndim == 1 && bias->shape[0] == N, "linear: bias %s does not match the weight %s",
             gw_shape_str(bias), gw_shape_str(w));
  }
  gw_tensor *xc = gw_rowmajor(x);
  int64_t shape[GW_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = N;
  gw_tensor *y = gw_new_out(x->ndim, shape);
  int64_t rows = gw_numel(x) / K;
  if (bias) {  // start from the bias in every row, then add the product (beta = 1)
    float *py = gw_f32(y), *pb = gw_f32(gw_rowmajor(bias));  // bias may be a strided view
    for (int64_t r = 0; r < rows; r++) memcpy(py + r * N, pb, (size_t)N * sizeof(float));
  }
  gw_k_gemm(false, true, rows, N, K, 1.0f, gw_f32(xc), K, gw_f32(w), K, bias ? 1.0f : 0.0f,
            gw_f32(y), N);
  gw_tensor *ins[3] = {x, w, bias};
  gw_node *n = gw_record("linear", y, linear_backward, bias ? 3 : 2, ins);
  if (n) n->saved[0] = xc;
  return y;
}
