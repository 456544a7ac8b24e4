// The table of workloads `gw bench` knows, in the order it runs them.
#include "bench/bench.h"

double gw_bench_gemm_512(void);
double gw_bench_gemm_1024(void);
double gw_bench_gemm_2048(void);
double gw_bench_blas_gemm_512(void);
double gw_bench_blas_gemm_1024(void);
double gw_bench_blas_gemm_2048(void);
double gw_bench_overhead(void);

const gw_workload gw_workloads[] = {
    {"gemm-512", "GFLOP/s", gw_bench_gemm_512, "512^3 matmul through gw's matmul op"},
    {"blas-gemm-512", "GFLOP/s", gw_bench_blas_gemm_512, "the same through cblas_sgemm directly"},
    {"gemm-1024", "GFLOP/s", gw_bench_gemm_1024, "1024^3 matmul through gw's matmul op"},
    {"blas-gemm-1024", "GFLOP/s", gw_bench_blas_gemm_1024, "the same through cblas_sgemm directly"},
    {"gemm-2048", "GFLOP/s", gw_bench_gemm_2048, "2048^3 matmul through gw's matmul op"},
    {"blas-gemm-2048", "GFLOP/s", gw_bench_blas_gemm_2048, "the same through cblas_sgemm directly"},
    {"overhead", "us/op", gw_bench_overhead, "1000 chained adds of 8 elements, forward + backward"},
};
const int gw_workload_count = sizeof gw_workloads / sizeof gw_workloads[0];
