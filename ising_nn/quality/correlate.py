"""Spearman rank correlations with bootstrap confidence intervals, the results table, and its summary.

The claim under test (arXiv:2209.08678): the Ising energies of a network's weights track its task quality.
We correlate each data-free quantity with a 'higher is better' task quality (top-1 accuracy, or
``-ln(perplexity)``): the width per spin ``W/N = 2|E_0|/N`` (the claim: positive), ``E_0/N`` (negative),
the width in units of the couplings' scale ``W/(N rms J)``, and WeightWatcher's alpha (its claim: negative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ising_nn.errors import IsingNNError

__all__ = ["Correlation", "spearman_ci", "correlation_table", "table_markdown", "summary_paragraph",
           "QUANTITIES", "EXPECTED_SIGN"]

#: Column -> label of the data-free quantities.
QUANTITIES = {
    "W_per_spin": "W/N",
    "E0_per_spin": "E_0/N",
    "W_per_spin_rms": "W/(N rms J)",
    "alpha": "WeightWatcher alpha",
}
#: Sign of the correlation with quality that each quantity's proponents predict.
EXPECTED_SIGN = {"W_per_spin": 1, "E0_per_spin": -1, "W_per_spin_rms": 1, "alpha": -1}


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho with a percentile bootstrap confidence interval.

    Attributes
    ----------
    rho : float
        Spearman's rank correlation of the data (NaN if either variable is constant).
    low, high : float
        Bootstrap confidence interval at ``level``.
    p_value : float
        scipy's two-sided p-value for rho = 0.
    n : int
        Pairs used (pairs with a NaN dropped).
    level : float
    n_boot : int
        Bootstrap resamples that gave a defined rho (resamples with a constant variable are dropped; many
        dropped resamples mean the interval is conditional on the few distinct values and unreliable).
    """

    rho: float
    low: float
    high: float
    p_value: float
    n: int
    level: float
    n_boot: int


def _rank_rows(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=-1)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row pair; NaN for rows where either is constant."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    sxx = np.einsum("...i,...i->...", xc, xc)
    syy = np.einsum("...i,...i->...", yc, yc)
    sxy = np.einsum("...i,...i->...", xc, yc)
    den = np.sqrt(sxx * syy)
    out = np.full(den.shape, np.nan)
    ok = (sxx > 0) & (syy > 0)  # ranks are exact in floating point: a constant row centres to exact 0
    out[ok] = sxy[ok] / den[ok]
    return np.clip(out, -1.0, 1.0)


