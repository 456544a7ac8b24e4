// The counter-based RNG: reproducibility, named streams, block layout of fills, thread-count
// independence, and the statistics of each distribution.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

TestSuite(tensor_rng, .init = gwt_setup, .fini = gwt_teardown);

enum { MOMENT_N = 1000000 };

static float *buf(int64_t n) {
  return gw_arena_alloc(gw_arena_current(), (size_t)n * sizeof(float), "rng test");
}

// Philox4x32-10 with key 0 and counter 0 gives the published known-answer vector
// (Random123's kat_vectors), so this is the real Philox and not a look-alike.
Test(tensor_rng, philox_known_answer) {
  uint32_t out[4];
  gw_philox(0, 0, out);
  uint32_t want[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  for (int i = 0; i < 4; i++)
    cr_assert_eq(out[i], want[i], "word %d: %08x, expected %08x", i, out[i], want[i]);
}

// The same seed and stream name give the same numbers, call after call, and the counter
// advances by one block per four values.
Test(tensor_rng, same_seed_same_numbers) {
  gw_rng a = gw_rng_stream(42, "init"), b = gw_rng_stream(42, "init");
  cr_assert_eq(a.key, b.key);
  cr_assert_eq(a.counter, 0);
  float *x = buf(1001), *y = buf(1001);
  for (int round = 0; round < 3; round++) {
    gw_rng_normal(&a, x, 1001, 0.0f, 1.0f);
    gw_rng_normal(&b, y, 1001, 0.0f, 1.0f);
    cr_assert(memcmp(x, y, 1001 * sizeof(float)) == 0, "round %d differs", round);
  }
  cr_assert_eq(a.counter, 3 * 251, "1001 values use ceil(1001/4) = 251 blocks per fill");
  cr_assert_eq(gw_rng_below(&a, 1000), gw_rng_below(&b, 1000));
  cr_assert_eq(gw_rng_float(&a), gw_rng_float(&b));
  cr_assert_eq(a.counter, 3 * 251 + 2, "below() and float() use one block each");
}

// Different stream names, or different seeds, give unrelated keys and numbers (no
// coincident values beyond chance among 4096 uniforms with 2^24 levels).
Test(tensor_rng, different_names_different_streams) {
  const char *names[] = {"init", "data", "dropout", "augment", "initx", "tini", ""};
  enum { K = sizeof names / sizeof names[0], N = 4096 };
  float *v[K + 1];
  gw_rng r[K + 1];
  for (int i = 0; i < K; i++) r[i] = gw_rng_stream(7, names[i]);
  r[K] = gw_rng_stream(8, "init");  // another seed, same name
  for (int i = 0; i <= K; i++) {
    v[i] = buf(N);
    gw_rng_uniform(&r[i], v[i], N, 0.0f, 1.0f);
  }
  for (int i = 0; i <= K; i++)
    for (int j = i + 1; j <= K; j++) {
      cr_assert_neq(r[i].key, r[j].key, "streams %d and %d share a key", i, j);
      int same = 0;
      for (int k = 0; k < N; k++) same += v[i][k] == v[j][k];
      cr_assert(same < 5, "streams %d and %d agree on %d of %d values", i, j, same, N);
    }
}

// A fill of n values uses blocks counter .. counter + ceil(n/4) - 1, value i coming from
// word i % 4 of block i / 4. So a fill of n equals the concatenation of fills whose sizes
// are multiples of 4; after a fill whose size is not, the rest of its last block is
// skipped: fill(6) then fill(6) give values 0..5 and 8..13 of one fill(14).
Test(tensor_rng, fills_are_block_aligned) {
  float *one = buf(64), *parts = buf(64);
  gw_rng r = gw_rng_stream(3, "data");
  gw_rng_uniform(&r, one, 64, -1.0f, 1.0f);
  gw_rng s = gw_rng_stream(3, "data");
  gw_rng_uniform(&s, parts, 4, -1.0f, 1.0f);
  gw_rng_uniform(&s, parts + 4, 20, -1.0f, 1.0f);
  gw_rng_uniform(&s, parts + 24, 40, -1.0f, 1.0f);
  cr_assert(memcmp(one, parts, 64 * sizeof(float)) == 0, "4 + 20 + 40 differs from 64 at once");
  cr_assert_eq(s.counter, r.counter);

  // Sizes that are not multiples of 4 skip to the next block.
  gw_rng u = gw_rng_stream(3, "data");
  gw_rng_uniform(&u, parts, 6, -1.0f, 1.0f);
  gw_rng_uniform(&u, parts + 6, 6, -1.0f, 1.0f);
  cr_assert_eq(u.counter, 4);
  cr_assert(memcmp(parts, one, 6 * sizeof(float)) == 0);
  cr_assert(memcmp(parts + 6, one + 8, 6 * sizeof(float)) == 0,
            "the second fill of 6 must start at block 2 (value 8)");

  // The same holds for normal (pairs within a block) and bernoulli.
  gw_rng a = gw_rng_stream(9, "dropout"), b = gw_rng_stream(9, "dropout");
  gw_rng_normal(&a, one, 16, 1.0f, 2.0f);
  gw_rng_normal(&b, parts, 8, 1.0f, 2.0f);
  gw_rng_normal(&b, parts + 8, 8, 1.0f, 2.0f);
  cr_assert(memcmp(one, parts, 16 * sizeof(float)) == 0, "normal: 8 + 8 differs from 16");
  gw_rng_normal(&b, parts, 3, 1.0f, 2.0f);  // block 4, values 16..18
  gw_rng_normal(&a, one, 4, 1.0f, 2.0f);
  cr_assert(memcmp(parts, one, 3 * sizeof(float)) == 0, "a fill of 3 is the first 3 of a block");
  gw_rng c = gw_rng_stream(9, "mask"), d = gw_rng_stream(9, "mask");
  gw_rng_bernoulli(&c, one, 40, 0.5f);
  gw_rng_bernoulli(&d, parts, 12, 0.5f);
  gw_rng_bernoulli(&d, parts + 12, 28, 0.5f);
  cr_assert(memcmp(one, parts, 40 * sizeof(float)) == 0, "bernoulli: 12 + 28 differs from 40");

  // The value at position i depends on the key and block only: block b is philox(key, b).
  gw_rng k = gw_rng_stream(3, "data");
  uint32_t w[4];
  gw_philox(k.key, 5, w);
  gw_rng_uniform(&k, one, 24, 0.0f, 1.0f);
  cr_assert_eq(one[21], (float)(w[1] >> 8) / 16777216.0f, "value 21 is word 1 of block 5");
}

// Large fills run in parallel; the values are bitwise the same with 1 and 2 threads.
Test(tensor_rng, independent_of_thread_count) {
  int keep = gw_get_threads();
  const int64_t n = (1 << 20) + 3;
  float *a = buf(n), *b = buf(n);
  void (*fills[3])(gw_rng *, float *, int64_t, float, float) = {gw_rng_uniform, gw_rng_normal,
                                                                NULL};
  for (int f = 0; f < 3; f++) {
    gw_rng r1 = gw_rng_stream(11, "augment"), r2 = r1;
    gw_set_threads(1);
    if (fills[f]) fills[f](&r1, a, n, 0.5f, 2.0f);
    else gw_rng_bernoulli(&r1, a, n, 0.3f);
    gw_set_threads(2);
    if (fills[f]) fills[f](&r2, b, n, 0.5f, 2.0f);
    else gw_rng_bernoulli(&r2, b, n, 0.3f);
    cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0, "fill %d differs across threads", f);
    cr_assert_eq(r1.counter, r2.counter);
  }
  gw_set_threads(keep);
}

