"""The whole quality study in one call: train, shuffle, ladder, correlate; every step cached.

Writes ``<dos_dir>/quality/shuffle-*.csv``, ``ladder-*.csv``, ``correlations.csv`` and ``correlations.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ising_nn.errors import IsingNNError
from ising_nn.quality.correlate import correlation_table, summary_paragraph, table_markdown
from ising_nn.quality.ising import QuenchSettings
from ising_nn.quality.ladder_eval import cached_ladder_experiment
from ising_nn.quality.shuffle_eval import FRACTIONS, cached_shuffle_experiment, quality_dir
from ising_nn.quality.tables import write_table
from ising_nn.quality.train import TASKS, LazyLadder, default_config, torch_threads
from ising_nn.results.textfile import atomic_path, format_header

__all__ = ["QualityResults", "run_quality", "cached_quality", "SMOKE_QUENCH", "SMOKE_FRACTIONS", "SEEDS",
           "summary_from_file"]

SMOKE_QUENCH = QuenchSettings(restarts=4, sweeps=20)
SMOKE_FRACTIONS = (0.0, 0.5, 1.0)
#: Shuffle seeds of the default study (the notebooks' ``seeds``; a smoke run takes the first).
SEEDS = (0, 1, 2, 3, 4)


@dataclass
class QualityResults:
    """Tables of the quality study.

    Attributes
    ----------
    ladders : dict task -> LazyLadder
    shuffle, ladder : dict task -> DataFrame
        Rows of the shuffle experiment and of the training ladder.
    table : DataFrame
        The correlation table (:func:`~.correlate.correlation_table`).
    """

    ladders: dict[str, LazyLadder]
    shuffle: dict[str, pd.DataFrame]
    ladder: dict[str, pd.DataFrame]
    table: pd.DataFrame
    paths: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """:func:`~.correlate.summary_paragraph` of these results."""
        exps = {**{(t, "shuffle"): df for t, df in self.shuffle.items()},
                **{(t, "training"): df for t, df in self.ladder.items()}}
        return summary_paragraph(self.table, exps)

    @property
    def train_seconds(self) -> dict[str, float]:
        """Training wall time per task, as recorded when it was trained (no training is triggered)."""
        return {t: float(df.train_seconds.iloc[0]) for t, df in self.ladder.items()}


def run_quality(*, smoke: bool = False, tasks: Sequence[str] = TASKS, models_dir=None, dos_dir=None,
                fractions: Sequence[float] = FRACTIONS, seeds: Sequence[int] = SEEDS,
                train_seed: int = 0, quench: QuenchSettings | None = None, alpha: bool = True,
                max_tokens: int | None = None, n_boot: int = 2000, threads: int = 1,
                progress: bool = True) -> QualityResults:
    """Train (or load) both models, run the shuffle and ladder experiments, write the correlation table.

    The table has three experiments per model: ``shuffle`` (all fractions and seeds), ``training`` (the
    checkpoint ladder) and ``pooled`` (both together: a data-free quantity that predicts quality should
    rank a shuffled network and a partly trained one of equal quality alike).

    Training happens only if a result table must be computed (the tables are cached by the training
    configuration), so replotting from committed tables needs no ``models/``.

    ``smoke`` uses tiny models, a short quench and 2,000 evaluation tokens (tests); the default sizes take
    minutes on 2 cores the first time and seconds afterwards (everything is cached). ``threads``: torch
    threads for the evaluations (training uses its configuration's).
    """
    with torch_threads(threads):
        return _run(smoke, tasks, models_dir, dos_dir, fractions, seeds, train_seed, quench, alpha, max_tokens,
                    n_boot, progress)


def _run(smoke, tasks, models_dir, dos_dir, fractions, seeds, train_seed, quench, alpha, max_tokens, n_boot,
         progress) -> QualityResults:
    quench = quench or (SMOKE_QUENCH if smoke else QuenchSettings())
    if smoke and max_tokens is None:
        max_tokens = 2000
    ladders, shuf, lad = {}, {}, {}
    for task in tasks:
        ladders[task], shuf[task], lad[task] = _tables(task, smoke, models_dir, dos_dir, fractions, seeds,
                                                       train_seed, quench, alpha, max_tokens, progress)
    experiments = {}
    for task in tasks:
        experiments[(task, "shuffle")] = shuf[task]
        experiments[(task, "training")] = lad[task]
        # the strictest test: one ranking for shuffled and partly trained networks together
        experiments[(task, "pooled")] = pd.concat([shuf[task], lad[task]], ignore_index=True)
    table = correlation_table(experiments, n_boot=n_boot)
    qd = quality_dir(dos_dir)
    params = {"experiment": "correlations", "models": " ".join(ladders[t].config.name for t in tasks),
              "n_boot": n_boot, "level": 0.95, "bootstrap_seed": 0, "smoke": smoke}
    csv = write_table(table, qd / "correlations.csv", params)
    md = qd / "correlations.md"
    with atomic_path(md) as tmp:
        tmp.write_text(_md_header(params) + table_markdown(table), encoding="utf-8")
    return QualityResults(ladders, shuf, lad, table, {"csv": str(csv), "md": str(md)})


def _tables(task, smoke, models_dir, dos_dir, fractions, seeds, train_seed, quench, alpha, max_tokens, progress):
    ladder = LazyLadder(default_config(task, smoke=smoke, seed=train_seed), models_dir, progress=progress)
    shuf = cached_shuffle_experiment(ladder, dos_dir=dos_dir, fractions=fractions, seeds=seeds, quench=quench,
                                     alpha=alpha, max_tokens=max_tokens, progress=progress)
    lad = cached_ladder_experiment(ladder, dos_dir=dos_dir, quench=quench, seed=train_seed, alpha=alpha,
                                   max_tokens=max_tokens, progress=progress)
    return ladder, shuf, lad


def cached_quality(task: str, *, smoke: bool = False, dos_dir=None, models_dir=None, threads: int = 1,
                   progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shuffle and ladder tables of one ``task`` (of :data:`~.train.TASKS`) with the figure notebooks'
    inputs, computed (training the ladder first if its checkpoints are missing) or read from the cache.

    The figures' sweep runs one task per model beside the sampler runs, so the notebooks only read the tables.
    Inputs: all fractions, seeds :data:`SEEDS` and the default quench; in a ``smoke`` run
    :data:`SMOKE_FRACTIONS`, the first seed, :data:`SMOKE_QUENCH`, 2,000 evaluation tokens and checkpoints in
    ``<dos_dir>/models`` (unless ``models_dir`` is given), as the notebooks do.
    """
    if task not in TASKS:
        raise IsingNNError(f"quality task must be one of {', '.join(TASKS)}, got {task!r}")
    if smoke:
        from ising_nn.paper.paths import DOS_DIR

        models_dir = models_dir if models_dir is not None else Path(dos_dir or DOS_DIR) / "models"
        inputs = (SMOKE_FRACTIONS, SEEDS[:1], 0, SMOKE_QUENCH, True, 2000)
    else:
        inputs = (FRACTIONS, SEEDS, 0, QuenchSettings(), True, None)
    with torch_threads(threads):
        _, shuf, lad = _tables(task, smoke, models_dir, dos_dir, *inputs, progress)
    return shuf, lad


def _md_header(params) -> str:
    lines = ["<!--"] + [line[2:] for line in format_header(params).splitlines()] + ["-->", ""]
    return "\n".join(lines) + "\n"


def summary_from_file(dos_dir=None) -> str:
    """:func:`~.correlate.summary_paragraph` of ``<dos_dir>/quality/correlations.csv`` (for the overview
    notebook); a one-line note if the quality study has not been run."""
    from ising_nn.paper.paths import DOS_DIR
    from ising_nn.quality.tables import read_table

    p = Path(dos_dir if dos_dir is not None else DOS_DIR) / "quality" / "correlations.csv"
    if not p.is_file():
        return f"The quality study has not been run ({p} is missing; run notebooks/ladder.ipynb)."
    table, head = read_table(p)
    experiments = {}
    for name in head.get("models", "").split():
        task = name.split("-h", 1)[0]
        for exp, stem in (("shuffle", "shuffle"), ("training", "ladder")):
            f = p.parent / f"{stem}-{name}.csv"
            if f.is_file():
                experiments[(task, exp)] = read_table(f)[0]
    text = summary_paragraph(table, experiments)
    if head.get("smoke") == "True":
        text = "(Smoke-size run: tiny models, few points.) " + text
    return text
