#!/usr/bin/python3
"""Golden fixtures for the nn layer: PyTorch's answers for groundwork's modules, optimal
transport, losses, optimizers, schedules and gradient clipping.

Regenerate from the repository root with Debian's python3 (it has python3-torch and
python3-h5py; no other interpreter is needed or wanted):

    /usr/bin/python3 tests/golden/make_nn_fixtures.py tests/golden/fixtures
    (the Makefile's `make fixtures` runs this after make_fixtures.py)

The output directory is argv[1]; the file is <dir>/nn.h5. The script is deterministic: the
same torch version gives the same file, and tests/golden/test_golden_nn.c reads it.

What is in the file
-------------------
As in golden.h5 (see make_fixtures.py): one group per family, cases 000, 001, ... with the
family attribute `count`, the root attribute `families`, and per case the attributes op,
desc and the arguments (int64, float64 or ASCII). Module cases add:

  params/<name>   every parameter and buffer of the module, under groundwork's dotted name
                  ("attn.q_proj.weight"); the C test loads them with gw_nn_load (strict), so
                  a name or shape the C module does not have is a failure. Where PyTorch's
                  layout differs (MultiheadAttention's packed in_proj_weight and
                  in_proj_bias) the script splits it into q_proj, k_proj, v_proj.
  grads/<name>    the gradient of every trainable parameter after backward from the seeds
  after/<name>    a buffer after the forward (batch norm's running statistics)
  <input>, grad_<input>, out/out<k>, seed/seed<k>: as in golden.h5. An output without a
                  seed is compared forward only.

Optimizer cases (family "optim") hold a small model's parameters (params/<name>), the
gradient of every parameter for each of 10 steps (grad_steps/<name>, shape (10, ...)), the
learning-rate factor of each step (lr_factor, (10,)) and the parameters after every step
(traj/<name>, float64, (10, ...)). Clipping cases hold params, grads (grad_in/<name>), the
max norm, and the norm and the gradients after clipping (float64). Schedule cases hold the
factor of each step (float64).

How the reference is computed
-----------------------------
Inputs and parameters are drawn in float32 (the type the C library computes in), then every
module runs in float64, so the stored outputs and gradients are the true values for those
float32 numbers, rounded once to float32 at the end. The optimizer trajectories, schedule
factors and clipping results are stored in float64 and compared to 1e-6 relative. Optimizer
hyperparameters are rounded to float32 before PyTorch sees them (the C library holds them
as float32; rounding 0.999 to float32 alone moves 1 - beta2 by 1.3e-5 relative), so the
comparison measures arithmetic, not the representation of the settings.

Dropout is 0 everywhere (groundwork's dropout stream cannot be reproduced in PyTorch).
"""
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20240607)  # every random draw below comes from this one seed
DT = torch.float64  # the reference precision


# ----------------------------------------------------------------------------------------
# Random values (float32, as the C library sees them)
# ----------------------------------------------------------------------------------------

def randn(*shape):
    return torch.randn(shape, dtype=torch.float32)


def uniform(lo, hi, *shape):
    return torch.rand(shape, dtype=torch.float32) * (hi - lo) + lo


def f32(v):
    """A Python float rounded to the nearest float32 (what the C library holds)."""
    return float(np.float32(v))


def prepare(module, jitter=0.1):
    """Moves every parameter off its initial value (biases at 0, norm scales at 1 could hide
    an error) in float32, then switches the module to float64: the float64 module holds
    exactly the float32 numbers stored in the fixture."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(jitter * randn(*p.shape))
    return module.double()


def randomize_running_stats(module):
    with torch.no_grad():
        for name, b in module.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.3 * randn(*b.shape))
            elif name.endswith('running_var'):
                b.copy_(uniform(0.5, 2.0, *b.shape))


def join(prefix, name):
    return f'{prefix}.{name}' if prefix else name


def bindings(prefix, module):
    """(groundwork name, torch tensor, part of a packed q/k/v tensor or None, is_buffer) for
    every parameter and buffer of a torch module."""
    out = []
    for name, p in module.named_parameters():
        if name.endswith('in_proj_weight') or name.endswith('in_proj_bias'):
            base, leaf = name.rsplit('in_proj_', 1)  # 'self_attn.', 'weight'
            for k, part in enumerate('qkv'):
                out.append((join(prefix, f'{base}{part}_proj.{leaf}'), p, k, False))
        else:
            out.append((join(prefix, name), p, None, False))
    for name, b in module.named_buffers():
        if not name.endswith('num_batches_tracked'):
            out.append((join(prefix, name), b, None, True))
    return out


def part_of(t, part):
    return t if part is None else t.chunk(3, dim=0)[part]


# ----------------------------------------------------------------------------------------
# Writing cases
# ----------------------------------------------------------------------------------------

def set_attr(obj, key, value):
    """Attributes in the few types the C test reads: int64, float64, ASCII strings."""
    if isinstance(value, str):
        obj.attrs.create(key, np.bytes_(value))
    elif isinstance(value, (bool, int)):
        obj.attrs.create(key, np.int64(value))
    elif isinstance(value, float):
        obj.attrs.create(key, np.float64(value))
    elif isinstance(value, (list, tuple)):
        assert len(value) > 0, f'{key}: empty lists are not stored'
        obj.attrs.create(key, np.array(value, dtype=np.int64))
    else:
        raise TypeError(f'{key}: {type(value)}')


class Case:
    """One case: its inputs, module parameters, arguments, outputs, seeds and gradients."""

    def __init__(self, fx, group, op, desc, args):
        self.fx = fx
        self.g = group
        self.leaves = {}  # name -> float64 leaf tensor that wants a gradient
        self.binds = []   # module tensors (see bindings())
        set_attr(group, 'op', op)
        set_attr(group, 'desc', desc)
        for key, value in args.items():
            set_attr(group, key, value)

    def store(self, name, array):
        """An array at `name` (a path inside the case: "params/fc.weight" makes the group)."""
        array = np.array(array, order='C')
        parent = self.g
        *dirs, leaf = name.split('/')
        for d in dirs:
            parent = parent[d] if d in parent else self.fx.group(parent, d)
        if array.size > 1024:
            return parent.create_dataset(leaf, data=array, track_times=False,
                                         compression='gzip', shuffle=True)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        return parent.create_dataset(leaf, data=array, track_times=False, dcpl=dcpl)

    def f(self, name, values, grad=True):
        """A float input. `values` is float32; returns the float64 tensor the reference sees."""
        base = values.to(torch.float32).contiguous()
        self.store(name, base.numpy())
        t = base.to(DT).requires_grad_(grad)
        if grad:
            self.leaves[name] = t
        return t

    def i(self, name, values):
        """An int32 input (ids, lengths, masks); returns it as int64 for torch."""
        self.store(name, values.to(torch.int32).numpy())
        return values.to(torch.int64)

    def module(self, prefix, module):
        """Stores the module's parameters and buffers (as they are now) under params/."""
        binds = bindings(prefix, module)
        for name, t, part, _ in binds:
            self.store('params/' + name, part_of(t.detach(), part).to(torch.float32).numpy())
        self.binds += binds
        return module

    def out(self, *ys, seeded=None):
        """Stores the outputs, draws a seed for each seeded one, runs backward, and stores the
        input gradients, the parameter gradients and the buffers after the forward."""
        multi = len(ys) > 1
        seeded = seeded or [True] * len(ys)
        seeds = []
        for k, y in enumerate(ys):
            suffix = str(k) if multi else ''
            self.store('out' + suffix, y.detach().to(torch.float32).numpy())
            if seeded[k] and y.requires_grad:
                seed = randn(*y.shape)
                self.store('seed' + suffix, seed.numpy())
                seeds.append((y, seed.to(DT)))
        if seeds:
            torch.autograd.backward([y for y, _ in seeds], [s for _, s in seeds])
        for name, leaf in self.leaves.items():
            grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
            assert torch.isfinite(grad).all(), f'{name}: non-finite reference gradient'
            self.store('grad_' + name, grad.to(torch.float32).numpy())
        for name, t, part, buffer in self.binds:
            if buffer:
                self.store('after/' + name, t.detach().to(torch.float32).numpy())
            else:
                grad = t.grad if t.grad is not None else torch.zeros_like(t)
                assert torch.isfinite(grad).all(), f'{name}: non-finite reference gradient'
                self.store('grads/' + name, part_of(grad, part).to(torch.float32).numpy())


