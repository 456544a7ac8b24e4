// Matrix products. A large product is cut into pieces by its sizes alone, the pieces run in
// parallel, and each piece is one single-threaded sgemm call:
//
//   - our AVX-512 sgemm (sgemm_avx512.c) where the CPU has AVX-512 (F, DQ, BW, VL);
//   - OpenBLAS's cblas_sgemm otherwise, or when the environment sets GW_GEMM=blas (to compare
//     the two: `GW_GEMM=blas gw bench --only gemm-1024`). GW_GEMM=avx512 asks for ours and
//     stops with an error on a CPU without AVX-512.
//
// The choice is made once, at the first product. Transposed operands are passed as flags with
// their leading dimensions, never copied.
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"

// A large product is split into at most GEMM_MAX_PIECES pieces of at least GEMM_PIECE_MIN
// rows: few, large pieces, because each piece packs the whole other operand again.
#ifndef GEMM_PIECE_MIN
#define GEMM_PIECE_MIN 512
#endif
enum { GEMM_MAX_PIECES = 8 };

typedef enum gemm_kernel { KERNEL_UNCHOSEN, KERNEL_AVX512, KERNEL_BLAS } gemm_kernel;
static gemm_kernel chosen_kernel;  // read and written atomically

static gemm_kernel choose_kernel(void) {
  gemm_kernel k = __atomic_load_n(&chosen_kernel, __ATOMIC_ACQUIRE);
  if (k != KERNEL_UNCHOSEN) return k;
  const char *env = getenv("GW_GEMM");
  bool avx512 = gw_k_sgemm_avx512_supported();
  if (!env || !*env) {
    k = avx512 ? KERNEL_AVX512 : KERNEL_BLAS;
  } else if (!strcmp(env, "blas")) {
    k = KERNEL_BLAS;
  } else if (!strcmp(env, "avx512")) {
    GW_CHECK(avx512, "GW_GEMM=avx512 but this CPU has no AVX-512. HINT: unset GW_GEMM (OpenBLAS "
             "is then used) or set GW_GEMM=blas");
    k = KERNEL_AVX512;
  } else {
    gw_fatal("GW_GEMM=%s is not a gemm kernel. HINT: use GW_GEMM=blas (OpenBLAS) or "
             "GW_GEMM=avx512 (ours), or leave it unset to pick ours where the CPU has AVX-512",
             env);
  }
  __atomic_store_n(&chosen_kernel, k, __ATOMIC_RELEASE);
  return k;
}

const char *gw_gemm_kernel(void) { return choose_kernel() == KERNEL_AVX512 ? "avx512" : "openblas"; }

// One piece, on the calling thread.
static void gemm_piece(gemm_kernel kernel, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                       float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                       float beta, float *C, int64_t ldc) {
  if (kernel == KERNEL_AVX512) {
    gw_k_sgemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Inside our parallel loop OpenBLAS runs single-threaded.
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta,
              C, (blasint)ldc);
}

// C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C
void gw_k_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // sgemm is not asked to handle an empty inner dimension
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  gemm_kernel kernel = choose_kernel();
  // OpenBLAS's own threading sums in an order that depends on its thread count, so the bits
  // would too. A large product is cut here instead, into pieces of C's rows (or columns,
  // when N > M) whose number depends on the sizes only; each piece is one single-threaded
  // sgemm call inside a parallel loop. Same pieces, same bits. (Our AVX-512 sgemm computes
  // every element in the same order however the product is cut, so with it the pieces only
  // decide the speed.)
  bool rows = M >= N;
  int64_t dim = rows ? M : N, pieces = 1;
  if (M * N * K >= GW_PARALLEL_MIN && dim >= 2) {
    pieces = dim / GEMM_PIECE_MIN;
    pieces = pieces < 2 ? 2 : (pieces > GEMM_MAX_PIECES ? GEMM_MAX_PIECES : pieces);
  }
  int64_t step = (dim + pieces - 1) / pieces;
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int64_t p = 0; p < pieces; p++) {
    int64_t at = p * step, len = dim - at < step ? dim - at : step;
    if (len <= 0) continue;
    const float *Ap = A, *Bp = B;
    float *Cp = rows ? C + at * ldc : C + at;
    if (rows)
      Ap = ta ? A + at : A + at * lda;
    else
      Bp = tb ? B + at * ldb : B + at;
    gemm_piece(kernel, ta, tb, rows ? len : M, rows ? N : len, K, alpha, Ap, lda, Bp, ldb, beta,
               Cp, ldc);
  }
}

// Below this many multiply-adds per product, a batch of products runs in parallel over the
// batch (each product on one thread). Above it, each product gets all threads.
enum { SMALL_GEMM_MACS = 1 << 18 };

void gw_k_gemm_batched(int64_t batch, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                       float alpha, const float *const *A, int64_t lda, const float *const *B,
                       int64_t ldb, float beta, float *const *C, int64_t ldc) {
  int64_t macs = M * N * K;
  bool small = macs < SMALL_GEMM_MACS && batch > 1;
  if (small) {
    choose_kernel();  // before the parallel loop: an error stops on the calling thread
#pragma omp parallel for schedule(static) if (macs * batch >= GW_PARALLEL_MIN)
    for (int64_t i = 0; i < batch; i++)
      gw_k_gemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc);
    return;
  }
  for (int64_t i = 0; i < batch; i++)
    gw_k_gemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc);
}
