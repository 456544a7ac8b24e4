// gw bench [--threads N] [--only ID,...] [--list]
// Runs the standard workloads and prints one line each: `ID THREADS VALUE UNIT`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cli/cli.h"
#include "groundwork.h"

static bool selected(const char *only, const char *id) {
  if (!only) return true;
  size_t n = strlen(id);
  for (const char *p = only; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && !strncmp(p, id, n)) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

static int usage(FILE *out, int rc) {
  fprintf(out,
          "usage: gw bench [--threads N] [--only ID,...] [--list]\n"
          "Runs the standard workloads (shared/bench/WORKLOADS.md) and prints\n"
          "`ID THREADS VALUE UNIT` per workload. Without --threads it runs 1 and 2 threads.\n");
  return rc;
}

// Runs `gw bench --threads N --only ID --in-process` in a fresh process and returns the value
// it prints (for workloads that measure a whole process, such as peak memory).
static double run_in_child(const char *id, int threads) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "/proc/%d/exe bench --threads %d --only %s --in-process", (int)getpid(),
           threads, id);
  FILE *p = popen(cmd, "r");
  if (!p) return -1.0;
  char line[256], name[64], unit[32];
  int t;
  double v = -1.0;
  while (fgets(line, sizeof line, p))
    if (sscanf(line, "%63s %d %lf %31s", name, &t, &v, unit) == 4 && !strcmp(name, id)) break;
  if (pclose(p) != 0) return -1.0;
  return v;
}

int cmd_bench(int argc, char **argv) {
  int threads = 0;
  bool in_process = false;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = atoi(argv[++i]);
      if (threads < 1) {
        fprintf(stderr, "gw bench: --threads needs a positive number, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else if (!strcmp(argv[i], "--in-process")) {
      in_process = true;
    } else if (!strcmp(argv[i], "--list")) {
      for (int k = 0; k < gw_workload_count; k++)
        printf("%-16s %-8s %s\n", gw_workloads[k].id, gw_workloads[k].unit, gw_workloads[k].what);
      return 0;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      return usage(stdout, 0);
    } else {
      fprintf(stderr, "gw bench: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  if (only) {  // every name asked for must exist
    for (const char *p = only; *p;) {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      bool found = false;
      for (int k = 0; k < gw_workload_count; k++)
        if (strlen(gw_workloads[k].id) == len && !strncmp(p, gw_workloads[k].id, len)) found = true;
      if (!found) {
        fprintf(stderr, "gw bench: no workload named '%.*s' (gw bench --list shows them)\n",
                (int)len, p);
        return 2;
      }
      if (!end) break;
      p = end + 1;
    }
  }
  gw_init();
  if (!in_process) {
    fprintf(stderr, "# OpenBLAS kernels: %s\n", gw_blas_core());
    fprintf(stderr, "# gemm pieces: %s (gemm-N and the workloads; blas-gemm-N always calls OpenBLAS; "
            "GW_GEMM=blas makes all use it)\n", gw_gemm_kernel());
  }
  int counts[2] = {1, 2};
  int n_counts = threads ? 1 : 2;
  if (threads) counts[0] = threads;
  for (int c = 0; c < n_counts; c++) {
    gw_set_threads(counts[c]);
    for (int k = 0; k < gw_workload_count; k++) {
      if (!selected(only, gw_workloads[k].id)) continue;
      double v = gw_workloads[k].own_process && !in_process ? run_in_child(gw_workloads[k].id, counts[c])
                                                             : gw_workloads[k].run();
      if (v < 0) {
        fprintf(stderr, "gw bench: %s failed\n", gw_workloads[k].id);
        return 1;
      }
      printf("%s %d %.4g %s\n", gw_workloads[k].id, counts[c], v, gw_workloads[k].unit);
      fflush(stdout);
    }
  }
  return 0;
}