class Fixtures:
    def __init__(self, path):
        self.path = path
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
        fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
        fcpl.set_obj_track_times(False)
        self.file = h5py.File(h5py.h5f.create((path + '.tmp').encode(), h5py.h5f.ACC_TRUNC,
                                              fcpl=fcpl, fapl=fapl))
        self.counts = {}

    def group(self, parent, name):
        """A new group without timestamps, so that the same cases give the same bytes."""
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_obj_track_times(False)
        return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))

    def case(self, family, op, desc, **args):
        k = self.counts.get(family, 0)
        self.counts[family] = k + 1
        fam = self.file[family] if family in self.file else self.group(self.file, family)
        return Case(self, self.group(fam, f'{k:03d}'), op, desc, args)

    def close(self):
        for family, n in self.counts.items():
            self.file[family].attrs.create('count', np.int64(n))
        set_attr(self.file, 'families', ','.join(self.counts))
        set_attr(self.file, 'torch_version', torch.__version__)
        self.file.close()
        os.replace(self.path + '.tmp', self.path)


# ----------------------------------------------------------------------------------------
# Layers: Linear, Conv2d, MLP, gated residual
# ----------------------------------------------------------------------------------------

def layers(fx):
    for shape, n_in, n_out, bias in [((4, 5), 5, 3, True), ((2, 3, 6), 6, 4, True),
                                     ((3, 4), 4, 2, False)]:
        c = fx.case('layers', 'linear', f'Linear {n_in}->{n_out} bias {bias} on {shape}',
                    name='fc', in_dim=n_in, out_dim=n_out, bias=bias)
        m = c.module('fc', prepare(nn.Linear(n_in, n_out, bias=bias)))
        x = c.f('x', randn(*shape))
        c.out(m(x))

    # (x shape, cin, cout, k, stride, pad, groups, bias)
    for shape, cin, cout, k, s, p, g, bias in [
        ((2, 4, 7, 7), 4, 6, 3, 2, 1, 2, True),
        ((2, 3, 5, 5), 3, 4, 1, 1, 0, 1, False),
        ((1, 4, 6, 6), 4, 4, 3, 1, 1, 4, True),  # depthwise
        ((2, 2, 6, 5), 2, 4, 5, 1, 2, 1, True),
        ((2, 3, 8, 8), 3, 6, 3, 3, 0, 3, True),
    ]:
        c = fx.case('layers', 'conv', f'Conv2d {cin}->{cout} k {k} stride {s} pad {p} groups {g} '
                    f'bias {bias} on {shape}', name='conv', cin=cin, cout=cout, k=k, stride=s,
                    pad=p, groups=g, bias=bias)
        m = c.module('conv', prepare(nn.Conv2d(cin, cout, k, stride=s, padding=p, groups=g,
                                               bias=bias)))
        x = c.f('x', randn(*shape))
        c.out(m(x))

    # MLP: Linear layers with an activation between them (none after the last)
    acts = {'gelu': F.gelu, 'relu': F.relu, 'tanh': torch.tanh}
    for dims, act, shape in [((5, 8, 8, 3), 'gelu', (4, 5)), ((6, 4, 2), 'relu', (2, 3, 6)),
                             ((3, 5), 'tanh', (4, 3))]:
        c = fx.case('layers', 'mlp', f'MLP {dims} {act} on {shape}', name='mlp', dims=list(dims),
                    act=act)
        holder = nn.Module()
        holder.layers = nn.ModuleList([nn.Linear(dims[i], dims[i + 1])
                                       for i in range(len(dims) - 1)])
        m = c.module('mlp', prepare(holder))
        x = c.f('x', randn(*shape))
        h = x
        for i, layer in enumerate(m.layers):
            h = layer(h)
            if i + 1 < len(m.layers):
                h = acts[act](h)
        c.out(h)

    # Gated residual: y = x + gate * branch (the gate starts at 0)
    for gate in (0.0, 0.37):
        c = fx.case('layers', 'gated_residual', f'gated residual (2, 3, 4), gate {gate}',
                    name='fuse')
        holder = nn.Module()
        holder.gate = nn.Parameter(torch.tensor(gate, dtype=torch.float32))
        m = c.module('fuse', holder.double())
        x = c.f('x', randn(2, 3, 4))
        b = c.f('branch', randn(2, 3, 4))
        c.out(x + m.gate * b)


