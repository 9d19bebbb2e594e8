"""The data-free report of a checkpoint: one row per model of what its weights say as an Ising model.

Every number comes from the cache of :mod:`ising_nn.paper` (computed through the Dask sweep when missing):
the ground-state searches of the trained network and of its whole-network shuffle (E_0/N and the width
W/N = 2|E_0|/N), the critical temperatures of both and the paper's fourth claim tested (T_c(trained) above
T_c(shuffled)), and the widths of the first k blocks.

T_c is the heat figure's (:func:`ising_nn.paper.criticality.certified_answer`): the maximum of C(T) located by
the windowed fit on each network's certified curve, population annealing's where the budget runs it (the
figures' budget does, for the trained network: an hour on two cores for MiniLM when not cached), else the
canonical engine's above the temperature where its hot and cold ladders agree. A maximum at the certified edge
is not located (``Tc_resolved`` False, ``Tc`` NaN): T_c then lies below ``Tc_upper``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import pandas as pd

from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import Budget, budget
from ising_nn.paper.paths import DOS_DIR

__all__ = ["analyze", "COLUMNS"]

#: Per network (``_trained``, ``_shuffled``): T_c and its error (NaN unless located), the bound when not
#: located, whether located, the lowest certified temperature and the method that certifies it, and the
#: canonical engine's own lowest equilibrated temperature.
_TC = ("Tc", "Tc_err", "Tc_upper", "Tc_resolved", "T_certified", "Tc_method", "T_equilibrated")

#: The report's columns, in order. ``delta_Tc`` (error ``delta_Tc_err``): T_c(trained) - T_c(shuffled) where both
#: are located; ``Tc_t``, ``Tc_dof``, ``Tc_p_one_sided``: the one-sided test of T_c(trained) > T_c(shuffled)
#: (against the shuffle's bound when its maximum is not located; dof 0: normal).
COLUMNS = ("model", "family", "n_spins", "n_couplings", "E0_per_spin_trained", "W_per_spin_trained",
           "E0_per_spin_shuffled", "W_per_spin_shuffled", "W_ratio",
           *(f"{c}_trained" for c in _TC), *(f"{c}_shuffled" for c in _TC),
           "delta_Tc", "delta_Tc_err", "Tc_t", "Tc_dof", "Tc_p_one_sided",
           "blocks", "W_per_spin_blocks_trained", "W_per_spin_blocks_shuffled")


def analyze(models: str | Sequence[str], *, b: Budget | None = None, scheduler: str | None = None,
            out_dir: str | os.PathLike = DOS_DIR, thermo: bool = True, blocks: bool = True,
            population: bool = True, progress: bool = False, connect_timeout: float | None = None) -> pd.DataFrame:
    """One row per model (columns :data:`COLUMNS`); see the module docstring.

    Parameters
    ----------
    models : str or sequence of str
        Names (``minilm``, ``gpt2``, ``opt-125m``, ...), hub ids, local folders or ``.npz`` files.
    b : Budget, optional
        Sampler budgets (default: the figures' budget).
    scheduler : str, optional
        A Dask scheduler's address (default ``$ISING_NN_SCHEDULER``, else a local cluster).
    out_dir : path
        The cache (default the repository's ``dos/``).
    thermo, blocks : bool
        Include T_c (the canonical engine, minutes per network, and population annealing where ``b`` runs it,
        an hour for MiniLM on two cores, when not cached) and the per-block widths.
    population : bool
        With ``thermo``: population annealing where ``b`` runs it (False: the canonical engine's curves alone).
    progress : bool
        The sweep's progress bar and scheduler address, on stderr.
    connect_timeout : float, optional
        Seconds to wait for ``scheduler`` (default ``$ISING_NN_CONNECT_TIMEOUT``, else 10).

    Returns
    -------
    pandas.DataFrame
        ``W_per_spin_blocks_*`` hold lists (k = 1 .. L, the last the whole network); T_c columns are NaN
        where ``thermo`` is off.
    """
    from ising_nn.model.load import describe
    from ising_nn.paper.sweep import Task, run_sweep

    b = b or budget()
    if not population:
        b = dataclasses.replace(b, pa_population=None)
    models = [models] if isinstance(models, str) else list(models)
    if not models:
        raise IsingNNError("give at least one model")
    infos = {m: describe(m) for m in models}  # unknown names, offline hub, unmapped families: one clear error
    tasks = []
    for m, info in infos.items():
        for f in (0.0, 1.0):
            tasks.append(Task("quench", m, None, f))
            if thermo:
                tasks.append(Task("thermo", m, None, f))
                if b.anneals(f):
                    tasks += [Task("population", m, None, f), Task("population-check", m, None, f)]
            if blocks:
                tasks += [Task("quench", m, k, f) for k in range(1, info.blocks)]
    report = run_sweep(tasks, b, out_dir=out_dir, scheduler=scheduler, progress=progress,
                       connect_timeout=connect_timeout)
    if report.failed:
        raise IsingNNError("; ".join(f"{t.label}: {msg}" for t, msg in report.failed))
    return pd.DataFrame([_row(m, infos[m], b, out_dir, thermo, blocks) for m in models], columns=list(COLUMNS))


def _row(model, info, b: Budget, out_dir, thermo: bool, blocks: bool) -> dict:
    from ising_nn.paper.cache import cached_quench

    kw = dict(out_dir=out_dir, verbose=False)
    q = [cached_quench(model, shuffle=f, method=b.quench_method, restarts=b.quench_restarts, **kw) for f in (0, 1)]
    row = {"model": model, "family": info.family, "n_spins": info.n_spins, "n_couplings": info.n_bonds,
           "E0_per_spin_trained": q[0].energy_per_spin, "W_per_spin_trained": q[0].width_per_spin,
           "E0_per_spin_shuffled": q[1].energy_per_spin, "W_per_spin_shuffled": q[1].width_per_spin,
           "W_ratio": q[0].width / q[1].width, "blocks": info.blocks}
    row.update(_tc_columns(model, b, out_dir) if thermo else _NO_TC)
    for kind, f in (("trained", 0.0), ("shuffled", 1.0)):
        widths = []
        if blocks:
            widths = [cached_quench(model, blocks=k, shuffle=f, method=b.quench_method, restarts=b.quench_restarts,
                                    **kw).width_per_spin for k in range(1, info.blocks)]
        row[f"W_per_spin_blocks_{kind}"] = [*widths, q[0 if f == 0.0 else 1].width_per_spin]
    return row


#: The T_c columns without ``thermo``.
_NO_TC = {c: False if c.startswith("Tc_resolved") else "not run" if c.startswith("Tc_method") else 0 if c == "Tc_dof"
          else math.nan for c in COLUMNS if c.startswith(("Tc", "T_", "delta"))}


def _tc_columns(model, b: Budget, out_dir) -> dict:
    from ising_nn.paper.criticality import certified_answer
    from ising_nn.paper.population import population_pair
    from ising_nn.paper.thermo import cached_thermo

    kw = dict(out_dir=out_dir, verbose=False)
    th = [cached_thermo(model, shuffle=f, b=b, **kw) for f in (0.0, 1.0)]
    pa = [population_pair(model, shuffle=f, b=b, **kw) for f in (0.0, 1.0)]
    _, a = certified_answer(model, th, pa)
    row = {}
    for kind, c, p, t in (("trained", a.trained, a.peak_trained, th[0]), ("shuffled", a.shuffled, a.peak_shuffled,
                                                                            th[1])):
        row.update({f"Tc_{kind}": p.Tc, f"Tc_err_{kind}": p.Tc_err, f"Tc_upper_{kind}": p.upper,
                    f"Tc_resolved_{kind}": bool(p.located), f"T_certified_{kind}": c.T_cert,
                    f"Tc_method_{kind}": c.method, f"T_equilibrated_{kind}": float(t.header["T_equilibrated"])})
    row.update(delta_Tc=a.delta, delta_Tc_err=a.delta_err, Tc_t=a.t, Tc_dof=a.dof, Tc_p_one_sided=a.p_value)
    return row
