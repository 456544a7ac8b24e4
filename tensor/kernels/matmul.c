// Matrix products through OpenBLAS's cblas_sgemm. Transposed operands are passed as flags
// with their leading dimensions, never copied.
#include <cblas.h>

#include "tensor/kernels.h"

// C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C
void gw_k_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // sgemm is not asked to handle an empty inner dimension
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
              (blasint)ldc);
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