# ----------------------------------------------------------------------------------------
# Normalisation and embedding
# ----------------------------------------------------------------------------------------

def norm(fx):
    # Batch norm: (x shape, affine, training). Running statistics start off their defaults so
    # that the update (training) and their use (evaluation) are both visible.
    for shape, affine, training in [
        ((6, 4), True, True), ((4, 3, 5), True, True), ((2, 3, 4, 4), True, True),
        ((2, 3, 4, 4), False, True), ((6, 4), True, False), ((2, 3, 4, 4), True, False),
        ((4, 3, 5), False, False),
    ]:
        kind = 'BatchNorm2d' if len(shape) == 4 else 'BatchNorm1d'
        c = fx.case('norm', 'batchnorm', f'{kind} {shape} affine {affine} '
                    f'{"training (running statistics after the step)" if training else "evaluation"}',
                    name='bn', channels=shape[1], affine=affine, training=training)
        cls = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
        mod = cls(shape[1], affine=affine)
        randomize_running_stats(mod)
        m = c.module('bn', prepare(mod).train(training))
        x = c.f('x', randn(*shape) * 1.5 + 0.5)
        c.out(m(x))

    for shape, affine in [((2, 3, 8), True), ((4, 6), False), ((5, 1, 3), True)]:
        c = fx.case('norm', 'layernorm', f'LayerNorm {shape[-1]} affine {affine} on {shape}',
                    name='ln', dim=shape[-1], affine=affine)
        m = c.module('ln', prepare(nn.LayerNorm(shape[-1], elementwise_affine=affine)))
        x = c.f('x', randn(*shape) * 2 + 0.3)
        c.out(m(x))

    # Embedding: the padding row starts at 0, gets no gradient, and still looks up (as zeros)
    for num, dim, pad, ids in [
        (10, 4, 0, [[1, 0, 3, 3, 9], [0, 0, 2, 7, 1], [5, 4, 0, 8, 6]]),
        (7, 3, 5, [[5, 1, 2], [6, 5, 5]]),
        (6, 5, -1, [[0, 1, 2, 3], [3, 3, 5, 0]]),
    ]:
        c = fx.case('norm', 'embedding', f'Embedding {num}x{dim} padding_idx {pad}', name='emb',
                    num=num, dim=dim, padding_idx=pad)
        m = c.module('emb', nn.Embedding(num, dim, padding_idx=None if pad < 0 else pad).double())
        ids_t = c.i('ids', torch.tensor(ids))
        c.out(m(ids_t))


# ----------------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------------

def rnn(fx):
    # (B, T, in, H, bidirectional, lengths or None)
    for B, T, n_in, H, bi, lengths in [
        (3, 5, 4, 6, False, None), (3, 5, 4, 6, False, [5, 2, 3]),
        (2, 4, 3, 5, True, None), (3, 5, 4, 3, True, [4, 5, 1]),
    ]:
        c = fx.case('rnn', 'gru', f'GRU {n_in}->{H} {"bidirectional " if bi else ""}'
                    f'(B {B}, T {T}){" lengths " + str(lengths) if lengths else ""}',
                    name='gru', in_dim=n_in, hidden=H, bidirectional=bi)
        m = c.module('gru', prepare(nn.GRU(n_in, H, batch_first=True, bidirectional=bi)))
        x = c.f('x', randn(B, T, n_in))
        if lengths is None:
            out, h_n = m(x)
        else:
            lens = c.i('lengths', torch.tensor(lengths))
            # packed sequences: each sequence stops at its length (reverse starts there), the
            # final state is the state at the last real token, padded outputs are 0
            packed = nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True,
                                                       enforce_sorted=False)
            out_p, h_n = m(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=T)
        last = h_n.permute(1, 0, 2).reshape(B, -1)  # (B, D*H): forward, then reverse
        c.out(out, last)


# ----------------------------------------------------------------------------------------
# Attention: MultiheadAttention, TransformerEncoderLayer, the cross-attention layer
# ----------------------------------------------------------------------------------------

def keep_mask(B, S, pads):
    """int32 (B, S): 1 = a real key, 0 = padding; pads[b] keys padded at the end of row b."""
    keep = torch.ones(B, S, dtype=torch.int64)
    for b, n in enumerate(pads):
        if n:
            keep[b, S - n:] = 0
    return keep


def mha(m, q, k, v, keep):
    """PyTorch's attention with groundwork's mask convention (keep 1 = attend; PyTorch's
    key_padding_mask True = ignore). Returns the output and the weights (B, H, T, S)."""
    kpm = None if keep is None else keep == 0
    return m(q, k, v, key_padding_mask=kpm, need_weights=True, average_attn_weights=False)


