"""The data-free report of a checkpoint: one row per model of what its weights say as an Ising model.

Every number comes from the cache of :mod:`ising_nn.paper` (computed through the Dask sweep when missing):
the ground-state searches of the trained network and of its whole-network shuffle (E_0/N and the width
W/N = 2|E_0|/N), the canonical engine's T_c of both with its error and the lowest equilibrated temperature
(``Tc_resolved``: the peak lies more than two errors above that temperature and the figures' windowed fit
locates it, :func:`ising_nn.paper.criticality.fit_peak`; otherwise the maximum of C(T) may lie below it, where
the chains are not equilibrated), and the widths of the first k blocks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import pandas as pd

from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import Budget, budget
from ising_nn.paper.paths import DOS_DIR

__all__ = ["analyze", "COLUMNS"]

#: The report's columns, in order.
COLUMNS = ("model", "family", "n_spins", "n_couplings", "E0_per_spin_trained", "W_per_spin_trained",
           "E0_per_spin_shuffled", "W_per_spin_shuffled", "W_ratio", "Tc_trained", "Tc_err_trained",
           "T_equilibrated_trained", "Tc_resolved_trained", "Tc_shuffled", "Tc_err_shuffled",
           "T_equilibrated_shuffled", "Tc_resolved_shuffled",
           "blocks", "W_per_spin_blocks_trained", "W_per_spin_blocks_shuffled")


def _located(th) -> bool:
    """Whether the figures' windowed fit of C's maximum locates it on the certified curve of ``th``."""
    from ising_nn.paper.criticality import certify_canonical, fit_peak

    cert = certify_canonical(th)
    return fit_peak(cert.T_t, cert.C_t, cert.C_jk_mt, cert.T_cert).located


def analyze(models: str | Sequence[str], *, b: Budget | None = None, scheduler: str | None = None,
            out_dir: str | os.PathLike = DOS_DIR, thermo: bool = True, blocks: bool = True,
            progress: bool = False, connect_timeout: float | None = None) -> pd.DataFrame:
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
        Include T_c (the canonical engine: minutes per network when not cached) and the per-block widths.
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
            if blocks:
                tasks += [Task("quench", m, k, f) for k in range(1, info.blocks)]
    report = run_sweep(tasks, b, out_dir=out_dir, scheduler=scheduler, progress=progress,
                       connect_timeout=connect_timeout)
    if report.failed:
        raise IsingNNError("; ".join(f"{t.label}: {msg}" for t, msg in report.failed))
    return pd.DataFrame([_row(m, infos[m], b, out_dir, thermo, blocks) for m in models], columns=list(COLUMNS))


def _row(model, info, b: Budget, out_dir, thermo: bool, blocks: bool) -> dict:
    from ising_nn.paper.cache import cached_quench
    from ising_nn.paper.thermo import cached_thermo

    kw = dict(out_dir=out_dir, verbose=False)
    q = [cached_quench(model, shuffle=f, method=b.quench_method, restarts=b.quench_restarts, **kw) for f in (0, 1)]
    row = {"model": model, "family": info.family, "n_spins": info.n_spins, "n_couplings": info.n_bonds,
           "E0_per_spin_trained": q[0].energy_per_spin, "W_per_spin_trained": q[0].width_per_spin,
           "E0_per_spin_shuffled": q[1].energy_per_spin, "W_per_spin_shuffled": q[1].width_per_spin,
           "W_ratio": q[0].width / q[1].width, "blocks": info.blocks}
    for kind, f in (("trained", 0.0), ("shuffled", 1.0)):
        tc = tc_err = t_eq = math.nan
        resolved = False
        if thermo:
            th = cached_thermo(model, shuffle=f, b=b, **kw)
            tc, tc_err, t_eq = th.curve.Tc, th.curve.Tc_err, float(th.header["T_equilibrated"])
            # a peak at (or within two errors of) the lowest equilibrated temperature may lie below it; and the
            # figures' rule (criticality.fit_peak) must locate it: chains barely equilibrated at the edge
            # underestimate C there, which makes a spurious maximum just above it (trained MiniLM: 7.15 +- 0.17,
            # where population annealing's C rises down to 4.75)
            resolved = bool(not th.curve.Tc_at_edge and tc - t_eq > 2 * tc_err and _located(th))
        row.update({f"Tc_{kind}": tc, f"Tc_err_{kind}": tc_err, f"T_equilibrated_{kind}": t_eq,
                    f"Tc_resolved_{kind}": resolved})
        widths = []
        if blocks:
            widths = [cached_quench(model, blocks=k, shuffle=f, method=b.quench_method, restarts=b.quench_restarts,
                                    **kw).width_per_spin for k in range(1, info.blocks)]
        row[f"W_per_spin_blocks_{kind}"] = [*widths, q[0 if f == 0.0 else 1].width_per_spin]
    return row
