"""Ising quantities and WeightWatcher alpha against task quality along training (the checkpoint ladder)."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
from tqdm.auto import tqdm

from ising_nn.model.load import load_couplings
from ising_nn.quality.ising import DEFAULT_QUENCH, QuenchSettings, ising_point
from ising_nn.quality.metrics import evaluate, quality
from ising_nn.quality.shuffle_eval import quality_dir
from ising_nn.quality.tables import cached_table

__all__ = ["ladder_experiment", "cached_ladder_experiment"]


def ladder_experiment(ladder, *, quench: QuenchSettings = DEFAULT_QUENCH, seed: int = 0,
                      alpha: bool = True, max_tokens: int | None = None,
                      progress: bool = True) -> pd.DataFrame:
    """One row per checkpoint of ``ladder`` (a :class:`~.train.Ladder`).

    Columns: model, step, metric_name, metric, quality, E0, E0_per_spin, W_per_spin, W_per_spin_rms,
    W_wl_per_spin, n_spins, alpha, quench_seconds, eval_seconds, train_seconds (wall time of the whole
    training run, measured when it was trained).
    """
    cfg = ladder.config
    rows = []
    for step in tqdm(ladder.steps, desc=f"ladder {cfg.task}", disable=not progress, leave=False):
        m = ladder.load(step)
        t0 = time.perf_counter()
        met = evaluate(m, cfg.task, data_seed=cfg.data_seed, max_tokens=max_tokens)
        t_eval = time.perf_counter() - t0
        pt = ising_point(load_couplings(m), quench, seed=seed)
        a = float("nan")
        if alpha:
            from ising_nn.quality.peer import ww_alpha

            a = ww_alpha(m).alpha
        rows.append({
            "model": cfg.task, "step": step, "metric_name": met.name, "metric": met.value,
            "quality": quality(met.value, met.name),
            **{k: v for k, v in dataclasses.asdict(pt).items() if k != "quench_seconds"},
            "alpha": a, "quench_seconds": pt.quench_seconds, "eval_seconds": t_eval,
            "train_seconds": ladder.seconds,
        })
    return pd.DataFrame(rows)


def cached_ladder_experiment(ladder, *, dos_dir=None, quench: QuenchSettings = DEFAULT_QUENCH,
                             seed: int = 0, alpha: bool = True, max_tokens: int | None = None,
                             recompute: bool = False, progress: bool = True) -> pd.DataFrame:
    """:func:`ladder_experiment`, cached in ``<dos_dir>/quality/ladder-<ladder name>.csv``."""
    cfg = ladder.config
    params = {"experiment": "ladder", "table_version": 2, "model": cfg.name, **cfg.as_header(),
              "steps": " ".join(map(str, ladder.steps)), **quench.as_header(), "seed": seed,
              "alpha": alpha, "max_tokens": max_tokens}
    path = quality_dir(dos_dir) / f"ladder-{cfg.name}.csv"
    return cached_table(path, params, lambda: ladder_experiment(
        ladder, quench=quench, seed=seed, alpha=alpha, max_tokens=max_tokens, progress=progress),
        recompute=recompute)
