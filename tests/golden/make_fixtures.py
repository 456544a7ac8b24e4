#!/usr/bin/python3
"""Golden fixtures: PyTorch's answers for every autograd op of groundwork.

Regenerate from the repository root with Debian's python3 (it has python3-torch and
python3-h5py; no other interpreter is needed or wanted):

    /usr/bin/python3 tests/golden/make_fixtures.py tests/golden/fixtures
    (the Makefile's `make fixtures` runs exactly this)

The output directory is argv[1]. The script is deterministic: the same torch version gives
the same file, and tests/golden/test_golden.c reads it.

What is in the file (<dir>/golden.h5)
-------------------------------------
One group per op family ("arith", "unary", ...). Its cases are groups named 000, 001, ...;
the family's attribute `count` says how many there are, and the C test checks that it ran
exactly that many. The root attribute `families` lists the families (comma-separated), so
the C test also notices a family it does not know.

Each case group holds
  attributes   op (which gw_ function), desc (for messages), and the op's arguments:
               ints and int lists as int64, floats as float64, strings as ASCII
  <name>       each input under the name the C test looks for (x, a, b, w, bias, idx, ...),
               float32 or int32. An input with a `view` attribute is the *base* of a view:
               the C test applies the view ("transpose -1 -2", "slice 1 1 8 2",
               "permute 2 0 1", "expand 2 3 4", chained with ';') with the autograd
               view ops before the op, so the op sees a non-contiguous tensor and the
               gradient flows to the base. Arrays over 1024 elements are deflated.
  out          the forward output (out0, out1, ... when the op has several)
  seed         the upstream gradient given to backward (seed0, seed1, ... likewise)
  grad_<name>  the gradient of every float input that takes one (of the base, for views)

How the reference is computed
-----------------------------
Inputs are drawn in float32, the type the C library computes in. The reference converts
them to float64 and runs PyTorch in float64, so the stored outputs and gradients are the
true values for those float32 inputs, rounded once to float32 at the end; the C test then
measures only the C library's own error. (Nearest-neighbour resizing picks its source index
in float32 arithmetic even on float64 input, in PyTorch as in groundwork; the script checks
that a float32 run picks the same elements.)

Inputs stay away from kinks (relu at 0, |x| at 0, clamp bounds, ties) unless a case is
about the kink: then the value sits exactly on it and the case checks the convention
(PyTorch's) that the C library documents.
"""
import os
import sys
import warnings

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(20240521)  # every random draw below comes from this one seed
DT = torch.float64  # the reference precision


# ----------------------------------------------------------------------------------------
# Random inputs (float32, as the C library sees them)
# ----------------------------------------------------------------------------------------

def randn(*shape):
    return torch.randn(shape, dtype=torch.float32)  # shape () gives a 0-dim tensor


def uniform(lo, hi, *shape):
    return torch.rand(shape, dtype=torch.float32) * (hi - lo) + lo


def randint(n, *shape):
    return torch.randint(0, n, shape, dtype=torch.int64)


def away_from_zero(*shape, margin=0.25):
    """Normal values pushed at least `margin` away from 0 (for divisors and kinks)."""
    x = randn(*shape)
    return torch.where(x >= 0, x + margin, x - margin)


def coarse(*shape, levels=2):
    """Multiples of 1/4 in [-levels/4, levels/4]: exact in float32 and compressible, for the
    few large cases (they reach the kernels' parallel paths, which start at 32768 elements)."""
    return torch.randint(-levels, levels + 1, shape).to(torch.float32) / 4


def distinct(*shape):
    """Values with no ties anywhere (a shuffled, spread-out range), for max-like ops."""
    n = int(np.prod(shape))
    return (torch.randperm(n).to(torch.float32) * 0.37 - n * 0.15).reshape(shape)


# ----------------------------------------------------------------------------------------
# Views: the same recipe is applied here (in torch) and in C (with gw_transpose etc.)
# ----------------------------------------------------------------------------------------

def apply_view(t, recipe):
    for step in recipe.split(';'):
        kind, *args = step.split()
        args = [int(a) for a in args]
        if kind == 'transpose':
            t = t.transpose(args[0], args[1])
        elif kind == 'permute':
            t = t.permute(*args)
        elif kind == 'expand':
            t = t.expand(*args)
        elif kind == 'slice':
            dim, start, end, stride = args
            index = [slice(None)] * t.dim()
            index[dim] = slice(start, end, stride)
            t = t[tuple(index)]
        else:
            raise ValueError(f'unknown view {kind}')
    return t


# ----------------------------------------------------------------------------------------
# Writing cases
# ----------------------------------------------------------------------------------------

def set_attr(obj, key, value):
    """Attributes in the few types the C test reads: int64, float64, ASCII strings."""
    if isinstance(value, str):
        obj.attrs.create(key, np.bytes_(value))  # fixed-length ASCII
    elif isinstance(value, bool):
        obj.attrs.create(key, np.int64(value))
    elif isinstance(value, int):
        obj.attrs.create(key, np.int64(value))
    elif isinstance(value, float):
        obj.attrs.create(key, np.float64(value))
    elif isinstance(value, (list, tuple)):
        assert len(value) > 0, f'{key}: empty lists are not stored (leave the attribute out)'
        obj.attrs.create(key, np.array(value, dtype=np.int64))
    else:
        raise TypeError(f'{key}: {type(value)}')


class Case:
    """One call of one op: its inputs, arguments, output, seed and gradients."""

    def __init__(self, group, op, desc, args):
        self.g = group
        self.leaves = {}  # name -> float64 leaf tensor that wants a gradient
        set_attr(group, 'op', op)
        set_attr(group, 'desc', desc)
        for key, value in args.items():
            set_attr(group, key, value)

    def _store(self, name, array):
        array = np.array(array, order='C')
        if array.size > 1024:
            # Large arrays are chunked and deflated (HDF5 undoes it on reading, in C as here).
            return self.g.create_dataset(name, data=array, track_times=False,
                                         compression='gzip', shuffle=True)
        # Small arrays live inside their object header (compact layout): most arrays here
        # are a few dozen numbers, and a separate block for each would double the file.
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        return self.g.create_dataset(name, data=array, track_times=False, dcpl=dcpl)

    def f(self, name, values, grad=True, view=None):
        """A float input. `values` is the float32 base; returns what the op sees (float64)."""
        base = values.to(torch.float32).contiguous()
        ds = self._store(name, base.numpy())
        t = base.to(DT).requires_grad_(grad)
        if grad:
            self.leaves[name] = t
        if view:
            set_attr(ds, 'view', view)
            t = apply_view(t, view)
        return t

    def i(self, name, values):
        """An int32 input (indices, labels, masks); returns it as int64 for torch."""
        self._store(name, values.to(torch.int32).numpy())
        return values.to(torch.int64)

    def out(self, *ys, seed_masks=None):
        """Stores the output(s), draws a seed for each, runs backward, stores the gradients.

        seed_masks (one per output, or None) zeroes the seed where the mask is 0: used where
        an output is -inf by construction, where no loss can put a finite gradient."""
        multi = len(ys) > 1
        seeds = []
        for k, y in enumerate(ys):
            suffix = str(k) if multi else ''
            self._store('out' + suffix, y.detach().to(torch.float32).numpy())
            if y.requires_grad:
                # large outputs get coarse seeds, which compress (see coarse())
                seed = randn(*y.shape) if y.numel() <= 1024 else coarse(*y.shape)
                if seed_masks is not None and seed_masks[k] is not None:
                    seed = seed * seed_masks[k].to(torch.float32)
                self._store('seed' + suffix, seed.numpy())
                seeds.append((y, seed.to(DT)))
        if seeds:
            torch.autograd.backward([y for y, _ in seeds], [s for _, s in seeds])
        for name, leaf in self.leaves.items():
            grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
            assert torch.isfinite(grad).all(), f'{name}: non-finite reference gradient'
            self._store('grad_' + name, grad.to(torch.float32).numpy())

    def out_int(self, name, y):
        """An integer output (argmax indices), compared exactly."""
        self._store(name, y.to(torch.int32).numpy())


