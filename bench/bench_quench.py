"""Benchmark of the ground-state search on MiniLM couplings (issue 3, item 7).

Measures, in one process so every ratio compares runs under the same conditions:

- the authors' quench (1,000,000 single-spin attempts from all +1, O(fan-in + fan-out) per attempt): its
  time and energy (median over seeds);
- for each of our methods, the time to first reach that energy (median over seeds) and the speed-up;
- the best ground-state energy E_0 within a time budget (annealing), against the authors' energy;
- E_0/N and W/N = 2|E_0|/N of the trained and of the shuffled network (whole-network permutation).

Run: ``python -m bench.bench_quench`` (prints the markdown section); ``make bench`` calls :func:`run`.
"""

from __future__ import annotations

import datetime
import os
import platform
import time

import numpy as np

from ising_nn.load import load_couplings
from ising_nn.quench import quench

__all__ = ["run"]

_AUTHORS_STEPS = 1_000_000


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, load average {load:.1f} at start"


def _warm_up(c) -> None:
    # numba kernels are compiled or loaded from cache outside the timed runs
    small = load_couplings(c, blocks=1)
    for m in ("authors", "single", "layer"):
        quench(small, m, steps=1000 if m == "authors" else None)
    quench(small, "anneal", restarts=2, sweeps=2)


def _median(xs) -> float:
    return float(np.median(np.asarray(xs, dtype=float)))


def run(repeats: int = 3, budget: float = 60.0, model: str = "minilm") -> str:
    """Measure and return a markdown section.

    Parameters
    ----------
    repeats : int
        Seeds per timed measurement (medians reported).
    budget : float
        Seconds of annealing for the best E_0 (per network: trained and shuffled).
    model : str
        Couplings to use (default the bundled MiniLM).
    """
    started = datetime.datetime.now().isoformat(timespec="seconds")
    machine = _machine()
    c = load_couplings(model)
    _warm_up(c)
    N = c.n_spins

    # the authors' quench: time and energy
    auth = [quench(c, "authors", steps=_AUTHORS_STEPS, seed=k) for k in range(repeats)]
    t_auth = _median([r.seconds for r in auth])
    E_auth = _median([r.energy for r in auth])

    # the same trajectory with kept fields: identical spins, the pure kernel speed-up
    same = [quench(c, "single", steps=_AUTHORS_STEPS, seed=k) for k in range(repeats)]
    identical = all(np.array_equal(a.spins, b.spins) for a, b in zip(auth, same))
    t_same = _median([r.seconds for r in same])

    # time for each of our methods to first reach E_auth
    setups = [
        ("layer", "layer-parallel greedy descent, restarts until it is reached (at most 64)",
         dict(restarts=64)),
        ("anneal", "one replica annealed over 60 sweeps from t = 0.5", dict(restarts=1, batch=1, sweeps=60,
                                                                          t_start=0.5)),
    ]
    rows = [("single", f"same seeds and {_AUTHORS_STEPS:,} attempts as the authors, fields kept "
             f"({'identical' if identical else 'DIFFERENT'} final spins)", t_same, t_auth / t_same,
             repeats, repeats)]
    for m, label, kw in setups:
        runs = [quench(c, m, seed=k, target=E_auth, **kw) for k in range(repeats)]
        hit = [r.seconds for r in runs if r.energy <= E_auth]
        t = _median(hit) if hit else float("nan")
        rows.append((m, label, t, t_auth / t, len(hit), len(runs)))

    # best E_0 within the budget, trained and shuffled
    shuffled = load_couplings(model, shuffle=1.0, seed=0)
    anneal_kw = dict(batch=8, sweeps=400, seed=0, time_limit=budget)
    best = quench(c, "anneal", **anneal_kw)
    best_layer = quench(c, "layer", restarts=8, seed=0)
    best_sh = quench(shuffled, "anneal", **anneal_kw)
    auth_sh = quench(shuffled, "authors", steps=_AUTHORS_STEPS, seed=0)

    out = [
        "## Ground-state search on MiniLM couplings (`bench/bench_quench.py`)",
        "",
        f"{started}; {machine}; {model}: N = {N:,} spins, {c.n_bonds:,} couplings "
        f"({c.nbytes / 2**20:.1f} MiB float32). Medians over {repeats} seeds; all runs in one process.",
        "Command: `python -m bench.bench_quench` (or `make bench`).",
        "",
        f"Authors' quench ({_AUTHORS_STEPS:,} attempts from all +1, local field recomputed at every "
        f"attempt): **{t_auth:.2f} s**, E = {E_auth:,.1f} (E/N = {E_auth / N:.4f}; "
        f"range over seeds {min(r.energy for r in auth):,.1f} .. {max(r.energy for r in auth):,.1f}).",
        "",
        "| method | time to reach the authors' E (s, median of runs that did) | speed-up | runs that reached it |",
        "|---|---:|---:|---:|",
    ]
    for m, label, t, ratio, n_hit, n_run in rows:
        speed = f"{ratio:,.0f}x" if np.isfinite(ratio) else "not reached"
        out.append(f"| `{m}`: {label} | {t:.4f} | {speed} | {n_hit}/{n_run} |")
    out += [
        "",
        "Timings include everything a call does from the couplings in memory (fields, and the transposed copy",
        "of the couplings for `single`); numba kernels were compiled beforehand.",
        "",
        "| search | E_0 | E_0/N | W/N = 2 abs(E_0)/N | seconds |",
        "|---|---:|---:|---:|---:|",
        f"| authors' quench (median) | {E_auth:,.1f} | {E_auth / N:.4f} | {2 * abs(E_auth) / N:.4f} | "
        f"{t_auth:.2f} |",
        f"| layer descent, 8 starts | {best_layer.energy:,.1f} | {best_layer.energy_per_spin:.4f} | "
        f"{best_layer.width_per_spin:.4f} | {best_layer.seconds:.2f} |",
        f"| anneal, {best.restarts} replicas x 400 sweeps, {budget:.0f} s budget | **{best.energy:,.1f}** | "
        f"{best.energy_per_spin:.4f} | "
        f"{best.width_per_spin:.4f} | {best.seconds:.2f} |",
        "",
        f"Best E_0 is {E_auth - best.energy:,.1f} below the authors' quench "
        f"({100 * (E_auth - best.energy) / abs(E_auth):.2f} %); every reported E is recomputed from the spins.",
        "",
        "| network | authors' quench E/N | anneal E_0/N | W/N = 2 abs(E_0)/N |",
        "|---|---:|---:|---:|",
        f"| trained | {E_auth / N:.4f} | {best.energy_per_spin:.4f} | {best.width_per_spin:.4f} |",
        f"| shuffled (whole network, seed 0) | {auth_sh.energy_per_spin:.4f} | {best_sh.energy_per_spin:.4f} | "
        f"{best_sh.width_per_spin:.4f} |",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    t0 = time.perf_counter()
    print(run())
    print(f"(benchmark took {time.perf_counter() - t0:.0f} s)")
