// A single-threaded sgemm with AVX-512: C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C,
// row-major, op() a transpose given as a flag. gw_k_gemm (matmul.c) cuts large products
// into pieces and calls this once per piece, one thread each.
//
// The blocking scheme (BLIS's, from Goto and van de Geijn) in one picture:
//
//   for each block of NC columns of C                    (jc)
//     for each slice of KC steps of the inner dim K       (pc)
//       pack op(B)[pc:pc+KC, jc:jc+NC] into B_pack        -- lives in L2
//       for each block of MC rows of C                    (ic)
//         pack op(A)[ic:ic+MC, pc:pc+KC] into A_pack      -- lives in L2
//         for each NR-wide column strip of the block      (jr)
//           for each MR-tall row strip of the block       (ir)
//             micro-kernel: C[MR x NR tile] += A strip @ B strip, over KC steps
//
// The micro-kernel holds the MR x NR tile of C in registers (MR rows of NR/16 zmm registers
// of 16 floats) and does MR * NR/16 fused multiply-adds per step k: it loads one row of
// NR floats of the B strip and broadcasts MR single floats of the A strip. Everything it
// reads is contiguous because packing laid it out in exactly that order:
//
//   A_pack: for each MR-row strip, KC groups of MR floats (column k of the strip)
//   B_pack: for each NR-column strip, KC groups of NR floats (row k of the strip)
//
// Packing is also where the transposes go: op(A) and op(B) are read through their stored
// layout once, so the micro-kernel never sees a stride or a flag. Strips at the edges are
// padded with zeros to MR or NR; the micro-kernel computes the full tile and stores only the
// rows and columns that exist (masked stores), so C is never touched outside (M,N).
//
// Why the sizes (measured on the 2-core AMD EPYC this was tuned on: 48 KiB L1d and 1 MiB L2
// per core; two 512-bit FMA pipes with a latency of 4 cycles):
//   MR x NR = 14 x 32: 28 accumulators + 2 B rows + 1 broadcast = 31 of the 32 zmm
//                      registers; 28 independent FMA chains hide the latency of 2 pipes x 4.
//   KC = 384:          a B strip (KC x NR floats, 48 KiB) is re-read by every A strip of the
//                      block, and an A strip (KC x MR, 21 KiB) by every B strip...
//   MC, NC:            the A block (MC x KC) and the B panel (KC x NC) together fit L2.
// (See the measurements in docs/tensor.md.)
//
// Every element of C is the same sum in the same order wherever its tile falls: KC slices in
// order, one FMA per k inside a slice. So how a product is cut (into pieces, blocks, tiles)
// never changes the bits, only the speed.
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"

#ifndef SGEMM_MR
#define SGEMM_MR 14
#endif
#ifndef SGEMM_NV  // zmm registers per row of the tile
#define SGEMM_NV 2
#endif
#ifndef SGEMM_KC
#define SGEMM_KC 384
#endif
#ifndef SGEMM_MC
#define SGEMM_MC 168
#endif
#ifndef SGEMM_NC
#define SGEMM_NC 2048
#endif
#ifndef SGEMM_IN_PLACE_ALWAYS
#define SGEMM_IN_PLACE_ALWAYS 0
#endif

enum {
  MR = SGEMM_MR,             // rows of the register tile
  NR = 16 * SGEMM_NV,        // columns of the register tile
  KC = SGEMM_KC,             // inner-dimension slice
  MC = SGEMM_MC / MR * MR,   // rows of an A block (a multiple of MR)
  NC = SGEMM_NC / NR * NR,   // columns of a B panel (a multiple of NR)
};

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

bool gw_k_sgemm_avx512_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

gw_sgemm_blocking gw_k_sgemm_avx512_blocking(void) {
  return (gw_sgemm_blocking){.mr = MR, .nr = NR, .kc = KC, .mc = MC, .nc = NC};
}

// ---- packing buffers: one pair per thread, grown when a larger product asks, freed when the
// thread ends ----

typedef struct pack_buffers {
  float *a, *b;
  size_t a_cap, b_cap;  // in floats
} pack_buffers;

static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void buffers_free(void *p) {
  pack_buffers *pb = p;
  free(pb->a);
  free(pb->b);
  free(pb);
}
static void buffers_key_create(void) { pthread_key_create(&buffers_key, buffers_free); }