class Fixtures:
    def __init__(self, path):
        self.path = path
        # The newest format (compact headers), and no timestamps anywhere (see group()).
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
        fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
        fcpl.set_obj_track_times(False)  # for the root group
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
        return Case(self.group(fam, f'{k:03d}'), op, desc, args)

    def close(self):
        for family, n in self.counts.items():
            self.file[family].attrs.create('count', np.int64(n))
        set_attr(self.file, 'families', ','.join(self.counts))
        set_attr(self.file, 'torch_version', torch.__version__)
        self.file.close()
        os.replace(self.path + '.tmp', self.path)  # a crash never leaves a torn file


# ----------------------------------------------------------------------------------------
# The cases, one function per family (the C test has one Test per family)
# ----------------------------------------------------------------------------------------

def arith(fx):
    binary = {'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div,
              'maximum': torch.maximum, 'minimum': torch.minimum}
    # (op, a's base shape, b's base shape, view of a, view of b)
    shapes = [
        ('add', (3, 4), (3, 4), None, None),
        ('add', (2, 3, 4), (4,), None, None),
        ('add', (3, 1), (1, 4), None, None),  # both sides broadcast: both gradients sum
        ('add', (4, 3), (3, 4), 'transpose 0 1', None),
        ('sub', (2, 1, 4), (3, 1), None, None),
        ('sub', (3, 4), (3, 8), None, 'slice 1 1 8 2'),
        ('mul', (2, 3, 4), (3, 1), None, None),
        ('mul', (3, 8), (4,), 'slice 1 1 8 2', None),
        ('mul', (5, 3), (5, 3), 'transpose 0 1', 'transpose 0 1'),
        ('div', (3, 4), (4,), None, None),
        ('div', (2, 1, 3), (2, 4, 1), None, None),
        ('div', (4, 3), (1,), 'transpose 0 1', None),
        ('maximum', (3, 4), (4,), None, None),
        ('minimum', (2, 3, 4), (3, 1), None, None),
    ]
    for op, sa, sb, va, vb in shapes:
        desc = f'{op} {sa}{" " + va if va else ""} with {sb}{" " + vb if vb else ""}'
        c = fx.case('arith', op, desc)
        a = c.f('a', randn(*sa), view=va)
        b = c.f('b', away_from_zero(*sb) if op == 'div' else randn(*sb), view=vb)
        c.out(binary[op](a, b))

    # Ties: PyTorch sends half of the gradient to each side, and the C library says so too.
    for op in ('maximum', 'minimum'):
        c = fx.case('arith', op, f'{op} with ties (gradient shared half and half)')
        av, bv = randn(3, 4), randn(4)
        av[0, :2] = bv[:2]
        av[2, 3] = bv[3]
        a, b = c.f('a', av), c.f('b', bv)
        c.out(binary[op](a, b))

    # Only one side takes a gradient (the other is a constant)
    for op, ga in [('div', False), ('div', True), ('maximum', True), ('sub', False)]:
        c = fx.case('arith', op, f'{op} (3, 4) with (4,), gradient for {"a" if ga else "b"} only')
        a = c.f('a', randn(3, 4), grad=ga)
        b = c.f('b', away_from_zero(4), grad=not ga)
        c.out(binary[op](a, b))

    # An expanded (stride-0) view as an operand
    c = fx.case('arith', 'mul', 'mul (1, 4) expand 3 4 with (3, 4)')
    a, b = c.f('a', randn(1, 4), view='expand 3 4'), c.f('b', randn(3, 4))
    c.out(a * b)

    # Large enough for the parallel path of the broadcast kernel
    c = fx.case('arith', 'mul', 'mul (40, 1, 32) with (1, 32, 32): 40960 elements')
    a, b = c.f('a', coarse(40, 1, 32)), c.f('b', coarse(1, 32, 32))
    c.out(a * b)

    # Fan-in: the same tensor on both sides, its gradient accumulates from both.
    c = fx.case('arith', 'mul_self', 'x * x (one tensor used twice)')
    x = c.f('x', randn(3, 4))
    c.out(x * x)

    # where: cond (int32, nonzero = take a) broadcast with a and b
    for sc, sa, sb in [((3, 1), (3, 4), (4,)), ((2, 3, 4), (2, 3, 4), (1, 4)),
                       ((4,), (2, 1, 4), (3, 1))]:
        c = fx.case('arith', 'where', f'where cond {sc}, a {sa}, b {sb}')
        cond = c.i('cond', randint(2, *sc))
        a, b = c.f('a', randn(*sa)), c.f('b', randn(*sb))
        c.out(torch.where(cond != 0, a, b))
    c = fx.case('arith', 'where', 'where cond (3, 4), a (4, 3) transpose 0 1, b a constant')
    cond = c.i('cond', randint(2, 3, 4))
    a, b = c.f('a', randn(4, 3), view='transpose 0 1'), c.f('b', randn(3, 4), grad=False)
    c.out(torch.where(cond != 0, a, b))

    # masked_fill: elements where mask == 0 become value (mask broadcast to a)
    for sm, value in [((3, 4), -1.5), ((1, 4), 0.0), ((2, 1, 4), 2.25)]:
        sa = (3, 4) if len(sm) == 2 else (2, 3, 4)
        c = fx.case('arith', 'masked_fill', f'masked_fill a {sa} mask {sm} value {value}',
                    value=value)
        a = c.f('a', randn(*sa))
        mask = c.i('mask', randint(2, *sm))
        c.out(a.masked_fill(mask == 0, value))


