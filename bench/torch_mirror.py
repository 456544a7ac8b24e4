#!/usr/bin/python3
"""The standard workloads of `gw bench`, in PyTorch (Debian's python3-torch), for comparison.

    /usr/bin/python3 bench/torch_mirror.py [--threads N] [--only ID,...]

Prints `ID THREADS VALUE UNIT` lines exactly like `gw bench`. Without --threads it runs each
thread count (1, then 2) in its own process with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set,
because torch.set_num_threads() does not limit OpenBLAS (shared/bench/REFERENCE.md). Each
figure is the median of >= 5 timed iterations after >= 2 warm-up iterations, as in gw.
cnn-step-rss is the peak resident memory of a fresh process that runs only cnn-step (it
includes `import torch`).
"""
import argparse
import os
import subprocess
import sys
import time

WORKLOADS = ["gemm-512", "gemm-1024", "gemm-2048", "overhead", "conv", "attn", "cnn-step",
             "cnn-step-rss"]


def median_seconds(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    n = len(times)
    return times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])


def gemm(torch, n):
    torch.manual_seed(1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    iters = 5 if n >= 2048 else (9 if n >= 1024 else 21)
    with torch.no_grad():
        t = median_seconds(lambda: torch.matmul(a, b), 2, iters)
    return 2.0 * n ** 3 / t * 1e-9


def overhead(torch):
    x = torch.zeros(8, requires_grad=True)
    b = torch.zeros(8, requires_grad=True)

    def chain():
        y = x
        for _ in range(1000):
            y = y + b
        y.sum().backward()
        x.grad = None
        b.grad = None

    return median_seconds(chain, 3, 21) / 1000 * 1e6


def conv(torch):
    torch.manual_seed(1)
    x = torch.randn(32, 32, 32, 32, requires_grad=True)
    layer = torch.nn.Conv2d(32, 64, 3, stride=1, padding=1)
    seed = torch.randn(32, 64, 32, 32)

    def step():
        y = layer(x)
        y.backward(seed)
        x.grad = None
        layer.zero_grad(set_to_none=True)

    return median_seconds(step, 2, 9) * 1e3


def attn(torch):
    torch.manual_seed(1)
    layer = torch.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0,
                                             activation="gelu", batch_first=True, norm_first=True)
    x = torch.randn(32, 32, 128, requires_grad=True)
    seed = torch.randn(32, 32, 128)

    def step():
        y = layer(x)
        y.backward(seed)
        x.grad = None
        layer.zero_grad(set_to_none=True)

    return median_seconds(step, 2, 9) * 1e3


def cnn_model(torch):
    nn = torch.nn
    layers = []
    ch = [3, 32, 64, 128, 128]
    for i in range(4):
        layers += [nn.Conv2d(ch[i], ch[i + 1], 3, stride=2, padding=1), nn.BatchNorm2d(ch[i + 1]),
                   nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def cnn_step_fn(torch):
    torch.manual_seed(1)
    model = cnn_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, 3, 64, 64)
    labels = torch.randint(0, 10, (64,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), labels)
        loss.backward()
        opt.step()

    return step


def cnn_step(torch):
    return median_seconds(cnn_step_fn(torch), 2, 9) * 1e3


def cnn_step_rss(torch):
    import resource
    step = cnn_step_fn(torch)
    for _ in range(5):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB -> MiB


def run_here(threads, only):
    import torch
    torch.set_num_threads(threads)
    table = {
        "gemm-512": (lambda: gemm(torch, 512), "GFLOP/s"),
        "gemm-1024": (lambda: gemm(torch, 1024), "GFLOP/s"),
        "gemm-2048": (lambda: gemm(torch, 2048), "GFLOP/s"),
        "overhead": (lambda: overhead(torch), "us/op"),
        "conv": (lambda: conv(torch), "ms"),
        "attn": (lambda: attn(torch), "ms"),
        "cnn-step": (lambda: cnn_step(torch), "ms"),
        "cnn-step-rss": (lambda: cnn_step_rss(torch), "MiB"),
    }
    for wid in WORKLOADS:
        if only and wid not in only:
            continue
        if wid == "cnn-step-rss" and len(only or WORKLOADS) > 1:
            value = run_child(threads, ["cnn-step-rss"])["cnn-step-rss"]  # a fresh process
        else:
            value = table[wid][0]()
        print(f"{wid} {threads} {value:.4g} {table[wid][1]}", flush=True)


def run_child(threads, only):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--threads", str(threads), "--in-process",
                          "--only", ",".join(only)], env=env, check=True, capture_output=True,
                         text=True).stdout
    values = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            values[parts[0]] = float(parts[2])
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int)
    ap.add_argument("--only", default="")
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    only = [w for w in args.only.split(",") if w]
    for w in only:
        if w not in WORKLOADS:
            sys.exit(f"torch_mirror: no workload named '{w}' (known: {', '.join(WORKLOADS)})")
    if args.in_process:
        run_here(args.threads, only)
        return
    for threads in ([args.threads] if args.threads else [1, 2]):
        # each thread count in its own process, with the BLAS thread count set before import
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        cmd = [sys.executable, __file__, "--threads", str(threads), "--in-process"]
        if only:
            cmd += ["--only", ",".join(only)]
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