static float *grow(float **buf, size_t *cap, size_t want) {
  if (*cap >= want) return *buf;
  free(*buf);
  size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
  *buf = aligned_alloc(64, bytes);
  GW_CHECK(*buf, "sgemm: out of memory for a %zu-byte packing buffer", bytes);
  *cap = want;
  return *buf;
}

static pack_buffers *thread_buffers(void) {
  pthread_once(&buffers_once, buffers_key_create);
  pack_buffers *pb = pthread_getspecific(buffers_key);
  if (!pb) {
    pb = calloc(1, sizeof *pb);
    GW_CHECK(pb, "sgemm: out of memory");
    pthread_setspecific(buffers_key, pb);
  }
  return pb;
}

// ---- packing ----

// Lanes [0, n) set (n may be <= 0 or >= 16).
static inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

// r[0..15] <- its transpose: afterwards r[j][i] is what r[i][j] was. Three rounds of
// shuffles: pairs of floats, then groups of four inside each 128-bit lane, then the 128-bit
// lanes themselves.
AVX512 static inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // t[i] lane L: r[i][4L], r[i+1][4L], r[i][4L+1], r[i+1][4L+1]
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int g = 0; g < 16; g += 4) {  // r[g+c] lane L: column 4L+c of rows g..g+3
    r[g + 0] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0xee);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee);
  }
  for (int c = 0; c < 4; c++) {  // a 4 x 4 transpose of lanes across r[c], r[4+c], r[8+c], r[12+c]
    __m512 lo01 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44);
    __m512 hi01 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee);
    __m512 lo23 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
    __m512 hi23 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
    t[0 + c] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    t[4 + c] = _mm512_shuffle_f32x4(lo01, lo23, 0xdd);
    t[8 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    t[12 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0xdd);
  }
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

// Transposing copy of up to 16 x 16: reads `rows` runs of `len` floats (run i at src + i*ld),
// writes `len` runs of 16 floats (run k at dst + k*dst_ld, lane i = src run i's element k,
// zero for i >= rows), each under the store mask `keep`.
AVX512 static inline void transpose_block(const float *src, int64_t ld, int rows, int len,
                                          float *dst, int64_t dst_ld, __mmask16 keep) {
  __m512 r[16];
  __mmask16 m = first_lanes(len);
  for (int i = 0; i < 16; i++)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * ld) : _mm512_setzero_ps();
  transpose16x16(r);
  for (int k = 0; k < len; k++) _mm512_mask_storeu_ps(dst + k * dst_ld, keep, r[k]);
}

// A_pack <- op(A)[i0 : i0+mc, k0 : k0+kc], as ceil(mc/MR) strips of kc x MR floats (zero rows
// past mc).
AVX512 static void pack_a(bool ta, const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t k0,
                          int64_t kc, float *dst) {
  for (int64_t is = 0; is < mc; is += MR, dst += kc * MR) {
    int rows = (int)(mc - is < MR ? mc - is : MR);
    if (ta) {  // op(A)[i][k] = A[k][i]: a strip's column k is a contiguous run of A's row k
      const float *src = A + k0 * lda + i0 + is;
      for (int64_t k = 0; k < kc; k++)
        _mm512_mask_storeu_ps(dst + k * MR, first_lanes(MR),
                              _mm512_maskz_loadu_ps(first_lanes(rows), src + k * lda));
    } else {  // op(A)[i][k] = A[i][k]: the strip's rows become its columns, 16 k at a time
      const float *src = A + (i0 + is) * lda + k0;
      for (int64_t k = 0; k < kc; k += 16)
        transpose_block(src + k, lda, rows, (int)(kc - k < 16 ? kc - k : 16), dst + k * MR, MR,
                        first_lanes(MR));
    }
  }
}

// B_pack <- op(B)[k0 : k0+kc, j0 : j0+nc], as ceil(nc/NR) strips of kc x NR floats (zero
// columns past nc).
AVX512 static void pack_b(bool tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                          int64_t nc, float *dst) {
  for (int64_t js = 0; js < nc; js += NR, dst += kc * NR) {
    int64_t cols = nc - js < NR ? nc - js : NR;
    if (!tb) {  // op(B)[k][j] = B[k][j]: a strip's row k is a contiguous run of B's row k
      const float *src = B + k0 * ldb + j0 + js;
      for (int64_t k = 0; k < kc; k++)
        for (int v = 0; v < NR / 16; v++)
          _mm512_store_ps(dst + k * NR + 16 * v,
                          _mm512_maskz_loadu_ps(first_lanes(cols - 16 * v), src + k * ldb + 16 * v));
    } else {  // op(B)[k][j] = B[j][k]: B's rows become the strip's columns, 16 x 16 at a time
      for (int v = 0; v < NR / 16; v++) {
        int64_t left = cols - 16 * v;
        int rows = (int)(left >= 16 ? 16 : left <= 0 ? 0 : left);
        const float *src = B + (j0 + js + 16 * v) * ldb + k0;
        for (int64_t k = 0; k < kc; k += 16)
          transpose_block(src + k, ldb, rows, (int)(kc - k < 16 ? kc - k : 16),
                          dst + k * NR + 16 * v, NR, 0xffff);
      }
    }
  }
}

