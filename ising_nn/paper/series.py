"""The data behind each figure, assembled from cached results (:mod:`ising_nn.paper.cache`).

* :func:`model_results`: a model's trained and shuffled DOS and ground-state searches (DOS and heat figures);
* :func:`heat_results`: their physical specific heats (canonical engine with errors, and from the DOS) and
  the paper-style curve;
* :func:`blocks_series`: widths against the number of blocks k = 1 .. L (blocks figure).

Two widths are reported everywhere: the DOS width ``W = E_max - E_min`` of the sampled energy column (the
paper's definition) and ``W_0 = 2 |E_0|`` from the ground-state search (the exact span of realisable
energies, since g(E) = g(-E), when E_0 is the ground state; a lower bound otherwise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ising_nn.canonical import ThermoCurve
from ising_nn.paper import Budget, CachedThermo, QuenchSummary, budget, cached_dos, cached_quench, cached_thermo
from ising_nn.paper.criticality import Certified, TcAnswer, certified_answer
from ising_nn.paper.paths import DOS_DIR, REPO_ROOT
from ising_nn.paper.population import population_pair
from ising_nn.results.dos import DOS, read_dos
from ising_nn.thermo.from_dos import PaperStyleHeat, TcEstimate, Thermo, paper_style_heat, tc_estimate, thermodynamics

__all__ = [
    "ModelResults", "HeatResults", "BlocksSeries", "model_results", "heat_results", "dos_replicas", "blocks_series",
    "KINDS",
]

KINDS = ("trained", "shuffled")


@dataclass(frozen=True, eq=False)
class ModelResults:
    """A model's trained and whole-network-shuffled results."""

    model: str
    trained: DOS
    shuffled: DOS
    quench_trained: QuenchSummary
    quench_shuffled: QuenchSummary
    thermo_trained: CachedThermo | None = None
    thermo_shuffled: CachedThermo | None = None
    pa_trained: tuple | None = None
    pa_shuffled: tuple | None = None

    def thermo(self, kind: str) -> CachedThermo | None:
        """The canonical engine's result (None when the budget has no canonical run)."""
        return self.thermo_trained if kind == "trained" else self.thermo_shuffled

    def population(self, kind: str) -> tuple | None:
        """Population annealing's (full, quarter-population) results (None when the budget has none)."""
        return self.pa_trained if kind == "trained" else self.pa_shuffled

    @property
    def n_spins(self) -> int:
        return int(self.trained.n_spins)

    @property
    def n_blocks(self) -> int:
        return int(self.trained.header.get("model_blocks", 0)) or self.quench_trained.model_blocks

    def dos(self, kind: str) -> DOS:
        return self.trained if kind == "trained" else self.shuffled

    def quench(self, kind: str) -> QuenchSummary:
        return self.quench_trained if kind == "trained" else self.quench_shuffled

    def summary(self) -> pd.DataFrame:
        """One row per kind: N, DOS width W/N, E_min/N, quench E_0/N and 2|E_0|/N, sampler diagnostics."""
        rows = []
        for kind in KINDS:
            d, q = self.dos(kind), self.quench(kind)
            rows.append({
                "model": self.model, "kind": kind, "n_spins": d.n_spins,
                "W_per_spin": d.width / d.n_spins, "E_min_per_spin": d.E_min / d.n_spins,
                "E0_per_spin": q.energy_per_spin, "W0_per_spin": q.width_per_spin,
                "bins": d.E_k.size, "wl_converged": d.header.get("converged", "?"),
                "wl_ln_f": d.header.get("ln_f_final", "?"), "symmetry_error": d.header.get("symmetry_error", "?"),
            })
        return pd.DataFrame(rows)


def _start(b: Budget) -> dict:
    # a DOS starts from the state of the ground-state search the figures report (the same cached file)
    return {"start_method": b.quench_method, "start_restarts": b.quench_restarts}


