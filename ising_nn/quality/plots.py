"""Figures of the quality study (used by notebooks/accuracy, fraction and ladder) and the paper's files.

The authors' published files (``paper-data/accuracy``, ``paper-data/fraction``) are read as reference data
from a path the caller gives; nothing is copied.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from ising_nn.quality.correlate import QUANTITIES
from ising_nn.quality.metrics import task_error

__all__ = ["paper_accuracy", "paper_fraction_widths", "plot_task_error", "plot_width_fraction",
           "plot_ladder", "plot_correlations", "PAPER_SPINS", "COLORS"]

#: Spins of the paper's 12-block, width-768 models, N = (7 L + 1) h (shared/PAPER.md).
PAPER_SPINS = {"gpt2": 65_280, "opt-125m": 65_280, "bert-base": 65_280}
_PALETTE = sns.color_palette("colorblind")
#: One colour per model in every quality figure (blue and orange stay 'trained' and 'shuffled', as in
#: :mod:`ising_nn.paper.plotting`).
COLORS = {m: _PALETTE[2 + i] for i, m in enumerate(
    ("vit-digits", "gpt2-text", "minilm", "gpt2", "opt-125m", "bert-base", "vit-base", "all-MiniLM-L6-v2"))}


def paper_accuracy(paper_dir) -> pd.DataFrame:
    """The authors' accuracy files as rows (model, task, fraction, metric_name, metric, task_error).

    ``<model>-<task>.dat``: column 1 = f, column 2 = top-1 % (imagenet) or perplexity (other tasks).
    Empty if ``paper_dir`` is None or has no ``accuracy`` folder.
    """
    rows = []
    folder = Path(paper_dir) / "accuracy" if paper_dir else None
    if folder is None or not folder.is_dir():
        return pd.DataFrame(columns=["model", "task", "fraction", "metric_name", "metric", "task_error"])
    for f in sorted(folder.glob("*.dat")):
        m = re.match(r"(.+?)-(lambada|wikitext\w*|imagenet)$", f.stem)
        if not m:
            continue
        model, task = m.groups()
        name = "top1" if task == "imagenet" else "perplexity"
        a = np.loadtxt(f, ndmin=2)
        base = a[a[:, 0] == 0, 1][0]
        for fr, v in a:
            rows.append({"model": model, "task": task, "fraction": fr, "metric_name": name, "metric": v,
                         "task_error": task_error(v, base, name)})
    return pd.DataFrame(rows)


def paper_fraction_widths(paper_dir) -> pd.DataFrame:
    """Width per spin ``(E_max - E_min) / N`` of the authors' fraction DOS files (model, fraction, W_per_spin).

    Their energy windows were truncated (shared/PAPER.md), so this is the width they published, not the
    span of realisable energies.
    """
    rows = []
    folder = Path(paper_dir) / "fraction" if paper_dir else None
    if folder is None or not folder.is_dir():
        return pd.DataFrame(columns=["model", "fraction", "W_per_spin"])
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and p.name in PAPER_SPINS):
        files = {float(f.stem[len("fraction"):]): f for f in d.glob("fraction*.dat")}
        trained = Path(paper_dir) / "dos" / f"{d.name}.dat"
        if 0.0 not in files and trained.is_file():  # opt-125m has no fraction0 file: its trained DOS is f = 0
            files[0.0] = trained
        for fr, f in files.items():
            E = np.loadtxt(f, ndmin=2)[:, 0]
            rows.append({"model": d.name, "fraction": fr, "W_per_spin": (E.max() - E.min()) / PAPER_SPINS[d.name]})
    return pd.DataFrame(rows).sort_values(["model", "fraction"], ignore_index=True)


def _fraction_axis(ax) -> None:
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(-0.001, 1.05)
    ax.set_xlabel("shuffled fraction f")


def plot_task_error(ax_top1, ax_ppl, shuffle: dict[str, pd.DataFrame], paper: pd.DataFrame | None = None):
    """Task error against f: top-1 drop (points) on one axis, perplexity change (%) on the other;
    our models as mean and standard deviation over seeds, the paper's as dashed lines."""
    for name, df in shuffle.items():
        ax = ax_top1 if df.metric_name.iloc[0] == "top1" else ax_ppl
        g = df.groupby("fraction").task_error.agg(["mean", "std"]).reset_index()
        ax.errorbar(g["fraction"], g["mean"], yerr=g["std"].fillna(0), marker="o", capsize=3,
                    color=COLORS.get(name), label=f"{name} (ours)")
    if paper is not None and len(paper):
        for (model, task), g in paper.groupby(["model", "task"]):
            ax = ax_top1 if g.metric_name.iloc[0] == "top1" else ax_ppl
            ax.plot(g.fraction, g.task_error, "--", marker="s", ms=3, color=COLORS.get(model),
                    alpha=0.7, label=f"{model} {task} (paper)")
    ax_top1.set_ylabel("task error: top-1 drop (points)")
    ax_ppl.set_ylabel("task error: perplexity change (%)")
    ax_ppl.set_yscale("symlog", linthresh=1.0)
    for ax in (ax_top1, ax_ppl):
        _fraction_axis(ax)
        ax.legend(fontsize=7)


