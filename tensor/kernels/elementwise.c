// Strided elementwise kernels: copy, accumulate, binary ops with broadcasting, where.
//
// All of them go through one iterator: the operands' strides are laid over the output
// shape (stride 0 where an operand is broadcast), size-1 dims are dropped and adjacent dims
// that are contiguous for every operand are merged. What is left is a set of rows with a
// fixed stride per operand; the inner loop has specialised versions for the common stride
// patterns (all 1, one operand broadcast), which the compiler vectorises.
#include <math.h>
#include <omp.h>
#include <string.h>

#include "tensor/kernels.h"

enum { MAX_OPS = 4 };

typedef struct iter {
  int ndim;
  int nops;
  int64_t shape[GW_MAX_DIMS];
  int64_t strides[MAX_OPS][GW_MAX_DIMS];
  int64_t rows;   // product of all dims but the last
  int64_t inner;  // size of the last dim
} iter;

// Lays operand k (view t) over an output of ndim dims, right-aligned.
static void iter_operand(iter *it, int k, const gw_tensor *t, int ndim) {
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int ti = i - lead;
    it->strides[k][i] = (ti < 0 || t->shape[ti] == 1) ? 0 : t->strides[ti];
  }
}

static void iter_coalesce(iter *it, int ndim, const int64_t *shape) {
  int64_t sh[GW_MAX_DIMS], st[MAX_OPS][GW_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == 1) continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int k = 0; k < it->nops; k++)
        if (st[k][nd - 1] != it->strides[k][i] * shape[i]) mergeable = false;
      if (mergeable) {
        sh[nd - 1] *= shape[i];
        for (int k = 0; k < it->nops; k++) st[k][nd - 1] = it->strides[k][i];
        continue;
      }
    }
    sh[nd] = shape[i];
    for (int k = 0; k < it->nops; k++) st[k][nd] = it->strides[k][i];
    nd++;
  }
  if (nd == 0) {  // a single element
    sh[0] = 1;
    for (int k = 0; k < it->nops; k++) st[k][0] = 0;
    nd = 1;
  }
  it->ndim = nd;
  memcpy(it->shape, sh, sizeof sh);
  memcpy(it->strides, st, sizeof st);
  it->inner = sh[nd - 1];
  it->rows = 1;
  for (int i = 0; i < nd - 1; i++) it->rows *= sh[i];
}

// Element offsets of each operand at the start of row r.
static void iter_row_offsets(const iter *it, int64_t r, int64_t *off) {
  for (int k = 0; k < it->nops; k++) off[k] = 0;
  for (int i = it->ndim - 2; i >= 0; i--) {
    int64_t idx = r % it->shape[i];
    r /= it->shape[i];
    for (int k = 0; k < it->nops; k++) off[k] += idx * it->strides[k][i];
  }
}

// Runs body(row, offsets, first, count) over all rows. Rows are split among threads when the
// work is large; a single long row is cut into fixed-size pieces.
typedef void (*row_fn)(const iter *it, const int64_t *off, int64_t count, void *ctx);

// Rows [r0, r1): the offsets of the first row are computed once, then advanced row by row like
// an odometer (no divisions per row: they cost more than a short row's work).
static void run_rows(const iter *it, int64_t r0, int64_t r1, row_fn body, void *ctx) {
  if (r0 >= r1) return;
  int64_t off[MAX_OPS], idx[GW_MAX_DIMS];
  iter_row_offsets(it, r0, off);
  for (int64_t i = it->ndim - 2, r = r0; i >= 0; i--) {  // r0's index in each row dim
    idx[i] = r % it->shape[i];
    r /= it->shape[i];
  }
  for (int64_t r = r0; r < r1; r++) {
    body(it, off, it->inner, ctx);
    for (int i = it->ndim - 2; i >= 0; i--) {  // the next row
      for (int k = 0; k < it->nops; k++) off[k] += it->strides[k][i];
      if (++idx[i] < it->shape[i]) break;
      for (int k = 0; k < it->nops; k++) off[k] -= it->shape[i] * it->strides[k][i];
      idx[i] = 0;
    }
  }
}

static void iter_run(const iter *it, row_fn body, void *ctx) {
  int64_t total = it->rows * it->inner;
  if (total < GW_PARALLEL_MIN) {
    run_rows(it, 0, it->rows, body, ctx);
    return;
  }
  if (it->rows == 1) {
    const int64_t piece = 8192;
    int64_t pieces = (it->inner + piece - 1) / piece;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < pieces; p++) {
      int64_t off[MAX_OPS];
      for (int k = 0; k < it->nops; k++) off[k] = p * piece * it->strides[k][0];
      int64_t n = it->inner - p * piece < piece ? it->inner - p * piece : piece;
      body(it, off, n, ctx);
    }
    return;
  }
  // each thread a contiguous range of rows (elementwise: the sharing changes no bit)
