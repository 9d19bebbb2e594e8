"""The ground-state search on any torch device (``quench(c, "chains", device=...)``): the canonical engine's
layer-block heat bath (:class:`ising_nn.canonical.chain.LayerChains`, all restarts as replicas in one matrix
product per layer) annealed geometrically from ``t_start`` to ``t_end`` times the typical local field, then
greedy layer updates (every spin of a layer aligned with its field) until no spin changes: a local minimum
of every layer given its neighbours."""

from __future__ import annotations

import time

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.kernels.fields import energy_direct

__all__ = ["anneal_chains", "chains_result"]


def anneal_chains(c, rng: np.random.Generator, restarts: int, sweeps: int, t_start: float, t_end: float,
                  device: str, max_greedy: int = 10_000) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(E_r, spins_rn, info)`` of ``restarts`` annealed replicas (float64 energies, int8 spins)."""
    from ising_nn.canonical.chain import LayerChains

    sq = np.concatenate([np.zeros(n) for n in c.layer_sizes])
    off = c.spin_offsets
    for l, J in enumerate(c.J):  # typical |h_i| of random spins: sqrt(sum_j J_ij^2) over both neighbours
        sq[off[l] : off[l + 1]] += (J.astype(np.float64) ** 2).sum(1)
        sq[off[l + 1] : off[l + 2]] += (J.astype(np.float64) ** 2).sum(0)
    scale = float(np.mean(np.sqrt(sq))) or 1.0
    s0 = (rng.integers(0, 2, size=(restarts, c.n_spins), dtype=np.int8) * 2 - 1).astype(np.int8)
    # float32 fields wherever it runs: a local minimum of the float32 couplings, the same on every CPU
    ch = LayerChains(c, s0, device=device, generator_seed=int(rng.integers(2**62)), precision="float32")
    for i in range(sweeps):
        T = t_start * (t_end / t_start) ** (i / max(sweeps - 1, 1))
        beta = 1.0 / (T * scale)
        ch.half_sweep(0, beta)
        ch.half_sweep(1, beta)
    greedy, changed = 0, True
    while changed and greedy < max_greedy:
        greedy += 1
        changed = False
        for parity in (0, 1):
            for l in range(parity, len(ch.S), 2):
                changed |= ch.greedy_layer(l)
    E = ch.energies()
    return E, ch.spins(), {"sweeps": sweeps * restarts, "greedy_sweeps": greedy, "converged": not changed,
                           "scale": scale, "device": str(ch.device)}


def chains_result(c, rng, restarts: int, sweeps: int, t_start: float, t_end: float, device: str, seed):
    """``quench(c, "chains", ...)``: a :class:`~ising_nn.quench.search.QuenchResult` from
    :func:`anneal_chains` on ``device``."""
    import torch

    from ising_nn.quench.search import QuenchResult

    try:
        torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise IsingNNError(f"unknown device {device!r} ({exc})") from None
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise IsingNNError(f"device {device!r} asked for, but torch sees no CUDA device here")
    t0 = time.perf_counter()
    E_r, S_rn, info = anneal_chains(c, rng, restarts, sweeps, t_start, t_end, device)
    r = int(np.argmin(E_r))
    s = S_rn[r].copy()
    energy = float(energy_direct(c.buffer, c.sizes_array, c.bond_offsets, c.spin_offsets, s))
    seconds = time.perf_counter() - t0
    return QuenchResult(energy=energy, energy_per_spin=energy / c.n_spins, n_spins=c.n_spins, seconds=seconds,
                        method="chains", spins=s, width=2.0 * abs(energy), seed=seed, restarts=len(E_r), steps=0,
                        sweeps=int(info["sweeps"]), flips=0, converged=bool(info["converged"]), stopped_early=False,
                        energies_r=np.asarray(E_r, dtype=np.float64), trace_t=np.array([seconds]),
                        trace_E=np.array([energy]), model=c.provenance.model)