def unary(fx):
    # (op, input values, torch function, args, view)
    x = randn(3, 5)
    pos = uniform(0.2, 4.0, 3, 5)
    with_zeros = away_from_zero(3, 5)
    with_zeros[0, 1] = with_zeros[2, 3] = 0.0  # exactly on the kink: PyTorch's gradient is 0
    big = torch.tensor([[-25.0, -3.0, 0.5, 19.5, 20.0, 20.5, 25.0, 40.0]])  # softplus threshold
    bounded = randn(3, 5)
    bounded[0, 0], bounded[1, 1], bounded[2, 2] = -0.5, 0.5, 0.5  # on the clamp bounds
    cases = [
        ('neg', x, lambda t: -t, {}, None),
        ('add_scalar', x, lambda t: t + 0.75, {'c': 0.75}, None),
        ('mul_scalar', x, lambda t: t * -1.5, {'c': -1.5}, None),
        ('exp', uniform(-3, 3, 3, 5), torch.exp, {}, None),
        ('exp', uniform(-3, 3, 3, 10), torch.exp, {}, 'slice 1 0 10 2'),
        ('log', pos, torch.log, {}, None),
        ('sqrt', pos, torch.sqrt, {}, None),
        ('pow', randn(3, 5), lambda t: t.pow(2.0), {'p': 2.0}, None),
        ('pow', randn(3, 5), lambda t: t.pow(3.0), {'p': 3.0}, None),
        ('pow', pos, lambda t: t.pow(0.5), {'p': 0.5}, None),
        ('pow', pos, lambda t: t.pow(-1.5), {'p': -1.5}, None),
        ('pow', randn(3, 5), lambda t: t.pow(0.0), {'p': 0.0}, None),
        ('abs', with_zeros, torch.abs, {}, None),
        ('relu', with_zeros, torch.relu, {}, None),
        ('gelu', randn(3, 5) * 2, F.gelu, {}, None),
        ('gelu', randn(5, 3) * 2, F.gelu, {}, 'transpose 0 1'),
        ('gelu_tanh', randn(3, 5) * 2, lambda t: F.gelu(t, approximate='tanh'), {}, None),
        ('silu', randn(3, 5) * 2, F.silu, {}, None),
        ('sigmoid', randn(3, 5) * 2, torch.sigmoid, {}, None),
        ('tanh', randn(3, 5), torch.tanh, {}, None),
        ('softplus', randn(3, 5) * 2, F.softplus, {}, None),
        ('softplus', big, F.softplus, {}, None),
        ('clamp', bounded, lambda t: t.clamp(-0.5, 0.5), {'lo': -0.5, 'hi': 0.5}, None),
        ('clamp', randn(2, 3, 4), lambda t: t.clamp(-1.0, 2.0), {'lo': -1.0, 'hi': 2.0}, None),
    ]
    for op, values, fn, args, view in cases:
        desc = f'{op} {tuple(values.shape)}' + (f' {view}' if view else '')
        c = fx.case('unary', op, desc, **args)
        t = c.f('x', values, view=view)
        c.out(fn(t))


def reduce(fx):
    # sum / mean / var over dims (absent `dims` means all dims)
    for op, dims, keepdim, corr, view in [
        ('sum', [1], False, 0, None), ('sum', [0, 2], True, 0, None),
        ('sum', [-1], False, 0, None), ('sum', None, False, 0, None),
        ('sum', [2, 0], False, 0, None), ('sum', None, True, 0, None),
        ('sum', [0, 1], False, 0, 'permute 2 0 1'),
        ('mean', [1, 2], False, 0, None), ('mean', [-2], True, 0, None),
        ('mean', None, False, 0, None), ('mean', [0], True, 0, 'transpose 0 2'),
        ('var', [1], False, 1, None), ('var', [0, 2], True, 0, None),
        ('var', None, False, 1, None), ('var', [-1], True, 1, 'transpose 1 2'),
    ]:
        args = {'keepdim': keepdim}
        if dims is not None:
            args['dims'] = dims
        if op == 'var':
            args['correction'] = corr
        desc = f'{op} dims {dims if dims else "all"} keepdim {keepdim}'
        desc += f' correction {corr}' if op == 'var' else ''
        desc += f' of {view}' if view else ''
        c = fx.case('reduce', op, desc, **args)
        x = c.f('x', randn(2, 3, 4), view=view)
        d = tuple(dims) if dims is not None else tuple(range(x.dim()))
        if op == 'sum':
            y = x.sum(d, keepdim=keepdim)
        elif op == 'mean':
            y = x.mean(d, keepdim=keepdim)
        else:
            y = x.var(d, unbiased=bool(corr), keepdim=keepdim)
        c.out(y)

    # Large: the parallel paths of the reduction kernels (rows of `inner`, contiguous runs,
    # and the blocked full sum)
    for op, sx, dims in [('sum', (8, 64, 64), [1]), ('mean', (64, 520), [1]),
                         ('sum', (33000,), None)]:
        args = {'keepdim': False}
        if dims:
            args['dims'] = dims
        c = fx.case('reduce', op, f'{op} {sx} dims {dims if dims else "all"} (parallel path)',
                    **args)
        x = c.f('x', coarse(*sx))
        d = tuple(dims) if dims else tuple(range(x.dim()))
        c.out(x.sum(d) if op == 'sum' else x.mean(d))

    for op in ('sum_all', 'mean_all'):
        c = fx.case('reduce', op, f'{op} (2, 3, 4) -> 0-dim')
        x = c.f('x', randn(2, 3, 4))
        c.out(x.sum() if op == 'sum_all' else x.mean())

    # logsumexp, including large values where a naive exp overflows float32
    for dim, keepdim, scale, view in [(1, False, 1.0, None), (-1, True, 1.0, None),
                                      (0, False, 60.0, None), (-1, False, 1.0, 'transpose 0 2')]:
        c = fx.case('reduce', 'logsumexp', f'logsumexp dim {dim} keepdim {keepdim} scale {scale}' +
                    (f' of {view}' if view else ''), dim=dim, keepdim=keepdim)
        x = c.f('x', randn(2, 3, 4) * scale if not view else randn(4, 3, 2), view=view)
        c.out(torch.logsumexp(x, dim, keepdim=keepdim))

    # max over a dim: value, gradient to the argmax, and the argmax itself (no ties)
    for dim, keepdim, view in [(1, False, None), (-1, True, None), (0, False, None),
                               (1, False, 'transpose 0 2')]:
        c = fx.case('reduce', 'max', f'max dim {dim} keepdim {keepdim}' +
                    (f' of {view}' if view else ''), dim=dim, keepdim=keepdim)
        x = c.f('x', distinct(2, 3, 4) if not view else distinct(4, 3, 2), view=view)
        y, idx = x.max(dim, keepdim=keepdim)
        c.out_int('argmax', idx)
        c.out(y)

    # A tie: the C library sends the gradient to the first maximum. PyTorch does not promise
    # which index max() returns, so the script checks that it is the first one here.
    c = fx.case('reduce', 'max', 'max dim 1 with a tie (gradient to the first maximum)', dim=1,
                keepdim=False)
    xv = distinct(3, 5)
    xv[1, 3] = xv[1, 1] = xv[1].max() + 1.0
    x = c.f('x', xv)
    y, idx = x.max(1)
    assert idx[1] == 1, 'torch.max returned a later index for the tie'
    c.out_int('argmax', idx)
    c.out(y)

    # argmax alone (no gradient)
    for dim, keepdim in [(1, False), (-1, True)]:
        c = fx.case('reduce', 'argmax', f'argmax dim {dim} keepdim {keepdim}', dim=dim,
                    keepdim=keepdim)
        x = c.f('x', distinct(2, 3, 4), grad=False)
        c.out_int('out', x.argmax(dim, keepdim=keepdim))


