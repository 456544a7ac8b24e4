// A counter-based random number generator (Philox4x32-10) with named streams.
//
// A stream is a key (from the run's seed and the stream's name: "init", "data", "dropout",
// "augment", ...) and a counter. Block c of a stream is philox(key, c): four 32-bit words
// that depend on nothing else. Filling n values takes ceil(n/4) blocks from the counter on,
// so the values do not depend on the thread count, and the whole state is two integers a
// checkpoint can store: a resumed run continues exactly.
#ifndef GW_RNG_H
#define GW_RNG_H

#include <stdint.h>

typedef struct gw_rng {
  uint64_t key;      // from the seed and the stream name
  uint64_t counter;  // the next block to use
} gw_rng;

// The stream `name` of a run seeded with `seed`.
gw_rng gw_rng_stream(uint64_t seed, const char *name);

// The four words of block `counter` under `key`.
void gw_philox(uint64_t key, uint64_t counter, uint32_t out[4]);

// Fill functions advance the counter by the number of blocks they use.
void gw_rng_uniform(gw_rng *r, float *out, int64_t n, float lo, float hi);   // [lo, hi)
void gw_rng_normal(gw_rng *r, float *out, int64_t n, float mean, float std);  // Box-Muller
void gw_rng_bernoulli(gw_rng *r, float *out, int64_t n, float p);            // 1 with probability p
// A uniformly random permutation of 0..n-1 (Fisher-Yates).
void gw_rng_permutation(gw_rng *r, int32_t *out, int64_t n);
// One uniform integer in [0, n).
uint64_t gw_rng_below(gw_rng *r, uint64_t n);
// One uniform float in [0, 1).
float gw_rng_float(gw_rng *r);

#endif