def model_results(
    model="minilm", b: Budget | None = None, *, seed: int = 0, out_dir: str | os.PathLike = DOS_DIR,
    verbose: bool = True,
) -> ModelResults:
    """Trained and shuffled DOS, E_0 and (with ``b.canonical_sweeps``) canonical thermodynamics of ``model``
    (cached)."""
    b = b or budget()
    kw = {"seed": seed, "out_dir": out_dir, "verbose": verbose}
    dos = [cached_dos(model, shuffle=f, sweeps=b.wl_sweeps, bins=b.bins, **_start(b), canonical=b, **kw)
           for f in (0.0, 1.0)]
    q = [cached_quench(model, shuffle=f, method=b.quench_method, restarts=b.quench_restarts, **kw)
         for f in (0.0, 1.0)]
    th = ([cached_thermo(model, shuffle=f, b=b, **kw) for f in (0.0, 1.0)] if b.canonical_sweeps is not None
          else [None, None])
    pa = [population_pair(model, shuffle=f, b=b, **kw) for f in (0.0, 1.0)]
    return ModelResults(str(model), dos[0], dos[1], q[0], q[1], th[0], th[1], pa[0], pa[1])


@dataclass(frozen=True, eq=False)
class HeatResults:
    """Physical C(T) per spin, trained and shuffled, from the canonical engine and from the DOS, and the
    paper-style curve.

    ``canonical_*`` are the canonical engine's MBAR curves (with errors; None without a canonical run): T_c
    and its error come from them. ``physical_*`` / ``replicas_*`` are the thermodynamics of the DOS files
    (every seed; the first is ``physical_*``), ``wl_*`` those of the Wang-Landau DOS alone (windows started
    from canonical states) kept beside a joined DOS. The paper-style curves both use the trained DOS width,
    as the paper does.
    """

    model: str
    physical_trained: Thermo
    physical_shuffled: Thermo
    paper_trained: PaperStyleHeat
    paper_shuffled: PaperStyleHeat
    replicas_trained: tuple[Thermo, ...]
    replicas_shuffled: tuple[Thermo, ...]
    seeds: tuple[int, ...]
    canonical_trained: ThermoCurve | None = None
    canonical_shuffled: ThermoCurve | None = None
    wl_trained: Thermo | None = None
    wl_shuffled: Thermo | None = None
    T_eq_trained: float = float("nan")
    T_eq_shuffled: float = float("nan")
    certified_trained: Certified | None = None
    certified_shuffled: Certified | None = None
    answer: TcAnswer | None = None

    def certified(self, kind: str) -> Certified | None:
        """Population annealing's curve with its tests (None without population annealing)."""
        return self.certified_trained if kind == "trained" else self.certified_shuffled

    def physical(self, kind: str) -> Thermo:
        return self.physical_trained if kind == "trained" else self.physical_shuffled

    def paper(self, kind: str) -> PaperStyleHeat:
        return self.paper_trained if kind == "trained" else self.paper_shuffled

    def replicas(self, kind: str) -> tuple[Thermo, ...]:
        return self.replicas_trained if kind == "trained" else self.replicas_shuffled

    def canonical(self, kind: str) -> ThermoCurve | None:
        return self.canonical_trained if kind == "trained" else self.canonical_shuffled

    def wang_landau(self, kind: str) -> Thermo | None:
        return self.wl_trained if kind == "trained" else self.wl_shuffled

    def T_equilibrated(self, kind: str) -> float:
        return self.T_eq_trained if kind == "trained" else self.T_eq_shuffled

    def tc(self, kind: str) -> TcEstimate:
        """T_c of the certified curve (:func:`~ising_nn.paper.criticality.certified_answer`: population
        annealing's, jackknife and fit-window errors; without it the canonical engine's, its bootstrap error and
        the fit window's) when located, NaN when its maximum lies at the certified edge (a bound: ``answer``);
        without a canonical run, over the DOS seeds (standard error), or the single seed's T_c with its binning
        error."""
        if self.answer is not None:
            p = self.answer.peak_trained if kind == "trained" else self.answer.peak_shuffled
            how = (self.answer.trained if kind == "trained" else self.answer.shuffled).method
            if p.located:
                errs = "bootstrap" if how == "replica exchange" else "jackknife"
                return TcEstimate(p.Tc, p.Tc_err, float("nan"), (p.Tc,),
                                  method=f"{how}, certified, {errs} + fit window")
            return TcEstimate(float("nan"), float("nan"), float("nan"), (float("nan"),),
                              method=f"{how}, certified: maximum at the certified edge, a bound")
        reps = self.replicas(kind)
        if len(reps) > 1:
            return tc_estimate([t.Tc for t in reps])
        t = reps[0]
        return TcEstimate(t.Tc, t.Tc_err, float("nan"), (t.Tc,), method=t.Tc_err_method)

    def summary(self) -> pd.DataFrame:
        rows = []
        for kind in KINDS:
            t, p, e = self.physical(kind), self.paper(kind), self.tc(kind)
            wl = self.wang_landau(kind)
            c = self.certified(kind)
            rows.append({"model": self.model, "kind": kind, "Tc": e.Tc, "Tc_err": e.Tc_err,
                         "Tc_err_method": e.method, "T_equilibrated": self.T_equilibrated(kind),
                         "T_certified_pa": c.T_cert if c is not None else float("nan"),
                         "Tc_dos": t.Tc, "Tc_wang_landau": wl.Tc if wl is not None else float("nan"),
                         "Tc_paper_style": p.Tc, "W_paper_style": p.width})
        return pd.DataFrame(rows)


