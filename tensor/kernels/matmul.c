// Matrix products through OpenBLAS's cblas_sgemm. Transposed operands are passed as flags
// with their leading dimensions, never copied.
#include <cblas.h>

#include "tensor/kernels.h"

// A large product is split into at most GEMM_MAX_PIECES pieces of at least GEMM_PIECE_MIN
// rows: few, large pieces, because each piece packs the whole other operand again.
#ifndef GEMM_PIECE_MIN
#define GEMM_PIECE_MIN 512
#endif
enum { GEMM_MAX_PIECES = 8 };

// C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C
void gw_k_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // sgemm is not asked to handle an empty inner dimension
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  // OpenBLAS's own threading sums in an order that depends on its thread count, so the bits
  // would too. A large product is cut here instead, into pieces of C's rows (or columns,
  // when N > M) whose number depends on the sizes only; each piece is one sgemm call inside
  // a parallel loop, where OpenBLAS runs single-threaded. Same pieces, same bits.
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
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)(rows ? len : M), (blasint)(rows ? N : len), (blasint)K, alpha, Ap,
                (blasint)lda, Bp, (blasint)ldb, beta, Cp, (blasint)ldc);
  }
}

// Below this many multiply-adds per product, a batch of products runs in parallel over the
// batch (OpenBLAS sees it is inside a parallel region and uses one thread per call). Above
// it, each product gets all threads.
enum { SMALL_GEMM_MACS = 1 << 18 };

void gw_k_gemm_batched(int64_t batch, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                       float alpha, const float *const *A, int64_t lda, const float *const *B,
                       int64_t ldb, float beta, float *const *C, int64_t ldc) {
  int64_t macs = M * N * K;
  bool small = macs < SMALL_GEMM_MACS && batch > 1;
  if (small) {
#pragma omp parallel for schedule(static) if (macs * batch >= GW_PARALLEL_MIN)
    for (int64_t i = 0; i < batch; i++)
      gw_k_gemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc);
    return;
  }
  for (int64_t i = 0; i < batch; i++)
    gw_k_gemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc);
}
