// Raw kernels: plain functions over buffers, no autograd.
//
// Each kernel opens with the shapes it works on. Unless a kernel says otherwise, buffers
// are row-major and do not overlap. "+=" in a comment means the kernel accumulates into
// its output (backward kernels do, so fan-in needs no special case).
//
// Parallel loops split the work by problem size, never by thread count, and each output
// element is computed by one thread in a fixed order: results are bit-identical at any
// thread count.
#ifndef GW_KERNELS_H
#define GW_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/tensor.h"

// ---- threads (kernels/parallel.c) ----
// Sets the thread count for our loops and for OpenBLAS (one OpenMP pool serves both).
void gw_set_threads(int n);
int gw_get_threads(void);
// The name of the kernels OpenBLAS runs ("Haswell", "SkylakeX", ...): OPENBLAS_CORETYPE
// chooses them, where the machine sets it.
const char *gw_blas_core(void);
// Below this many elements (or multiply-adds) a loop runs on one thread: a parallel
// region costs a few microseconds.
enum { GW_PARALLEL_MIN = 1 << 15 };

// ---- strided elementwise (kernels/elementwise.c) ----
// dst = src, same shape, any strides on either side (float32 or int32).
void gw_k_copy(gw_tensor *dst, const gw_tensor *src);
// dst += src, same shape, any strides (float32).
void gw_k_add_into(gw_tensor *dst, const gw_tensor *src);

typedef enum gw_binop {
  GW_BIN_ADD,
  GW_BIN_SUB,
  GW_BIN_MUL,
  GW_BIN_DIV,
  GW_BIN_MAX,   // maximum (NaN-propagating like torch.maximum)
  GW_BIN_MIN,
  GW_BIN_POW,   // a ** b
  GW_BIN_GE,    // 1.0 where a >= b, else 0.0
  GW_BIN_GT,
  GW_BIN_EQ,
} gw_binop;
// out = a (op) b. a and b are float32 views broadcastable to out's shape (any strides);
// out is row-major and may be one of the operands (in place).
void gw_k_binary(gw_binop op, const gw_tensor *a, const gw_tensor *b, gw_tensor *out);
// out += a (op) b, as gw_k_binary but accumulating.
void gw_k_binary_acc(gw_binop op, const gw_tensor *a, const gw_tensor *b, gw_tensor *out);
// out = cond ? a : b with cond an int32 view (nonzero = true), all broadcast to out.
void gw_k_where(const gw_tensor *cond, const gw_tensor *a, const gw_tensor *b, gw_tensor *out);

// ---- unary math (kernels/unary.c): x, y, dy, dx of n elements; y may be x (in place) ----
typedef enum gw_unop {
  GW_UN_NEG,
  GW_UN_EXP,
  GW_UN_LOG,
  GW_UN_SQRT,
  GW_UN_ABS,
  GW_UN_RELU,
  GW_UN_GELU_TANH,
  GW_UN_GELU_ERF,
  GW_UN_SILU,
  GW_UN_SIGMOID,
  GW_UN_TANH,
  GW_UN_SOFTPLUS,   // log(1 + e^x), linear above x > 20 like PyTorch
  GW_UN_POW,        // x ** p0
  GW_UN_CLAMP,      // min(max(x, p0), p1); gradient 1 strictly inside, 0 outside
  GW_UN_AFFINE,     // p0 * x + p1 (scalar multiply and add)
  GW_UN_COUNT
} gw_unop;
extern const char *const gw_unop_names[GW_UN_COUNT];
// y = f(x)
void gw_k_unary(gw_unop op, const float *x, float *y, int64_t n, float p0, float p1);
// dx += dy * f'(x); y = f(x) is passed for ops whose derivative is cheaper from it.
void gw_k_unary_backward(gw_unop op, const float *x, const float *y, const float *dy, float *dx,
                         int64_t n, float p0, float p1);

// ---- reductions (kernels/reduce.c) over x viewed as (outer, n, inner) ----
// y (outer, inner) = sum over n
void gw_k_reduce_sum(const float *x, float *y, int64_t outer, int64_t n, int64_t inner);
// y (outer, inner) = max over n; arg (outer, inner) = index of the first maximum (may be NULL)
void gw_k_reduce_max(const float *x, float *y, int32_t *arg, int64_t outer, int64_t n, int64_t inner);
// y (outer, inner) = log(sum(exp(x))) over n, stable
void gw_k_reduce_logsumexp(const float *x, float *y, int64_t outer, int64_t n, int64_t inner);
// y (outer, inner) = variance over n with the given correction (1: unbiased); mean may be NULL
void gw_k_reduce_var(const float *x, float *y, float *mean, int64_t outer, int64_t n, int64_t inner,
                     int correction);
// Sum of a whole contiguous buffer, deterministic (fixed blocks, combined in order).
float gw_k_sum_all(const float *x, int64_t n);
// out (contiguous) = x (contiguous) summed down to out's shape, the reverse of broadcasting
// out's shape up to x's. out may have fewer dims (leading dims are summed away).
void gw_k_sum_to(const gw_tensor *x, gw_tensor *out);

