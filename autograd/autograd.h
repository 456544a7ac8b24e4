// Reverse-mode automatic differentiation, define-by-run.
//
// Every differentiable op computes its output with the kernels of tensor/ and, when an
// input requires a gradient and gradients are enabled, appends a node to the tape: its
// inputs, its output, what it saved, and its backward function. The tape lives in the step
// arena. gw_backward(loss) walks the tape from the newest node to the oldest (creation order
// is a topological order) and each node adds its inputs' gradients into their .grad (+=).
//
// Every op lives in one file with its backward beside it (autograd/arith.c, unary.c,
// reduce.c, matmul.c, shape.c, join.c, index.c, softmax.c, layernorm.c, conv2d.c, pool.c,
// resize.c, dropout.c, losses.c). Misuse (shapes that do not fit, a wrong dtype) stops with
// a message naming the op and the shapes.
#ifndef GW_AUTOGRAD_H
#define GW_AUTOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/arena.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

// ======================= runtime (autograd/tape.c) =======================

// Creates the persistent and step arenas and makes the step arena current. Call once; a
// second call does nothing. gw_shutdown() frees both.
void gw_init(void);
void gw_shutdown(void);
gw_arena *gw_persistent_arena(void);
gw_arena *gw_step_arena(void);
// Ends a step: forgets the tape and resets the step arena (activations, intermediate
// gradients). Parameters and their gradients, in the persistent arena, stay.
void gw_step_end(void);

typedef struct gw_node gw_node;
typedef void (*gw_backward_fn)(gw_node *n);
enum { GW_NODE_SAVED = 4, GW_NODE_ARGS = 8 };
struct gw_node {
  const char *op;           // the op's name, for messages and `gw graph`
  gw_backward_fn backward;  // adds the inputs' gradients from out->grad
  gw_tensor *out;
  gw_tensor **in;           // inputs, n_in of them
  int n_in;
  gw_tensor *saved[GW_NODE_SAVED];  // tensors the backward needs besides in and out
  float f[GW_NODE_ARGS];            // scalar arguments
  int64_t i[GW_NODE_ARGS];          // integer arguments
  void *ctx;                        // anything larger, in the step arena
  gw_node *prev;                    // the node recorded before this one
  int64_t seq;                      // position on the tape
};

// The newest node on the tape (NULL when empty), and the number of nodes.
gw_node *gw_tape_last(void);
int64_t gw_tape_size(void);

// Gradient mode. gw_no_grad_begin() turns recording off and returns the previous mode for
// gw_no_grad_end(). Use for evaluation, EMA updates and frozen teachers.
bool gw_grad_enabled(void);
bool gw_no_grad_begin(void);
void gw_no_grad_end(bool previous);

// Anomaly mode: every op checks its output for NaN/Inf and stops naming the first op that
// produced one (and its input shapes). Off by default (it costs a pass over every output).
void gw_set_anomaly_mode(bool on);
bool gw_anomaly_mode(void);

// Leaves.
// A parameter: zero-filled, in the persistent arena, requires_grad, named.
gw_tensor *gw_param(const char *name, int ndim, const int64_t *shape);
void gw_set_requires_grad(gw_tensor *t, bool on);  // false freezes a parameter
// A view of t that shares its data but is cut from the tape (no gradient flows back).
gw_tensor *gw_detach(const gw_tensor *t);
void gw_zero_grad(gw_tensor *t);

// Backward from a one-element loss (its gradient seeded with 1).
void gw_backward(gw_tensor *loss);
// Backward from any tensor with an explicit seed gradient of the same shape.
void gw_backward_seeded(gw_tensor *out, const gw_tensor *seed);

// ---- for op implementations (autograd/op.h has the rest) ----
bool gw_any_requires_grad(int n, gw_tensor *const *ins);
// Appends a node for `out` if gradients are enabled and any input requires one; returns it
// (NULL otherwise, and then the op saves nothing).
gw_node *gw_record(const char *op, gw_tensor *out, gw_backward_fn backward, int n_in,
                   gw_tensor *const *ins);