def matmul(fx):
    # (a's base shape, b's base shape, view of a, view of b)
    cases = [
        ((3, 4), (4, 5), None, None),
        ((2, 3, 4), (2, 4, 5), None, None),
        ((2, 1, 3, 4), (3, 4, 5), None, None),  # broadcast batch dims
        ((2, 1, 3, 4), (1, 3, 4, 2), None, None),
        ((1, 3, 4), (2, 4, 5), None, None),
        ((2, 3, 4), (4, 5), None, None),  # one matrix for the whole batch (folded into rows)
        ((4,), (4,), None, None),  # vector . vector -> 0-dim
        ((4,), (4, 5), None, None),
        ((3, 4), (4,), None, None),
        ((2, 3, 4), (4,), None, None),
        ((4,), (2, 4, 5), None, None),
        ((4, 3), (4, 5), 'transpose 0 1', None),  # transposed views go to sgemm as flags
        ((3, 4), (5, 4), None, 'transpose 0 1'),
        ((2, 4, 3), (2, 5, 4), 'transpose -1 -2', 'transpose -1 -2'),
        ((2, 3, 4), (5, 4), None, 'transpose 0 1'),
        ((2, 4, 3), (4, 5), 'transpose 1 2', None),
        ((3, 8), (4, 5), 'slice 1 0 8 2', None),  # a stride-2 view: copied first
        ((3, 4), (4, 10), None, 'slice 1 1 10 2'),
        ((3, 2, 4), (4, 5), 'transpose 0 1', None),  # batch dim strided, rows not chained
        ((2, 1, 3, 4), (4, 5), None, None),  # folded, with a size-1 batch dim
        ((1, 3, 4), (2, 4, 5), 'expand 2 3 4', None),  # a stride-0 batch dim
    ]
    for sa, sb, va, vb in cases:
        desc = f'matmul {sa}{" " + va if va else ""} @ {sb}{" " + vb if vb else ""}'
        c = fx.case('matmul', 'matmul', desc)
        a, b = c.f('a', randn(*sa), view=va), c.f('b', randn(*sb), view=vb)
        c.out(torch.matmul(a, b))

    # Only one operand takes a gradient
    for sa, sb, ga in [((3, 4), (4, 5), False), ((2, 3, 4), (4, 5), True),
                       ((4,), (2, 4, 5), False), ((2, 3, 4), (4,), True)]:
        c = fx.case('matmul', 'matmul', f'matmul {sa} @ {sb}, gradient for {"a" if ga else "b"} '
                    'only')
        a, b = c.f('a', randn(*sa), grad=ga), c.f('b', randn(*sb), grad=not ga)
        c.out(torch.matmul(a, b))

    # Large: the gemm is cut into pieces of rows or columns run in parallel, and a batch of
    # many small products runs in parallel
    for sa, sb, va, vb in [((130, 16), (16, 20), None, None), ((20, 16), (16, 130), None, None),
                           ((16, 130), (20, 16), 'transpose 0 1', 'transpose 0 1'),
                           ((52, 8, 8), (52, 8, 10), None, None)]:
        desc = (f'matmul {sa}{" " + va if va else ""} @ {sb}{" " + vb if vb else ""} '
                '(parallel path)')
        c = fx.case('matmul', 'matmul', desc)
        a, b = c.f('a', coarse(*sa), view=va), c.f('b', coarse(*sb), view=vb)
        c.out(torch.matmul(a, b))

    # linear: y = x w^T + bias
    for sx, bias, view in [((3, 4), True, None), ((3, 4), False, None), ((2, 3, 4), True, None),
                           ((2, 3, 4), False, None), ((4, 3), True, 'transpose 0 1')]:
        desc = f'linear x {sx}{" " + view if view else ""} {"with" if bias else "without"} bias'
        c = fx.case('matmul', 'linear', desc)
        x = c.f('x', randn(*sx), view=view)
        w = c.f('w', randn(5, 4))
        b = c.f('bias', randn(5)) if bias else None
        c.out(F.linear(x, w, b))
    for gx in (False, True):
        c = fx.case('matmul', 'linear', f'linear x (2, 3, 4) with bias, gradient for '
                    f'{"x only" if gx else "w and bias only"}')
        x = c.f('x', randn(2, 3, 4), grad=gx)
        w, b = c.f('w', randn(5, 4), grad=not gx), c.f('bias', randn(5), grad=not gx)
        c.out(F.linear(x, w, b))
    c = fx.case('matmul', 'linear', 'linear x (2, 70, 16) w (20, 16) with bias (parallel path)')
    x, w, b = c.f('x', coarse(2, 70, 16)), c.f('w', coarse(20, 16)), c.f('bias', coarse(20))
    c.out(F.linear(x, w, b))


def shape(fx):
    def case(op, desc, base, fn, view=None, **args):
        # shape=None is the 0-dim shape (): no attribute, as lists are never empty
        c = fx.case('shape', op, desc, **{k: v for k, v in args.items() if v is not None})
        x = c.f('x', randn(*base), view=view)
        c.out(fn(x))

    case('reshape', 'reshape (2,3,4) -> (6,4)', (2, 3, 4), lambda t: t.reshape(6, 4), shape=[6, 4])
    case('reshape', 'reshape (2,3,4) -> (4,-1)', (2, 3, 4), lambda t: t.reshape(4, -1),
         shape=[4, -1])
    case('reshape', 'reshape of a transposed view (copies)', (3, 4), lambda t: t.reshape(12),
         view='transpose 0 1', shape=[12])
    case('reshape', 'reshape of a row slice (stays a view)', (6, 4), lambda t: t.reshape(2, 2, 4),
         view='slice 0 1 5 1', shape=[2, 2, 4])
    case('permute', 'permute (2,3,4) by (2,0,1)', (2, 3, 4), lambda t: t.permute(2, 0, 1),
         perm=[2, 0, 1])
    case('transpose', 'transpose dims 0 and 2', (2, 3, 4), lambda t: t.transpose(0, 2),
         dim0=0, dim1=2)
    case('transpose', 'transpose dims -1 and -2', (2, 3, 4), lambda t: t.transpose(-1, -2),
         dim0=-1, dim1=-2)
    case('slice', 'slice dim 1 [1:3]', (2, 4, 3), lambda t: t[:, 1:3], dim=1, start=1, end=3,
         step=1)
    case('slice', 'slice dim -1 [0:5:2]', (3, 6), lambda t: t[:, 0:5:2], dim=-1, start=0, end=5,
         step=2)
    case('slice', 'slice dim 0 [-3:-1]', (5, 2), lambda t: t[-3:-1], dim=0, start=-3, end=-1,
         step=1)
    case('slice', 'slice dim 1 [1:100:3] (end clipped)', (2, 8), lambda t: t[:, 1:100:3], dim=1,
         start=1, end=100, step=3)
    case('expand', 'expand (3,1) -> (2,3,4)', (3, 1), lambda t: t.expand(2, 3, 4),
         shape=[2, 3, 4])
    case('expand', 'expand (4,) -> (3,4)', (4,), lambda t: t.expand(3, 4), shape=[3, 4])
    case('unsqueeze', 'unsqueeze dim 1', (3, 4), lambda t: t.unsqueeze(1), dim=1)
    case('unsqueeze', 'unsqueeze dim -1', (3, 4), lambda t: t.unsqueeze(-1), dim=-1)
    case('squeeze', 'squeeze dim 1', (3, 1, 4), lambda t: t.squeeze(1), dim=1)
    case('squeeze', 'squeeze dim -2', (3, 1, 4), lambda t: t.squeeze(-2), dim=-2)
    case('flatten', 'flatten dims 1..2', (2, 3, 4, 2), lambda t: t.flatten(1, 2), start=1, end=2)
    case('flatten', 'flatten dims 0..-1', (2, 3, 4), lambda t: t.flatten(0, -1), start=0, end=-1)
    case('reshape', 'reshape (1, 1) -> () (0-dim)', (1, 1), lambda t: t.reshape(()), shape=None)
    case('expand', 'expand (3,1) -> (-1,4)', (3, 1), lambda t: t.expand(-1, 4), shape=[-1, 4])
    case('reshape', 'reshape of an expanded view (copies)', (1, 4), lambda t: t.reshape(12),
         view='expand 3 4', shape=[12])
    case('permute', 'permute of a stride-2 view', (2, 3, 8), lambda t: t.permute(2, 0, 1),
         view='slice 2 1 8 2', perm=[2, 0, 1])
    case('contig', 'contiguous copy of a transposed view', (4, 3), lambda t: t.contiguous(),
         view='transpose 0 1')