def attention(fx):
    # (kind, B, T, S, dim, heads, padded keys per row or None)
    for kind, B, T, S, dim, heads, pads in [
        ('self', 2, 5, 5, 8, 2, None), ('self', 2, 5, 5, 8, 2, [0, 2]),
        ('cross', 2, 3, 6, 8, 4, [1, 3]), ('cross_kv', 2, 4, 5, 6, 3, [2, 0]),
    ]:
        c = fx.case('attention', 'mha', f'MultiheadAttention {kind} dim {dim} heads {heads} '
                    f'T {T} S {S}{" key padding " + str(pads) if pads else ""}', name='attn',
                    dim=dim, heads=heads, kind=kind)
        m = c.module('attn', prepare(nn.MultiheadAttention(dim, heads, dropout=0.0,
                                                           batch_first=True)))
        q = c.f('q', randn(B, T, dim))
        if kind == 'self':
            k = v = q
        elif kind == 'cross':
            k = v = c.f('memory', randn(B, S, dim))
        else:
            k, v = c.f('k', randn(B, S, dim)), c.f('v', randn(B, S, dim))
        keep = c.i('key_keep', keep_mask(B, S, pads)) if pads else None
        out, w = mha(m, q, k, v, keep)
        c.out(out, w)

    # torch.nn.TransformerEncoderLayer, batch first, gelu, dropout 0
    for pre, pads in [(False, [0, 2]), (True, [1, 0]), (False, None), (True, None)]:
        B, T, dim, heads, ff = 2, 5, 8, 2, 16
        c = fx.case('attention', 'encoder_layer', f'TransformerEncoderLayer '
                    f'{"pre-norm" if pre else "post-norm"} gelu dim {dim} heads {heads} ff {ff}'
                    f'{" key padding " + str(pads) if pads else ""}', name='enc', dim=dim,
                    heads=heads, ff_dim=ff, pre_norm=pre)
        layer = nn.TransformerEncoderLayer(dim, heads, ff, dropout=0.0, activation='gelu',
                                           batch_first=True, norm_first=pre)
        m = c.module('enc', prepare(layer))
        x = c.f('x', randn(B, T, dim))
        keep = c.i('key_keep', keep_mask(B, T, pads)) if pads else None
        c.out(m(x, src_key_padding_mask=None if keep is None else keep == 0))

    # groundwork's cross-attention layer, built by hand from PyTorch modules (nn/attention.c):
    #   pre-norm:  x = x + attn(norm1(x), norm_memory(mem));  x = x + FFN(norm2(x))
    #   post-norm: x = norm1(x + attn(x, mem));               x = norm2(x + FFN(x))
    acts = {'gelu': F.gelu, 'relu': F.relu}
    for pre, ff, act, pads in [(True, 16, 'gelu', [0, 2]), (True, 0, 'gelu', [1, 0]),
                               (False, 16, 'gelu', [2, 1]), (False, 0, 'gelu', None),
                               (False, 12, 'relu', None)]:
        B, T, S, dim, heads = 2, 3, 5, 8, 2
        c = fx.case('attention', 'cross_layer', f'cross-attention layer '
                    f'{"pre-norm" if pre else "post-norm"} '
                    f'{"FFN " + str(ff) + " " + act if ff else "without FFN"}'
                    f'{" memory padding " + str(pads) if pads else ""}', name='xl', dim=dim,
                    heads=heads, ff_dim=ff, pre_norm=pre, act=act)
        holder = nn.Module()
        holder.cross_attn = nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)
        holder.norm1 = nn.LayerNorm(dim)
        if pre:
            holder.norm_memory = nn.LayerNorm(dim)
        if ff:
            holder.linear1 = nn.Linear(dim, ff)
            holder.linear2 = nn.Linear(ff, dim)
            holder.norm2 = nn.LayerNorm(dim)
        m = c.module('xl', prepare(holder))
        x = c.f('x', randn(B, T, dim))
        mem = c.f('memory', randn(B, S, dim))
        keep = c.i('mem_keep', keep_mask(B, S, pads)) if pads else None

        def ffn(h):
            return m.linear2(acts[act](m.linear1(h)))
        if pre:
            h, mm = m.norm1(x), m.norm_memory(mem)
            a, w = mha(m.cross_attn, h, mm, mm, keep)
            y = x + a
            if ff:
                y = y + ffn(m.norm2(y))
        else:
            a, w = mha(m.cross_attn, x, mem, mem, keep)
            y = m.norm1(x + a)
            if ff:
                y = m.norm2(y + ffn(y))
        c.out(y, w)


# ----------------------------------------------------------------------------------------
# Vision: sine positional encoding, patch embedding, the ResNet-style backbone
# ----------------------------------------------------------------------------------------

def detr_sine_posenc(dim, H, W, temperature=10000.0, scale=2 * math.pi):
    """DETR's PositionEmbeddingSine(num_pos_feats=dim/2, normalize=True) on an unmasked
    (H, W) image, in float64 -> (dim, H, W)."""
    num_pos_feats = dim // 2
    not_mask = torch.ones(1, H, W, dtype=DT)
    y_embed = not_mask.cumsum(1)
    x_embed = not_mask.cumsum(2)
    eps = 1e-6
    y_embed = y_embed / (y_embed[:, -1:, :] + eps) * scale
    x_embed = x_embed / (x_embed[:, :, -1:] + eps) * scale
    dim_t = torch.arange(num_pos_feats, dtype=DT)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode='floor') / num_pos_feats)
    pos_x = x_embed[:, :, :, None] / dim_t
    pos_y = y_embed[:, :, :, None] / dim_t
    pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
    pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
    return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)[0]


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, with the downsample named as in groundwork."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class Backbone(nn.Module):
    """Stem conv3x3-BN-ReLU, then stages of basic blocks, named as torchvision's ResNet and
    nn/vision.c: conv1, bn1, layer1.0.conv1, ..., layer2.0.downsample.0."""

    def __init__(self, in_ch, stem_ch, stem_stride, channels, blocks, strides):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, stem_ch, 3, stem_stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_ch)
        self.stages = []
        cin = stem_ch
        for s, (ch, nb, st) in enumerate(zip(channels, blocks, strides)):
            stage = nn.Sequential()
            for k in range(nb):
                stage.add_module(str(k), BasicBlock(cin, ch, st if k == 0 else 1))
                cin = ch
            setattr(self, f'layer{s + 1}', stage)
            self.stages.append(stage)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for stage in self.stages:
            x = stage(x)
        return x


def vision(fx):
    for dim, H, W in [(16, 5, 7), (8, 3, 3), (32, 4, 6)]:
        c = fx.case('vision', 'sine_posenc', f'sine positional encoding dim {dim} on {H}x{W}',
                    dim=dim, H=H, W=W)
        c.out(detr_sine_posenc(dim, H, W))

    for shape, dim, patch in [((2, 3, 8, 12), 8, 4), ((1, 2, 6, 6), 5, 3)]:
        c = fx.case('vision', 'patch_embed', f'patch embedding {shape} patch {patch} dim {dim}',
                    name='patch', in_ch=shape[1], dim=dim, patch=patch)
        holder = nn.Module()
        holder.proj = nn.Conv2d(shape[1], dim, patch, stride=patch)
        m = c.module('patch', prepare(holder))
        x = c.f('x', randn(*shape))
        c.out(m.proj(x).flatten(2).transpose(1, 2))

    cfg = dict(in_ch=3, stem_ch=4, stem_stride=1, channels=[4, 8], blocks=[1, 2], strides=[1, 2])
    for training in (True, False):
        c = fx.case('vision', 'backbone', f'ResNet-style backbone {cfg["channels"]} blocks '
                    f'{cfg["blocks"]} strides {cfg["strides"]} on (2, 3, 8, 8), '
                    f'{"training" if training else "evaluation"}', name='backbone',
                    training=training, **cfg)
        bb = Backbone(**cfg)
        randomize_running_stats(bb)
        m = c.module('backbone', prepare(bb).train(training))
        x = c.f('x', randn(2, 3, 8, 8))
        c.out(m(x))