static void moments(const float *x, int64_t n, double *mean, double *var, double *skew,
                    double *kurt) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  double m = s / (double)n, m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double d = x[i] - m;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= (double)n;
  m3 /= (double)n;
  m4 /= (double)n;
  *mean = m;
  *var = m2;
  *skew = m3 / pow(m2, 1.5);
  *kurt = m4 / (m2 * m2);
}

// Uniform on [lo, hi): 1e6 samples stay in range, and mean, variance, skewness and the
// fraction below the midpoint are within 5 standard errors of their exact values.
Test(tensor_rng, uniform_moments) {
  float *x = buf(MOMENT_N);
  gw_rng r = gw_rng_stream(2024, "init");
  const float lo = -2.0f, hi = 3.0f;
  gw_rng_uniform(&r, x, MOMENT_N, lo, hi);
  int64_t below_mid = 0;
  for (int64_t i = 0; i < MOMENT_N; i++) {
    cr_assert(x[i] >= lo && x[i] < hi, "value %lld = %g is outside [-2, 3)", (long long)i, x[i]);
    below_mid += x[i] < 0.5f;
  }
  double mean, var, skew, kurt;
  moments(x, MOMENT_N, &mean, &var, &skew, &kurt);
  double w = hi - lo, sn = sqrt((double)MOMENT_N);
  // exact: mean 0.5, var w^2/12, skew 0, kurtosis 9/5
  cr_assert(fabs(mean - 0.5) < 5.0 * (w / sqrt(12.0)) / sn, "mean %g", mean);
  double var_se = sqrt(pow(w, 4) / 80.0 - pow(w * w / 12.0, 2)) / sn;
  cr_assert(fabs(var - w * w / 12.0) < 5.0 * var_se, "variance %g, expected %g", var, w * w / 12.0);
  cr_assert(fabs(skew) < 0.01, "skewness %g", skew);
  cr_assert(fabs(kurt - 1.8) < 0.015, "kurtosis %g, expected 1.8", kurt);
  cr_assert(fabs((double)below_mid / MOMENT_N - 0.5) < 5.0 * 0.5 / sn, "%lld below the midpoint",
            (long long)below_mid);
  // Uniform in 16 bins: a chi-square with 15 degrees of freedom, far below its 1e-6 tail (~60).
  int64_t bins[16] = {0};
  for (int64_t i = 0; i < MOMENT_N; i++) {
    int b = (int)((x[i] - lo) / w * 16.0f);
    bins[b < 16 ? b : 15]++;  // x just below hi can round up to bin 16
  }
  double chi2 = 0.0, e = MOMENT_N / 16.0;
  for (int b = 0; b < 16; b++) chi2 += (bins[b] - e) * (bins[b] - e) / e;
  cr_assert(chi2 < 60.0, "uniform bins chi-square %g", chi2);
}