def join(fx):
    for dim, sizes, views in [(1, [1, 2, 3], [None, None, None]), (0, [2, 1], [None, None]),
                              (-1, [3, 2], ['transpose 0 1', None])]:
        c = fx.case('join', 'concat', f'concat sizes {sizes} along dim {dim}', dim=dim,
                    count=len(sizes))
        xs = []
        for k, (n, view) in enumerate(zip(sizes, views)):
            s = [2, 4]
            s[dim] = n
            if view:
                s = s[::-1]
            xs.append(c.f(f'x{k}', randn(*s), view=view))
        c.out(torch.cat(xs, dim))
    c = fx.case('join', 'concat', 'concat (2,3) and (2,2) along dim 1, the first a constant',
                dim=1, count=2)
    xs = [c.f('x0', randn(2, 3), grad=False), c.f('x1', randn(2, 2))]
    c.out(torch.cat(xs, 1))
    for dim, count in [(0, 3), (-1, 2), (1, 3)]:
        c = fx.case('join', 'stack', f'stack {count} of (2,3) along dim {dim}', dim=dim,
                    count=count)
        xs = [c.f(f'x{k}', randn(2, 3)) for k in range(count)]
        c.out(torch.stack(xs, dim))
    c = fx.case('join', 'stack', 'stack (3,2) transpose 0 1 and (2,3) along dim 1', dim=1,
                count=2)
    xs = [c.f('x0', randn(3, 2), view='transpose 0 1'), c.f('x1', randn(2, 3))]
    c.out(torch.stack(xs, 1))
    for dim, sizes, base in [(1, [1, 2, 3], (2, 6)), (0, [2, 2], (4, 3)), (-1, [3, 1], (2, 3, 4))]:
        c = fx.case('join', 'split', f'split {base} into {sizes} along dim {dim}', dim=dim,
                    sizes=sizes)
        x = c.f('x', randn(*base))
        c.out(*torch.split(x, sizes, dim))


def index(fx):
    for dim, base, idx, view in [(0, (4, 3), [2, 0, 2, 1], None), (1, (3, 5), [4, 4, 0], None),
                                 (-1, (2, 3, 4), [3, 1], None),
                                 (0, (3, 4), [1, 3, 1], 'transpose 0 1')]:
        c = fx.case('index', 'index_select', f'index_select dim {dim} of {base}' +
                    (f' {view}' if view else ''), dim=dim)
        x = c.f('x', randn(*base), view=view)
        i = c.i('idx', torch.tensor(idx))
        c.out(torch.index_select(x, dim, i))
    for dim, base, n, view in [(1, (3, 5), 7, None), (0, (4, 3), 6, None), (-1, (2, 3, 4), 5, None),
                               (1, (5, 3), 4, 'transpose 0 1')]:
        c = fx.case('index', 'gather', f'gather dim {dim} of {base}, {n} picks' +
                    (f' {view}' if view else ''), dim=dim)
        x = c.f('x', randn(*base), view=view)
        base = tuple(x.shape)
        ishape = list(base)
        ishape[dim] = n
        i = c.i('idx', randint(base[dim], *ishape))  # repeats: the backward must add them
        c.out(torch.gather(x, dim, i))
    for ids, pad in [(torch.tensor([[1, 4, 1], [0, 5, 2]]), -1),
                     (torch.tensor([[2, 1, 2], [3, 2, 0]]), 2), (torch.tensor([5, 0, 5, 3]), 0)]:
        c = fx.case('index', 'embedding', f'embedding ids {tuple(ids.shape)} padding_idx {pad}',
                    padding_idx=pad)
        table = c.f('table', randn(6, 4))
        i = c.i('ids', ids)
        c.out(F.embedding(i, table, padding_idx=pad if pad >= 0 else None))