def dos_replicas(
    model="minilm", b: Budget | None = None, *, seed: int = 0, out_dir: str | os.PathLike = DOS_DIR,
    verbose: bool = True,
) -> tuple[tuple[DOS, ...], tuple[DOS, ...]]:
    """Trained and shuffled DOS for the seeds ``seed + s``, s in ``b.seeds`` (cached; the first is the DOS
    of :func:`model_results` with the same seed; the shuffles differ by seed too)."""
    b = b or budget()
    kw = {"sweeps": b.wl_sweeps, "bins": b.bins, **_start(b), "canonical": b, "out_dir": out_dir,
          "verbose": verbose}
    seeds = [seed + s for s in b.seeds]
    return (tuple(cached_dos(model, shuffle=0.0, seed=s, **kw) for s in seeds),
            tuple(cached_dos(model, shuffle=1.0, seed=s, **kw) for s in seeds))


def heat_results(r: ModelResults, replicas: tuple[tuple[DOS, ...], tuple[DOS, ...]] | None = None,
                 points: int = 400) -> HeatResults:
    """Specific heats of a model: the canonical engine's (when ``r`` has them), its DOS files' (``replicas``
    from :func:`dos_replicas`, the first being ``r``'s own), the Wang-Landau DOS alone kept beside a joined
    one, and the paper-style curve."""
    reps = replicas or ((r.trained,), (r.shuffled,))
    phys = [tuple(thermodynamics(d, points=points) for d in reps[i]) for i in range(2)]
    paper = [paper_style_heat(r.dos(k), trained=r.trained) for k in KINDS]
    seeds = tuple(int(d.header.get("input.seed", d.header.get("seed", 0))) for d in reps[0])
    canon, wl, t_eq = [], [], []
    for k in KINDS:
        th = r.thermo(k)
        canon.append(None if th is None else th.curve)
        t_eq.append(float("nan") if th is None else float(th.header["T_equilibrated"]))
        src = r.dos(k).header.get("wang_landau")
        wl.append(None if src is None else
                  thermodynamics(read_dos(src if os.path.isabs(src) else REPO_ROOT / src), points=points))
    cert, answer = certified_answer(r.model, [r.thermo(k) for k in KINDS], [r.population(k) for k in KINDS])
    return HeatResults(r.model, phys[0][0], phys[1][0], paper[0], paper[1], phys[0], phys[1], seeds,
                       canon[0], canon[1], wl[0], wl[1], t_eq[0], t_eq[1], cert[0], cert[1], answer)


