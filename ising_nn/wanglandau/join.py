"""From the windows' state to one density of states: estimate, mirror, sum into output bins, normalise.

Two estimators of ln g on the sampling bins:

- ``"tm"`` (default): the transition-matrix fit of the proposals counted in every window
  (:mod:`ising_nn.wanglandau.tm`), symmetric by construction; its unsymmetrised twin gives the symmetry error.
- ``"wl"``: the Wang-Landau ln g of each window, joined bottom-up: window ``j`` is shifted by the mean
  difference to the joined curve over the bins both have visited, and overlapping bins take the mean. The
  spread of those differences is the join error. A symmetric run samples E <= 0 (plus a few bins above 0)
  and mirrors; the sampled bins above 0 against their mirror images give the symmetry error.

Both are reported: the mean |difference| between them (after matching constants) is a consistency check of
the run. Finally ``ln g`` is summed into output bins of ``refine`` sampling bins and shifted so that
``sum_k g(E_k) = 2^N`` (log-sum-exp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.dos import DOS
from ising_nn.wanglandau.kernels import DONE, kglob
from ising_nn.wanglandau.tm import global_counts, tm_fit

__all__ = ["Estimate", "Timing", "estimate", "wl_curve", "finish", "known_bins", "output_bins", "to_dos",
           "degenerate_dos"]


@dataclass(frozen=True)
class Estimate:
    """Mirrored, binned and normalised ln g with diagnostics.

    Attributes
    ----------
    E_k : ndarray, shape (K,)
        Output bin centres with states, increasing.
    ln_g_k : ndarray, shape (K,)
        Natural log, ``logsumexp(ln_g_k) = N ln 2``.
    symmetry_error : float
        Max ``|ln g(E) - ln g(-E)|`` over sampling bins estimated on both sides (NaN if none).
    symmetry_pairs : int
    join_error : float
        Largest standard deviation of the WL window-to-window differences over an overlap.
    wl_tm_difference : float
        Mean |ln g_WL - ln g_TM| over the output bins both cover, constants matched (NaN if not available).
    tm_chi2 : float
        Reduced chi-square of the transition-matrix fit (NaN for the WL estimator).
    k_est : ndarray, int64
        Sampling bins with an estimate (before mirroring: E <= 0 only in a symmetric run).
    """

    E_k: np.ndarray
    ln_g_k: np.ndarray
    symmetry_error: float
    symmetry_pairs: int
    join_error: float
    wl_tm_difference: float
    tm_chi2: float
    k_est: np.ndarray


def wl_curve(ln_g_b, visited_b, walker_w, bin_off_w) -> tuple[np.ndarray, np.ndarray, float]:
    """Join the windows' WL ln g: ``(k, ln_g, join_error)`` on the visited global bins."""
    bin0, hi = walker_w["bin0"], walker_w["hi"]
    k_lo = int(bin0.min())
    k_hi = int((bin0 + hi).max())
    R = np.full(k_hi - k_lo + 1, np.nan)
    join_err = 0.0
    for w in np.argsort(bin0, kind="stable"):
        a, b = bin_off_w[w], bin_off_w[w + 1]
        seg_l, seg_v = ln_g_b[a:b], visited_b[a:b]
        loc = np.flatnonzero(seg_v[: hi[w] + 1])
        if loc.size == 0:
            raise IsingNNError(
                "a Wang-Landau window never reached its energy range: the run was too short "
                "(give a longer time limit, or resume from the checkpoint)"
            )
        idx = loc + int(bin0[w]) - k_lo
        vals = seg_l[loc]
        have = ~np.isnan(R[idx])
        if np.isnan(R).all():
            R[idx] = vals
            continue
        if not have.any():
            raise IsingNNError(
                "two neighbouring Wang-Landau windows share no visited energy bin, so they cannot be joined "
                "(run longer, use the transition-matrix estimator, fewer windows or wider bins)"
            )
        diff = R[idx[have]] - vals[have]
        if diff.size > 1:
            join_err = max(join_err, float(diff.std()))
        shifted = vals + diff.mean()
        R[idx] = np.where(have, 0.5 * (R[idx] + shifted), shifted)
    ok = ~np.isnan(R)
    return np.flatnonzero(ok) + k_lo, R[ok], join_err


