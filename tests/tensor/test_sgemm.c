// The AVX-512 sgemm (tensor/kernels/sgemm_avx512.c) against a double-precision reference on
// shapes aimed at every edge of its blocking, against OpenBLAS, and gw_k_gemm across thread
// counts. Tests of the AVX-512 code skip on a CPU without AVX-512.
//
// Tolerance. Each element of C is a float32 sum of K products, then scaled by alpha and added
// to beta * C: at most K + 2 roundings, each off by a relative u = 2^-24 at most. Whatever the
// order of the sum, the error is then bounded by (Higham, Accuracy and Stability of Numerical
// Algorithms, section 3.1)
//
//   |C - exact| <= gamma(K + 2) * (|alpha| * sum_k |a_ik| |b_kj| + |beta| |c_ij|),
//   gamma(n) = n u / (1 - n u).
//
// The bound is relative to the sum of |a||b|, not to |C|: an element that cancels to near zero
// keeps the absolute error of the terms it summed, so a relative-to-|C| test would fail a
// correct kernel. A correct kernel can never exceed it; a wrong one (a term missed, counted
// twice or taken from the wrong place) is off by about one |a||b| term, about sum/K, which is
// far above the bound for the K tested here (below 4096, where K u < 1/K).
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

TestSuite(tensor_sgemm, .init = gwt_setup, .fini = gwt_teardown);

#define SKIP_WITHOUT_AVX512()                                                              \
  do {                                                                                     \
    if (!gw_k_sgemm_avx512_supported()) cr_skip_test("this CPU has no AVX-512 (F/DQ/BW/VL)"); \
  } while (0)

typedef void (*gemm_fn)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                        float *C, int64_t ldc);

static void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
              (blasint)ldc);
}

static float *fbuf(int64_t n) {
  return gw_arena_alloc(gw_arena_current(), (size_t)(n ? n : 1) * sizeof(float), "test");
}

// rows x cols of U(-1, 1) with row stride ld; the ld - cols padding columns hold NaN, so a
// kernel that reads past a row's end shows it.
static float *padded(gw_rng *r, int64_t rows, int64_t cols, int64_t ld) {
  float *p = fbuf(rows * ld);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < ld; j++) p[i * ld + j] = j < cols ? 2.0f * (float)gw_rng_float(r) - 1.0f : NAN;
  return p;
}

static double gamma_of(int64_t n) {
  double u = ldexp(1.0, -24);
  return (double)n * u / (1.0 - (double)n * u);
}

typedef struct gemm_case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad;  // extra columns in every leading dimension
} gemm_case;

static void describe(char *buf, size_t n, const char *who, gemm_case c) {
  snprintf(buf, n, "%s ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pad=%lld", who, c.ta,
           c.tb, (long long)c.M, (long long)c.N, (long long)c.K, c.alpha, c.beta, (long long)c.pad);
}

