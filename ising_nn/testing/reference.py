"""Slow pure-Python references for the numba kernels (tests only: use tiny systems).

:func:`ref_run_window` is a translation of :func:`ising_nn.wanglandau.kernels.run_window` (mode ``MODE_FIELDS``) on
Python floats and ints with the same random stream (:mod:`ising_nn.kernels.rng` twins). It updates the fields at once,
where the kernel applies each accepted flip's update one accepted flip late; for the same seed and state the
kernel must still reproduce it bit for bit: every spin, field, ln g and counter.
:func:`ref_fields` and :func:`ref_energy` compute fields and energy from scratch in float64.
"""

from __future__ import annotations

import math

import numpy as np

from ising_nn.kernels.rng import py_randbelow, py_uniform
from ising_nn.model.couplings import Couplings
from ising_nn.wanglandau.kernels import DONE, HALVING, ONE_OVER_T

__all__ = ["ref_fields", "ref_energy", "ref_flip", "ref_kglob", "ref_run_window"]


def ref_fields(c: Couplings, s: np.ndarray) -> np.ndarray:
    """Local fields ``h_i`` in float64 from scratch, (N,)."""
    x = c.split(np.asarray(s, dtype=np.float64))
    h = [np.zeros_like(v) for v in x]
    for l, J in enumerate(c.J):
        J64 = J.astype(np.float64)
        h[l] += J64 @ x[l + 1]
        h[l + 1] += x[l] @ J64
    return np.concatenate(h)


def ref_energy(c: Couplings, s: np.ndarray) -> float:
    """``E = - sum_l s_l^T J_l s_{l+1}`` in float64."""
    x = c.split(np.asarray(s, dtype=np.float64))
    return float(-sum(x[l] @ J.astype(np.float64) @ x[l + 1] for l, J in enumerate(c.J)))


def ref_flip(c: Couplings, g: int, s: list[int], h: list[float]) -> float:
    """Flip flat spin ``g`` in the Python lists ``s``, ``h``; update the neighbours' fields; return dE."""
    off = c.spin_offsets
    l = int(np.searchsorted(off, g, side="right") - 1)
    i = g - int(off[l])
    dE = 2.0 * s[g] * h[g]
    delta = -2.0 * s[g]
    s[g] = -s[g]
    J = c.J
    if l < c.n_layers:
        row = J[l][i]
        for j in range(row.size):
            h[int(off[l + 1]) + j] += delta * float(row[j])
    if l > 0:
        col = J[l - 1][:, i]
        for k in range(col.size):
            h[int(off[l - 1]) + k] += delta * float(col[k])
    return dE


def ref_kglob(E: float, w: float, align: int) -> int:
    x = E / w
    if align == 0:
        return math.floor(x + 0.5) if x >= 0.0 else -math.floor(-x + 0.5)
    return math.floor(x) if x >= 0.0 else -math.floor(-x) - 1


def _flat(hist, vis, lo, hi, flatness) -> bool:
    vals = [hist[b] for b in range(lo, hi + 1) if vis[b]]
    if not vals:
        return False
    tot = float(sum(vals))
    mn = min(vals)
    return mn > 0 and mn >= flatness * tot / len(vals)


def ref_run_window(c: Couplings, n_att: int, s, h, lng, hist, vis, cm, rng, walker, cfg) -> None:
    """Pure-Python :func:`ising_nn.wanglandau.kernels.run_window` (mode 0); all state arguments are lists, in place."""
    N = len(s)
    off = c.spin_offsets
    sizes = c.layer_sizes
    n_mat = c.n_layers
    w, flatness, lnf_final = cfg["bin_width"], cfg["flatness"], cfg["ln_f_final"]
    b0, align, check, D = walker["bin0"], cfg["align"], cfg["check"], cfg["band"]
    k, lo, hi, stage = walker["k"], walker["lo"], walker["hi"], walker["stage"]
    E, lnf = walker["E"], walker["ln_f"]
    g_next = walker["next_spin"]
    for _ in range(n_att):
        if stage == DONE:
            break
        g = g_next if g_next >= 0 else py_randbelow(rng, N)
        run_on = (walker["attempts"] + 1) % cfg["run_length"] != 0 and g + 1 < N  # the next attempt continues the run
        g_next = g + 1 if run_on else py_randbelow(rng, N)
        l = int(np.searchsorted(off, g, side="right") - 1)
        fan = (sizes[l + 1] if l < n_mat else 0) + (sizes[l - 1] if l > 0 else 0)
        En = E + 2.0 * s[g] * h[g]
        kn = ref_kglob(En, w, align) - b0
        walker["attempts"] += 1
        dist = (lambda q: lo - q if q < lo else (q - hi if q > hi else 0))  # noqa: E731
        if k < lo or k > hi:
            if dist(kn) <= dist(k):
                ref_flip(c, g, s, h)
                walker["couplings_read"] += fan
                E, k = En, kn
                walker["accepted"] += 1
                if lo <= k <= hi and vis[k] == 0:
                    vis[k] = 1
                    walker["n_visited"] += 1
                    lng[k] = 0.0
            continue
        if -D <= kn - k <= D:
            cm[k * (2 * D + 1) + D + kn - k] += 1
        else:
            walker["out_of_band"] += 1
        if kn < lo:
            walker["floor_hits"] += 1
        elif kn > hi:
            walker["ceiling_hits"] += 1
        else:
            if vis[kn] == 0:
                lng[kn] = lng[k]
                vis[kn] = 1
                walker["n_visited"] += 1
                for b in range(lo, hi + 1):
                    hist[b] = 0
            dl = lng[k] - lng[kn]
            if dl >= 0.0 or py_uniform(rng) < math.exp(dl):
                ref_flip(c, g, s, h)
                walker["couplings_read"] += fan
                E, k = En, kn
                walker["accepted"] += 1
        lng[k] += lnf
        hist[k] += 1
        walker["steps"] += 1
        walker["since_check"] += 1
        if walker["since_check"] >= check:
            walker["since_check"] = 0
            if stage == HALVING and _flat(hist, vis, lo, hi, flatness):
                lnf *= 0.5
                for b in range(lo, hi + 1):
                    hist[b] = 0
                if lnf * walker["steps"] < walker["n_visited"]:
                    stage = ONE_OVER_T
            if stage == ONE_OVER_T:
                lnf = walker["n_visited"] / walker["steps"]
                if lnf <= lnf_final:
                    stage = DONE
    walker["k"], walker["stage"], walker["next_spin"] = k, stage, g_next
    walker["E"], walker["ln_f"] = E, lnf
