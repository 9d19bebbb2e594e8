"""The Ising quantities of one set of couplings, as the quality experiments record them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ising_nn.model.couplings import Couplings

__all__ = ["IsingPoint", "QuenchSettings", "ising_point", "DEFAULT_QUENCH"]


@dataclass(frozen=True)
class QuenchSettings:
    """How E_0 is searched (see :func:`ising_nn.quench.search.quench`) and whether Wang-Landau runs too.

    The default search has a fixed amount of work (32 annealed restarts of 200 sweeps, about 0.3 s for our
    1,856-spin models) and no time limit, so E_0 does not depend on the machine's load: with a 20 s limit,
    two of twenty ladder points stopped early on a busy machine and came out 10 % higher (measured).
    ``wl_time_limit``: seconds of Wang-Landau per point for the DOS width (None: not run).
    """

    method: str = "anneal"
    restarts: int = 32
    sweeps: int = 200
    time_limit: float | None = None
    wl_time_limit: float | None = None

    def as_header(self) -> dict[str, str]:
        return {f"quench_{k}": str(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class IsingPoint:
    """Ising quantities of a set of couplings.

    Attributes
    ----------
    E0, E0_per_spin : float
        Lowest energy found by the quench (an upper bound on the ground-state energy), and per spin.
    W_per_spin : float
        ``2 |E_0| / N``: the width of the density of states per spin (exact for the true E_0, since
        g(E) = g(-E) on the bipartite chain).
    W_per_spin_rms : float
        ``W_per_spin / rms(J)``: the width in units of the couplings' scale, which separates structure from
        the mere growth of the weights during training.
    W_wl_per_spin : float
        Width ``E_max - E_min`` of a Wang-Landau density of states, per spin (NaN when not run).
    n_spins : int
    quench_seconds : float
    """

    E0: float
    E0_per_spin: float
    W_per_spin: float
    W_per_spin_rms: float
    W_wl_per_spin: float
    n_spins: int
    quench_seconds: float


DEFAULT_QUENCH = QuenchSettings()


def ising_point(c: Couplings, settings: QuenchSettings = DEFAULT_QUENCH, seed: int = 0) -> IsingPoint:
    """Quench ``c`` (and optionally run Wang-Landau) and return its :class:`IsingPoint`."""
    from ising_nn.quench.search import quench

    q = quench(c, settings.method, restarts=settings.restarts, seed=seed, time_limit=settings.time_limit,
               sweeps=settings.sweeps if settings.method == "anneal" else None)
    rms = float(np.sqrt(np.mean(np.square(c.buffer, dtype=np.float64))))
    w_wl = float("nan")
    if settings.wl_time_limit:
        from ising_nn.wanglandau.run import wang_landau

        dos = wang_landau(c, seed=seed, time_limit=settings.wl_time_limit, progress=False)
        w_wl = float(dos.width) / c.n_spins
    W = q.width / q.n_spins
    return IsingPoint(q.energy, q.energy_per_spin, W, W / rms if rms > 0 else float("nan"), w_wl,
                      q.n_spins, q.seconds)
