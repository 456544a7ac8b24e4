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
import math
import os
import subprocess
import sys
import time

WORKLOADS = ["gemm-512", "gemm-1024", "gemm-2048", "overhead", "conv", "attn", "cnn-step",
             "cnn-step-rss", "laconvnet-step", "clip-step"]


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


def image_text_batch(torch, B, L):
    """The model-step batch of bench/model_step.c: 64x64 images in [-0.5, 0.5), texts of 8 to 20
    word ids in [6, 100), padded with 0 to L."""
    images = torch.rand(B, 3, 64, 64) - 0.5
    lengths = torch.randint(8, 21, (B,))
    tokens = torch.randint(6, 100, (B, L)) * (torch.arange(L)[None, :] < lengths[:, None])
    return images, tokens, lengths


def laconvnet_model(torch, vocab=100):
    """The model of configs/laconvnet_rec.yaml (models/laconvnet.c), written as a PyTorch user
    would: the per-pixel kernels are applied by unfolding the input (F.unfold)."""
    nn, F = torch.nn, torch.nn.functional

    def sine_posenc(C, H, W):
        half = C // 2
        k = torch.arange(half, dtype=torch.float64)
        freq = 10000.0 ** (2 * (k // 2) / half)
        ys = (torch.arange(H, dtype=torch.float64) + 1) / (H + 1e-6) * 2 * math.pi
        xs = (torch.arange(W, dtype=torch.float64) + 1) / (W + 1e-6) * 2 * math.pi
        py, px = ys[None, :, None] / freq[:, None, None], xs[None, None, :] / freq[:, None, None]
        even = (k % 2 == 0)[:, None, None]
        py = torch.where(even, py.sin(), py.cos()).expand(half, H, W)
        px = torch.where(even, px.sin(), px.cos()).expand(half, H, W)
        return torch.cat([py, px]).float()

    class Block(nn.Module):
        def __init__(self, C, k, G, t, cond, heads, D=64):
            super().__init__()
            self.k, self.G, self.t, self.cond, self.heads = k, G, t, cond, heads
            self.q = nn.Linear(C * t * t, cond)
            self.kp, self.vp = nn.Linear(D, cond), nn.Linear(D, cond)
            self.merge = nn.Linear(cond, cond * t * t)
            self.cond_bn = nn.BatchNorm2d(cond)
            self.kernel = nn.Conv2d(cond, k * k * G, 1)
            self.bn = nn.BatchNorm2d(C)
            self.fc1, self.bn1 = nn.Conv2d(C, 4 * C, 1, bias=False), nn.BatchNorm2d(4 * C)
            self.fc2, self.bn2 = nn.Conv2d(4 * C, C, 1, bias=False), nn.BatchNorm2d(C)
            self.register_buffer("pe", torch.zeros(0))

        def forward(self, x, words, keep):
            B, C, H, W = x.shape
            t, h = self.t, self.heads
            if self.pe.numel() == 0:
                self.pe = sine_posenc(C, H, W)
            xp = x + self.pe
            packed = F.pixel_unshuffle(xp, t) if t > 1 else xp
            n = (H // t) * (W // t)
            q = self.q(packed.flatten(2).transpose(1, 2))
            kk, vv = self.kp(words), self.vp(words)
            dh = self.cond // h
            qh = q.view(B, n, h, dh).transpose(1, 2)
            kh = kk.view(B, -1, h, dh).transpose(1, 2)
            vh = vv.view(B, -1, h, dh).transpose(1, 2)
            scores = qh @ kh.transpose(-1, -2) / math.sqrt(dh)
            scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
            attn = F.dropout(scores.softmax(-1), 0.1, self.training)
            ctx = (attn @ vh).transpose(1, 2).reshape(B, n, self.cond)
            grid = F.relu(self.merge(ctx)).transpose(1, 2).reshape(B, self.cond * t * t, H // t, W // t)
            z = F.pixel_shuffle(grid, t) if t > 1 else grid
            z = F.relu(self.cond_bn(z))
            kernels = F.dropout(self.kernel(z), 0.1, self.training).view(B, self.G, self.k * self.k, H, W)
            cols = F.unfold(x, self.k, padding=self.k // 2).view(B, C // self.G, self.G, self.k * self.k, H, W)
            y = (cols * kernels.unsqueeze(1)).sum(3).view(B, C, H, W)
            x = F.silu(x + self.bn(y))
            return F.silu(x + self.bn2(self.fc2(F.silu(self.bn1(self.fc1(x))))))

    class LaConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, 64, padding_idx=0)
            self.gru = nn.GRU(64, 32, batch_first=True, bidirectional=True)
            self.proj = nn.Linear(64, 64)
            self.stem, self.stem_bn = nn.Conv2d(12, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
            spec = [(16, 1, 3, 4, 4), (32, 2, 3, 4, 2), (64, 3, 5, 8, 1)]
            self.downs, self.stages = nn.ModuleList(), nn.ModuleList()
            cin = 16
            for i, (C, nb, k, G, t) in enumerate(spec):
                self.downs.append(nn.Sequential(nn.Conv2d(4 * cin, C, 1, bias=False), nn.BatchNorm2d(C))
                                  if i > 0 else nn.Identity())
                self.stages.append(nn.ModuleList([Block(C, k, G, t, C, 2) for _ in range(nb)]))
                cin = C
            self.head = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.SiLU())
            self.reg, self.obj = nn.Conv2d(64, 4, 1), nn.Conv2d(64, 1, 1)

        def forward(self, images, tokens, lengths):
            keep = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths, batch_first=True,
                                                       enforce_sorted=False)
            out, _ = self.gru(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
            words = self.proj(out)
            x = F.silu(self.stem_bn(self.stem(F.pixel_unshuffle(images, 2))))
            for i, (down, blocks) in enumerate(zip(self.downs, self.stages)):
                if i > 0:
                    x = F.silu(down(F.pixel_unshuffle(x, 2)))
                for block in blocks:
                    x = block(x, words, keep)
            h = self.head(x)
            B, _, S, _ = h.shape
            obj = self.obj(h).view(B, S * S)
            r = self.reg(h).view(B, 4, S * S).transpose(1, 2)
            g = torch.arange(S * S)
            grid = torch.stack([g % S, g // S], 1).float() + 0.5
            centre = (r[..., :2] + grid) * (64 / S)
            size = r[..., 2:].clamp(-4, 4).exp() * (64 / S)
            return obj, torch.cat([centre - size / 2, centre + size / 2], -1)

    return LaConvNet()


def laconvnet_step(torch):
    """One training step at batch 32: the same losses as models/laconvnet.c (objectness BCE over
    the cells, GIoU and L1 on the 3x3 cells around the target's centre)."""
    F = torch.nn.functional
    torch.manual_seed(1)
    model = laconvnet_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    B, L = 32, 24
    images, tokens, lengths = image_text_batch(torch, B, L)
    c = torch.rand(B, 2) * 48 + 8
    half = torch.rand(B, 1) * 4 + 4
    gt = torch.cat([c - half, c + half], 1)

    def giou(a, b):
        iw = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(min=0)
        ih = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(min=0)
        inter = iw * ih
        union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
        ew = torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])
        eh = torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1])
        return inter / (union + 1e-7) - (ew * eh - union) / (ew * eh + 1e-7)

    def step():
        obj, boxes = model(images, tokens, lengths)
        S = int(obj.shape[1] ** 0.5)
        cell = ((gt[:, :2] + gt[:, 2:]) / 2 / (64 / S)).long().clamp(0, S - 1)
        target = torch.zeros_like(obj)
        rows, idx = [], []
        for b in range(B):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    x, y = int(cell[b, 0]) + dx, int(cell[b, 1]) + dy
                    if 0 <= x < S and 0 <= y < S:
                        target[b, y * S + x] = 1
                        rows.append(b)
                        idx.append(y * S + x)
        pred = boxes[rows, idx]
        truth = gt[rows]
        loss = (F.binary_cross_entropy_with_logits(obj, target) + 2 * (1 - giou(pred, truth)).mean()
                + 5 * F.l1_loss(pred, truth) / 64)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_seconds(step, 2, 9) * 1e3


def clip_model(torch, vocab=100, max_len=24):
    """The tiny CLIP of configs/clip.yaml (models/clip.c): a ViT with patch 8 and a class token,
    a text transformer whose feature is the mean of the real words, both projected without a
    bias into a 64-d joint space, and a learnable logit scale."""
    nn = torch.nn

    def layers(n):
        return nn.ModuleList([nn.TransformerEncoderLayer(64, 4, dim_feedforward=256, dropout=0.0,
                                                         activation="gelu", batch_first=True,
                                                         norm_first=True) for _ in range(n)])

    class Clip(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 64, 8, stride=8)
            self.class_token = nn.Parameter(torch.randn(64) / 8)
            self.image_pos = nn.Parameter(torch.randn(65, 64) / 8)
            self.ln_pre, self.ln_post = nn.LayerNorm(64), nn.LayerNorm(64)
            self.vision = layers(2)
            self.visual_proj = nn.Linear(64, 64, bias=False)
            self.words = nn.Embedding(vocab, 64, padding_idx=0)
            self.text_pos = nn.Parameter(torch.randn(max_len, 64) * 0.01)
            self.text = layers(2)
            self.ln_final = nn.LayerNorm(64)
            self.text_proj = nn.Linear(64, 64, bias=False)
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

        def forward(self, images, tokens, lengths):
            x = self.patch(images).flatten(2).transpose(1, 2)
            x = torch.cat([self.class_token.expand(x.shape[0], 1, 64), x], 1) + self.image_pos
            x = self.ln_pre(x)
            for layer in self.vision:
                x = layer(x)
            img = self.visual_proj(self.ln_post(x[:, 0]))
            keep = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
            t = self.words(tokens) + self.text_pos[: tokens.shape[1]]
            for layer in self.text:
                t = layer(t, src_key_padding_mask=~keep)
            t = self.ln_final(t)
            w = keep.float() / lengths[:, None].float()
            txt = self.text_proj((w[:, :, None] * t).sum(1))
            return img, txt

    return Clip()


def clip_step(torch):
    """One training step at batch 64: the symmetric InfoNCE of models/clip.c (cosine logits
    times exp(logit_scale) capped at 100, cross-entropy over rows and over columns)."""
    F = torch.nn.functional
    torch.manual_seed(1)
    model = clip_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    B, L = 64, 24
    images, tokens, lengths = image_text_batch(torch, B, L)
    labels = torch.arange(B)

    def step():
        img, txt = model(images, tokens, lengths)
        logits = F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).t()
        logits = logits * model.logit_scale.clamp(max=math.log(100)).exp()
        loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_seconds(step, 2, 9) * 1e3


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
        "laconvnet-step": (lambda: laconvnet_step(torch), "ms"),
        "clip-step": (lambda: clip_step(torch), "ms"),
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