#pragma omp parallel
  {
    int n_threads = omp_get_num_threads(), t = omp_get_thread_num();
    run_rows(it, it->rows * t / n_threads, it->rows * (t + 1) / n_threads, body, ctx);
  }
}

// ---- copy and accumulate ----

typedef struct copy_ctx {
  char *dst;
  const char *src;
  bool accumulate;
  bool is_int;
} copy_ctx;

static void copy_row(const iter *it, const int64_t *off, int64_t n, void *vctx) {
  copy_ctx *c = vctx;
  int64_t sd = it->strides[0][it->ndim - 1], ss = it->strides[1][it->ndim - 1];
  if (c->is_int) {
    int32_t *d = (int32_t *)c->dst + off[0];
    const int32_t *s = (const int32_t *)c->src + off[1];
    for (int64_t i = 0; i < n; i++) d[i * sd] = s[i * ss];
    return;
  }
  float *restrict d = (float *)c->dst + off[0];
  const float *restrict s = (const float *)c->src + off[1];
  if (c->accumulate) {
    if (sd == 1 && ss == 1)
      for (int64_t i = 0; i < n; i++) d[i] += s[i];
    else
      for (int64_t i = 0; i < n; i++) d[i * sd] += s[i * ss];
  } else {
    if (sd == 1 && ss == 1)
      memcpy(d, s, (size_t)n * sizeof(float));
    else
      for (int64_t i = 0; i < n; i++) d[i * sd] = s[i * ss];
  }
}

static void copy_or_add(gw_tensor *dst, const gw_tensor *src, bool accumulate) {
  iter it = {.nops = 2};
  iter_operand(&it, 0, dst, dst->ndim);
  iter_operand(&it, 1, src, dst->ndim);
  iter_coalesce(&it, dst->ndim, dst->shape);
  copy_ctx c = {.dst = (char *)dst->data + dst->offset * gw_dtype_size(dst->dtype),
                .src = (const char *)src->data + src->offset * gw_dtype_size(src->dtype),
                .accumulate = accumulate,
                .is_int = dst->dtype == GW_I32};
  iter_run(&it, copy_row, &c);
}

void gw_k_copy(gw_tensor *dst, const gw_tensor *src) { copy_or_add(dst, src, false); }

void gw_k_add_into(gw_tensor *dst, const gw_tensor *src) {
  GW_CHECK(dst->dtype == GW_F32 && src->dtype == GW_F32, "add_into: float32 tensors only");
  copy_or_add(dst, src, true);
}

// ---- binary ops with broadcasting ----

typedef struct binary_ctx {
  gw_binop op;
  bool accumulate;
  float *out;
  const float *a, *b;
} binary_ctx;

static inline float apply(gw_binop op, float a, float b) {
  switch (op) {
    case GW_BIN_ADD: return a + b;
    case GW_BIN_SUB: return a - b;
    case GW_BIN_MUL: return a * b;
    case GW_BIN_DIV: return a / b;
    case GW_BIN_MAX: return (a != a || a > b) ? a : b;
    case GW_BIN_MIN: return (a != a || a < b) ? a : b;
    case GW_BIN_POW: return powf(a, b);
    case GW_BIN_GE: return a >= b ? 1.0f : 0.0f;
    case GW_BIN_GT: return a > b ? 1.0f : 0.0f;
    case GW_BIN_EQ: return a == b ? 1.0f : 0.0f;
  }
  return 0.0f;
}

// The inner loop for one op, one accumulate flag, and three stride patterns. `apply` is
// inlined with a constant op, so each instance is a simple loop the compiler vectorises.
#define BINARY_LOOPS(OP, ACC)                                                          \
  do {                                                                                 \
    if (sa == 1 && sb == 1) {                                                          \
      for (int64_t i = 0; i < n; i++) ACC(o[i], apply(OP, a[i], b[i]));                \
    } else if (sa == 1 && sb == 0) {                                                   \
      float bv = b[0];                                                                 \
      for (int64_t i = 0; i < n; i++) ACC(o[i], apply(OP, a[i], bv));                  \
    } else if (sa == 0 && sb == 1) {                                                   \
      float av = a[0];                                                                 \
      for (int64_t i = 0; i < n; i++) ACC(o[i], apply(OP, av, b[i]));                  \
    } else {                                                                           \
      for (int64_t i = 0; i < n; i++) ACC(o[i], apply(OP, a[i * sa], b[i * sb]));      \
    }                                                                                  \
  } while (0)
