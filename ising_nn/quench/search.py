"""Low-energy search: the ground-state energy ``E_0`` and the span ``W = 2 |E_0|`` of realisable energies.

Methods
-------
``"authors"``
    The authors' quench (dnnising.h): from all spins +1, pick a layer uniformly among the L + 1, a spin
    uniformly in it, recompute its local field from both neighbouring layers (O(fan-in + fan-out)) and flip
    it if that lowers the energy; ``steps`` attempts (default 1,000,000). The baseline.
``"single"``
    The same random single-spin descent with a local field kept for every spin: dE = 2 s_i h_i in O(1),
    fields updated on accepted flips only; runs until no single flip lowers the energy (or ``steps``).
``"layer"``
    Layer-parallel greedy descent: spins in a layer do not interact and even layers couple only to odd
    ones, so all even layers align to their fields at once, then all odd layers, until nothing changes.
    Every half-sweep minimises the energy exactly over half the spins, so E never rises. Fields are kept
    and updated from the flipped spins only, so a half-sweep costs its flips, not a pass over the
    couplings. Restart 0 starts from all +1 (as the authors), further restarts from random spins.
``"fast"``
    A short Metropolis anneal of whole layers (default 12 sweeps at temperatures from 0.3 to 0.2 of each
    layer's typical local field) then greedy sweeps until nothing changes, all in one numba call with kept
    float32 fields (each sweep costs its flips), from all +1; restarts share the fields of all +1, computed
    once in one pass over the couplings. It reads bfloat16 copies of the couplings (half the bytes; built
    once per network, :func:`ising_nn.kernels.copies.bf16_copies`), so it searches the couplings rounded by at most
    0.2 %; the energy it returns is recomputed from the spins with the float32 couplings. The quickest way
    below the authors' quench energy (see ``bench/RESULTS.md``).
``"anneal"``
    Batched restarts annealed with heat-bath layer updates at geometrically falling temperature (in units
    of each layer's typical local field, from ``t_start`` to ``t_end``): while many spins change, R
    replicas at once as ``(R, n_l)`` matrices (float32 BLAS matrix products); once few do, one replica
    at a time with kept fields; each ends in the greedy layer descent and the best is returned. The best
    estimate of ``E_0``.

The chain of layers is bipartite, so flipping every odd layer (:func:`mirror`) maps E to -E: g(E) = g(-E),
the highest energy is ``-E_0`` and the span of realisable energies is exactly ``W = 2 |E_0|``. With ``E_0``
from a search (an upper bound on the true ground-state energy), ``width`` is a lower bound on ``W``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ising_nn import validate
from ising_nn.errors import IsingNNError
from ising_nn.kernels.fields import energy_direct
from ising_nn.model.couplings import Couplings
from ising_nn.quench import methods as _m

__all__ = ["QuenchResult", "quench", "mirror", "METHODS"]

METHODS = ("anneal", "fast", "layer", "single", "authors", "chains")


@dataclass(frozen=True, eq=False)
class QuenchResult:
    """Outcome of :func:`quench`.

    Attributes
    ----------
    energy : float
        Energy of ``spins``, recomputed from scratch (float64 sums of the float32 couplings, one thread).
    energy_per_spin : float
    n_spins : int
    seconds : float
        Wall time of the search (to its last check; the final energy recomputation excluded).
    method : str
    spins : ndarray, shape (N,), int8
        The lowest configuration found.
    width : float
        ``2 |energy|``: the span of realisable energies if ``energy`` is the ground state, else a lower bound.
    seed : int
    restarts : int
        Restarts (replicas) completed.
    steps : int
        Single-spin attempts (``authors``, ``single``); 0 for the layer methods.
    sweeps : int
        Full sweeps of all layers, summed over restarts (``layer``, ``anneal``, ``fast``); 0 otherwise.
    flips : int
        Accepted single-spin flips (``authors``, ``single``); spins changed by the kept-field kernels
        (greedy and cold heat-bath half-sweeps) otherwise.
    converged : bool
        The returned configuration is a local minimum (no single flip lowers it) by the method's own test.
    stopped_early : bool
        The time limit cut the search short (or ``target`` was reached).
    energies_r : ndarray, shape (restarts_done,), float64
        Final energy of every restart (as tracked by the method, in float32/float64 arithmetic; ``fast``:
        of the couplings rounded to bfloat16).
    trace_t, trace_E : ndarray, float64
        Seconds since the start and the best energy so far, at every check.
    model : str
    """

    energy: float
    energy_per_spin: float
    n_spins: int
    seconds: float
    method: str
    spins: np.ndarray
    width: float
    seed: int
    restarts: int
    steps: int
    sweeps: int
    flips: int
    converged: bool
    stopped_early: bool
    energies_r: np.ndarray
    trace_t: np.ndarray
    trace_E: np.ndarray
    model: str = ""

    @property
    def width_per_spin(self) -> float:
        return self.width / self.n_spins

    def summary(self) -> dict:
        """JSON-ready scalars (no spins, no trace)."""
        keys = ("energy", "energy_per_spin", "n_spins", "seconds", "method", "width", "seed", "restarts",
                "steps", "sweeps", "flips", "converged", "stopped_early", "model")
        d = {k: getattr(self, k) for k in keys}
        d["width_per_spin"] = self.width_per_spin
        return d


def mirror(c: Couplings, s: np.ndarray) -> np.ndarray:
    """Flip every odd layer: every bond joins an even and an odd layer, so ``E(mirror(s)) = -E(s)``."""
    s = np.array(c._check_spins(s), copy=True)
    for l, v in enumerate(c.split(s)):
        if l % 2:
            v *= -1
    return s


# ---------------------------------------------------------------- public entry point
def quench(
    c: Couplings,
    method: str = "anneal",
    *,
    restarts: int | None = None,
    seed: int = 0,
    time_limit: float | None = None,
    steps: int | None = None,
    sweeps: int | None = None,
    target: float | None = None,
    batch: int = 32,
    t_start: float | None = None,
    t_end: float | None = None,
    switch: float = 0.05,
    progress: bool = False,
    device: str = "cpu",
) -> QuenchResult:
    """Search for the lowest energy of the couplings ``c``.

    Parameters
    ----------
    c : Couplings
    method : {"anneal", "fast", "layer", "single", "authors", "chains"}
    restarts : int, optional
        Independent starts (default 1; ``anneal``: 32, run ``batch`` at a time; ``anneal`` and ``fast``
        with a ``time_limit``: as many as fit). ``result.restarts`` counts those done.
    seed : int
        Seed of every random choice (numpy Generator); the same seed gives the same result (unless a
        time limit or a target cuts the run at a point that depends on the clock).
    time_limit : float, optional
        Seconds; checked between chunks of 65,536 single-spin attempts or between half-sweeps. When it
        passes, the annealing gives its current replica one greedy sweep and stops. ``stopped_early``
        tells.
    steps : int, optional
        Single-spin attempts per restart: ``authors`` default 1,000,000; ``single`` default: until a
        local minimum. For ``layer`` and ``fast``: the most greedy sweeps (default 10,000).
    sweeps : int, optional
        Sweeps of the annealing schedule per replica: ``anneal`` (heat bath, default 200), ``fast``
        (Metropolis, default 12).
    target : float, optional
        Stop as soon as an energy at or below this is reached (for timing benchmarks).
    batch : int
        ``anneal``: replicas updated together (rows of the matrix products).
    t_start, t_end : float, optional
        First and last temperature of the geometric schedule, in units of each layer's typical local field
        (``anneal``: 2.0 and 0.05; ``fast``: 0.3 and 0.2).
    switch : float
        ``anneal``: once fewer than this fraction of the spins change per sweep, the batch goes on one
        replica at a time with kept fields (a sweep then costs its flips, not a pass over the couplings).
        Batches of fewer than 8 replicas use kept fields from the start.
    progress : bool
        Show a tqdm progress bar.
    device : str
        ``chains`` only: the torch device (``"cpu"``, ``"cuda"``); the other methods are numba, on the CPU.

    Returns
    -------
    QuenchResult
    """
    if not isinstance(c, Couplings):
        raise IsingNNError(f"quench needs Couplings, got {type(c).__name__}")
    if method not in METHODS:
        raise IsingNNError(f"unknown quench method {method!r}; choose one of {', '.join(METHODS)}")
    seed = validate.integer("seed", seed, 0, optional=True)
    restarts = validate.integer("restarts", restarts, 1, optional=True)
    if restarts is None and not (method in ("anneal", "fast") and time_limit is not None):
        restarts = 32 if method in ("anneal", "chains") else 1
    steps = validate.integer("steps", steps, 1, optional=True)
    sweeps = validate.integer("sweeps", sweeps, 1, optional=True)
    batch = validate.integer("batch", batch, 1, optional=True)
    time_limit = validate.seconds("time limit", time_limit)
    target = validate.number("target energy", target, optional=True)
    t0_default, t1_default = (0.3, 0.2) if method == "fast" else (2.0, 0.05)
    t_start = t0_default if t_start is None else validate.number("t_start", t_start)
    t_end = t1_default if t_end is None else validate.number("t_end", t_end)
    if not (t_start is not None and t_end is not None and 0 < t_end <= t_start):
        raise IsingNNError(f"need 0 < t_end <= t_start, got t_start={t_start}, t_end={t_end}")
    switch = validate.number("switch", switch, lo=0.0, hi=1.0, what="fraction")

    rng = np.random.default_rng(seed)
    if method == "chains":
        from ising_nn.quench.chains import chains_result

        return chains_result(c, rng, restarts, sweeps or 200, t_start, t_end, device, seed)
    out, info, tr = _search(c, method, rng, restarts, steps, sweeps, batch, t_start, t_end, switch, time_limit,
                            target, progress)
    return _result(c, method, seed, out, info, tr)


def _search(c, method, rng, restarts, steps, sweeps, batch, t_start, t_end, switch, time_limit, target, progress):
    """Run one of the numba methods: ``(restarts' outcome, counters, tracker)``."""
    if method == "authors":
        n = steps or 1_000_000
        tr = _m.Tracker(time_limit, target, n * restarts, progress, "authors quench")
        out, info = _m.authors(c, rng, restarts, n, tr)
    elif method == "single":
        tr = _m.Tracker(time_limit, target, steps and steps * restarts, progress, "single-spin quench")
        out, info = _m.single(c, rng, restarts, steps, tr)
    elif method == "layer":
        tr = _m.Tracker(time_limit, target, None, progress, "layer quench")
        out, info = _m.layer(c, rng, restarts, steps or 10_000, tr)
    elif method == "fast":
        n = sweeps or 12
        tr = _m.Tracker(time_limit, target, restarts, progress, "fast anneal")
        out, info = _m.fast(c, rng, restarts, n, tr, t_start, t_end, steps or 10_000)
    else:
        n = sweeps or 200
        tr = _m.Tracker(time_limit, target, restarts and n * restarts, progress, "anneal")
        out, info = _m.anneal(c, rng, restarts, n, tr, batch, t_start, t_end, switch, steps or 10_000)
    return out, info, tr


def _result(c, method, seed, out, info, tr) -> QuenchResult:
    """The best state of a search, its energy recomputed exactly, and the search's facts."""
    seconds = tr.t[-1] if tr.t else 0.0
    tr.bar.close()

    s = out.best_s
    # a serial numba pass, not the BLAS of Couplings.energy: OpenBLAS workers spin for a while after a call
    # and measurably slowed the next quick search on a 2-core machine
    energy = float(energy_direct(c.buffer, c.sizes_array, c.bond_offsets, c.spin_offsets, s))
    return QuenchResult(
        energy=energy,
        energy_per_spin=energy / c.n_spins,
        n_spins=c.n_spins,
        seconds=seconds,
        method=method,
        spins=s,
        width=2.0 * abs(energy),
        seed=seed,
        restarts=len(out.E_r),
        steps=int(info.get("steps", 0)),
        sweeps=int(info.get("sweeps", 0)),
        flips=int(info.get("flips", 0)),
        converged=out.converged,
        stopped_early=tr.stopped,
        energies_r=np.asarray(out.E_r, dtype=np.float64),
        trace_t=np.array(tr.t),
        trace_E=np.array(tr.E),
        model=c.provenance.model,
    )