def symmetry_error(k: np.ndarray, x: np.ndarray, align: int) -> tuple[float, int]:
    """Max |x(k) - x(m(k))| over bins present with their mirror ``m(k) = -k - align``, and the pair count."""
    pos = dict(zip(k.tolist(), range(k.size)))
    d = [x[i] - x[pos[-kk - align]] for i, kk in enumerate(k.tolist()) if kk > -kk - align and -kk - align in pos]
    return (float(np.abs(d).max()) if d else float("nan")), len(d)


def finish(k, x, align: int, w: float, refine: int, n_spins: int, symmetric: bool):
    """Mirror (if ``symmetric``: keep E <= 0 and reflect), sum into output bins, normalise to 2^N."""
    k, x = np.asarray(k), np.asarray(x)
    if symmetric:
        half = k <= -k - align  # E <= 0 (the centre bin at 0 is its own mirror)
        k_half, g_half = k[half], x[half]
        k_up = -k_half - align
        up = k_up != k_half
        k, x = np.concatenate([k_half, k_up[up]]), np.concatenate([g_half, g_half[up]])
    Ku, inv = np.unique(output_bins(k, align, refine), return_inverse=True)
    ln_g = np.full(Ku.size, -np.inf)
    np.logaddexp.at(ln_g, inv, x)
    E_k = (Ku + 0.5 * align) * w * refine
    return E_k, ln_g + (n_spins * np.log(2.0) - logsumexp(ln_g))