// Normal(mean, std): 1e6 samples have mean, variance, skewness, kurtosis and the mass within
// one std within 5 standard errors of the exact values, and every value is finite.
Test(tensor_rng, normal_moments) {
  float *x = buf(MOMENT_N);
  gw_rng r = gw_rng_stream(2024, "noise");
  gw_rng_normal(&r, x, MOMENT_N, 2.0f, 3.0f);
  int64_t within = 0;
  for (int64_t i = 0; i < MOMENT_N; i++) {
    cr_assert(isfinite(x[i]), "value %lld is %g", (long long)i, x[i]);
    within += fabsf(x[i] - 2.0f) < 3.0f;
  }
  double mean, var, skew, kurt, sn = sqrt((double)MOMENT_N);
  moments(x, MOMENT_N, &mean, &var, &skew, &kurt);
  cr_assert(fabs(mean - 2.0) < 5.0 * 3.0 / sn, "mean %g, expected 2", mean);
  cr_assert(fabs(var - 9.0) < 5.0 * 9.0 * sqrt(2.0) / sn, "variance %g, expected 9", var);
  cr_assert(fabs(skew) < 5.0 * sqrt(6.0) / sn, "skewness %g", skew);
  cr_assert(fabs(kurt - 3.0) < 5.0 * sqrt(24.0) / sn, "kurtosis %g, expected 3", kurt);
  double p1 = 0.6826894921370859;
  cr_assert(fabs((double)within / MOMENT_N - p1) < 5.0 * sqrt(p1 * (1 - p1)) / sn,
            "%lld within one std, expected %.0f", (long long)within, p1 * MOMENT_N);
  // The two values of a Box-Muller pair (cos, sin) are uncorrelated.
  double c = 0.0;
  for (int64_t i = 0; i < MOMENT_N; i += 2) c += (x[i] - 2.0) * (x[i + 1] - 2.0);
  c /= (MOMENT_N / 2) * 9.0;
  cr_assert(fabs(c) < 5.0 / sqrt(MOMENT_N / 2.0), "pair correlation %g", c);
}