# ----------------------------------------------------------------------------------------
# Optimal transport, written as VoLTA's code writes it (batch first: cost (B, n, m))
# ----------------------------------------------------------------------------------------

def cos_batch_torch(x, y, beta=0.1):
    """VoLTA's cos_batch_torch with its threshold ratio as an argument (None: no threshold).
    x (bs, D, p), y (bs, D, q) -> (bs, q, p), as in the original (it transposes at the end)."""
    bs, D = x.size(0), x.size(1)
    x = x.contiguous().view(bs, D, -1)
    x = x.div(torch.norm(x, p=2, dim=1, keepdim=True) + 1e-12)
    y = y.div(torch.norm(y, p=2, dim=1, keepdim=True) + 1e-12)
    cos_dis = torch.bmm(torch.transpose(x, 1, 2), y)
    cos_dis = 1 - cos_dis
    if beta is None:
        return cos_dis.transpose(2, 1)
    min_score = cos_dis.min()
    max_score = cos_dis.max()
    threshold = min_score + beta * (max_score - min_score)
    res = cos_dis - threshold
    return torch.nn.functional.relu(res.transpose(2, 1))


def cost(x, y, ratio):
    """groundwork's gw_ot_cosine_cost(x (B, n, d), y (B, m, d)) -> (B, n, m) through VoLTA's
    function (it takes features as (B, d, tokens) and returns (B, tokens of y', tokens of x'),
    so y goes first)."""
    return cos_batch_torch(y.transpose(1, 2), x.transpose(1, 2), None if ratio < 0 else ratio)


def IPOT_torch_batch_uniform(C, bs, n, m, beta=0.5, iteration=50):
    """VoLTA's IPOT, verbatim but for .cuda()."""
    sigma = torch.ones(bs, int(m), 1, dtype=C.dtype) / float(m)
    T = torch.ones(bs, n, m, dtype=C.dtype)
    A = torch.exp(-C / beta)
    for t in range(iteration):
        Q = A * T
        for k in range(1):
            delta = 1 / (n * torch.bmm(Q, sigma))
            a = torch.bmm(torch.transpose(Q, 1, 2), delta)
            sigma = 1 / (float(m) * a)
        T = delta * Q * sigma.transpose(2, 1)
    return T


def batch_trace(input_matrix, n, bs):
    a = torch.eye(n, dtype=input_matrix.dtype).unsqueeze(0).repeat(bs, 1, 1)
    b = a * input_matrix
    return torch.sum(torch.sum(b, -1), -1)


def GW_torch_batch(Cs, Ct, bs, n, m, p, q, beta=0.5, iteration=5, OT_iteration=20):
    """VoLTA's GW_torch_batch with gamma detached throughout, as groundwork documents it (the
    plan is found without gradient; the original detaches the returned plan but builds the
    final Cgamma from the undetached one)."""
    one_m = torch.ones(bs, m, 1, dtype=Cs.dtype)
    one_n = torch.ones(bs, n, 1, dtype=Cs.dtype)
    Cst = torch.bmm(torch.bmm(Cs ** 2, p), torch.transpose(one_m, 1, 2)) + \
        torch.bmm(one_n, torch.bmm(torch.transpose(q, 1, 2), torch.transpose(Ct ** 2, 1, 2)))
    gamma = torch.bmm(p, q.transpose(2, 1))
    with torch.no_grad():
        for i in range(iteration):
            C_gamma = Cst - 2 * torch.bmm(torch.bmm(Cs, gamma), torch.transpose(Ct, 1, 2))
            gamma = IPOT_torch_batch_uniform(C_gamma, bs, n, m, beta=beta, iteration=OT_iteration)
    gamma = gamma.detach()
    Cgamma = Cst - 2 * torch.bmm(torch.bmm(Cs, gamma), torch.transpose(Ct, 1, 2))
    return gamma, Cgamma


def GW_distance_uniform(x, y, ratio, lamda, iteration, OT_iteration):
    """VoLTA's GW_distance with uniform marginals, for x (B, n, d), y (B, m, d)."""
    bs, n, m = x.size(0), x.size(1), y.size(1)
    Cs = cost(x, x, ratio)
    Ct = cost(y, y, ratio)
    p = torch.ones(bs, n, 1, dtype=x.dtype) / n
    q = torch.ones(bs, m, 1, dtype=x.dtype) / m
    T, Cst = GW_torch_batch(Cs, Ct, bs, n, m, p, q, beta=lamda, iteration=iteration,
                            OT_iteration=OT_iteration)
    temp = torch.bmm(torch.transpose(Cst, 1, 2), T)
    return batch_trace(temp, m, bs)


def sinkhorn_log(C, eps, iters):
    """Log-domain Sinkhorn with uniform marginals (nn/ot.h's formulas), in PyTorch."""
    B, n, m = C.shape
    log_a, log_b = -math.log(n), -math.log(m)
    f = torch.zeros(B, n, 1, dtype=C.dtype)
    g = torch.zeros(B, 1, m, dtype=C.dtype)
    for _ in range(iters):
        f = eps * (log_a - torch.logsumexp((g - C) / eps, dim=2, keepdim=True))
        g = eps * (log_b - torch.logsumexp((f - C) / eps, dim=1, keepdim=True))
    return torch.exp((f + g - C) / eps)


