#include "tensor/tensor.h"

#include <stdio.h>
#include <string.h>

#include "tensor/kernels.h"

size_t gw_dtype_size(gw_dtype dtype) { return dtype == GW_F32 ? sizeof(float) : sizeof(int32_t); }

const char *gw_dtype_name(gw_dtype dtype) { return dtype == GW_F32 ? "float32" : "int32"; }

void gw_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
}

static int64_t shape_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

int64_t gw_numel(const gw_tensor *t) { return shape_numel(t->ndim, t->shape); }

static gw_tensor *tensor_struct(gw_arena *a, gw_dtype dtype, int ndim, const int64_t *shape) {
  GW_CHECK(ndim >= 0 && ndim <= GW_MAX_DIMS, "tensor: %d dimensions asked, at most %d are supported",
           ndim, GW_MAX_DIMS);
  gw_tensor *t = gw_arena_alloc(a, sizeof *t, "tensor");
  memset(t, 0, sizeof *t);
  t->ndim = ndim;
  t->dtype = dtype;
  t->arena = a;
  for (int i = 0; i < ndim; i++) {
    GW_CHECK(shape[i] >= 0, "tensor: negative size %lld in dimension %d of %s", (long long)shape[i],
             i, gw_shape_str_n(ndim, shape));
    t->shape[i] = shape[i];
  }
  gw_contiguous_strides(ndim, shape, t->strides);
  return t;
}

gw_tensor *gw_empty_in(gw_arena *a, gw_dtype dtype, int ndim, const int64_t *shape) {
  gw_tensor *t = tensor_struct(a, dtype, ndim, shape);
  t->data = gw_arena_alloc(a, (size_t)gw_numel(t) * gw_dtype_size(dtype), "tensor data");
  return t;
}

gw_tensor *gw_zeros_in(gw_arena *a, gw_dtype dtype, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty_in(a, dtype, ndim, shape);
  memset(t->data, 0, (size_t)gw_numel(t) * gw_dtype_size(dtype));
  return t;
}

gw_tensor *gw_empty(gw_dtype dtype, int ndim, const int64_t *shape) {
  return gw_empty_in(gw_arena_current(), dtype, ndim, shape);
}

gw_tensor *gw_zeros(gw_dtype dtype, int ndim, const int64_t *shape) {
  return gw_zeros_in(gw_arena_current(), dtype, ndim, shape);
}

gw_tensor *gw_full(float value, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  gw_fill(t, value);
  return t;
}

gw_tensor *gw_empty_like(const gw_tensor *t) { return gw_empty(t->dtype, t->ndim, t->shape); }

gw_tensor *gw_zeros_like(const gw_tensor *t) { return gw_zeros(t->dtype, t->ndim, t->shape); }

gw_tensor *gw_scalar(float value) {
  gw_tensor *t = gw_empty(GW_F32, 0, NULL);
  gw_f32(t)[0] = value;
  return t;
}

gw_tensor *gw_from_floats(const float *values, int64_t n, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_F32, ndim, shape);
  GW_CHECK(n == gw_numel(t), "gw_from_floats: %lld values for shape %s (%lld elements)",
           (long long)n, gw_shape_str(t), (long long)gw_numel(t));
  memcpy(t->data, values, (size_t)n * sizeof(float));
  return t;
}

gw_tensor *gw_from_ints(const int32_t *values, int64_t n, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_empty(GW_I32, ndim, shape);
  GW_CHECK(n == gw_numel(t), "gw_from_ints: %lld values for shape %s (%lld elements)",
           (long long)n, gw_shape_str(t), (long long)gw_numel(t));
  memcpy(t->data, values, (size_t)n * sizeof(int32_t));
  return t;
}

gw_tensor *gw_wrap(void *data, gw_dtype dtype, int ndim, const int64_t *shape) {
  gw_tensor *t = tensor_struct(gw_arena_current(), dtype, ndim, shape);
  t->data = data;
  return t;
}

bool gw_is_contiguous(const gw_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->strides[i] != s) return false;
    s *= t->shape[i];
  }
  return true;
}