// Bernoulli(p) gives exactly 0 or 1 at rate p (5 standard errors), and p = 0 / p = 1 are
// exact.
Test(tensor_rng, bernoulli_rate) {
  float *x = buf(MOMENT_N);
  gw_rng r = gw_rng_stream(5, "dropout");
  const float ps[] = {0.1f, 0.3f, 0.5f, 0.9f};
  for (int k = 0; k < 4; k++) {
    gw_rng_bernoulli(&r, x, MOMENT_N, ps[k]);
    int64_t ones = 0;
    for (int64_t i = 0; i < MOMENT_N; i++) {
      cr_assert(x[i] == 0.0f || x[i] == 1.0f, "value %g is neither 0 nor 1", x[i]);
      ones += x[i] == 1.0f;
    }
    double rate = (double)ones / MOMENT_N, p = ps[k];
    cr_assert(fabs(rate - p) < 5.0 * sqrt(p * (1 - p) / MOMENT_N), "p = %g: rate %g", p, rate);
  }
  gw_rng_bernoulli(&r, x, 1000, 0.0f);
  for (int i = 0; i < 1000; i++) cr_assert_eq(x[i], 0.0f, "p = 0 gave a 1");
  gw_rng_bernoulli(&r, x, 1000, 1.0f);
  for (int i = 0; i < 1000; i++) cr_assert_eq(x[i], 1.0f, "p = 1 gave a 0");
}

// gw_rng_below stays in [0, n) and is uniform over a small n (chi-square).
Test(tensor_rng, below_is_uniform) {
  gw_rng r = gw_rng_stream(77, "data");
  enum { N = 7, DRAWS = 70000 };
  int64_t counts[N] = {0};
  for (int i = 0; i < DRAWS; i++) {
    uint64_t v = gw_rng_below(&r, N);
    cr_assert(v < N, "below(7) gave %llu", (unsigned long long)v);
    counts[v]++;
  }
  double chi2 = 0.0, e = DRAWS / (double)N;
  for (int k = 0; k < N; k++) chi2 += (counts[k] - e) * (counts[k] - e) / e;
  cr_assert(chi2 < 40.0, "chi-square %g over 7 bins (6 dof; 1e-6 tail is ~39)", chi2);
  cr_assert_eq(gw_rng_below(&r, 1), 0);
  for (int i = 0; i < 1000; i++) {
    float f = gw_rng_float(&r);
    cr_assert(f >= 0.0f && f < 1.0f);
  }
}

// A permutation holds every index exactly once; over many draws each value is equally
// likely in the first and the last position (chi-square bounds far in the tail), and all
// 24 orders of 4 elements appear about equally often.
Test(tensor_rng, permutation_is_uniform) {
  gw_rng r = gw_rng_stream(31, "data");
  int32_t big[1000];
  gw_rng_permutation(&r, big, 1000);
  bool seen[1000] = {false};
  int fixed = 0;
  for (int i = 0; i < 1000; i++) {
    cr_assert(big[i] >= 0 && big[i] < 1000 && !seen[big[i]], "value %d repeated or out of range",
              big[i]);
    seen[big[i]] = true;
    fixed += big[i] == i;
  }
  cr_assert(fixed < 10, "%d fixed points in a permutation of 1000 (expected ~1)", fixed);

  enum { N = 6, DRAWS = 60000 };
  int64_t first[N] = {0}, last[N] = {0};
  int32_t p[N];
  for (int t = 0; t < DRAWS; t++) {
    gw_rng_permutation(&r, p, N);
    first[p[0]]++;
    last[p[N - 1]]++;
  }
  double c1 = 0.0, c2 = 0.0, e = DRAWS / (double)N;
  for (int k = 0; k < N; k++) {
    c1 += (first[k] - e) * (first[k] - e) / e;
    c2 += (last[k] - e) * (last[k] - e) / e;
  }
  cr_assert(c1 < 35.0, "first-position chi-square %g (5 dof; 1e-6 tail is ~35)", c1);
  cr_assert(c2 < 35.0, "last-position chi-square %g", c2);

  int64_t orders[256] = {0};
  enum { ORDER_DRAWS = 48000 };
  for (int t = 0; t < ORDER_DRAWS; t++) {
    gw_rng_permutation(&r, p, 4);
    orders[p[0] * 64 + p[1] * 16 + p[2] * 4 + p[3]]++;
  }
  int distinct = 0;
  double c3 = 0.0, e3 = ORDER_DRAWS / 24.0;
  for (int k = 0; k < 256; k++)
    if (orders[k]) {
      distinct++;
      c3 += (orders[k] - e3) * (orders[k] - e3) / e3;
    }
  cr_assert_eq(distinct, 24, "%d distinct orders of 4 elements, expected 24", distinct);
  cr_assert(c3 < 70.0, "orders chi-square %g (23 dof; 1e-6 tail is ~67)", c3);

  gw_rng_permutation(&r, p, 1);
  cr_assert_eq(p[0], 0);
  gw_rng_permutation(&r, p, 0);  // nothing to do, must not crash
}