def output_bins(k, align: int, refine: int) -> np.ndarray:
    """Output bin ``K`` of sampling bins ``k``: ``refine`` consecutive sampling bins, the middle one centred on
    the output centre (align 0, refine odd) or the first one starting at its lower edge (align 1)."""
    k, m = np.asarray(k), int(refine)
    return np.floor_divide(k + (m - 1) // 2, m) if align == 0 else np.floor_divide(k, m)


def known_bins(st) -> np.ndarray:
    """Sampling bins known to hold states: the descent's, every bin a walker visited or proposed to flip into.

    Returns the sorted global bin indices (int64). Proposals are counted whatever their outcome (the band holds
    every jump a flip can make), so this includes states below the sampled range that the walk only saw.
    """
    band = int(st.cfg["band"])
    nd = 2 * band + 1
    w, align = float(st.cfg["bin_width"]), int(st.cfg["align"])
    parts = [np.array([kglob(st.info.e_quench, w, align)], dtype=np.int64)]
    for j in range(st.n_windows):
        a, b = int(st.bin_off_w[j]), int(st.bin_off_w[j + 1])
        b0 = int(st.walker_w["bin0"][j])
        parts.append(b0 + np.flatnonzero(st.visited_b[a:b]))
        r, d = np.nonzero(st.counts_bd[a * nd : b * nd].reshape(b - a, nd))
        parts.append(b0 + r + d - band)
    return np.unique(np.concatenate(parts).astype(np.int64))


def estimate(st, n_spins: int, estimator: str = "tm") -> Estimate:
    """ln g of a run (:class:`ising_nn.wanglandau.state.WLState`) by ``estimator`` ("tm" or "wl")."""
    align = int(st.cfg["align"])
    w = float(st.cfg["bin_width"])
    m = st.info.refine
    sym = st.info.symmetric
    band = int(st.cfg["band"])
    try:
        k_wl, x_wl, join_err = wl_curve(st.ln_g_b, st.visited_b, st.walker_w, st.bin_off_w)
    except IsingNNError:
        if estimator == "wl":
            raise
        k_wl = x_wl = None
        join_err = float("nan")
    k_min, C = global_counts(st.counts_bd, st.walker_w, st.bin_off_w, band)
    if estimator == "tm":
        raw = tm_fit(k_min, C, band, None)
        sym_err, pairs = symmetry_error(raw.k, raw.ln_g, align)
        fit = tm_fit(k_min, C, band, align) if sym else raw
        if fit.k.size == 0:
            raise IsingNNError("the run was too short to estimate ln g (no bin pair was crossed both ways)")
        E_k, ln_g = finish(fit.k, fit.ln_g, align, w, m, n_spins, sym)
        chi2 = fit.chi2
        k_est = fit.k
    else:
        sym_err, pairs = symmetry_error(k_wl, x_wl, align)
        E_k, ln_g = finish(k_wl, x_wl, align, w, m, n_spins, sym)
        chi2 = float("nan")
        k_est = k_wl
    diff = float("nan")
    if k_wl is not None and estimator == "tm":
        E2, g2 = finish(k_wl, x_wl, align, w, m, n_spins, sym)
        common, i1, i2 = np.intersect1d(np.round(E_k, 9), np.round(E2, 9), return_indices=True)
        if common.size:
            dd = ln_g[i1] - g2[i2]
            diff = float(np.abs(dd - dd.mean()).mean())
    return Estimate(E_k, ln_g, sym_err, pairs, join_err, diff, chi2, np.asarray(k_est, dtype=np.int64))


def missing_low_end(st, j: Estimate) -> tuple[float, int, float]:
    """What the walk or the descent knows that the estimate lacks.

    Returns ``(E_lowest_known, unestimated, E_unestimated_min)``: the output bin centre of the lowest energy
    known to hold states (on the grid of ``E_k``), the number of sampling bins known to hold states that have no
    estimate (in a symmetric run counted on E <= 0, where every bin stands for itself and its mirror image),
    and the lowest energy among them (NaN if none). The transition-matrix fit needs a bin crossed both ways (a
    bin the walk only proposed, or left and never re-entered, has none); the WL join needs a visit.
    """
    align, m = int(st.cfg["align"]), st.info.refine
    w = float(st.cfg["bin_width"])
    known = known_bins(st)
    est = j.k_est
    if st.info.symmetric:
        known = np.unique(np.minimum(known, -known - align))
        est = np.unique(np.minimum(est, -est - align))
    miss = np.setdiff1d(known, est)
    K_low = int(output_bins(known[:1], align, m)[0])
    E_low = (K_low + 0.5 * align) * w * m
    E_miss = float((miss[0] + 0.5 * align) * w) if miss.size else float("nan")
    return float(E_low), int(miss.size), E_miss


def _base_header(c: Couplings, seed: int) -> dict[str, object]:
    h: dict[str, object] = {"model": c.provenance.model, "n_spins": c.n_spins, "n_bonds": c.n_bonds,
                            "n_layers": c.n_layers, "seed": seed}
    h.update({k: v for k, v in c.provenance.as_header().items() if k != "model"})
    return h


def degenerate_dos(c: Couplings, seed: int, seconds: float) -> DOS:
    """All couplings zero: one bin at E = 0 holding all 2^N states."""
    h = _base_header(c, seed)
    h.update(bin_width=0.0, method="exact (all couplings zero: every state has E = 0)", sweeps=0,
             ln_f_final=0.0, time=f"{seconds:.3f}", converged=True, stop_reason="exact")
    return DOS.from_ln_g(np.array([0.0]), np.array([c.n_spins * math.log(2.0)]), c.n_spins, h)


@dataclass(frozen=True)
class Timing:
    """Seconds of one :func:`ising_nn.wanglandau.run.wang_landau` call, by stage (in the DOS header).

    ``setup``: input checks, the couplings' layout, descents and windows (or the checkpoint read); ``loop``:
    the chunk loop, of which ``kernels`` ran the numba kernels (walks and replica exchange) and the rest is
    the Python between chunks (range extension, checkpoints, progress bar). The rest of the call's ``time``
    is the final check of the fields and the estimate of ln g.
    """

    setup: float
    loop: float
    kernels: float


def to_dos(c: Couplings, st, reason: str, resumed: bool, drift_h: float, drift_E: float,
           seconds: float, estimator: str, timing: Timing | None = None) -> DOS:
    """The DOS of a run with its header: parameters, diagnostics and the couplings' provenance."""
    N = c.n_spins
    sym = st.info.symmetric
    wk = st.walker_w
    j = estimate(st, N, estimator)
    att = int(wk["attempts"].sum())
    # Windows that passed at least one flatness test; below the lowest of them the walk has not yet gone
    # back and forth (a short run on a large glassy network: its low-energy tail is a first estimate).
    flat = (wk["stage"] > 0) | (wk["ln_f"] < 1.0)
    e_flat = float("nan")
    if flat.any():
        k_low = min(int(wk["bin0"][w]) + int(np.flatnonzero(st.visited_b[st.bin_off_w[w] : st.bin_off_w[w + 1]])[0])
                    for w in np.flatnonzero(flat))
        e_flat = (k_low + 0.5 * int(st.cfg["align"])) * float(st.cfg["bin_width"])
    E_known, n_miss, E_miss = missing_low_end(st, j)
    h = _base_header(c, st.info.seed)
    h.update(
        bin_width=repr(float(st.info.out_width)),
        sampling_bin_width=repr(float(st.cfg["bin_width"])),
        method=("wang-landau, 1/t refinement (Belardinelli-Pereyra), "
                f"{st.n_windows} windows with replica exchange, ln g by "
                + ("transition-matrix fit of all proposals, " if estimator == "tm" else "windows joined on overlaps, ")
                + ("E <= 0 sampled and mirrored (g(E) = g(-E))" if sym else "whole range sampled")),
        sweeps=f"{att / N:.6g}",
        ln_f_final=f"{float(wk['ln_f'].max()):.3g}",
        converged=bool((wk["stage"] == DONE).all()),
        stop_reason=reason,
        time=f"{seconds:.3f}",
        sampling_time=f"{st.info.elapsed:.3f}",
        **({} if timing is None else dict(setup_time=f"{timing.setup:.3f}", loop_time=f"{timing.loop:.3f}",
                                          loop_kernel_time=f"{timing.kernels:.3f}")),
        threads=st.info.threads,
        layout=st.info.layout,
        run_length=int(st.cfg["run_length"]),
        windows=st.n_windows,
        windows_from_pool=st.info.windows_from_pool,
        flatness=float(st.cfg["flatness"]),
        attempts=att,
        acceptance=f"{int(wk['accepted'].sum()) / max(att, 1):.4g}",
        couplings_read=int(wk["couplings_read"].sum()),
        E_descent=repr(float(st.info.e_quench)),
        E_min=repr(float(j.E_k[0])),
        E_lowest_known=repr(E_known),
        low_end_missing=bool(E_known < float(j.E_k[0]) - 0.25 * st.info.out_width),
        unestimated_bins=n_miss,
        E_unestimated_min=repr(E_miss),
        jumps_out_of_band=int(wk["out_of_band"].sum()),
        span=repr(float(j.E_k[-1] - j.E_k[0])),
        flat_windows=f"{int(flat.sum())}/{st.n_windows}",
        E_flat_min=repr(e_flat),
        symmetry_error=f"{j.symmetry_error:.4g}",
        symmetry_pairs=j.symmetry_pairs,
        join_error=f"{j.join_error:.4g}",
        exchange_acceptance=(f"{st.exchanges_p[:, 1].sum() / st.exchanges_p[:, 0].sum():.3g}"
                             if st.exchanges_p[:, 0].sum() else "nan"),
        wl_tm_difference=f"{j.wl_tm_difference:.4g}",
        tm_chi2=f"{j.tm_chi2:.4g}",
        estimator=estimator,
        field_drift=f"{max(drift_h, st.info.field_drift):.3g}",
        field_resyncs=st.info.resyncs,
        energy_drift=f"{drift_E:.3g}",
        resumed=resumed,
    )
    return DOS.from_ln_g(j.E_k, j.ln_g_k, N, h)