// t->grad, allocated (zeroed, contiguous) on first use.
gw_tensor *gw_grad_of(gw_tensor *t);
// t->grad += g, where g has t's shape or broadcasts from it (then g is summed down).
void gw_grad_add(gw_tensor *t, const gw_tensor *g);

// ======================= arithmetic (autograd/arith.c) =======================
// Broadcasting as in PyTorch.
gw_tensor *gw_add(gw_tensor *a, gw_tensor *b);
gw_tensor *gw_sub(gw_tensor *a, gw_tensor *b);
gw_tensor *gw_mul(gw_tensor *a, gw_tensor *b);
gw_tensor *gw_div(gw_tensor *a, gw_tensor *b);
gw_tensor *gw_maximum(gw_tensor *a, gw_tensor *b);  // ties send the gradient half to each
gw_tensor *gw_minimum(gw_tensor *a, gw_tensor *b);
// cond (int32, nonzero = take a) ? a : b, all broadcast together
gw_tensor *gw_where(const gw_tensor *cond, gw_tensor *a, gw_tensor *b);
// a with every element where mask (int32) is 0 replaced by value
gw_tensor *gw_masked_fill(gw_tensor *a, const gw_tensor *mask, float value);

// ======================= unary (autograd/unary.c) =======================
gw_tensor *gw_neg(gw_tensor *x);
gw_tensor *gw_add_scalar(gw_tensor *x, float c);
gw_tensor *gw_mul_scalar(gw_tensor *x, float c);
gw_tensor *gw_exp(gw_tensor *x);
gw_tensor *gw_log(gw_tensor *x);
gw_tensor *gw_sqrt(gw_tensor *x);
gw_tensor *gw_pow(gw_tensor *x, float p);
gw_tensor *gw_abs(gw_tensor *x);
gw_tensor *gw_relu(gw_tensor *x);
gw_tensor *gw_gelu(gw_tensor *x);       // exact (erf)
gw_tensor *gw_gelu_tanh(gw_tensor *x);  // tanh approximation
gw_tensor *gw_silu(gw_tensor *x);
gw_tensor *gw_sigmoid(gw_tensor *x);
gw_tensor *gw_tanh(gw_tensor *x);
gw_tensor *gw_softplus(gw_tensor *x);
gw_tensor *gw_clamp(gw_tensor *x, float lo, float hi);

// ======================= reductions (autograd/reduce.c) =======================
// Over the dims listed (negative counts from the end); n_dims = 0 means all dims.
gw_tensor *gw_sum(gw_tensor *x, int n_dims, const int *dims, bool keepdim);
gw_tensor *gw_mean(gw_tensor *x, int n_dims, const int *dims, bool keepdim);
// Unbiased (correction 1) or population (0) variance.
gw_tensor *gw_var(gw_tensor *x, int n_dims, const int *dims, int correction, bool keepdim);
gw_tensor *gw_logsumexp(gw_tensor *x, int dim, bool keepdim);
// Max over one dim; the gradient goes to the (first) maximum. `argmax` (may be NULL) gets
// the int32 indices.
gw_tensor *gw_max(gw_tensor *x, int dim, bool keepdim, gw_tensor **argmax);
gw_tensor *gw_sum_all(gw_tensor *x);   // 0-dim
gw_tensor *gw_mean_all(gw_tensor *x);  // 0-dim
// Int32 indices of the maximum over dim (no gradient).
gw_tensor *gw_argmax(const gw_tensor *x, int dim, bool keepdim);

// ======================= products (autograd/matmul.c) =======================
// torch.matmul: (.., M, K) @ (.., K, N) -> (.., M, N) with broadcast batch dims; 1-dim
// operands are treated as a row (left) or a column (right) vector. A transposed view is
// passed to sgemm as a flag, not copied.
gw_tensor *gw_matmul(gw_tensor *a, gw_tensor *b);
// y (.., N) = x (.., K) @ w^T (N, K) + bias (N), as nn.Linear; bias may be NULL
gw_tensor *gw_linear(gw_tensor *x, gw_tensor *w, gw_tensor *bias);

