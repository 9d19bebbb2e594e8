"""The five search methods of :func:`ising_nn.quench.search.quench`: drivers around the kernels.

Each driver takes the couplings, a numpy Generator (every random number is drawn here and handed to the
kernels as arrays; ``fast`` draws here the seed of each restart's kernel-side xoshiro256** stream), its
sizes, and a :class:`Tracker` (clock, target, trace, progress bar); it returns the best spins, the final
energy of every restart, and counters.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from ising_nn.kernels.copies import bf16_copies, transposed
from ising_nn.kernels.fields import energy_from_fields, init_fields
from ising_nn.kernels.rng import seed_states
from ising_nn.quench import fast as _fast
from ising_nn.quench.kernels import (
    LayerFields,
    authors_kernel,
    count_unstable,
    heat_bath_half,
    heat_half_kernel,
    layer_half_kernel,
    single_kernel,
)

__all__: list[str] = []

CHUNK = 1 << 16  # single-spin attempts between checks of the clock and the target
_MIN_BLAS_BATCH = 8  # fewer replicas than this anneal with kept fields from the start


class Tracker:
    """Best energy so far, its trace, the clock, the target and the progress bar."""

    def __init__(self, time_limit, target, total, progress, desc):
        self.t0 = time.perf_counter()
        self.deadline = None if time_limit is None else self.t0 + time_limit
        self.target = target
        self.best = np.inf
        self.t: list[float] = []
        self.E: list[float] = []
        self.bar = tqdm(total=total, desc=desc, disable=not progress, leave=False)
        self.stopped = False

    def record(self, E: float, advance: int = 0) -> bool:
        """Note the energy of a configuration just reached; True if the search must stop."""
        self.best = min(self.best, float(E))
        self.t.append(time.perf_counter() - self.t0)
        self.E.append(self.best)
        if advance:
            self.bar.update(advance)
        if (self.target is not None and self.best <= self.target) or (
            self.deadline is not None and time.perf_counter() >= self.deadline
        ):
            self.stopped = True
        return self.stopped

    def left(self) -> float:
        return np.inf if self.deadline is None else self.deadline - time.perf_counter()


class _Restarts:
    """Final energies of the restarts and the best configuration among them."""

    def __init__(self):
        self.E_r: list[float] = []
        self.best_s = None
        self.converged = False

    def add(self, s, E, converged):
        self.E_r.append(float(E))
        if E <= min(self.E_r):
            self.best_s, self.converged = s, bool(converged)


# ---------------------------------------------------------------- single-spin methods
def authors(c, rng, restarts, steps, tr):
    sizes, boff, soff = c.sizes_array, c.bond_offsets, c.spin_offsets
    out, done, flips = _Restarts(), 0, 0
    for _ in range(restarts):
        s = np.ones(c.n_spins, dtype=np.int8)
        acc = np.array([c.energy(s), 0.0])
        left = steps
        while left > 0 and not tr.stopped:
            k = min(CHUNK, left)
            authors_kernel(c.buffer, sizes, boff, soff, s, rng.random((2, k)), acc)
            left, done = left - k, done + k
            tr.record(acc[0], k)
        out.add(s, acc[0], False)  # the authors never test for a local minimum
        flips += int(acc[1])
        if tr.stopped:
            break
    return out, dict(steps=done, flips=flips)


def single(c, rng, restarts, steps, tr):
    sizes, boff, soff = c.sizes_array, c.bond_offsets, c.spin_offsets
    bufferT = transposed(c)
    out, done, flips = _Restarts(), 0, 0
    for _ in range(restarts):
        s = np.ones(c.n_spins, dtype=np.int8)
        h = np.empty(c.n_spins)
        init_fields(c.buffer, sizes, boff, soff, s, h)
        acc = np.array([energy_from_fields(s, h), 0.0])
        left = steps if steps is not None else np.iinfo(np.int64).max
        conv = False
        while left > 0 and not tr.stopped:
            k = min(CHUNK, left)
            single_kernel(c.buffer, bufferT, sizes, boff, soff, s, h, rng.random((2, k)), acc)
            left, done = left - k, done + k
            tr.record(acc[0], k)
            conv = count_unstable(s, h) == 0
            if conv and steps is None:
                break
        out.add(s, acc[0], conv)
        flips += int(acc[1])
        if tr.stopped:
            break
    return out, dict(steps=done, flips=flips)


# ---------------------------------------------------------------- one configuration with kept fields
class Replica:
    """Spins, their float64 fields and energy, with greedy and heat-bath half-sweeps (numba kernels)."""

    def __init__(self, c, s):
        self.c, self.s = c, s
        self.args = (c.buffer, c.sizes_array, c.bond_offsets, c.spin_offsets)
        self.h = np.empty(c.n_spins)
        init_fields(*self.args, s, self.h)
        self.acc = np.array([energy_from_fields(s, self.h), 0.0])  # [energy, spins changed]
        n = max(c.layer_sizes)
        self.idx, self.d = np.empty(n, dtype=np.int64), np.zeros(n, dtype=np.float32)
        self.n_parity = (sum(c.layer_sizes[0::2]), sum(c.layer_sizes[1::2]))

    @property
    def E(self) -> float:
        return float(self.acc[0])

    def descend(self, tr, max_sweeps, min_sweeps=0):
        """Greedy layer descent until nothing changes; returns (sweeps, converged)."""
        sweeps = 0
        while sweeps < max_sweeps:
            before = self.acc[1]
            layer_half_kernel(*self.args, 0, self.s, self.h, self.idx, self.d, self.acc)
            stop = tr.record(self.acc[0])
            layer_half_kernel(*self.args, 1, self.s, self.h, self.idx, self.d, self.acc)
            sweeps += 1
            stop = tr.record(self.acc[0], 1) or stop
            if self.acc[1] == before:
                return sweeps, True
            if stop and sweeps >= min_sweeps:
                break
        return sweeps, False

    def heat(self, beta_l, rng):
        """One heat-bath sweep (even layers, then odd)."""
        for p in (0, 1):
            u = rng.random(self.n_parity[p])
            heat_half_kernel(*self.args, p, beta_l, self.s, self.h, u, self.idx, self.d, self.acc)


def layer(c, rng, restarts, max_sweeps, tr):
    out, info = _Restarts(), dict(sweeps=0, flips=0)
    for r in range(restarts):
        # restart 0 starts where the authors do
        s = np.ones(c.n_spins, dtype=np.int8) if r == 0 else _random_spins(rng, (c.n_spins,))
        rep = Replica(c, s)
        sweeps, conv = rep.descend(tr, max_sweeps)
        out.add(s, rep.E, conv)
        info["sweeps"] += sweeps
        info["flips"] += int(rep.acc[1])
        if tr.stopped:
            break
    return out, info


# ---------------------------------------------------------------- annealing
def _random_spins(rng, shape, dtype=np.int8):
    return np.where(rng.random(shape) < 0.5, dtype(-1), dtype(1))


def typical_fields(c):
    """RMS local field of each layer over uniformly random spins: ``sqrt(mean_i sum_j J_ij^2)``."""
    return typical_from_squares([np.einsum("ij,ij->", J, J, dtype=np.float64) for J in c.J], c.layer_sizes)


def typical_from_squares(sq, layer_sizes):
    """:func:`typical_fields` from ``sq[l] = sum J_l^2`` (shape (L,)); shape (L + 1,)."""
    L = len(sq)
    out = np.zeros(L + 1)
    for l in range(L + 1):
        tot = (sq[l - 1] if l > 0 else 0.0) + (sq[l] if l < L else 0.0)
        out[l] = np.sqrt(tot / layer_sizes[l])
    return np.maximum(out, np.finfo(np.float32).tiny)


def anneal(c, rng, restarts, sweeps, tr, batch, t_start, t_end, switch, max_greedy):
    """Batches of replicas: hot sweeps batched (BLAS), the cold rest per replica with kept fields.

    ``restarts=None``: batches until the time limit (a new batch starts only if the last one would fit).
    The switch comes once fewer than a fraction ``switch`` of the spins change per sweep: from then on a
    sweep of one replica costs its few flips, not a pass over all couplings. Measured on MiniLM (2 cores):
    a kept-field sweep costs 3.3 ms at 28 % flips, 2.7 ms at 6 %, 0.9 ms at 2 %, 0.4 ms at 0.7 %; a
    batched BLAS sweep 1 to 4 ms per replica (depending on the load), whatever the flips.
    """
    h_typ = typical_fields(c)
    # geometric in units of each layer's typical field (trained layers differ several-fold)
    temps = t_start * (t_end / t_start) ** (np.arange(sweeps) / max(sweeps - 1, 1))
    fields = LayerFields(c.J)
    out, info, done_r, last = _Restarts(), dict(sweeps=0, flips=0), 0, 0.0
    while not tr.stopped:
        R = batch if restarts is None else min(batch, restarts - done_r)
        if R <= 0 or (restarts is None and done_r and tr.left() < 1.1 * last):
            break
        t_b = time.perf_counter()
        S_l = [_random_spins(rng, (R, n), np.float32) for n in c.layer_sizes]
        k, E_r = 0, np.zeros(R)
        # matrix products pay only for several replicas at once (one replica: ~3 ms a sweep either way)
        while R >= _MIN_BLAS_BATCH and k < sweeps and not tr.stopped:
            beta_l = 1.0 / (temps[k] * h_typ)
            _, ch0 = heat_bath_half(fields, S_l, 0, beta_l, rng)
            E_r, ch1 = heat_bath_half(fields, S_l, 1, beta_l, rng)
            k += 1
            info["sweeps"] += R
            tr.record(E_r.min(), R)
            if ch0 + ch1 < switch * R * c.n_spins:
                break
        S = np.concatenate(S_l, axis=1).astype(np.int8)
        # lowest first: if the clock or the target stops the batch, the best replica is the one finished
        for s in S[np.argsort(E_r, kind="stable")]:
            if tr.stopped and out.E_r:
                break  # finishing the rest would overrun by a pass over the couplings each
            rep = Replica(c, s)
            for kk in range(k, sweeps):
                if tr.stopped:
                    break
                rep.heat(1.0 / (temps[kk] * h_typ), rng)
                info["sweeps"] += 1
                tr.record(rep.E, 1)
            # the greedy finish always gets one sweep, so every replica ends aligned at least once
            gs, conv = rep.descend(tr, max_greedy, min_sweeps=1)
            info["sweeps"] += gs
            info["flips"] += int(rep.acc[1])
            out.add(s, rep.E, conv)
        done_r += R
        last = time.perf_counter() - t_b
    return out, info


# ---------------------------------------------------------------- short anneal in one kernel call
def fast(c, rng, restarts, sweeps, tr, t_start, t_end, max_greedy):
    """Restarts from all +1, each a ``sweeps``-long Metropolis anneal of whole layers then greedy sweeps.

    The fields of all +1 (and the typical field of each layer) cost one pass over the couplings and are
    shared by every restart; a restart then costs its flips. ``restarts=None``: until the time limit.
    """
    sizes, boff, soff = c.sizes_array, c.bond_offsets, c.spin_offsets
    b16, b16T = bf16_copies(c)
    f, b = np.empty(c.n_spins, dtype=np.float32), np.empty(c.n_spins, dtype=np.float32)
    sq = np.empty(c.n_layers)
    _fast.ones_fields(b16, sizes, boff, soff, f, b, sq)
    h0 = f + b
    E_ones = -0.5 * float(h0.sum(dtype=np.float64))  # E = -1/2 sum_i s_i h_i
    temps = t_start * (t_end / t_start) ** (np.arange(sweeps) / max(sweeps - 1, 1))
    two_beta = 2.0 / (temps[:, None] * typical_from_squares(sq, c.layer_sizes)[None, :])
    idx = np.empty(max(c.layer_sizes), dtype=np.int64)
    tmp = np.empty(max(c.layer_sizes), dtype=np.uint32)
    out, info, last = _Restarts(), dict(sweeps=0, flips=0), 0.0
    while not tr.stopped and (restarts is None or len(out.E_r) < restarts):
        if restarts is None and out.E_r and tr.left() < 1.1 * last:
            break
        t_r = time.perf_counter()
        s = np.ones(c.n_spins, dtype=np.int8)
        h = h0.copy()
        acc = np.array([E_ones])
        cnt = np.zeros(4, dtype=np.int64)
        stream = seed_states(int(rng.integers(2**63)), 1)[0]
        _fast.anneal_layers(b16, b16T, sizes, boff, soff, s, h, two_beta, max_greedy, stream, _fast.EXP_TABLE,
                            idx, tmp, acc, cnt)
        info["sweeps"] += sweeps + int(cnt[_fast.O_GREEDY_SWEEPS])
        info["flips"] += int(cnt[_fast.O_FLIPS] + cnt[_fast.O_GREEDY_FLIPS])
        out.add(s, acc[0], bool(cnt[_fast.O_CONVERGED]))
        tr.record(acc[0], 1)
        last = time.perf_counter() - t_r
    return out, info