bool gw_same_shape(const gw_tensor *a, const gw_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

const char *gw_shape_str_n(int ndim, const int64_t *shape) {
  static _Thread_local char ring[8][96];
  static _Thread_local int next;
  char *buf = ring[next++ % 8];
  int len = snprintf(buf, 96, "(");
  for (int i = 0; i < ndim && len < 90; i++)
    len += snprintf(buf + len, 96 - len, i ? ", %lld" : "%lld", (long long)shape[i]);
  snprintf(buf + len, 96 - len, ndim == 1 ? ",)" : ")");
  return buf;
}

const char *gw_shape_str(const gw_tensor *t) { return gw_shape_str_n(t->ndim, t->shape); }

int gw_norm_dim(const char *op, int dim, int ndim) {
  int d = dim < 0 ? dim + ndim : dim;
  GW_CHECK(d >= 0 && d < (ndim ? ndim : 1), "%s: dimension %d is out of range for a %d-dim tensor",
           op, dim, ndim);
  return d;
}

float gw_item(const gw_tensor *t) {
  GW_CHECK(gw_numel(t) == 1, "item: the tensor has shape %s, not one element", gw_shape_str(t));
  return t->dtype == GW_F32 ? gw_f32(t)[0] : (float)gw_i32(t)[0];
}

// A new struct with the same storage, dtype and arena, to be given its own shape.
static gw_tensor *view_of(const gw_tensor *t) {
  gw_tensor *v = gw_arena_alloc(gw_arena_current(), sizeof *v, "view");
  memset(v, 0, sizeof *v);
  v->data = t->data;
  v->offset = t->offset;
  v->dtype = t->dtype;
  v->arena = gw_arena_current();
  v->ndim = t->ndim;
  memcpy(v->shape, t->shape, sizeof v->shape);
  memcpy(v->strides, t->strides, sizeof v->strides);
  return v;
}

// Resolves one -1 in a requested shape; stops when the element counts differ.
static void resolve_shape(const char *op, const gw_tensor *t, int ndim, const int64_t *shape,
                          int64_t *out) {
  GW_CHECK(ndim >= 0 && ndim <= GW_MAX_DIMS, "%s: %d dimensions asked, at most %d", op, ndim,
           GW_MAX_DIMS);
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++) {
    out[i] = shape[i];
    if (shape[i] == -1) {
      GW_CHECK(infer < 0, "%s: more than one -1 in the shape %s", op, gw_shape_str_n(ndim, shape));
      infer = i;
    } else {
      known *= shape[i];
    }
  }
  int64_t n = gw_numel(t);
  if (infer >= 0) {
    GW_CHECK(known > 0 && n % known == 0, "%s: cannot reshape %s into %s", op, gw_shape_str(t),
             gw_shape_str_n(ndim, shape));
    out[infer] = n / known;
  }
  GW_CHECK(shape_numel(ndim, out) == n, "%s: cannot reshape %s (%lld elements) into %s", op,
           gw_shape_str(t), (long long)n, gw_shape_str_n(ndim, shape));
}