def ot(fx):
    for B, n, m, d, ratio in [(2, 4, 5, 6, 0.1), (2, 3, 4, 5, -1.0), (1, 6, 3, 4, 0.3)]:
        c = fx.case('ot', 'cosine_cost', f'cosine cost x ({B}, {n}, {d}) y ({B}, {m}, {d}) '
                    f'{"threshold ratio " + str(ratio) if ratio >= 0 else "no threshold"}',
                    ratio=ratio)
        x, y = c.f('x', randn(B, n, d)), c.f('y', randn(B, m, d))
        c.out(cost(x, y, ratio))

    for B, n, m, beta, iters in [(2, 4, 5, 0.5, 50), (1, 5, 3, 0.1, 20)]:
        c = fx.case('ot', 'ipot', f'IPOT C ({B}, {n}, {m}) beta {beta} {iters} iterations',
                    beta=beta, iters=iters)
        C = c.f('C', uniform(0.0, 1.0, B, n, m))
        c.out(IPOT_torch_batch_uniform(C, B, n, m, beta=beta, iteration=iters))

    for B, n, m, eps, iters in [(2, 4, 5, 0.1, 30), (1, 5, 3, 0.02, 60)]:
        c = fx.case('ot', 'sinkhorn_log', f'log-domain Sinkhorn C ({B}, {n}, {m}) eps {eps} '
                    f'{iters} iterations', eps=eps, iters=iters)
        C = c.f('C', uniform(0.0, 1.0, B, n, m))
        c.out(sinkhorn_log(C, eps, iters))

    c = fx.case('ot', 'wasserstein', 'Wasserstein (IPOT) C (2, 4, 5) beta 0.5 30 iterations',
                beta=0.5, iters=30)
    C = c.f('C', uniform(0.0, 1.0, 2, 4, 5))
    T = IPOT_torch_batch_uniform(C, 2, 4, 5, beta=0.5, iteration=30)
    c.out(batch_trace(torch.bmm(torch.transpose(C, 1, 2), T), 5, 2))

    # VoLTA's OT distance end to end: thresholded cosine cost, IPOT, trace(C^T T)
    c = fx.case('ot', 'wasserstein_cos', 'Wasserstein of the cosine cost x (2, 4, 6) y (2, 5, 6) '
                'ratio 0.1, beta 0.5, 30 iterations', ratio=0.1, beta=0.5, iters=30)
    x, y = c.f('x', randn(2, 4, 6)), c.f('y', randn(2, 5, 6))
    C = cost(x, y, 0.1)
    T = IPOT_torch_batch_uniform(C, 2, 4, 5, beta=0.5, iteration=30)
    c.out(batch_trace(torch.bmm(torch.transpose(C, 1, 2), T), 5, 2))

    for B, n, m, d, ratio, beta, outer, inner in [(2, 4, 5, 6, 0.1, 0.1, 5, 20),
                                                  (1, 3, 4, 5, 0.1, 0.5, 3, 10)]:
        c = fx.case('ot', 'gromov_wasserstein', f'Gromov-Wasserstein x ({B}, {n}, {d}) '
                    f'y ({B}, {m}, {d}) ratio {ratio} beta {beta} outer {outer} inner {inner}',
                    ratio=ratio, beta=beta, outer=outer, inner=inner)
        x, y = c.f('x', randn(B, n, d)), c.f('y', randn(B, m, d))
        c.out(GW_distance_uniform(x, y, ratio, beta, outer, inner))


# ----------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------

def box_cxcywh_to_xyxy(x):  # DETR's util/box_ops.py
    x_c, y_c, w, h = x.unbind(-1)
    b = [(x_c - 0.5 * w), (y_c - 0.5 * h), (x_c + 0.5 * w), (y_c + 0.5 * h)]
    return torch.stack(b, dim=-1)


def box_area(b):
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes1, boxes2):  # DETR's, pairwise (N, M)
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = area1[:, None] + area2 - inter
    return inter / union, union


def generalized_box_iou(boxes1, boxes2):  # DETR's, pairwise (N, M)
    iou, union = box_iou(boxes1, boxes2)
    lt = torch.min(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    area = wh[:, :, 0] * wh[:, :, 1]
    return iou - (area - union) / area


def boxes(n):
    """(n, 4) cxcywh boxes in the unit square; pairs i overlap, except a disjoint pair and a
    nested pair placed at the end."""
    cxcy = uniform(0.3, 0.7, n, 2)
    wh = uniform(0.1, 0.5, n, 2)
    return torch.cat([cxcy, wh], 1)


def losses(fx):
    pred, target = boxes(6), boxes(6)
    pred[4] = torch.tensor([0.2, 0.2, 0.1, 0.15])    # disjoint from its target
    target[4] = torch.tensor([0.7, 0.75, 0.2, 0.1])
    pred[5] = torch.tensor([0.5, 0.45, 0.1, 0.12])   # inside its target
    target[5] = torch.tensor([0.52, 0.5, 0.4, 0.3])
    for op in ('iou', 'giou', 'iou_loss', 'giou_loss'):
        c = fx.case('losses', op, f'{op} of 6 (cx, cy, w, h) boxes (one pair disjoint, one nested)')
        p = c.f('pred', pred)
        t = c.f('target', target)
        bp, bt = box_cxcywh_to_xyxy(p), box_cxcywh_to_xyxy(t)
        v = torch.diagonal(generalized_box_iou(bp, bt) if 'giou' in op else box_iou(bp, bt)[0])
        c.out((1 - v).mean() if op.endswith('loss') else v)

    # CLIP: logit_scale = log(1 / 0.07) at the start; CLIP keeps it <= log(100) by clamping
    # the parameter after each step, groundwork clamps inside the graph (no gradient above)
    for N, D, scale, note in [(6, 8, math.log(1 / 0.07), 'at its initial value log(1/0.07)'),
                              (5, 4, f32(math.log(100.0)), 'at the cap log(100)'),
                              (4, 6, 5.0, 'above the cap (clamped to log(100), no gradient)')]:
        c = fx.case('losses', 'infonce', f'InfoNCE (CLIP) N {N} D {D}, logit_scale {note}')
        img, txt = c.f('img', randn(N, D)), c.f('txt', randn(N, D))
        ls = c.f('logit_scale', torch.tensor(scale, dtype=torch.float32))
        img_n = img / img.norm(dim=-1, keepdim=True)
        txt_n = txt / txt.norm(dim=-1, keepdim=True)
        # the cap as a float32 holds it (CLIP clamps a float32 parameter; groundwork a float32)
        logits = ls.clamp(max=f32(math.log(100.0))).exp() * img_n @ txt_n.t()
        labels = torch.arange(N)
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
        c.out(loss, logits, seeded=[True, False])

    # Barlow Twins, as its reference code writes it
    for N, D, lambd in [(8, 5, 0.0051), (6, 4, 0.5)]:
        c = fx.case('losses', 'barlow_twins', f'Barlow Twins N {N} D {D} lambda {lambd}',
                    lambd=lambd)
        z1, z2 = c.f('z1', randn(N, D) * 2 + 1), c.f('z2', randn(N, D))
        bn = nn.BatchNorm1d(D, affine=False).double()
        cc = bn(z1).T @ bn(z2)
        cc = cc / N
        on_diag = torch.diagonal(cc).add(-1).pow(2).sum()
        n_ = cc.shape[0]
        off_diag = cc.flatten()[:-1].view(n_ - 1, n_ + 1)[:, 1:].flatten().pow(2).sum()
        c.out(on_diag + lambd * off_diag)

    c = fx.case('losses', 'heteroscedastic', 'heteroscedastic loss (4, 3) (as F.gaussian_nll_loss '
                'with var = exp(log_var))')
    mu, s = c.f('mean', randn(4, 3)), c.f('log_var', randn(4, 3))
    y = c.f('target', randn(4, 3))
    c.out(F.gaussian_nll_loss(mu, y, torch.exp(s)))

    for op, tau in [('distill_kl', 2.0), ('distill_kl', 4.0), ('distill_soft_ce', 2.0),
                    ('distill_soft_ce', 0.5)]:
        c = fx.case('losses', op, f'{op} (4, 6) tau {tau} (no gradient to the teacher)', tau=tau)
        s = c.f('student', randn(4, 6) * 2)
        t = c.f('teacher', randn(4, 6) * 2).detach()  # detached: its stored gradient is 0
        if op == 'distill_kl':
            v = tau * tau * F.kl_div(F.log_softmax(s / tau, 1), F.softmax(t / tau, 1),
                                     reduction='batchmean')
        else:
            v = tau * tau * (-(F.softmax(t / tau, 1) * F.log_softmax(s / tau, 1)).sum(1)).mean()
        c.out(v)


# ----------------------------------------------------------------------------------------
# Optimizers, clipping, schedules
# ----------------------------------------------------------------------------------------

class LARS(torch.optim.Optimizer):
    """The LARS optimizer of the Barlow Twins code (facebookresearch/barlowtwins, main.py)."""

    def __init__(self, params, lr, weight_decay=0, momentum=0.9, eta=0.001,
                 weight_decay_filter=False, lars_adaptation_filter=False):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                        eta=eta, weight_decay_filter=weight_decay_filter,
                        lars_adaptation_filter=lars_adaptation_filter)
        super().__init__(params, defaults)

    def exclude_bias_and_norm(self, p):
        return p.ndim == 1

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g['params']:
                dp = p.grad

                if dp is None:
                    continue

                if not g['weight_decay_filter'] or not self.exclude_bias_and_norm(p):
                    dp = dp.add(p, alpha=g['weight_decay'])

                if not g['lars_adaptation_filter'] or not self.exclude_bias_and_norm(p):
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0.,
                                    torch.where(update_norm > 0,
                                                (g['eta'] * param_norm / update_norm), one), one)
                    dp = dp.mul(q)

                param_state = self.state[p]
                if 'mu' not in param_state:
                    param_state['mu'] = torch.zeros_like(p)
                mu = param_state['mu']
                mu.mul_(g['momentum']).add_(dp)

                p.add_(mu, alpha=-g['lr'])