// Runs `fn` on case c and checks every element against the double reference within the bound
// above; checks too that C's padding columns were not written and that beta = 0 ignored the
// NaN C held.
static void check_against_reference(gw_rng *r, gemm_fn fn, const char *who, gemm_case c) {
  gw_arena_mark mark = gw_arena_get_mark(gw_arena_current());
  int64_t ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K, br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;
  int64_t lda = ac + c.pad, ldb = bc + c.pad, ldc = c.N + c.pad;
  float *A = padded(r, ar, ac, lda), *B = padded(r, br, bc, ldb), *C = padded(r, c.M, c.N, ldc);
  if (c.beta == 0.0f)  // beta = 0 must not read C: NaN there must not reach the result
    for (int64_t i = 0; i < c.M * ldc; i++) C[i] = NAN;
  float *C0 = fbuf(c.M * ldc);
  memcpy(C0, C, (size_t)(c.M * ldc) * sizeof(float));
  fn(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc);
  char what[160];
  describe(what, sizeof what, who, c);
  double g = gamma_of(c.K + 2);
  for (int64_t i = 0; i < c.M; i++) {
    for (int64_t j = 0; j < c.N; j++) {
      double exact = 0.0, abs_sum = 0.0;
      for (int64_t k = 0; k < c.K; k++) {
        double a = c.ta ? A[k * lda + i] : A[i * lda + k];
        double b = c.tb ? B[j * ldb + k] : B[k * ldb + j];
        exact += a * b;
        abs_sum += fabs(a * b);
      }
      double c0 = c.beta == 0.0f ? 0.0 : (double)C0[i * ldc + j];
      exact = (double)c.alpha * exact + (double)c.beta * c0;
      double bound = g * (fabs((double)c.alpha) * abs_sum + fabs((double)c.beta * c0));
      double got = C[i * ldc + j];
      if (!(fabs(got - exact) <= bound))
        cr_assert_fail("%s: C[%lld][%lld] = %.9g, exact %.9g, error %.3g above the bound %.3g",
                       what, (long long)i, (long long)j, got, exact, fabs(got - exact), bound);
    }
    for (int64_t j = c.N; j < ldc; j++)
      if (!isnan(C[i * ldc + j]))
        cr_assert_fail("%s: padding C[%lld][%lld] was written", what, (long long)i, (long long)j);
  }
  gw_arena_rewind(gw_arena_current(), mark);
}

// Every transpose combination of one shape, cycling alpha, beta and the padding with `turn`.
static void check_all_transposes(gw_rng *r, int64_t M, int64_t N, int64_t K, int turn) {
  static const float alphas[] = {1.0f, -1.5f, 0.75f}, betas[] = {0.0f, 1.0f, 0.5f};
  static const int64_t pads[] = {0, 3, 17};
  for (int t = 0; t < 4; t++) {
    int v = turn + t;
    gemm_case c = {.ta = t & 1, .tb = t >> 1, .M = M, .N = N, .K = K, .alpha = alphas[v % 3],
                   .beta = betas[(v / 3 + v) % 3], .pad = pads[(v / 2) % 3]};
    check_against_reference(r, gw_k_sgemm_avx512, "avx512", c);
  }
}

// ---------------------------------------------------------------- the edges of each block

// Sizes just below, at and above the register tile: partial rows (M) and masked columns (N).
Test(tensor_sgemm, edges_of_the_register_tile) {
  SKIP_WITHOUT_AVX512();
  gw_sgemm_blocking b = gw_k_sgemm_avx512_blocking();
  gw_rng r = gwt_rng(1);
  int64_t Ms[] = {1, b.mr - 1, b.mr, b.mr + 1, 2 * b.mr + 1};
  int64_t Ns[] = {1, 15, 16, 17, b.nr - 1, b.nr, b.nr + 1, 2 * b.nr + 1};
  int64_t Ks[] = {1, 2, 17};
  int turn = 0;
  for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++)
    for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++)
      for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++)
        check_all_transposes(&r, Ms[i], Ns[j], Ks[k], turn++);
}

// Inner dimensions around the KC slice: later slices add to what the first one wrote (and
// beta applies once); the transposing packs see partial 16-wide blocks.
Test(tensor_sgemm, edges_of_the_kc_slices) {
  SKIP_WITHOUT_AVX512();
  gw_sgemm_blocking b = gw_k_sgemm_avx512_blocking();
  gw_rng r = gwt_rng(2);
  int64_t Ks[] = {b.kc - 1, b.kc, b.kc + 1, 2 * b.kc + 1};
  int turn = 0;
  for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++) {
    check_all_transposes(&r, b.mr + 1, b.nr + 3, Ks[k], turn++);
    check_all_transposes(&r, 5, 7, Ks[k], turn++);
  }
}