#define SET(dst, v) (dst) = (v)
#define ADD(dst, v) (dst) += (v)
#define BINARY_CASE(OP)                         \
  case OP:                                      \
    if (c->accumulate) BINARY_LOOPS(OP, ADD);   \
    else BINARY_LOOPS(OP, SET);                 \
    break;

static void binary_row(const iter *it, const int64_t *off, int64_t n, void *vctx) {
  binary_ctx *c = vctx;
  int last = it->ndim - 1;
  int64_t sa = it->strides[1][last], sb = it->strides[2][last];
  float *o = c->out + off[0];
  const float *a = c->a + off[1];
  const float *b = c->b + off[2];
  switch (c->op) {
    BINARY_CASE(GW_BIN_ADD)
    BINARY_CASE(GW_BIN_SUB)
    BINARY_CASE(GW_BIN_MUL)
    BINARY_CASE(GW_BIN_DIV)
    BINARY_CASE(GW_BIN_MAX)
    BINARY_CASE(GW_BIN_MIN)
    BINARY_CASE(GW_BIN_POW)
    BINARY_CASE(GW_BIN_GE)
    BINARY_CASE(GW_BIN_GT)
    BINARY_CASE(GW_BIN_EQ)
  }
}

static void check_broadcast_to(const char *op, const gw_tensor *t, const gw_tensor *out) {
  GW_CHECK(t->dtype == GW_F32, "%s: expected a float32 operand, got %s", op, gw_dtype_name(t->dtype));
  GW_CHECK(t->ndim <= out->ndim, "%s: operand %s has more dims than the output %s", op,
           gw_shape_str(t), gw_shape_str(out));
  int lead = out->ndim - t->ndim;
  for (int i = 0; i < t->ndim; i++)
    GW_CHECK(t->shape[i] == 1 || t->shape[i] == out->shape[i + lead],
             "%s: operand %s does not broadcast to the output %s", op, gw_shape_str(t),
             gw_shape_str(out));
}

static void binary(gw_binop op, const gw_tensor *a, const gw_tensor *b, gw_tensor *out, bool acc) {
  check_broadcast_to("binary op", a, out);
  check_broadcast_to("binary op", b, out);
  GW_CHECK(gw_is_contiguous(out), "binary op: the output %s must be contiguous", gw_shape_str(out));
  iter it = {.nops = 3};
  iter_operand(&it, 0, out, out->ndim);
  iter_operand(&it, 1, a, out->ndim);
  iter_operand(&it, 2, b, out->ndim);
  iter_coalesce(&it, out->ndim, out->shape);
  binary_ctx c = {.op = op, .accumulate = acc, .out = gw_f32(out), .a = gw_f32(a), .b = gw_f32(b)};
  iter_run(&it, binary_row, &c);
}

void gw_k_binary(gw_binop op, const gw_tensor *a, const gw_tensor *b, gw_tensor *out) {
  binary(op, a, b, out, false);
}

void gw_k_binary_acc(gw_binop op, const gw_tensor *a, const gw_tensor *b, gw_tensor *out) {
  binary(op, a, b, out, true);
}

// ---- where ----

typedef struct where_ctx {
  float *out;
  const int32_t *cond;
  const float *a, *b;
} where_ctx;

static void where_row(const iter *it, const int64_t *off, int64_t n, void *vctx) {
  where_ctx *c = vctx;
  int last = it->ndim - 1;
  int64_t sc = it->strides[1][last], sa = it->strides[2][last], sb = it->strides[3][last];
  float *o = c->out + off[0];
  const int32_t *cond = c->cond + off[1];
  const float *a = c->a + off[2], *b = c->b + off[3];
  for (int64_t i = 0; i < n; i++) o[i] = cond[i * sc] ? a[i * sa] : b[i * sb];
}

void gw_k_where(const gw_tensor *cond, const gw_tensor *a, const gw_tensor *b, gw_tensor *out) {
  GW_CHECK(cond->dtype == GW_I32, "where: the condition must be int32, got %s",
           gw_dtype_name(cond->dtype));
  check_broadcast_to("where", a, out);
  check_broadcast_to("where", b, out);
  iter it = {.nops = 4};
  iter_operand(&it, 0, out, out->ndim);
  iter_operand(&it, 1, cond, out->ndim);
  iter_operand(&it, 2, a, out->ndim);
  iter_operand(&it, 3, b, out->ndim);
  iter_coalesce(&it, out->ndim, out->shape);
  where_ctx c = {.out = gw_f32(out), .cond = gw_i32(cond), .a = gw_f32(a), .b = gw_f32(b)};
  iter_run(&it, where_row, &c);
}
