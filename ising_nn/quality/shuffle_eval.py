"""Task error and Ising quantities of a trained model as a fraction f of its weights is shuffled.

For each f and seed: shuffle the model's coupling-forming weights (:func:`~.weights.shuffle_model`, see
its module for why the individual q, k, v weights are shuffled and then mapped), evaluate the task metric
on the held-out split, build the couplings of the same shuffled weights with
:func:`ising_nn.model.load.load_couplings`, and quench them for E_0 and W = 2 |E_0|; also WeightWatcher's alpha
of the same weights. Results are cached in ``dos/quality/shuffle-<model>.csv``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ising_nn.errors import IsingNNError
from ising_nn.model.load import load_couplings
from ising_nn.paper import paths
from ising_nn.quality.ising import DEFAULT_QUENCH, QuenchSettings, ising_point
from ising_nn.quality.metrics import Metric, quality, task_error
from ising_nn.quality.tables import cached_table
from ising_nn.quality.weights import shuffle_model

__all__ = ["FRACTIONS", "shuffle_experiment", "cached_shuffle_experiment", "quality_dir"]

FRACTIONS = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0)


def quality_dir(dos_dir: str | Path | None = None) -> Path:
    """``<dos_dir>/quality`` (default ``paths.DOS_DIR``), created if missing."""
    d = (Path(dos_dir) if dos_dir is not None else paths.DOS_DIR) / "quality"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    fr = tuple(float(f) for f in fractions)
    if not fr or any(not 0.0 <= f <= 1.0 for f in fr):
        raise IsingNNError(f"fractions must be a non-empty list of numbers in [0, 1], got {list(fractions)}")
    return fr


def shuffle_experiment(model, metric: Callable[[object], Metric], *, name: str = "model",
                       fractions: Sequence[float] = FRACTIONS, seeds: Sequence[int] = (0, 1, 2),
                       quench: QuenchSettings = DEFAULT_QUENCH, alpha: bool = True,
                       progress: bool = True) -> pd.DataFrame:
    """One row per (fraction, seed).

    Parameters
    ----------
    model : Hugging Face torch model
    metric : callable
        ``metric(model) -> Metric`` on the held-out data.
    name : str
        Model name for the rows.
    fractions, seeds : sequences
        Shuffled fractions in [0, 1]; shuffle seeds (also the quench seeds).
    quench : QuenchSettings
    alpha : bool
        Also compute WeightWatcher's alpha.

    Returns
    -------
    DataFrame with columns model, fraction, seed, metric_name, metric, task_error, quality, E0,
    E0_per_spin, W_per_spin, W_per_spin_rms, W_wl_per_spin, n_spins, alpha, quench_seconds, eval_seconds.
    """
    fractions = _check_fractions(fractions)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise IsingNNError("seeds must hold at least one seed")
    base = metric(model)
    rows = []
    jobs = [(f, s) for f in fractions for s in seeds]
    for f, s in tqdm(jobs, desc=f"shuffle {name}", disable=not progress, leave=False):
        m = shuffle_model(model, f, seed=s)
        t0 = time.perf_counter()
        met = base if f == 0.0 else metric(m)
        t_eval = time.perf_counter() - t0
        pt = ising_point(load_couplings(m), quench, seed=s)
        a = float("nan")
        if alpha:
            from ising_nn.quality.peer import ww_alpha

            a = ww_alpha(m).alpha
        rows.append({
            "model": name, "fraction": f, "seed": s, "metric_name": met.name, "metric": met.value,
            "task_error": task_error(met.value, base.value, met.name),
            "quality": quality(met.value, met.name),
            **{k: v for k, v in dataclasses.asdict(pt).items() if k != "quench_seconds"},
            "alpha": a, "quench_seconds": pt.quench_seconds, "eval_seconds": t_eval,
        })
    return pd.DataFrame(rows)


def cached_shuffle_experiment(ladder, *, dos_dir=None, fractions: Sequence[float] = FRACTIONS,
                              seeds: Sequence[int] = (0, 1, 2), quench: QuenchSettings = DEFAULT_QUENCH,
                              alpha: bool = True, max_tokens: int | None = None, recompute: bool = False,
                              progress: bool = True) -> pd.DataFrame:
    """:func:`shuffle_experiment` on the last checkpoint of a trained :class:`~.train.Ladder`, cached.

    The table ``<dos_dir>/quality/shuffle-<ladder name>.csv`` is reused when its header (training
    configuration, fractions, seeds, quench settings, evaluation tokens) matches.
    """
    from ising_nn.quality.metrics import evaluate

    cfg = ladder.config
    fractions = _check_fractions(fractions)
    seeds = tuple(int(s) for s in seeds)
    params = {"experiment": "shuffle", "model": cfg.name, **cfg.as_header(),
              "fractions": " ".join(map(str, fractions)), "seeds": " ".join(map(str, seeds)),
              **quench.as_header(), "alpha": alpha, "max_tokens": max_tokens,
              "shuffle": "network-wide pool of the q,k,v,proj,fc1,fc2 weights (ising_nn.quality.weights)"}

    def compute() -> pd.DataFrame:
        model = ladder.load()
        return shuffle_experiment(
            model, lambda m: evaluate(m, cfg.task, data_seed=cfg.data_seed, max_tokens=max_tokens),
            name=cfg.task, fractions=fractions, seeds=seeds, quench=quench, alpha=alpha, progress=progress)

    path = quality_dir(dos_dir) / f"shuffle-{cfg.name}.csv"
    return cached_table(path, params, compute, recompute=recompute)