// Rows around the MC block and columns around the NC panel.
Test(tensor_sgemm, edges_of_the_mc_and_nc_blocks) {
  SKIP_WITHOUT_AVX512();
  gw_sgemm_blocking b = gw_k_sgemm_avx512_blocking();
  gw_rng r = gwt_rng(3);
  int64_t Ms[] = {b.mc - 1, b.mc, b.mc + 1, 2 * b.mc + 3};
  int64_t Ns[] = {b.nc - 1, b.nc, b.nc + 1, 2 * b.nc + 5};
  int turn = 0;
  for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++) check_all_transposes(&r, Ms[i], 37, 19, turn++);
  for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++) check_all_transposes(&r, 3, Ns[j], 7, turn++);
}

// Primes, single rows and columns, tall and skinny, and one size crossing every block at once.
Test(tensor_sgemm, primes_and_skinny_shapes) {
  SKIP_WITHOUT_AVX512();
  gw_sgemm_blocking b = gw_k_sgemm_avx512_blocking();
  gw_rng r = gwt_rng(4);
  int64_t shapes[][3] = {{1, 1, 1},     {2, 3, 5},     {7, 11, 13},    {97, 89, 83},
                         {257, 263, 131}, {1, 1000, 37}, {1000, 1, 37},  {3, 3, 1000},
                         {1, 1, 1000},  {601, 7, 3},   {5, 1031, 2},   {b.mc + 7, b.nr * 3 + 5, b.kc + 9}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
    check_all_transposes(&r, shapes[s][0], shapes[s][1], shapes[s][2], (int)s);
}

// beta = 0 over a C full of NaN and infinities: the result is alpha op(A) op(B) alone. (Every
// beta = 0 case above starts from NaN too; this one also covers infinities and alpha = 0.)
Test(tensor_sgemm, beta_zero_does_not_read_c) {
  SKIP_WITHOUT_AVX512();
  gw_rng r = gwt_rng(5);
  int64_t M = 19, N = 40, K = 23;
  float *A = padded(&r, M, K, K), *B = padded(&r, K, N, N), *C = fbuf(M * N), *D = fbuf(M * N);
  for (int64_t i = 0; i < M * N; i++) C[i] = i % 2 ? NAN : -INFINITY;
  gw_k_sgemm_avx512(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
  blas_gemm(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, D, N);
  for (int64_t i = 0; i < M * N; i++)
    cr_assert(isfinite(C[i]) && fabsf(C[i] - D[i]) <= 1e-4f, "C[%lld] = %g, OpenBLAS %g",
              (long long)i, C[i], D[i]);
  // alpha = 0: C = beta C, and A and B are not read (NaN there must not leak)
  for (int64_t i = 0; i < M * K; i++) A[i] = NAN;
  for (int64_t i = 0; i < M * N; i++) C[i] = NAN;
  gw_k_sgemm_avx512(false, false, M, N, K, 0.0f, A, K, B, N, 0.0f, C, N);
  for (int64_t i = 0; i < M * N; i++) cr_assert(C[i] == 0.0f, "alpha = beta = 0: C[%lld] = %g", (long long)i, C[i]);
  for (int64_t i = 0; i < M * N; i++) C[i] = (float)i;
  gw_k_sgemm_avx512(false, false, M, N, K, 0.0f, A, K, B, N, 0.5f, C, N);
  for (int64_t i = 0; i < M * N; i++)
    cr_assert(C[i] == 0.5f * (float)i, "alpha = 0, beta = 0.5: C[%lld] = %g", (long long)i, C[i]);
}

// K = 0: C = beta C (beta = 0 clears it, NaN included); M or N = 0: nothing is touched.
Test(tensor_sgemm, empty_dimensions) {
  SKIP_WITHOUT_AVX512();
  float C[6] = {1, 2, 3, 4, NAN, 6};
  gw_k_sgemm_avx512(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, C, 3);
  cr_assert(C[0] == 2 && C[3] == 8 && isnan(C[4]) && C[5] == 12);
  gw_k_sgemm_avx512(true, true, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3);
  for (int i = 0; i < 6; i++) cr_assert_eq(C[i], 0.0f, "K = 0, beta = 0: C[%d] = %g", i, C[i]);
  float D[4] = {NAN, 1, 2, 3};
  gw_k_sgemm_avx512(false, false, 0, 2, 5, 1.0f, NULL, 5, NULL, 2, 0.0f, D, 2);
  gw_k_sgemm_avx512(false, false, 2, 0, 5, 1.0f, NULL, 5, NULL, 0, 0.0f, D, 2);
  cr_assert(isnan(D[0]) && D[1] == 1 && D[2] == 2 && D[3] == 3, "M or N = 0 wrote to C");
}

// ---------------------------------------------------------------- against OpenBLAS

// Random shapes (up to a few hundred, every transpose, alpha, beta, padding): our result and
// OpenBLAS's each lie within the bound of the exact product, so within twice it of each other.
Test(tensor_sgemm, agrees_with_openblas) {
  SKIP_WITHOUT_AVX512();
  gw_rng r = gwt_rng(6);
  for (int trial = 0; trial < 40; trial++) {
    gw_arena_mark mark = gw_arena_get_mark(gw_arena_current());
    gemm_case c = {.ta = gw_rng_below(&r, 2), .tb = gw_rng_below(&r, 2),
                   .M = 1 + (int64_t)gw_rng_below(&r, 300), .N = 1 + (int64_t)gw_rng_below(&r, 300),
                   .K = 1 + (int64_t)gw_rng_below(&r, 500), .alpha = trial % 3 ? 1.0f : -0.5f,
                   .beta = (float)(trial % 3) * 0.5f, .pad = (int64_t)gw_rng_below(&r, 9)};
    int64_t ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K, br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;
    int64_t lda = ac + c.pad, ldb = bc + c.pad, ldc = c.N + c.pad;
    float *A = padded(&r, ar, ac, lda), *B = padded(&r, br, bc, ldb), *C = padded(&r, c.M, c.N, ldc);
    float *C0 = fbuf(c.M * ldc), *D = fbuf(c.M * ldc);
    memcpy(C0, C, (size_t)(c.M * ldc) * sizeof(float));
    memcpy(D, C, (size_t)(c.M * ldc) * sizeof(float));
    gw_k_sgemm_avx512(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc);
    blas_gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, D, ldc);
    char what[160];
    describe(what, sizeof what, "avx512 vs OpenBLAS", c);
    double g = gamma_of(c.K + 2);
    for (int64_t i = 0; i < c.M; i++)
      for (int64_t j = 0; j < c.N; j++) {
        double abs_sum = 0.0;
        for (int64_t k = 0; k < c.K; k++)
          abs_sum += fabs((double)(c.ta ? A[k * lda + i] : A[i * lda + k]) *
                          (double)(c.tb ? B[j * ldb + k] : B[k * ldb + j]));
        double bound = 2.0 * g * (fabs((double)c.alpha) * abs_sum +
                                  fabs((double)c.beta * (double)C0[i * ldc + j]));
        double diff = fabs((double)C[i * ldc + j] - (double)D[i * ldc + j]);
        if (!(diff <= bound))
          cr_assert_fail("%s: C[%lld][%lld] = %.9g but OpenBLAS gives %.9g (difference %.3g, bound %.3g)",
                         what, (long long)i, (long long)j, C[i * ldc + j], D[i * ldc + j], diff, bound);
      }
    gw_arena_rewind(gw_arena_current(), mark);
  }
}

// ---------------------------------------------------------------- through gw_k_gemm

// Products large enough to be cut into pieces (by rows, by columns): 1 and 2 threads give the
// same bits, whichever kernel computes the pieces.
Test(tensor_sgemm, gemm_same_bits_at_1_and_2_threads) {
  gw_rng r = gwt_rng(7);
  gemm_case cases[] = {
      {false, false, 600, 300, 200, 1.0f, 0.0f, 0},  // pieces of rows
      {false, true, 200, 1100, 150, 1.0f, 0.5f, 3},  // pieces of columns
      {true, false, 1030, 40, 64, -1.0f, 1.0f, 1},   // more than two pieces
      {true, true, 70, 90, 333, 2.0f, 0.0f, 0},      // two pieces of an odd size
  };
  for (size_t s = 0; s < sizeof cases / sizeof *cases; s++) {
    gemm_case c = cases[s];
    int64_t ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K, br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;
    int64_t lda = ac + c.pad, ldb = bc + c.pad, ldc = c.N + c.pad;
    float *A = padded(&r, ar, ac, lda), *B = padded(&r, br, bc, ldb), *C1 = padded(&r, c.M, c.N, ldc);
    float *C2 = fbuf(c.M * ldc);
    memcpy(C2, C1, (size_t)(c.M * ldc) * sizeof(float));
    gw_set_threads(1);
    gw_k_gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C1, ldc);
    gw_set_threads(2);
    gw_k_gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C2, ldc);
    char what[160];
    describe(what, sizeof what, gw_gemm_kernel(), c);
    cr_assert(memcmp(C1, C2, (size_t)(c.M * ldc) * sizeof(float)) == 0,
              "%s: 1 and 2 threads give different bits", what);
  }
}

