#include <stdlib.h>
#include <time.h>

#include "bench/bench.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double gw_bench_median_seconds(void (*fn)(void *ctx), void *ctx, int warmup, int iters) {
  for (int i = 0; i < warmup; i++) fn(ctx);
  double times[iters];
  for (int i = 0; i < iters; i++) {
    double t0 = now();
    fn(ctx);
    times[i] = now() - t0;
  }
  qsort(times, (size_t)iters, sizeof(double), cmp_double);
  return iters % 2 ? times[iters / 2] : 0.5 * (times[iters / 2 - 1] + times[iters / 2]);
}
