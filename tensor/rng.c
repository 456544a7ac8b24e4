#include "tensor/rng.h"

#include <math.h>

#include "tensor/kernels.h"

// Philox4x32 round constants (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void gw_philox(uint64_t key, uint64_t counter, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// splitmix64 finaliser: spreads the seed and the name hash over the key bits
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

gw_rng gw_rng_stream(uint64_t seed, const char *name) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the name
  for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001B3ull;
  return (gw_rng){.key = mix64(seed ^ mix64(h)), .counter = 0};
}

// 24 random bits -> [0, 1), exactly representable
static inline float to_unit(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

// Runs fill(block index b, words) for blocks counter .. counter + blocks - 1, in parallel
// when large; each value depends only on its block, so any split gives the same values.
#define FILL_BLOCKS(r, n, BODY)                                                   \
  do {                                                                            \
    int64_t blocks_ = ((n) + 3) / 4;                                              \
    uint64_t base_ = (r)->counter;                                                \
    _Pragma("omp parallel for schedule(static) if ((n) >= GW_PARALLEL_MIN)")     \
    for (int64_t b = 0; b < blocks_; b++) {                                       \
      uint32_t w[4];                                                              \
      gw_philox((r)->key, base_ + (uint64_t)b, w);                                \
      BODY                                                                        \
    }                                                                             \
    (r)->counter += (uint64_t)blocks_;                                            \
  } while (0)

void gw_rng_uniform(gw_rng *r, float *out, int64_t n, float lo, float hi) {
  float span = hi - lo;
  FILL_BLOCKS(r, n, {
    for (int j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = lo + span * to_unit(w[j]);
  });
}

void gw_rng_normal(gw_rng *r, float *out, int64_t n, float mean, float std) {
  FILL_BLOCKS(r, n, {
    for (int j = 0; j < 4; j += 2) {
      // u1 in (0, 1] so the log is finite
      float u1 = ((float)(w[j] >> 8) + 1.0f) * (1.0f / 16777216.0f);
      float u2 = to_unit(w[j + 1]);
      float rad = sqrtf(-2.0f * logf(u1));
      float ang = 6.2831853071795864f * u2;
      if (b * 4 + j < n) out[b * 4 + j] = mean + std * rad * cosf(ang);
      if (b * 4 + j + 1 < n) out[b * 4 + j + 1] = mean + std * rad * sinf(ang);
    }
  });
}

void gw_rng_bernoulli(gw_rng *r, float *out, int64_t n, float p) {
  FILL_BLOCKS(r, n, {
    for (int j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = to_unit(w[j]) < p ? 1.0f : 0.0f;
  });
}

uint64_t gw_rng_below(gw_rng *r, uint64_t n) {
  uint32_t w[4];
  gw_philox(r->key, r->counter++, w);
  uint64_t v = ((uint64_t)w[0] << 32) | w[1];
  // multiply-shift: floor(v * n / 2^64); bias below 2^-32 for any n < 2^32
  return (uint64_t)(((unsigned __int128)v * n) >> 64);
}

float gw_rng_float(gw_rng *r) {
  uint32_t w[4];
  gw_philox(r->key, r->counter++, w);
  return to_unit(w[0]);
}

void gw_rng_permutation(gw_rng *r, int32_t *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = (int32_t)i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)gw_rng_below(r, (uint64_t)i + 1);
    int32_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
}