// With our kernel every element is the same sum in the same order however the product is cut:
// gw_k_gemm's pieces, and any split of the rows or columns by hand, give the bits of one call.
Test(tensor_sgemm, avx512_bits_do_not_depend_on_the_cut) {
  SKIP_WITHOUT_AVX512();
  if (strcmp(gw_gemm_kernel(), "avx512")) cr_skip_test("gw_k_gemm runs OpenBLAS here (GW_GEMM=blas)");
  gw_rng r = gwt_rng(8);
  int64_t M = 700, N = 260, K = 410;
  float *A = padded(&r, M, K, K), *B = padded(&r, N, K, K);
  float *whole = fbuf(M * N), *pieces = fbuf(M * N), *by_hand = fbuf(M * N);
  gw_k_sgemm_avx512(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, whole, N);
  gw_set_threads(2);
  gw_k_gemm(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, pieces, N);
  int64_t m1 = 333, n1 = 101;  // four blocks that cut through tiles, slices and panels
  gw_k_sgemm_avx512(false, true, m1, n1, K, 1.0f, A, K, B, K, 0.0f, by_hand, N);
  gw_k_sgemm_avx512(false, true, m1, N - n1, K, 1.0f, A, K, B + n1 * K, K, 0.0f, by_hand + n1, N);
  gw_k_sgemm_avx512(false, true, M - m1, n1, K, 1.0f, A + m1 * K, K, B, K, 0.0f, by_hand + m1 * N, N);
  gw_k_sgemm_avx512(false, true, M - m1, N - n1, K, 1.0f, A + m1 * K, K, B + n1 * K, K, 0.0f,
                    by_hand + m1 * N + n1, N);
  cr_assert(memcmp(whole, pieces, (size_t)(M * N) * sizeof(float)) == 0,
            "gw_k_gemm's pieces changed the bits of one call");
  cr_assert(memcmp(whole, by_hand, (size_t)(M * N) * sizeof(float)) == 0,
            "four blocks by hand changed the bits of one call");
}

// Which kernel gw_k_gemm uses: ours where the CPU has AVX-512, OpenBLAS with GW_GEMM=blas.
Test(tensor_sgemm, kernel_choice) {
  const char *env = getenv("GW_GEMM");
  const char *want = env && !strcmp(env, "blas") ? "openblas"
                     : gw_k_sgemm_avx512_supported() ? "avx512" : "openblas";
  cr_assert_str_eq(gw_gemm_kernel(), want, "GW_GEMM=%s", env ? env : "(unset)");
}
