// The standard workloads of `gw bench` (shared/bench/WORKLOADS.md), one function each.
#ifndef GW_BENCH_H
#define GW_BENCH_H

#include <stdbool.h>

typedef struct gw_workload {
  const char *id;
  const char *unit;
  // Runs the workload with the current thread count and returns its figure: the median
  // over >= 5 timed iterations after >= 2 warm-up iterations.
  double (*run)(void);
  const char *what;
  bool own_process;  // measured in a fresh process that runs only this workload
} gw_workload;

extern const gw_workload gw_workloads[];
extern const int gw_workload_count;

// Median seconds per call of fn(ctx) over `iters` timed calls after `warmup` untimed ones.
double gw_bench_median_seconds(void (*fn)(void *ctx), void *ctx, int warmup, int iters);

#endif