@dataclass(frozen=True, eq=False)
class BlocksSeries:
    """Widths of the Ising models of the first k blocks, k = ``k_k``.

    Attributes
    ----------
    k_k, n_spins_k : ndarray of int, shape (K,)
    W_trained_k, W_shuffled_k : ndarray, shape (K,)
        DOS widths ``E_max - E_min``.
    W0_trained_k, W0_shuffled_k : ndarray, shape (K,)
        ``2 |E_0|`` from the ground-state search.
    trained, shuffled : tuple of DOS, length K
    n_blocks : int
        L, the model's depth.
    """

    model: str
    k_k: np.ndarray
    n_spins_k: np.ndarray
    W_trained_k: np.ndarray
    W_shuffled_k: np.ndarray
    W0_trained_k: np.ndarray
    W0_shuffled_k: np.ndarray
    trained: tuple[DOS, ...]
    shuffled: tuple[DOS, ...]
    n_blocks: int

    def frame(self) -> pd.DataFrame:
        """Tidy table: one row per (k, kind), widths total and per spin."""
        rows = []
        for i, k in enumerate(self.k_k):
            for kind, W, W0 in (("trained", self.W_trained_k, self.W0_trained_k),
                                ("shuffled", self.W_shuffled_k, self.W0_shuffled_k)):
                n = int(self.n_spins_k[i])
                rows.append({"model": self.model, "k": int(k), "kind": kind, "n_spins": n, "W": W[i],
                             "W_per_spin": W[i] / n, "W0": W0[i], "W0_per_spin": W0[i] / n})
        return pd.DataFrame(rows)


def blocks_series(
    model="minilm", b: Budget | None = None, *, seed: int = 0, out_dir: str | os.PathLike = DOS_DIR,
    full: ModelResults | None = None, verbose: bool = True,
) -> BlocksSeries:
    """Trained and shuffled widths for the first k blocks, k from ``b.blocks`` (default 1 .. L) and L.

    The whole model (k = L) reuses :func:`model_results` (``full``, computed if not given).
    """
    b = b or budget()
    full = full or model_results(model, b, seed=seed, out_dir=out_dir, verbose=verbose)
    L = full.n_blocks
    ks = sorted({k for k in (b.blocks or range(1, L + 1)) if 1 <= k < L} | {L})
    kw = {"seed": seed, "out_dir": out_dir, "verbose": verbose}
    cols: dict[str, list] = {name: [] for name in ("n", "Wt", "Ws", "W0t", "W0s", "dt", "ds")}
    for k in ks:
        if k == L:
            dt, ds, qt, qs = full.trained, full.shuffled, full.quench_trained, full.quench_shuffled
        else:
            dt, ds = (cached_dos(model, blocks=k, shuffle=f, sweeps=b.wl_sweeps_blocks, bins=b.bins,
                                 **_start(b), **kw) for f in (0.0, 1.0))
            qt, qs = (cached_quench(model, blocks=k, shuffle=f, method=b.quench_method,
                                    restarts=b.quench_restarts, **kw) for f in (0.0, 1.0))
        for name, v in zip(("n", "Wt", "Ws", "W0t", "W0s", "dt", "ds"),
                           (dt.n_spins, dt.width, ds.width, qt.width, qs.width, dt, ds), strict=True):
            cols[name].append(v)
    return BlocksSeries(
        str(model), np.asarray(ks), np.asarray(cols["n"]), np.asarray(cols["Wt"]), np.asarray(cols["Ws"]),
        np.asarray(cols["W0t"]), np.asarray(cols["W0s"]), tuple(cols["dt"]), tuple(cols["ds"]), L,
    )