def small_model():
    """fc1 Linear(5, 4), norm LayerNorm(4), fc2 Linear(4, 3): two weight matrices (decay) and
    four vectors (biases and norm: no decay, no LARS adaptation)."""
    m = nn.Module()
    m.fc1 = nn.Linear(5, 4)
    m.norm = nn.LayerNorm(4)
    m.fc2 = nn.Linear(4, 3)
    return prepare(m, jitter=0.2)


def warmup_cosine(step, warmup, total, min_factor):
    if step < warmup:
        return (step + 1) / warmup
    span = total - warmup
    progress = min((step - warmup) / span, 1.0) if span > 0 else 1.0
    return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


STEPS = 10

# Why each step's gradients point away from zero. The optimizer cases compare every parameter
# after every step with PyTorch's float64 trajectory to 1e-6 relative. No float32
# implementation can meet that on an element that passes near zero: when p_t = p_{t-1} - u
# cancels down to |p_t| << |p_{t-1}|, p_t inherits the absolute rounding error of the larger
# earlier iterates (~6e-8 of them per step), which is far more than 1e-6 of |p_t|. Measured on
# this model with zero-mean random gradients: PyTorch's own float32 SGD differs from its
# float64 run by up to 1.3e-5 relative on such elements (and groundwork's SGD, which agrees
# with PyTorch's float32 SGD bit for bit there, by the same), and the worst of every optimizer
# was 1.4e-5 relative but at most 3e-7 of the largest magnitude the element had held. With
# gradients of random size whose sign points away from zero, every element moves away from
# zero (weight decay only shrinks it by a factor near 1), the comparison is well conditioned,
# and the script checks that PyTorch's float32 run stays within 1e-6 of float64 on it.


def run_optimizer(kind, lr, wd, extra, initial, grads, factors, dtype):
    """PyTorch's optimizer on parameters of `dtype` starting from `initial` (float32 values),
    with the gradient of each step set from `grads`; returns each parameter's trajectory
    (STEPS, ...) in `dtype`."""
    params = {name: v.to(dtype).requires_grad_() for name, v in initial.items()}
    decay = [p for p in params.values() if p.ndim > 1]
    no_decay = [p for p in params.values() if p.ndim <= 1]
    lr32, wd32 = f32(lr), f32(wd)
    if kind == 'sgd':
        opt = torch.optim.SGD([{'params': decay, 'weight_decay': wd32},
                               {'params': no_decay, 'weight_decay': 0.0}], lr=lr32,
                              momentum=f32(extra.get('momentum', 0.0)),
                              dampening=f32(extra.get('dampening', 0.0)),
                              nesterov=extra.get('nesterov', False))
    elif kind in ('adam', 'adamw'):
        cls = torch.optim.Adam if kind == 'adam' else torch.optim.AdamW
        opt = cls([{'params': decay, 'weight_decay': wd32},
                   {'params': no_decay, 'weight_decay': 0.0}], lr=lr32,
                  betas=(f32(extra.get('beta1', 0.9)), f32(extra.get('beta2', 0.999))),
                  eps=f32(extra.get('eps', 1e-8)))
    else:
        # Barlow Twins' set-up: weights and biases in two groups, the filters on
        opt = LARS([{'params': decay}, {'params': no_decay}], lr=lr32, weight_decay=wd32,
                   momentum=f32(0.9), eta=f32(0.001), weight_decay_filter=True,
                   lars_adaptation_filter=True)
    base_lr = [g['lr'] for g in opt.param_groups]
    traj = {name: [] for name in params}
    for s in range(STEPS):
        for name, p in params.items():
            p.grad = grads[name][s].to(dtype)
        for g, lr0 in zip(opt.param_groups, base_lr):
            g['lr'] = f32(lr0 * factors[s])  # groundwork: a float32 product
        opt.step()
        for name, p in params.items():
            traj[name].append(p.detach().clone())
    return {name: torch.stack(t) for name, t in traj.items()}


