// The table of workloads `gw bench` knows, in the order it runs them.
#include "bench/bench.h"

double gw_bench_gemm_512(void);
double gw_bench_gemm_1024(void);
double gw_bench_gemm_2048(void);
double gw_bench_blas_gemm_512(void);
double gw_bench_blas_gemm_1024(void);
double gw_bench_blas_gemm_2048(void);
double gw_bench_overhead(void);
double gw_bench_conv(void);
double gw_bench_attn(void);
double gw_bench_cnn_step(void);
double gw_bench_cnn_step_rss(void);
double gw_bench_laconvnet_step(void);
double gw_bench_clip_step(void);

const gw_workload gw_workloads[] = {
    {"gemm-512", "GFLOP/s", gw_bench_gemm_512, "512^3 matmul through gw's matmul op"},
    {"blas-gemm-512", "GFLOP/s", gw_bench_blas_gemm_512, "the same through cblas_sgemm directly"},
    {"gemm-1024", "GFLOP/s", gw_bench_gemm_1024, "1024^3 matmul through gw's matmul op"},
    {"blas-gemm-1024", "GFLOP/s", gw_bench_blas_gemm_1024, "the same through cblas_sgemm directly"},
    {"gemm-2048", "GFLOP/s", gw_bench_gemm_2048, "2048^3 matmul through gw's matmul op"},
    {"blas-gemm-2048", "GFLOP/s", gw_bench_blas_gemm_2048, "the same through cblas_sgemm directly"},
    {"overhead", "us/op", gw_bench_overhead, "1000 chained adds of 8 elements, forward + backward"},
    {"conv", "ms", gw_bench_conv, "conv2d 32x32x32x32 -> 64, k3, forward + backward"},
    {"attn", "ms", gw_bench_attn, "pre-norm encoder layer (32, 32, 128), 4 heads, FFN 512, fwd + bwd"},
    {"cnn-step", "ms", gw_bench_cnn_step, "4-conv CNN training step, batch 64 at 64x64, Adam"},
    {"cnn-step-rss", "MiB", gw_bench_cnn_step_rss, "peak RSS of a process running only cnn-step",
     .own_process = true},
    {"laconvnet-step", "ms", gw_bench_laconvnet_step, "LaConvNet training step, batch 32, 64x64, 24 tokens"},
    {"clip-step", "ms", gw_bench_clip_step, "tiny CLIP training step (ViT patch 8, 2+2 layers, d 64), batch 64, 64x64, 24 tokens"},
};
const int gw_workload_count = sizeof gw_workloads / sizeof gw_workloads[0];