def plot_width_fraction(ax, widths: dict[str, pd.DataFrame], paper: pd.DataFrame | None = None,
                        relative: bool = True):
    """W/N against f (relative to f = 0 if ``relative``): our models (mean and sd over seeds) and the
    paper's published fraction files (dashed)."""
    for name, df in widths.items():
        g = df.groupby("fraction").W_per_spin.agg(["mean", "std"]).reset_index()
        base = g.loc[g.fraction == 0, "mean"].iloc[0] if relative and (g.fraction == 0).any() else 1.0
        ax.errorbar(g["fraction"], g["mean"] / base, yerr=g["std"].fillna(0) / base, marker="o", capsize=3,
                    color=COLORS.get(name), label=f"{name} (ours, 2|E_0|/N)")
    if paper is not None and len(paper):
        for model, g in paper.groupby("model"):
            if relative and not (g.fraction == 0).any():
                continue
            base = g.loc[g.fraction == 0, "W_per_spin"].iloc[0] if relative else 1.0
            ax.plot(g.fraction, g.W_per_spin / base, "--", marker="s", ms=3, color=COLORS.get(model),
                    alpha=0.7, label=f"{model} (paper, published window)")
    _fraction_axis(ax)
    ax.set_ylabel("W(f) / W(0)" if relative else "W / N")
    ax.legend(fontsize=7)


def plot_ladder(axes, ladder: dict[str, pd.DataFrame], shuffle: dict[str, pd.DataFrame] | None = None,
                quantities=("W_per_spin", "W_per_spin_rms", "alpha")):
    """Each quantity against task quality: the training ladder (line, steps annotated) and the shuffled
    models (crosses). ``axes``: shape (n_models, n_quantities)."""
    for row, (name, df) in zip(np.atleast_2d(axes), ladder.items(), strict=False):
        xlabel = "top-1 accuracy (%)" if df.metric_name.iloc[0] == "top1" else "perplexity (log scale)"
        for ax, q in zip(row, quantities, strict=False):
            ax.plot(df.metric, df[q], "-o", color=COLORS.get(name), label="training ladder")
            for s, x, y in zip(df.step, df.metric, df[q], strict=True):
                ax.annotate(str(s), (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
            if shuffle is not None and name in shuffle:
                sh = shuffle[name]
                ax.scatter(sh.metric, sh[q], marker="x", color="gray", label="shuffled fractions")
            if df.metric_name.iloc[0] == "perplexity":
                ax.set_xscale("log")
                ax.invert_xaxis()  # better to the right, as for accuracy
            ax.set_xlabel(xlabel)
            ax.set_ylabel(QUANTITIES[q])
            ax.set_title(name, fontsize=9)
            ax.legend(fontsize=7)


def plot_correlations(ax, table: pd.DataFrame):
    """Forest plot: Spearman rho with its bootstrap interval for each (model, experiment, quantity)."""
    t = table.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    colors = {"holds": "C2", "contradicted": "C3", "inconclusive": "gray", "undefined": "lightgray"}
    for yi, r in zip(y, t.itertuples(), strict=True):
        c = colors.get(r.verdict, "gray")
        if np.isfinite(r.low):
            ax.plot([r.low, r.high], [yi, yi], color=c, lw=2)
        ax.plot([r.rho], [yi], "o", color=c)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [f"{r.model} {r.experiment}: {r.label}" for r in t.itertuples()], fontsize=7)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("Spearman rho with task quality (95% bootstrap CI)")
    for v, c in colors.items():
        ax.plot([], [], color=c, lw=2, label=v)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