def optim(fx):
    # (kind, lr, weight decay, extra settings, lr factors: None = constant 1)
    cases = [
        ('sgd', 0.1, 0.0, {}, None),
        ('sgd', 0.05, 1e-2, {'momentum': 0.9}, None),
        ('sgd', 0.05, 5e-4, {'momentum': 0.9, 'dampening': 0.1}, None),
        ('sgd', 0.05, 1e-2, {'momentum': 0.9, 'nesterov': True}, None),
        ('adam', 1e-2, 0.0, {}, None),
        ('adam', 0.1, 0.0, {}, None),  # steps as large as the parameters: sharp on the update
        ('adam', 1e-2, 1e-2, {'beta1': 0.8, 'beta2': 0.99, 'eps': 1e-6}, None),
        ('adamw', 1e-2, 0.05, {}, None),
        ('adamw', 2e-2, 0.1, {'beta1': 0.9, 'beta2': 0.98}, 'warmup_cosine'),
        ('lars', 0.2, 1.5e-6, {}, None),
        ('lars', 0.5, 1e-2, {}, 'warmup_cosine'),
    ]
    for kind, lr, wd, extra, sched in cases:
        settings = ' '.join(f'{k} {v}' for k, v in extra.items())
        c = fx.case('optim', kind, f'{kind} lr {lr} weight_decay {wd} {settings}'
                    f'{" lr x warmup_cosine" if sched else ""}, 10 steps, two groups',
                    lr=lr, weight_decay=wd, **{k: float(v) if not isinstance(v, bool) else v
                                               for k, v in extra.items()})
        model = small_model()
        named = list(model.named_parameters())
        for name, p in named:
            c.store('params/' + name, p.detach().to(torch.float32).numpy())
        grads = {}
        for name, p in named:
            # random magnitudes, each pointing away from zero (see the note above optim())
            scale = 0.5 if p.ndim == 2 else 0.2
            g = -torch.sign(p.detach().to(torch.float32)) * randn(STEPS, *p.shape).abs() * scale
            grads[name] = g
            c.store('grad_steps/' + name, g.numpy())
        factors = [1.0] * STEPS
        if sched:
            factors = [f32(warmup_cosine(s, 3, STEPS, 0.1)) for s in range(STEPS)]
        c.store('lr_factor', np.array(factors, dtype=np.float32))

        initial = {name: p.detach().to(torch.float32) for name, p in named}
        traj = run_optimizer(kind, lr, wd, extra, initial, grads, factors, DT)
        for name, t in traj.items():
            c.store('traj/' + name, t.numpy())
        # The fixture is fair to float32: PyTorch's own float32 run is within the bar.
        traj32 = run_optimizer(kind, lr, wd, extra, initial, grads, factors, torch.float32)
        for name, t in traj.items():
            rel = ((traj32[name].to(DT) - t).abs() / t.abs()).max().item()
            assert rel <= 1e-6, f'{kind}: PyTorch float32 is {rel:.2e} from float64 on {name}'

    # clip_grad_norm_: the gradients scaled to max_norm when their global norm is above it
    for max_norm in (1.0, 100.0):
        c = fx.case('clip', 'clip_grad_norm', f'clip_grad_norm max_norm {max_norm} '
                    f'({"clips" if max_norm < 10 else "leaves the gradients alone"})',
                    max_norm=max_norm)
        model = small_model()
        named = list(model.named_parameters())
        for name, p in named:
            c.store('params/' + name, p.detach().to(torch.float32).numpy())
            g = randn(*p.shape)
            c.store('grad_in/' + name, g.numpy())
            p.grad = g.to(DT)
        total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        c.store('norm', np.float64(total.item()))
        for name, p in named:
            c.store('grad_out/' + name, p.grad.numpy())


def schedule(fx):
    for kind, args, n in [
        ('constant', {}, 8),
        ('step', {'step_size': 3, 'gamma': 0.5}, 12),
        ('step', {'step_size': 4, 'gamma': 0.1}, 13),
        ('warmup_cosine', {'warmup_steps': 5, 'total_steps': 20, 'min_factor': 0.0}, 25),
        ('warmup_cosine', {'warmup_steps': 3, 'total_steps': 30, 'min_factor': 0.1}, 32),
        ('warmup_cosine', {'warmup_steps': 0, 'total_steps': 10, 'min_factor': 0.05}, 12),
    ]:
        settings = ' '.join(f'{k} {v}' for k, v in args.items())
        c = fx.case('schedule', kind, f'{kind} {settings} over {n} steps', steps=n, **args)
        if kind == 'constant':
            factors = [1.0] * n
        elif kind == 'step':
            # torch.optim.lr_scheduler.StepLR, read off an optimizer with lr 1
            opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            sch = torch.optim.lr_scheduler.StepLR(opt, args['step_size'], args['gamma'])
            factors = []
            for _ in range(n):
                factors.append(opt.param_groups[0]['lr'])
                opt.step()
                sch.step()
            formula = [args['gamma'] ** (s // args['step_size']) for s in range(n)]
            assert np.allclose(factors, formula, rtol=1e-12), (factors, formula)
            factors = formula
        else:
            factors = [warmup_cosine(s, args['warmup_steps'], args['total_steps'],
                                     args['min_factor']) for s in range(n)]
        c.store('factor', np.array(factors, dtype=np.float64))


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: /usr/bin/python3 tests/golden/make_nn_fixtures.py OUTPUT_DIR')
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    fx = Fixtures(os.path.join(out_dir, 'nn.h5'))
    for family in (layers, norm, rnn, attention, vision, ot, losses, optim, schedule):
        family(fx)
    fx.close()
    total = sum(fx.counts.values())
    size = os.path.getsize(fx.path)
    print(f'{fx.path}: {total} cases in {len(fx.counts)} families, {size / 1024:.0f} KiB')
    for family, n in fx.counts.items():
        print(f'  {family:10s} {n:3d}')


if __name__ == '__main__':
    main()