// ---- the micro-kernel ----

// C[0:m, 0:n] = alpha * (a @ b) + beta * C, with a a packed A strip (kc x MR) and b a B strip
// of kc rows of NR floats, row k at b + k * b_step (b_step = NR when packed); m <= MR,
// n <= NR. beta == 0 does not read C.
AVX512 static void micro_kernel(int64_t kc, const float *a, const float *b, int64_t b_step,
                                float alpha, float beta, float *C, int64_t ldc, int64_t m,
                                int64_t n) {
  __m512 acc[MR][NR / 16];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NR / 16; v++) acc[i][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += MR, b += b_step) {
    __m512 brow[NR / 16];
#pragma GCC unroll 4
    for (int v = 0; v < NR / 16; v++) brow[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NR / 16; v++) acc[i][v] = _mm512_fmadd_ps(ai, brow[v], acc[i][v]);
    }
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __mmask16 mask[NR / 16];
  for (int v = 0; v < NR / 16; v++) mask[v] = first_lanes(n - 16 * v);
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    if (i >= m) break;
#pragma GCC unroll 4
    for (int v = 0; v < NR / 16; v++) {
      float *c = C + i * ldc + 16 * v;
      __m512 t = _mm512_mul_ps(va, acc[i][v]);
      if (beta != 0.0f) t = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], c), t);
      _mm512_mask_storeu_ps(c, mask[v], t);
    }
  }
}

// ---- the loops around it ----

AVX512 void gw_k_sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                              const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                              float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {  // C = beta * C, without reading A and B (as BLAS does)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  pack_buffers *pb = thread_buffers();
  int64_t kc_max = K < KC ? K : KC;
  int64_t mc_max = M < MC ? (M + MR - 1) / MR * MR : MC;
  int64_t nc_max = N < NC ? (N + NR - 1) / NR * NR : NC;
  float *a_pack = grow(&pb->a, &pb->a_cap, (size_t)(mc_max * kc_max));
  float *b_pack = grow(&pb->b, &pb->b_cap, (size_t)(nc_max * kc_max));
  for (int64_t jc = 0; jc < N; jc += NC) {
    int64_t nc = N - jc < NC ? N - jc : NC;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC;
      float beta_here = pc == 0 ? beta : 1.0f;  // later slices add to what the first wrote
      // When op(B) is B itself and all of C's rows make one A block, B's full NR-wide strips
      // are read in place (row k of a strip is a contiguous run of B's row k) and only the
      // last, partial strip is packed (with its zero padding). Each strip is then used by a
      // few row strips straight after each other, and the copy would cost more than it saves
      // (a convolution has 64 output channels, say: 5 row strips).
      int64_t in_place = !tb && (M <= MC || SGEMM_IN_PLACE_ALWAYS) ? nc / NR * NR : 0;
      if (nc > in_place)
        pack_b(tb, B, ldb, pc, kc, jc + in_place, nc - in_place, b_pack + in_place * kc);
      for (int64_t ic = 0; ic < M; ic += MC) {
        int64_t mc = M - ic < MC ? M - ic : MC;
        pack_a(ta, A, lda, ic, mc, pc, kc, a_pack);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const float *b_strip = jr < in_place ? B + pc * ldb + jc + jr : b_pack + jr * kc;
          int64_t b_step = jr < in_place ? ldb : NR;
          for (int64_t ir = 0; ir < mc; ir += MR)
            micro_kernel(kc, a_pack + ir * kc, b_strip, b_step, alpha, beta_here,
                         C + (ic + ir) * ldc + jc + jr, ldc, mc - ir < MR ? mc - ir : MR,
                         nc - jr < NR ? nc - jr : NR);
        }
      }
    }
  }
}