// ---- matrix products (kernels/matmul.c) ----
// C (M,N) = alpha * op(A) op(B) + beta * C, op(A) (M,K), op(B) (K,N); ta/tb say whether A
// and B are stored transposed. lda/ldb/ldc are the row strides of the stored matrices.
// beta = 0 does not read C. A large product is cut into pieces (by its sizes only) that run
// in parallel, each on one thread through our AVX-512 sgemm where the CPU has AVX-512, else
// (or with GW_GEMM=blas in the environment) through OpenBLAS's cblas_sgemm.
void gw_k_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
// `batch` independent products, the i-th on A[i], B[i], C[i]. Small products run in
// parallel over the batch (each single-threaded); large ones one after another, each on
// all threads.
void gw_k_gemm_batched(int64_t batch, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                       float alpha, const float *const *A, int64_t lda, const float *const *B,
                       int64_t ldb, float beta, float *const *C, int64_t ldc);

// The code computing the pieces: "avx512" or "openblas" (chosen once, at the first product).
const char *gw_gemm_kernel(void);

// ---- single-threaded AVX-512 sgemm (kernels/sgemm_avx512.c) ----
// The same contract as gw_k_gemm, on the calling thread only. Call it only where
// gw_k_sgemm_avx512_supported() says the CPU has AVX-512 (F, DQ, BW, VL).
bool gw_k_sgemm_avx512_supported(void);
// Its blocking sizes (register tile MR x NR; slices of KC; blocks of MC rows, NC columns),
// for tests that aim at the edges.
typedef struct gw_sgemm_blocking {
  int64_t mr, nr, kc, mc, nc;
} gw_sgemm_blocking;
gw_sgemm_blocking gw_k_sgemm_avx512_blocking(void);
void gw_k_sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc);

// ---- softmax (kernels/softmax.c) over rows of n ----
// y = softmax(x) (or log_softmax when log). mask (rows, n) int32 may be NULL; where it is 0
// the entry is left out: softmax gives 0 there and log_softmax -inf. A row with every entry
// masked gives all zeros (softmax) or all -inf (log_softmax), never NaN.
void gw_k_softmax(const float *x, const int32_t *mask, float *y, int64_t rows, int64_t n, bool log);
// dx += gradient through y = softmax(x) (or log_softmax), given y and dy.
void gw_k_softmax_backward(const float *y, const float *dy, float *dx, int64_t rows, int64_t n,
                           bool log);

// ---- layer normalisation (kernels/layernorm.c) over rows of d ----
// y = (x - mean) * rstd * gamma + beta; gamma/beta may be NULL. mean, rstd (rows) are saved.
void gw_k_layernorm(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                    float *rstd, int64_t rows, int64_t d, float eps);
// dx += ..., dgamma += ..., dbeta += ... (dx, dgamma, dbeta may each be NULL)
void gw_k_layernorm_backward(const float *x, const float *gamma, const float *mean,
                             const float *rstd, const float *dy, float *dx, float *dgamma,
                             float *dbeta, int64_t rows, int64_t d);

// ---- batch normalisation (kernels/batchnorm.c) over x viewed as (B, C, S) ----
// mean, var (C): per-channel statistics over B and S (var is biased, as normalisation uses)
void gw_k_batchnorm_stats(const float *x, int64_t B, int64_t C, int64_t S, float *mean, float *var);
// y = (x - mean) * rstd * gamma + beta per channel; gamma/beta may be NULL
void gw_k_batchnorm_apply(const float *x, const float *mean, const float *rstd, const float *gamma,
                          const float *beta, float *y, int64_t B, int64_t C, int64_t S);
// dx += ..., dgamma += ..., dbeta += ... (each may be NULL). training: the statistics were
// the batch's own (their gradient flows into dx); otherwise they were running constants.
void gw_k_batchnorm_backward(const float *x, const float *dy, const float *mean, const float *rstd,
                             const float *gamma, float *dx, float *dgamma, float *dbeta, int64_t B,
                             int64_t C, int64_t S, bool training);

// ---- convolution helpers (kernels/im2col.c) ----
typedef struct gw_conv_geom {
  int64_t C, H, W;     // input channels (of one group) and size
  int64_t KH, KW;      // kernel
  int64_t SH, SW;      // stride
  int64_t PH, PW;      // zero padding
  int64_t DH, DW;      // dilation
  int64_t OH, OW;      // output size (gw_conv_geom_init fills these)
} gw_conv_geom;
void gw_conv_geom_init(gw_conv_geom *g);
// x (C,H,W) with row stride W -> col (C*KH*KW, OH*OW)
void gw_k_im2col(const float *x, const gw_conv_geom *g, float *col);
// x (C,H,W) += col (C*KH*KW, OH*OW) folded back
void gw_k_col2im(const float *col, const gw_conv_geom *g, float *x);
// The same two through a scratch xp of C*(H+2PH)*(W+2PW) floats holding x zero-padded:
// faster when there is padding (every row of col is then a plain copy)
void gw_k_im2col_padded(const float *x, const gw_conv_geom *g, float *xp, float *col);
void gw_k_col2im_padded(const float *col, const gw_conv_geom *g, float *xp, float *x);