def spearman_ci(x, y, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> Correlation:
    """Spearman's rho of paired data with a percentile bootstrap interval (pairs resampled).

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Paired observations; pairs with a NaN are dropped.
    n_boot : int
        Bootstrap resamples.
    level : float
        Confidence level of the interval.
    seed : int
        Seed of the resampling.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise IsingNNError(f"x and y must be 1-D of the same length, got shapes {x.shape} and {y.shape}")
    if not 0 < level < 1 or n_boot < 1:
        raise IsingNNError(f"need 0 < level < 1 and n_boot >= 1, got level={level}, n_boot={n_boot}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = x.size
    nan = float("nan")
    if n < 3:
        return Correlation(nan, nan, nan, nan, n, level, 0)
    rho = float(_pearson_rows(_rank_rows(x), _rank_rows(y)))
    if not np.isfinite(rho):
        return Correlation(nan, nan, nan, nan, n, level, 0)
    p = float(stats.spearmanr(x, y).pvalue)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    r_b = _pearson_rows(_rank_rows(x[idx]), _rank_rows(y[idx]))
    r_b = r_b[np.isfinite(r_b)]
    if r_b.size == 0:
        return Correlation(rho, nan, nan, p, n, level, 0)
    a = (1 - level) / 2
    low, high = np.quantile(r_b, [a, 1 - a])
    return Correlation(rho, float(low), float(high), p, n, level, int(r_b.size))


def correlation_table(experiments: dict[tuple[str, str], pd.DataFrame], *, n_boot: int = 2000,
                      level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Spearman rho of every data-free quantity against task quality, per (model, experiment).

    Parameters
    ----------
    experiments : dict
        ``(model, experiment) -> table`` with a ``quality`` column and the columns of :data:`QUANTITIES`
        (as written by the shuffle and ladder experiments); missing columns are skipped.

    Returns
    -------
    DataFrame with columns model, experiment, quantity, label, n, rho, low, high, p_value, n_boot,
    expected_sign, verdict (:func:`verdict`).
    """
    rows = []
    for (model, exp), df in experiments.items():
        if "quality" not in df:
            raise IsingNNError(f"table for {model}/{exp} has no 'quality' column")
        for col, label in QUANTITIES.items():
            if col not in df:
                continue
            c = spearman_ci(df[col].to_numpy(float), df["quality"].to_numpy(float), n_boot=n_boot,
                            level=level, seed=seed)
            rows.append({"model": model, "experiment": exp, "quantity": col, "label": label, "n": c.n,
                         "rho": c.rho, "low": c.low, "high": c.high, "p_value": c.p_value, "n_boot": c.n_boot,
                         "expected_sign": EXPECTED_SIGN[col], "verdict": verdict(c, EXPECTED_SIGN[col])})
    return pd.DataFrame(rows, columns=["model", "experiment", "quantity", "label", "n", "rho", "low", "high",
                                       "p_value", "n_boot", "expected_sign", "verdict"])


def verdict(c: Correlation, sign: int) -> str:
    """'holds' if the interval excludes 0 on the predicted side and the p-value is below ``1 - level``,
    'contradicted' if both say so on the other side, 'inconclusive' otherwise, 'undefined' without data.

    The p-value guards the heavily tied case: resamples in which one variable is constant have no rho and
    are dropped, which can leave an interval that excludes 0 although the data barely vary.
    """
    if not (np.isfinite(c.low) and np.isfinite(c.high) and np.isfinite(c.p_value)):
        return "undefined"
    if c.p_value >= 1 - c.level:
        return "inconclusive"
    if sign * c.low > 0 and sign * c.high > 0:
        return "holds"
    if sign * c.low < 0 and sign * c.high < 0:
        return "contradicted"
    return "inconclusive"


def strength(rho: float) -> str:
    """Words for |rho| (the usual rule of thumb)."""
    r = abs(rho)
    if not np.isfinite(r):
        return "undefined"
    return ("very strong" if r >= 0.8 else "strong" if r >= 0.6 else "moderate" if r >= 0.4
            else "weak" if r >= 0.2 else "negligible")


def table_markdown(table: pd.DataFrame) -> str:
    """The correlation table as a markdown table (rho with its interval)."""
    lines = ["| model | experiment | quantity | n | Spearman rho [95% CI] | p | expected | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        sign = "+" if r.expected_sign > 0 else "-"
        lines.append(f"| {r.model} | {r.experiment} | {r.label} | {r.n} | {r.rho:+.2f} [{r.low:+.2f}, "
                     f"{r.high:+.2f}] | {r.p_value:.2g} | {sign} | {r.verdict} |")
    return "\n".join(lines) + "\n"


_PHRASE = {"shuffle": "under shuffling", "training": "along training",
           "pooled": "with shuffled and training checkpoints ranked together"}


def summary_paragraph(table: pd.DataFrame, experiments: dict[tuple[str, str], pd.DataFrame] | None = None) -> str:
    """A plain-words paragraph on whether the paper's claim held in ``table`` (computed from it).

    With ``experiments`` (``(model, "shuffle" | "training") -> rows``) it also compares the width of the
    untrained network with that of the fully shuffled trained one: both are at chance quality, so a
    calibrated predictor would give them about the same width.
    """
    if table.empty:
        return "No quality experiments were run, so the claim was not tested here."
    parts = []
    # W = 2|E_0|, so E_0/N has the same ranks as W/N: count the width only, not the same test twice
    width = table[table.quantity == "W_per_spin"]
    n_all = len(width)
    n_hold = int((width.verdict == "holds").sum())
    n_contra = int((width.verdict == "contradicted").sum())
    head = (f"The paper's claim that the Ising energy tracks task quality held in {n_hold} of {n_all} tests "
            f"(Spearman correlation of the width W/N = 2|E_0|/N with task quality, 95% bootstrap interval "
            f"excluding 0 on the predicted side and p < 0.05; E_0/N has the same ranks)")
    head += f" and was contradicted in {n_contra}." if n_contra else "."
    parts.append(head)
    for (model, exp), g in table.groupby(["model", "experiment"], sort=False):
        w = g[g.quantity == "W_per_spin"]
        bits = []
        for r in g.itertuples():
            bits.append(f"{r.label} rho = {r.rho:+.2f} [{r.low:+.2f}, {r.high:+.2f}] ({r.verdict})")
        lead = f"For {model} {_PHRASE.get(exp, f'in {exp}')} (n = {int(g.n.max())})"
        if len(w):
            lead += f", the width's correlation is {strength(float(w.rho.iloc[0]))}"
        parts.append(lead + ": " + "; ".join(bits) + ".")
    calib = []
    for model in dict.fromkeys(table.model):
        sh, lad = (experiments or {}).get((model, "shuffle")), (experiments or {}).get((model, "training"))
        if sh is None or lad is None or not (sh.fraction == 1.0).any():
            continue
        w0 = float(lad.sort_values("step").W_per_spin.iloc[0])
        w1 = float(sh[sh.fraction == 1.0].W_per_spin.mean())
        q0 = float(lad.sort_values("step").metric.iloc[0])
        q1 = float(sh[sh.fraction == 1.0].metric.mean())
        name = "top-1" if lad.metric_name.iloc[0] == "top1" else "perplexity"
        calib.append(f"for {model} the untrained network ({name} {q0:.3g}) has W/N = {w0:.3g} and the fully "
                     f"shuffled trained one ({name} {q1:.3g}) W/N = {w1:.3g}")
    if calib:
        parts.append("Ranks are not values, though: at chance quality the width depends on the network's "
                     "history (" + "; ".join(calib) + ").")
    alpha = table[table.quantity == "alpha"]
    w = table[table.quantity == "W_per_spin"].set_index(["model", "experiment"])
    if len(alpha) and len(w):
        a = alpha.set_index(["model", "experiment"])
        common = a.index.intersection(w.index)
        better = int(sum(abs(w.loc[k, "rho"]) > abs(a.loc[k, "rho"]) for k in common))
        parts.append(f"Against WeightWatcher's alpha, |rho| of W/N was the larger in {better} of "
                     f"{len(common)} comparisons.")
    return " ".join(parts)