// ======================= shapes (autograd/shape.c) =======================
gw_tensor *gw_reshape(gw_tensor *x, int ndim, const int64_t *shape);  // copies only if needed
gw_tensor *gw_permute(gw_tensor *x, const int *perm);
gw_tensor *gw_transpose(gw_tensor *x, int dim0, int dim1);
gw_tensor *gw_slice(gw_tensor *x, int dim, int64_t start, int64_t end, int64_t step);
gw_tensor *gw_expand(gw_tensor *x, int ndim, const int64_t *shape);
gw_tensor *gw_unsqueeze(gw_tensor *x, int dim);
gw_tensor *gw_squeeze(gw_tensor *x, int dim);
gw_tensor *gw_flatten(gw_tensor *x, int start_dim, int end_dim);
// A row-major copy that gradients flow through (x itself when already row-major).
gw_tensor *gw_contig(gw_tensor *x);

// ======================= joining (autograd/join.c) =======================
gw_tensor *gw_concat(int count, gw_tensor *const *xs, int dim);
gw_tensor *gw_stack(int count, gw_tensor *const *xs, int dim);
// Splits x along dim into pieces of the given sizes (views); fills outs[0..count).
void gw_split(gw_tensor *x, int dim, int count, const int64_t *sizes, gw_tensor **outs);

// ======================= indexing (autograd/index.c) =======================
// y = x.index_select(dim, idx), idx int32 (m)
gw_tensor *gw_index_select(gw_tensor *x, int dim, const gw_tensor *idx);
// torch.gather(x, dim, idx): idx has x's shape except along dim
gw_tensor *gw_gather(gw_tensor *x, int dim, const gw_tensor *idx);
// table (V, D), ids int32 (any shape) -> (ids..., D). Rows of padding_idx (>= 0) get no
// gradient; -1 for none.
gw_tensor *gw_embedding(gw_tensor *table, const gw_tensor *ids, int padding_idx);

// ======================= softmax (autograd/softmax.c) =======================
// Over the last dim. mask (int32, broadcastable to x; 0 = leave out) may be NULL; a row with
// every entry left out gives zeros (softmax) instead of NaN.
gw_tensor *gw_softmax(gw_tensor *x, const gw_tensor *mask);
gw_tensor *gw_log_softmax(gw_tensor *x, const gw_tensor *mask);

// ======================= normalisation (autograd/layernorm.c) =======================
// Over the last dim; gamma/beta (D) may be NULL.
gw_tensor *gw_layernorm(gw_tensor *x, gw_tensor *gamma, gw_tensor *beta, float eps);

// ======================= batch normalisation (autograd/batchnorm.c) =======================
// x (B, C) or (B, C, ...): per-channel statistics over every dim but C. training: batch
// statistics, and running_mean/var (C, may be NULL) move towards them by momentum (PyTorch's
// convention: new = (1 - momentum) old + momentum batch, unbiased variance). Otherwise the
// running statistics normalise. gamma/beta (C) may be NULL (affine-free).
gw_tensor *gw_batchnorm(gw_tensor *x, gw_tensor *gamma, gw_tensor *beta, gw_tensor *running_mean,
                        gw_tensor *running_var, bool training, float momentum, float eps);

// ======================= convolution (autograd/conv2d.c) =======================
typedef struct gw_conv2d_args {
  int stride_h, stride_w;      // 0 means 1
  int pad_h, pad_w;
  int dilation_h, dilation_w;  // 0 means 1
  int groups;                  // 0 means 1; = channels for depthwise
} gw_conv2d_args;
// x (B,C,H,W), w (OC, C/groups, KH, KW), bias (OC) or NULL -> (B, OC, OH, OW)
gw_tensor *gw_conv2d(gw_tensor *x, gw_tensor *w, gw_tensor *bias, gw_conv2d_args args);