// Strides for viewing t with a new shape without a copy, if possible. This is PyTorch's
// rule: the input dims split into chunks that are contiguous within themselves, and each
// chunk must map onto a run of output dims with the same number of elements.
static bool view_strides(const gw_tensor *t, int ndim, const int64_t *shape, int64_t *strides) {
  if (gw_is_contiguous(t)) {
    gw_contiguous_strides(ndim, shape, strides);
    return true;
  }
  int view_d = ndim - 1;
  int64_t chunk_base_stride = t->strides[t->ndim - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    tensor_numel *= t->shape[d];
    bool chunk_ends =
        d == 0 || (t->shape[d - 1] != 1 && t->strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= shape[view_d];
      view_d--;
    }
    if (view_numel != tensor_numel) return false;
    if (d > 0) {
      chunk_base_stride = t->strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  return view_d == -1;
}

bool gw_can_view_reshape(const gw_tensor *t, int ndim, const int64_t *shape) {
  int64_t resolved[GW_MAX_DIMS], strides[GW_MAX_DIMS];
  resolve_shape("reshape", t, ndim, shape, resolved);
  return view_strides(t, ndim, resolved, strides);
}

gw_tensor *gw_view_reshape(const gw_tensor *t, int ndim, const int64_t *shape) {
  int64_t resolved[GW_MAX_DIMS], strides[GW_MAX_DIMS];
  resolve_shape("reshape", t, ndim, shape, resolved);
  GW_CHECK(view_strides(t, ndim, resolved, strides),
           "reshape: %s with strides %s cannot be viewed as %s without a copy. HINT: call "
           "gw_contiguous() first (gw_reshape in autograd does this for you)",
           gw_shape_str(t), gw_shape_str_n(t->ndim, t->strides), gw_shape_str_n(ndim, resolved));
  gw_tensor *v = view_of(t);
  v->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    v->shape[i] = resolved[i];
    v->strides[i] = strides[i];
  }
  return v;
}

gw_tensor *gw_view_permute(const gw_tensor *t, const int *perm) {
  bool seen[GW_MAX_DIMS] = {false};
  gw_tensor *v = view_of(t);
  for (int i = 0; i < t->ndim; i++) {
    int p = perm[i];
    GW_CHECK(p >= 0 && p < t->ndim && !seen[p], "permute: the order given is not a permutation of "
             "the %d dimensions of %s", t->ndim, gw_shape_str(t));
    seen[p] = true;
    v->shape[i] = t->shape[p];
    v->strides[i] = t->strides[p];
  }
  return v;
}

gw_tensor *gw_view_transpose(const gw_tensor *t, int dim0, int dim1) {
  int d0 = gw_norm_dim("transpose", dim0, t->ndim), d1 = gw_norm_dim("transpose", dim1, t->ndim);
  int perm[GW_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) perm[i] = i;
  perm[d0] = d1;
  perm[d1] = d0;
  return gw_view_permute(t, perm);
}

gw_tensor *gw_view_slice(const gw_tensor *t, int dim, int64_t start, int64_t end, int64_t step) {
  int d = gw_norm_dim("slice", dim, t->ndim);
  int64_t n = t->shape[d];
  GW_CHECK(step >= 1, "slice: step must be >= 1 (got %lld)", (long long)step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (end > n) end = n;
  GW_CHECK(start >= 0 && start <= end, "slice: [%lld, %lld) is out of range for dimension %d of %s",
           (long long)start, (long long)end, d, gw_shape_str(t));
  gw_tensor *v = view_of(t);
  v->offset += start * t->strides[d];
  v->shape[d] = (end - start + step - 1) / step;
  v->strides[d] = t->strides[d] * step;
  return v;
}

gw_tensor *gw_view_expand(const gw_tensor *t, int ndim, const int64_t *shape) {
  GW_CHECK(ndim >= t->ndim && ndim <= GW_MAX_DIMS, "expand: cannot expand %s to %s", gw_shape_str(t),
           gw_shape_str_n(ndim, shape));
  gw_tensor *v = view_of(t);
  v->ndim = ndim;
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int64_t want = shape[i];
    if (i < lead) {
      GW_CHECK(want >= 0, "expand: -1 is not allowed for a new leading dimension");
      v->shape[i] = want;
      v->strides[i] = 0;
      continue;
    }
    int64_t have = t->shape[i - lead];
    if (want == -1 || want == have) {
      v->shape[i] = have;
      v->strides[i] = t->strides[i - lead];
    } else {
      GW_CHECK(have == 1, "expand: dimension %d has size %lld and cannot expand to %lld (%s to %s)", i,
               (long long)have, (long long)want, gw_shape_str(t), gw_shape_str_n(ndim, shape));
      v->shape[i] = want;
      v->strides[i] = 0;
    }
  }
  return v;
}

gw_tensor *gw_contiguous(const gw_tensor *t) {
  if (gw_is_contiguous(t)) return (gw_tensor *)t;
  return gw_clone(t);
}

gw_tensor *gw_clone(const gw_tensor *t) {
  gw_tensor *c = gw_empty(t->dtype, t->ndim, t->shape);
  gw_k_copy(c, t);
  return c;
}

void gw_copy_into(gw_tensor *dst, const gw_tensor *src) {
  GW_CHECK(gw_same_shape(dst, src) && dst->dtype == src->dtype,
           "copy: destination %s %s and source %s %s differ", gw_shape_str(dst),
           gw_dtype_name(dst->dtype), gw_shape_str(src), gw_dtype_name(src->dtype));
  gw_k_copy(dst, src);
}

void gw_fill(gw_tensor *t, float value) {
  GW_CHECK(gw_is_contiguous(t), "fill: the tensor %s must be contiguous", gw_shape_str(t));
  int64_t n = gw_numel(t);
  if (t->dtype == GW_F32) {
    float *p = gw_f32(t);
    for (int64_t i = 0; i < n; i++) p[i] = value;
  } else {
    int32_t *p = gw_i32(t);
    for (int64_t i = 0; i < n; i++) p[i] = (int32_t)value;
  }
}

int gw_broadcast_shapes(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                        int64_t *out) {
  int nd = na > nb ? na : nb;
  for (int i = 0; i < nd; i++) {
    int ia = i - (nd - na), ib = i - (nd - nb);
    int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    GW_CHECK(sa == sb || sa == 1 || sb == 1,
             "%s: shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)", op,
             gw_shape_str_n(na, a), gw_shape_str_n(nb, b), i, (long long)sa, (long long)sb);
    out[i] = sa == 1 ? sb : sa;
  }
  return nd;
}

int gw_broadcast_shape(const char *op, const gw_tensor *a, const gw_tensor *b, int64_t *out) {
  return gw_broadcast_shapes(op, a->ndim, a->shape, b->ndim, b->shape, out);
}