def masked_softmax(x, keep, log):
    """Softmax over the last dim with a keep-mask (0 = leave out), the C library's way: a
    row with nothing kept gives zeros (softmax) or -inf (log_softmax) instead of NaN.

    Written with a shift that is a constant for autograd (softmax does not depend on it) and
    a guarded denominator, so that even a fully masked row has finite gradients (zero)."""
    keep = keep.expand_as(x) != 0
    m = torch.where(keep, x, torch.tensor(-np.inf, dtype=x.dtype)).amax(-1, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()
    e = torch.exp(x - m) * keep
    s = e.sum(-1, keepdim=True)
    s_safe = torch.where(s > 0, s, torch.ones_like(s))
    if not log:
        return e / s_safe
    lse = m + torch.log(s_safe)
    return torch.where(keep, x - lse, torch.tensor(-np.inf, dtype=x.dtype))


def softmax(fx):
    for log in (False, True):
        op = 'log_softmax' if log else 'softmax'
        fn = F.log_softmax if log else F.softmax
        for base, view, scale in [((3, 5), None, 1.0), ((2, 3, 5), None, 1.0),
                                  ((5, 3), 'transpose 0 1', 1.0), ((3, 6), None, 30.0)]:
            c = fx.case('softmax', op, f'{op} {base}' + (f' {view}' if view else '') +
                        (f' values x{scale}' if scale != 1 else ''))
            x = c.f('x', randn(*base) * scale, view=view)
            c.out(fn(x, -1))
        # masked: (x shape, mask shape, rows to mask fully)
        for sx, sm, full, view in [((4, 5), (4, 5), [2], None), ((2, 3, 5), (2, 1, 5), [], None),
                                   ((3, 6), (6,), [], None),
                                   ((2, 3, 4), (2, 3, 4), [(0, 1), (1, 2)], None),
                                   ((5, 4), (4, 5), [1], 'transpose 0 1')]:
            c = fx.case('softmax', op, f'{op} {sx}{" " + view if view else ""} with mask {sm}' +
                        (f', rows {full} fully masked' if full else ''))
            x = c.f('x', randn(*sx), view=view)
            keep = randint(2, *sm)
            keep[..., 0] = 1  # at least one kept entry per row ...
            for r in full:
                keep[r] = 0  # ... except in the rows meant to be fully masked
            keep = c.i('mask', keep)
            y = masked_softmax(x, keep, log)
            if not full:  # where PyTorch's own masked softmax is defined, it must agree
                ref = fn(x.masked_fill(keep.expand_as(x) == 0, -np.inf), -1)
                assert torch.allclose(y, ref), f'{op}: masked reference disagrees with torch'
            # log_softmax is -inf where masked: no loss puts a finite gradient there
            c.out(y, seed_masks=[keep.expand_as(x) != 0] if log else None)


def layernorm(fx):
    for base, affine, eps, view, scale in [
        ((3, 8), 'both', 1e-5, None, 1.0), ((2, 3, 8), 'none', 1e-5, None, 1.0),
        ((3, 6), 'gamma', 1e-5, None, 1.0), ((3, 6), 'beta', 1e-5, None, 1.0),
        ((8, 3), 'both', 1e-5, 'transpose 0 1', 1.0), ((4, 5), 'both', 1e-3, None, 0.05),
        ((130, 8), 'both', 1e-5, None, 1.0),  # more rows than one block of the gamma sum
    ]:
        c = fx.case('layernorm', 'layernorm', f'layernorm {base}{" " + view if view else ""} '
                    f'affine {affine} eps {eps}' + (f' values x{scale}' if scale != 1 else ''),
                    eps=eps)
        x = c.f('x', randn(*base) * scale + 0.3, view=view)
        d = x.shape[-1]
        gamma = c.f('gamma', 1 + 0.5 * randn(d)) if affine in ('both', 'gamma') else None
        beta = c.f('beta', randn(d)) if affine in ('both', 'beta') else None
        c.out(F.layer_norm(x, (d,), gamma, beta, eps))
    for gx in (False, True):
        c = fx.case('layernorm', 'layernorm', f'layernorm (3, 6) affine, gradient for '
                    f'{"x only" if gx else "gamma and beta only"}', eps=1e-5)
        x = c.f('x', randn(3, 6), grad=gx)
        gamma = c.f('gamma', 1 + 0.5 * randn(6), grad=not gx)
        beta = c.f('beta', randn(6), grad=not gx)
        c.out(F.layer_norm(x, (6,), gamma, beta, 1e-5))


def conv2d(fx):
    # (x base shape, w shape, bias, stride, padding, dilation, groups, view of x)
    for sx, sw, bias, stride, pad, dil, groups, view in [
        ((2, 3, 6, 6), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, None),
        ((1, 2, 7, 7), (3, 2, 3, 3), False, (2, 2), (0, 0), (1, 1), 1, None),
        ((1, 2, 7, 6), (2, 2, 3, 3), True, (1, 1), (2, 2), (2, 2), 1, None),
        ((2, 4, 5, 5), (6, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 2, None),
        ((2, 3, 6, 6), (3, 1, 3, 3), False, (2, 2), (1, 1), (1, 1), 3, None),  # depthwise
        ((1, 2, 5, 5), (4, 1, 3, 3), True, (1, 1), (1, 1), (1, 1), 2, None),  # depthwise x2
        ((2, 4, 5, 5), (3, 4, 1, 1), True, (1, 1), (0, 0), (1, 1), 1, None),  # pointwise
        ((2, 4, 5, 5), (3, 4, 1, 1), False, (2, 2), (0, 0), (1, 1), 1, None),
        ((1, 3, 6, 7), (2, 3, 2, 3), True, (2, 1), (1, 0), (1, 2), 1, None),
        ((5, 5, 2, 3), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, 'permute 2 3 0 1'),
        ((4, 3, 10, 10), (8, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, None),  # images parallel
        ((6, 2, 8, 8), (4, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, None),  # 2 image blocks
    ]:
        desc = (f'conv2d x {sx}{" " + view if view else ""} w {sw} stride {stride} pad {pad} '
                f'dilation {dil} groups {groups} {"with" if bias else "without"} bias')
        c = fx.case('conv2d', 'conv2d', desc, stride=stride, padding=pad, dilation=dil,
                    groups=groups)
        x = c.f('x', randn(*sx), view=view)
        w = c.f('w', randn(*sw) * 0.5)
        b = c.f('bias', randn(sw[0])) if bias else None
        c.out(F.conv2d(x, w, b, stride, pad, dil, groups))
    for gx in (False, True):
        c = fx.case('conv2d', 'conv2d', f'conv2d x (2, 2, 5, 5) w (3, 2, 3, 3) with bias, gradient '
                    f'for {"x only" if gx else "w and bias only"}', stride=(1, 1),
                    padding=(1, 1), dilation=(1, 1), groups=1)
        x = c.f('x', randn(2, 2, 5, 5), grad=gx)
        w, b = c.f('w', randn(3, 2, 3, 3) * 0.5, grad=not gx), c.f('bias', randn(3), grad=not gx)
        c.out(F.conv2d(x, w, b, 1, 1))


def laconv(fx):
    """Language-dependent convolution as the LaConvNet code computes it (SAN's aggregation,
    written with unfold): out[b, c, p] = sum_j kernels[b, c mod G, j, p] * x[b, c, p + offset_j]."""
    def reference(x, kernels, k):
        B, C, H, W = x.shape
        G = kernels.shape[1]
        cols = F.unfold(x, k, padding=k // 2).view(B, C // G, G, k * k, H, W)
        return (cols * kernels.unsqueeze(1)).sum(3).reshape(B, C, H, W)

    # (x shape, groups, kernel size, view of x)
    for sx, G, k, view in [
        ((2, 4, 5, 5), 2, 3, None), ((1, 6, 4, 7), 3, 5, None), ((2, 3, 6, 6), 1, 3, None),
        ((1, 4, 5, 5), 4, 3, None), ((2, 2, 3, 3), 2, 5, None), ((1, 4, 6, 6), 2, 1, None),
        ((3, 8, 8, 8), 4, 3, None),  # enough work for the parallel path
        ((5, 5, 4, 2), 1, 3, 'permute 2 3 0 1'),
    ]:
        c = fx.case('laconv', 'laconv', f'laconv x {sx}{" " + view if view else ""} groups {G} '
                    f'kernel {k}', k=k)
        x = c.f('x', randn(*sx), view=view)
        B, C, H, W = x.shape
        kern = c.f('kernels', randn(B, G, k * k, H, W) * 0.5)
        c.out(reference(x, kern, k))
    for gx in (False, True):
        c = fx.case('laconv', 'laconv', f'laconv x (2, 4, 5, 5) groups 2 kernel 3, gradient for '
                    f'{"x only" if gx else "the kernels only"}', k=3)
        x = c.f('x', randn(2, 4, 5, 5), grad=gx)
        kern = c.f('kernels', randn(2, 2, 9, 5, 5) * 0.5, grad=not gx)
        c.out(reference(x, kern, 3))


def pool(fx):
    for op, sx, k, s, p, view in [
        ('maxpool2d', (1, 2, 6, 6), 2, 2, 0, None), ('maxpool2d', (2, 2, 7, 7), 3, 2, 1, None),
        ('maxpool2d', (1, 1, 5, 6), 3, 1, 1, None), ('maxpool2d', (1, 2, 6, 4), 2, 0, 0, None),
        ('maxpool2d', (6, 6, 1, 2), 2, 2, 0, 'permute 2 3 0 1'),
        ('avgpool2d', (1, 2, 6, 6), 2, 2, 0, None), ('avgpool2d', (2, 2, 7, 7), 3, 2, 1, None),
        ('avgpool2d', (1, 2, 7, 8), 3, 3, 1, None), ('avgpool2d', (1, 1, 5, 5), 2, 1, 1, None),
        ('avgpool2d', (6, 6, 1, 2), 2, 2, 0, 'permute 2 3 0 1'),
        ('maxpool2d', (2, 8, 16, 16), 3, 1, 1, None),  # parallel paths
        ('avgpool2d', (2, 8, 16, 16), 3, 1, 1, None),
    ]:
        c = fx.case('pool', op, f'{op} x {sx}{" " + view if view else ""} k {k} s {s} p {p}',
                    k=k, s=s, p=p)
        n = int(np.prod(sx))
        if op == 'maxpool2d':
            values = distinct(*sx) / n
        else:
            values = randn(*sx) if n <= 1024 else coarse(*sx)
        x = c.f('x', values, view=view)
        if op == 'maxpool2d':
            y = F.max_pool2d(x, k, s if s else k, p)
        else:  # padding counts in the divisor (count_include_pad=True, PyTorch's default)
            y = F.avg_pool2d(x, k, s if s else k, p)
        c.out(y)
    for sx, size in [((1, 2, 7, 5), (3, 4)), ((2, 1, 6, 6), (4, 4)), ((1, 2, 5, 5), (5, 5)),
                     ((1, 2, 4, 6), (1, 1)), ((1, 1, 3, 7), (2, 3))]:
        c = fx.case('pool', 'adaptive_avgpool2d', f'adaptive_avgpool2d {sx} -> {size}',
                    size=size)
        x = c.f('x', randn(*sx))
        c.out(F.adaptive_avg_pool2d(x, size))


def resize(fx):
    for sx, size, view in [((1, 2, 3, 4), (6, 8), None), ((2, 1, 3, 4), (7, 5), None),
                           ((1, 2, 5, 6), (2, 3), None), ((4, 3, 1, 2), (5, 7), 'permute 2 3 0 1')]:
        c = fx.case('resize', 'upsample_nearest', f'upsample_nearest {sx} -> {size}' +
                    (f' {view}' if view else ''), size=size)
        x = c.f('x', randn(*sx), view=view)
        y = F.interpolate(x, size=size, mode='nearest')
        # PyTorch picks the source index in float32 arithmetic (floor(dst * (float)in/out))
        # even for float64 input; check that the float32 run picks the same elements.
        y32 = F.interpolate(x.detach().float(), size=size, mode='nearest')
        assert torch.equal(y.detach().float(), y32), 'nearest: float32 and float64 differ'
        c.out(y)
    for sx, size, view in [((1, 2, 3, 4), (6, 8), None), ((2, 1, 3, 4), (7, 5), None),
                           ((1, 2, 5, 6), (3, 4), None), ((4, 3, 1, 2), (5, 7), 'permute 2 3 0 1')]:
        c = fx.case('resize', 'upsample_bilinear', f'upsample_bilinear {sx} -> {size}' +
                    (f' {view}' if view else ''), size=size)
        x = c.f('x', randn(*sx), view=view)
        c.out(F.interpolate(x, size=size, mode='bilinear', align_corners=False))
    for sx, r in [((1, 8, 2, 3), 2), ((2, 9, 2, 2), 3)]:
        c = fx.case('resize', 'pixel_shuffle', f'pixel_shuffle {sx} r {r}', r=r)
        x = c.f('x', randn(*sx))
        c.out(F.pixel_shuffle(x, r))
    for sx, r in [((1, 2, 4, 6), 2), ((2, 1, 6, 3), 3)]:
        c = fx.case('resize', 'pixel_unshuffle', f'pixel_unshuffle {sx} r {r}', r=r)
        x = c.f('x', randn(*sx))
        c.out(F.pixel_unshuffle(x, r))
    # pad lists (before, after) pairs from the last dim backwards; negative amounts crop
    for sx, pads, value in [((2, 3, 4), [1, 2], 0.0), ((1, 2, 3, 4), [1, 0, 2, 1], 0.5),
                            ((2, 4, 5), [-1, 1, 0, -2], 0.0),
                            ((2, 3, 4), [1, 1, -1, 2, 1, 0], -1.0),
                            ((3, 6), [-2, -1], 0.0)]:
        c = fx.case('resize', 'pad', f'pad {sx} by {pads} value {value}', pads=pads, value=value)
        x = c.f('x', randn(*sx))
        c.out(F.pad(x, pads, value=value))
    c = fx.case('resize', 'pad', 'pad (4, 3) transpose 0 1 by [2, -1, 1, 1] value 0.25',
                pads=[2, -1, 1, 1], value=0.25)
    x = c.f('x', randn(4, 3), view='transpose 0 1')
    c.out(F.pad(x, [2, -1, 1, 1], value=0.25))


def losses(fx):
    def probs(*shape, dim=1):
        return torch.softmax(randn(*shape) * 1.5, dim)

    # cross_entropy: (logits shape, ignore_index, label_smoothing, reduction, targets to ignore)
    for sx, ignore, ls, red, n_ignored in [
        ((4, 5), -100, 0.0, 'mean', 0), ((4, 5), -100, 0.0, 'sum', 0),
        ((4, 5), -100, 0.0, 'none', 0), ((6, 5), -100, 0.0, 'mean', 2),
        ((4, 5), -100, 0.1, 'mean', 0), ((6, 4), 1, 0.2, 'mean', 2),
        ((6, 4), -1, 0.15, 'sum', 1), ((2, 4, 3), -100, 0.0, 'mean', 0),
        ((2, 4, 3, 2), -100, 0.1, 'none', 0), ((2, 3, 4), -100, 0.0, 'sum', 2),
    ]:
        c = fx.case('losses', 'cross_entropy', f'cross_entropy {sx} ignore_index {ignore} '
                    f'label_smoothing {ls} {red}' + (f', {n_ignored} ignored' if n_ignored else ''),
                    ignore_index=ignore, label_smoothing=ls, reduction=red)
        x = c.f('input', randn(*sx) * 2)
        tshape = (sx[0],) + tuple(sx[2:])
        classes = [k for k in range(sx[1]) if k != ignore]
        t = torch.tensor(classes)[randint(len(classes), *tshape)]
        flat = t.view(-1)
        flat[torch.randperm(flat.numel())[:n_ignored]] = ignore
        t = c.i('target', t)
        c.out(F.cross_entropy(x, t, ignore_index=ignore, label_smoothing=ls, reduction=red))

    # Every target ignored: PyTorch gives NaN for 'mean'; groundwork documents 0 (and a zero
    # gradient), which is what a training step with an all-padding batch wants.
    c = fx.case('losses', 'cross_entropy', 'cross_entropy (3, 4) every target ignored, mean -> 0',
                ignore_index=-100, label_smoothing=0.0, reduction='mean')
    x = c.f('input', randn(3, 4))
    t = c.i('target', torch.full((3,), -100))
    c.out(x.sum() * 0.0)  # 0, with a zero gradient

    # logits seen through a transposed view (classes first in memory)
    c = fx.case('losses', 'cross_entropy', 'cross_entropy (5, 4) transpose 0 1, mean',
                ignore_index=-100, label_smoothing=0.0, reduction='mean')
    x = c.f('input', randn(5, 4) * 2, view='transpose 0 1')
    t = c.i('target', randint(5, 4))
    c.out(F.cross_entropy(x, t))
    c = fx.case('losses', 'cross_entropy', 'cross_entropy (2, 4, 3) ignore_index 2 label_smoothing '
                '0.1 mean, 2 ignored', ignore_index=2, label_smoothing=0.1, reduction='mean')
    x = c.f('input', randn(2, 4, 3) * 2)
    t = torch.tensor([[0, 2, 3], [2, 1, 0]])
    t = c.i('target', t)
    c.out(F.cross_entropy(x, t, ignore_index=2, label_smoothing=0.1))

    for sx, red, tgrad in [((4, 5), 'mean', True), ((4, 5), 'sum', True), ((4, 5), 'none', True),
                           ((2, 4, 3), 'mean', True), ((4, 5), 'mean', False)]:
        c = fx.case('losses', 'cross_entropy_soft', f'cross_entropy_soft {sx} {red}' +
                    ('' if tgrad else ', target a constant'), reduction=red)
        x = c.f('input', randn(*sx) * 2)
        p = c.f('target', probs(*sx), grad=tgrad)
        c.out(F.cross_entropy(x, p, reduction=red))

    for sx, sw, red, soft in [((3, 4), None, 'mean', False), ((3, 4), (4,), 'sum', False),
                              ((3, 4), (3, 4), 'none', True), ((2, 3, 2), (3, 1), 'mean', True),
                              ((3, 4), (4,), 'mean', True)]:
        c = fx.case('losses', 'bce_with_logits', f'bce_with_logits {sx} weight {sw} {red}' +
                    (' soft targets' if soft else ''), reduction=red)
        x = c.f('input', randn(*sx) * 3)
        t = c.f('target', uniform(0, 1, *sx) if soft else randint(2, *sx).float())
        # The weight is a constant: PyTorch refuses to differentiate it, groundwork gives it
        # no gradient.
        w = c.f('weight', uniform(0.5, 2, *sw), grad=False) if sw else None
        c.out(F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=red))

    for red, view in [('mean', None), ('sum', None), ('none', None), ('mean', 'transpose 0 1')]:
        c = fx.case('losses', 'l1', f'l1 (3, 4) {red}' + (f', input {view}' if view else ''),
                    reduction=red)
        x = c.f('input', randn(3, 4) if not view else randn(4, 3), view=view)
        t = c.f('target', x.detach().float() + away_from_zero(3, 4, margin=0.05))
        c.out(F.l1_loss(x, t, reduction=red))
    for beta, red in [(1.0, 'mean'), (0.5, 'sum'), (2.0, 'none')]:
        c = fx.case('losses', 'smooth_l1', f'smooth_l1 (3, 5) beta {beta} {red}', beta=beta,
                    reduction=red)
        x = c.f('input', randn(3, 5) * 2)
        t = c.f('target', randn(3, 5))
        c.out(F.smooth_l1_loss(x, t, reduction=red, beta=beta))
    for red in ('mean', 'sum', 'none'):
        c = fx.case('losses', 'mse', f'mse (2, 3, 2) {red}', reduction=red)
        x = c.f('input', randn(2, 3, 2))
        t = c.f('target', randn(2, 3, 2))
        c.out(F.mse_loss(x, t, reduction=red))
    for log_target, red, tgrad in [(False, 'batchmean', True), (False, 'sum', True),
                                   (False, 'mean', True), (True, 'batchmean', True),
                                   (True, 'none', True), (False, 'batchmean', False)]:
        c = fx.case('losses', 'kl_div', f'kl_div (3, 5) log_target {log_target} {red}' +
                    ('' if tgrad else ', target a constant'), log_target=log_target, reduction=red)
        log_q = c.f('input', torch.log_softmax(randn(3, 5), 1))
        p = probs(3, 5)
        t = c.f('target', torch.log(p) if log_target else p, grad=tgrad)
        c.out(F.kl_div(log_q, t, reduction=red, log_target=log_target))


def batchnorm(fx):
    # (x base shape, affine, training, running statistics, momentum, eps, view of x)
    for sx, affine, training, running, momentum, eps, view in [
        ((4, 3), 'both', True, True, 0.1, 1e-5, None),
        ((2, 3, 4, 4), 'both', True, True, 0.1, 1e-5, None),
        ((2, 3, 5), 'none', True, False, 0.1, 1e-5, None),
        ((2, 3, 4, 4), 'both', False, True, 0.1, 1e-5, None),  # evaluation: running statistics
        ((3, 2, 4), 'gamma', True, True, 0.3, 1e-3, None),
        ((4, 3, 2, 2), 'beta', False, True, 0.1, 1e-5, None),
        ((3, 5, 4), 'both', True, True, 0.1, 1e-5, 'permute 1 0 2'),
        ((6, 3, 6, 6), 'both', True, True, 0.1, 1e-5, None),
    ]:
        desc = (f'batchnorm {sx}{" " + view if view else ""} affine {affine} '
                f'{"training" if training else "evaluation"}' +
                (f' momentum {momentum}' if running else ' without running statistics') +
                f' eps {eps}')
        c = fx.case('batchnorm', 'batchnorm', desc, training=training, momentum=momentum, eps=eps)
        n = int(np.prod(sx))
        x = c.f('x', (randn(*sx) if n <= 1024 else coarse(*sx)) * 1.5 + 0.5, view=view)
        ch = x.shape[1]
        gamma = c.f('gamma', 1 + 0.5 * randn(ch)) if affine in ('both', 'gamma') else None
        beta = c.f('beta', randn(ch)) if affine in ('both', 'beta') else None
        rm = rv = None
        if running:  # updated in place by PyTorch as by groundwork
            rm = c.f('running_mean', 0.3 * randn(ch), grad=False).detach().clone()
            rv = c.f('running_var', uniform(0.5, 2.0, ch), grad=False).detach().clone()
        y = F.batch_norm(x, rm, rv, gamma, beta, training, momentum, eps)
        if running:
            c._store('running_mean_after', rm.to(torch.float32).numpy())
            c._store('running_var_after', rv.to(torch.float32).numpy())
        c.out(y)


def dropout(fx):
    # p > 0 draws from groundwork's own RNG, which PyTorch cannot reproduce (its statistics
    # are checked in tests/autograd/test_grad_dropout.c); p = 0 must be the identity.
    c = fx.case('dropout', 'dropout', 'dropout p 0 is the identity', p=0.0)
    x = c.f('x', randn(3, 4))
    c.out(F.dropout(x, 0.0))


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: /usr/bin/python3 tests/golden/make_fixtures.py OUTPUT_DIR')
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    # kl_div's 'mean' is tested on purpose (it divides by every element, unlike 'batchmean')
    warnings.filterwarnings('ignore', message="reduction: 'mean' divides the total loss")
    fx = Fixtures(os.path.join(out_dir, 'golden.h5'))
    for family in (arith, unary, reduce, matmul, shape, join, index, softmax, layernorm,
                   batchnorm, conv2d, pool, resize, dropout, losses, laconv):
        family(fx)
    fx.close()
    total = sum(fx.counts.values())
    size = os.path.getsize(fx.path)
    print(f'{fx.path}: {total} cases in {len(fx.counts)} families, {size / 1024:.0f} KiB')
    for family, n in fx.counts.items():
        print(f'  {family:10s} {n:3d}')


if __name__ == '__main__':
    main()
