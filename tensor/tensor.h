// The tensor: a view of float32 or int32 storage with up to 6 dimensions.
//
// Dimension order is PyTorch's (outermost first: NCHW for images). Shape and strides are
// in elements, and `offset` is the element index of [0,...,0] in the storage at `data`.
// Views (reshape, permute, transpose, slice, expand) share storage and copy nothing;
// gw_contiguous() copies only when the layout is not already row-major.
//
// Memory comes from arenas (tensor/arena.h): a tensor struct and its data live in the
// arena that was current when it was made, and go away when that arena is reset.
#ifndef GW_TENSOR_H
#define GW_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/arena.h"
#include "tensor/error.h"

enum { GW_MAX_DIMS = 6 };

typedef enum gw_dtype { GW_F32 = 0, GW_I32 = 1 } gw_dtype;

struct gw_node;

typedef struct gw_tensor gw_tensor;
struct gw_tensor {
  void *data;       // storage base, shared by views
  int64_t offset;   // element index of [0,...,0] within data
  int64_t shape[GW_MAX_DIMS];
  int64_t strides[GW_MAX_DIMS];
  int ndim;
  gw_dtype dtype;
  gw_arena *arena;  // the arena holding this struct (gradients are made there too)

  // Autograd bookkeeping (used by autograd/, ignored by the kernels).
  bool requires_grad;    // a leaf that wants .grad, or the result of an op on one
  bool is_param;         // a parameter (its .grad persists across steps)
  gw_tensor *grad;       // accumulated gradient, same shape, contiguous; NULL until needed
  bool grad_written;     // a gradient reached it since the last gw_zero_grad (optimizers skip
                         // parameters a step did not use, like PyTorch's set_to_none)
  struct gw_node *node;  // the op that made this tensor, NULL for leaves
  const char *name;      // optional, for messages and checkpoints
};

// GW_SHAPE(2, 3, 4) expands to the two arguments `ndim, (int64_t[]){2, 3, 4}`.
#define GW_SHAPE(...) \
  (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]) { __VA_ARGS__ }

// ---- creation (in the current arena, or in `a` for the _in variants) ----
gw_tensor *gw_empty(gw_dtype dtype, int ndim, const int64_t *shape);
gw_tensor *gw_zeros(gw_dtype dtype, int ndim, const int64_t *shape);
gw_tensor *gw_full(float value, int ndim, const int64_t *shape);
gw_tensor *gw_empty_in(gw_arena *a, gw_dtype dtype, int ndim, const int64_t *shape);
gw_tensor *gw_zeros_in(gw_arena *a, gw_dtype dtype, int ndim, const int64_t *shape);
gw_tensor *gw_empty_like(const gw_tensor *t);  // contiguous, same dtype and shape
gw_tensor *gw_zeros_like(const gw_tensor *t);
gw_tensor *gw_scalar(float value);             // 0-dim float tensor
// A float tensor with a copy of `values` (n must equal the number of elements).
gw_tensor *gw_from_floats(const float *values, int64_t n, int ndim, const int64_t *shape);
gw_tensor *gw_from_ints(const int32_t *values, int64_t n, int ndim, const int64_t *shape);
// A tensor struct over memory the caller owns (row-major); nothing is copied.
gw_tensor *gw_wrap(void *data, gw_dtype dtype, int ndim, const int64_t *shape);

// ---- queries ----
int64_t gw_numel(const gw_tensor *t);
bool gw_is_contiguous(const gw_tensor *t);
bool gw_same_shape(const gw_tensor *a, const gw_tensor *b);
size_t gw_dtype_size(gw_dtype dtype);
const char *gw_dtype_name(gw_dtype dtype);
// "(2, 3, 4)" in a thread-local ring of buffers, so several can appear in one message.
const char *gw_shape_str(const gw_tensor *t);
const char *gw_shape_str_n(int ndim, const int64_t *shape);
// A dimension index that may be negative (-1 is the last); stops on out-of-range.
int gw_norm_dim(const char *op, int dim, int ndim);

// Pointers to element [0,...,0].
static inline float *gw_f32(const gw_tensor *t) { return (float *)t->data + t->offset; }
static inline int32_t *gw_i32(const gw_tensor *t) { return (int32_t *)t->data + t->offset; }
// The single value of a one-element float tensor.
float gw_item(const gw_tensor *t);

// ---- views: no copy; the result shares storage with the input ----
gw_tensor *gw_view_reshape(const gw_tensor *t, int ndim, const int64_t *shape);  // -1 infers one dim
gw_tensor *gw_view_permute(const gw_tensor *t, const int *perm);
gw_tensor *gw_view_transpose(const gw_tensor *t, int dim0, int dim1);
gw_tensor *gw_view_slice(const gw_tensor *t, int dim, int64_t start, int64_t end, int64_t step);
gw_tensor *gw_view_expand(const gw_tensor *t, int ndim, const int64_t *shape);  // size-1 dims only
// Can `t` be reshaped to `shape` without a copy? (true for contiguous tensors)
bool gw_can_view_reshape(const gw_tensor *t, int ndim, const int64_t *shape);

// ---- copies ----
// Row-major copy of t, or t itself when it is already row-major.
gw_tensor *gw_contiguous(const gw_tensor *t);
// Copies src into dst elementwise; shapes must match (any strides on both sides).
void gw_copy_into(gw_tensor *dst, const gw_tensor *src);
gw_tensor *gw_clone(const gw_tensor *t);  // always a fresh row-major copy
void gw_fill(gw_tensor *t, float value);

// Row-major strides for a shape.
void gw_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);

// ---- broadcasting ----
// Output shape of broadcasting a and b (PyTorch rules); stops with the op name on mismatch.
int gw_broadcast_shape(const char *op, const gw_tensor *a, const gw_tensor *b, int64_t *out_shape);
int gw_broadcast_shapes(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                        int64_t *out_shape);

#endif