// ---- language-dependent convolution (kernels/laconv.c) ----
// x (B, C, H, W), w (B, G, k*k, H, W) -> y (B, C, H, W): per-sample, per-pixel depthwise k x k
// kernels, channel c using group c % G, zero padding k/2 (k odd).
void gw_k_laconv(const float *x, const float *w, float *y, int64_t B, int64_t C, int64_t G,
                 int64_t H, int64_t W, int64_t k);
// dx += ..., dw += ... (either may be NULL)
void gw_k_laconv_backward(const float *x, const float *w, const float *dy, float *dx, float *dw,
                          int64_t B, int64_t C, int64_t G, int64_t H, int64_t W, int64_t k);

// ---- gather and scatter (kernels/gather.c) ----
// x viewed as (outer, n, inner); idx (m) picks along n: y (outer, m, inner)
void gw_k_index_select(const float *x, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                       int64_t m, float *y);
// dx (outer, n, inner) += dy (outer, m, inner) scattered back by idx (m)
void gw_k_index_add(float *dx, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                    int64_t m, const float *dy);
// torch.gather along the middle dim: x (outer, n, inner), idx (outer, m, inner) -> y (outer, m, inner)
void gw_k_gather(const float *x, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                 int64_t m, float *y);
// dx (outer, n, inner) += dy (outer, m, inner) at idx (outer, m, inner)
void gw_k_scatter_add(float *dx, int64_t outer, int64_t n, int64_t inner, const int32_t *idx,
                      int64_t m, const float *dy);
// Checks every index lies in [0, n); stops naming the op, the bad index and where it is.
void gw_k_check_indices(const char *op, const int32_t *idx, int64_t count, int64_t n);

// ---- joining and padding (kernels/concat.c, kernels/pad.c) ----
// out = the inputs joined along dim (shapes agree elsewhere); any strides on the inputs.
void gw_k_concat(const gw_tensor *const *xs, int count, int dim, gw_tensor *out);
// out = x with before[d] / after[d] elements of `value` added on each side of dim d
// (negative amounts crop).
void gw_k_pad(const gw_tensor *x, const int64_t *before, const int64_t *after, float value,
              gw_tensor *out);

// ---- pixel packing (kernels/pixel_shuffle.c) ----
// shuffle:   x (B, C*r*r, H, W) -> y (B, C, H*r, W*r)   (depth-to-space)
// unshuffle: x (B, C, H*r, W*r) -> y (B, C*r*r, H, W)   (space-to-depth)
// Both are a 6-dim permutation copy; each is the other's backward.
void gw_k_pixel_shuffle(const gw_tensor *x, int64_t r, gw_tensor *y);
void gw_k_pixel_unshuffle(const gw_tensor *x, int64_t r, gw_tensor *y);

// ---- pooling and resizing (kernels/pool.c, kernels/upsample.c), x (B*C planes, H, W) ----
// max pool: y (planes, OH, OW), arg (planes, OH, OW) = flat index in the input plane
void gw_k_maxpool2d(const float *x, int64_t planes, const gw_conv_geom *g, float *y, int32_t *arg);
void gw_k_maxpool2d_backward(const float *dy, const int32_t *arg, int64_t planes,
                             const gw_conv_geom *g, float *dx);
// average pool with zero padding counted in the divisor (PyTorch's count_include_pad=True)
void gw_k_avgpool2d(const float *x, int64_t planes, const gw_conv_geom *g, float *y);
void gw_k_avgpool2d_backward(const float *dy, int64_t planes, const gw_conv_geom *g, float *dx);
// adaptive average pool to (OH, OW), bins as PyTorch: [floor(i*H/OH), ceil((i+1)*H/OH))
void gw_k_adaptive_avgpool2d(const float *x, int64_t planes, int64_t H, int64_t W, int64_t OH,
                             int64_t OW, float *y);
void gw_k_adaptive_avgpool2d_backward(const float *dy, int64_t planes, int64_t H, int64_t W,
                                      int64_t OH, int64_t OW, float *dx);
// nearest (PyTorch's 'nearest': src = floor(dst * in/out)) and bilinear (align_corners=False)
void gw_k_upsample_nearest(const float *x, int64_t planes, int64_t H, int64_t W, int64_t OH,
                           int64_t OW, float *y);
void gw_k_upsample_nearest_backward(const float *dy, int64_t planes, int64_t H, int64_t W,
                                    int64_t OH, int64_t OW, float *dx);
void gw_k_upsample_bilinear(const float *x, int64_t planes, int64_t H, int64_t W, int64_t OH,
                            int64_t OW, float *y);
void gw_k_upsample_bilinear_backward(const float *dy, int64_t planes, int64_t H, int64_t W,
                                     int64_t OH, int64_t OW, float *dx);

#endif
