// gemm-N: C = A @ B for square n x n matrices, through gw's matmul op (forward only), and
// blas-gemm-N: the same product by calling cblas_sgemm directly. GFLOP/s = 2 n^3 / t.
#include <cblas.h>

#include "bench/bench.h"
#include "groundwork.h"

typedef struct gemm_ctx {
  gw_tensor *a, *b, *c;
  int64_t n;
} gemm_ctx;

static void gw_step(void *vctx) {
  gemm_ctx *c = vctx;
  gw_arena *ar = gw_arena_current();
  gw_arena_mark m = gw_arena_get_mark(ar);
  gw_matmul(c->a, c->b);
  gw_arena_rewind(ar, m);
}

static void blas_step(void *vctx) {
  gemm_ctx *c = vctx;
  int n = (int)c->n;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, gw_f32(c->a), n,
              gw_f32(c->b), n, 0.0f, gw_f32(c->c), n);
}

static double gemm_gflops(int64_t n, bool through_gw) {
  gw_arena *ar = gw_arena_current();
  gw_arena_mark m = gw_arena_get_mark(ar);
  gw_rng r = gw_rng_stream(1, "bench");
  gemm_ctx c = {.n = n};
  c.a = gw_empty(GW_F32, GW_SHAPE(n, n));
  c.b = gw_empty(GW_F32, GW_SHAPE(n, n));
  c.c = gw_empty(GW_F32, GW_SHAPE(n, n));
  gw_rng_normal(&r, gw_f32(c.a), n * n, 0.0f, 1.0f);
  gw_rng_normal(&r, gw_f32(c.b), n * n, 0.0f, 1.0f);
  int iters = n >= 2048 ? 5 : (n >= 1024 ? 9 : 21);
  double t = gw_bench_median_seconds(through_gw ? gw_step : blas_step, &c, 2, iters);
  gw_arena_rewind(ar, m);
  return 2.0 * (double)n * (double)n * (double)n / t * 1e-9;
}

double gw_bench_gemm_512(void) { return gemm_gflops(512, true); }
double gw_bench_gemm_1024(void) { return gemm_gflops(1024, true); }
double gw_bench_gemm_2048(void) { return gemm_gflops(2048, true); }
double gw_bench_blas_gemm_512(void) { return gemm_gflops(512, false); }
double gw_bench_blas_gemm_1024(void) { return gemm_gflops(1024, false); }
double gw_bench_blas_gemm_2048(void) { return gemm_gflops(2048, false); }