// ======================= language-dependent convolution (autograd/laconv.c) ===============
// x (B, C, H, W), kernels (B, G, k*k, H, W) -> (B, C, H, W): every pixel of every sample has its
// own depthwise k x k kernel; channel c uses kernel group c mod G; zero padding k/2; k odd.
gw_tensor *gw_laconv(gw_tensor *x, gw_tensor *kernels, int k);

// ======================= pooling (autograd/pool.c) =======================
// x (B,C,H,W); kernel k, stride s (0 means k), padding p
gw_tensor *gw_maxpool2d(gw_tensor *x, int k, int s, int p);
gw_tensor *gw_avgpool2d(gw_tensor *x, int k, int s, int p);  // padding counted in the divisor
gw_tensor *gw_adaptive_avgpool2d(gw_tensor *x, int out_h, int out_w);

// ======================= resizing (autograd/resize.c) =======================
gw_tensor *gw_upsample_nearest(gw_tensor *x, int out_h, int out_w);
gw_tensor *gw_upsample_bilinear(gw_tensor *x, int out_h, int out_w);  // align_corners=False
gw_tensor *gw_pixel_shuffle(gw_tensor *x, int r);    // (B, C*r*r, H, W) -> (B, C, H*r, W*r)
gw_tensor *gw_pixel_unshuffle(gw_tensor *x, int r);  // (B, C, H*r, W*r) -> (B, C*r*r, H, W)
// Constant padding of the last n_dims dims, as torch.nn.functional.pad: pads lists
// (before, after) pairs starting from the LAST dim. Negative amounts crop.
gw_tensor *gw_pad(gw_tensor *x, int n_dims, const int64_t *pads, float value);

// ======================= dropout (autograd/dropout.c) =======================
// Zeroes each element with probability p and scales the rest by 1/(1-p), drawing from `rng`.
// Returns x itself when p == 0 (modules pass 0 in evaluation mode).
gw_tensor *gw_dropout(gw_tensor *x, float p, gw_rng *rng);

// ======================= losses (autograd/losses.c) =======================
// GW_BATCHMEAN divides the sum by the size of the first dim (kl_div's 'batchmean').
typedef enum gw_reduction { GW_MEAN = 0, GW_SUM = 1, GW_NONE = 2, GW_BATCHMEAN = 3 } gw_reduction;
// logits (N, C) or (N, C, d...), targets int32 (N) or (N, d...). Targets equal to
// ignore_index count for nothing (mean divides by the others; a batch with every target
// ignored has loss 0, where PyTorch gives NaN). label_smoothing in [0, 1).
gw_tensor *gw_cross_entropy(gw_tensor *logits, const gw_tensor *targets, int ignore_index,
                            float label_smoothing, gw_reduction red);
// Soft targets (same shape as logits), probabilities over dim 1.
gw_tensor *gw_cross_entropy_soft(gw_tensor *logits, gw_tensor *target_probs, gw_reduction red);
// Stable BCE on logits; targets in [0, 1] (soft scores allowed); weight (broadcastable to
// logits, a constant: it gets no gradient) may be NULL.
gw_tensor *gw_bce_with_logits(gw_tensor *logits, gw_tensor *targets, gw_tensor *weight,
                              gw_reduction red);
gw_tensor *gw_l1_loss(gw_tensor *pred, gw_tensor *target, gw_reduction red);
gw_tensor *gw_smooth_l1_loss(gw_tensor *pred, gw_tensor *target, float beta, gw_reduction red);
gw_tensor *gw_mse_loss(gw_tensor *pred, gw_tensor *target, gw_reduction red);
// torch.nn.functional.kl_div(input = log q, target = p): p * (log p - log q) elementwise,
// with 0 * log 0 = 0, then reduced (GW_BATCHMEAN is the true KL per sample). log_target says
// the target is given as log p.
gw_tensor *gw_kl_div(gw_tensor *log_q, gw_tensor *target, bool log_target, gw_reduction red);

#endif
