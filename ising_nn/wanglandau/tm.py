"""Transition-matrix (broad-histogram) estimate of ln g from the proposals counted during Wang-Landau.

A proposal flips a uniformly random spin: an infinite-temperature move, whose probability to go from a state
in bin I to one in bin J, averaged over the states of bin I, is ``T(I -> J)``. Every state-to-state move is
as likely as its reverse, so ``g(I) T(I -> J) = g(J) T(J -> I)`` exactly. A flat-histogram walk visits the
states of a bin uniformly (its weight is constant within a bin), so the proposals ``C(I -> J)`` counted in
bin I estimate ``T(I -> J) = C(I -> J) / n_I``, whatever the current ln g of the walk. Each pair of bins then
gives ``ln g(J) - ln g(I) = ln T(I -> J) - ln T(J -> I)``; a weighted least-squares fit over all pairs
(weights from Poisson counts) gives ln g on every bin in one go: no window joining, and every window's
proposals beyond its own edges tie it to its neighbours.

The symmetry g(E) = g(-E) holds move by move (the mirror map, flipping every odd layer, commutes with
flipping one spin), so ``T(I -> J) = T(m(I) -> m(J))``: a symmetric fit maps every bin to its representative
in E <= 0 and uses all counts. The unsymmetrised fit gives the symmetry error as a diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

__all__ = ["TMFit", "global_counts", "tm_fit"]


@dataclass(frozen=True)
class TMFit:
    """ln g on bins ``k`` (global indices, increasing), up to a constant.

    Attributes
    ----------
    k : ndarray, shape (K,), int64
    ln_g : ndarray, shape (K,)
    chi2 : float
        Weighted mean squared residual per pair (1 for independent Poisson counts; larger when the walk's
        correlations inflate the variance).
    dropped : int
        Bins with proposals that were not connected to the main component.
    """

    k: np.ndarray
    ln_g: np.ndarray
    chi2: float
    dropped: int


def global_counts(counts_bd: np.ndarray, walker_w: np.ndarray, bin_off_w: np.ndarray,
                  band: int) -> tuple[int, np.ndarray]:
    """Sum the windows' proposal counts onto the global bins: ``(k_min, C)`` with C float64 (G, 2 D + 1)."""
    nd = 2 * band + 1
    b0 = walker_w["bin0"]
    k_min = int(b0.min())
    k_max = int((b0 + walker_w["hi"]).max())
    C = np.zeros((k_max - k_min + 1, nd))
    for w in range(walker_w.shape[0]):
        n_w = int(bin_off_w[w + 1] - bin_off_w[w])
        rows = counts_bd[bin_off_w[w] * nd : bin_off_w[w + 1] * nd].reshape(n_w, nd)
        a = int(b0[w]) - k_min
        C[a : a + n_w] += rows
    return k_min, C


def tm_fit(k_min: int, C: np.ndarray, band: int, mirror_align: int | None = None) -> TMFit:
    """Weighted least-squares ln g from proposal counts ``C`` (see the module docstring).

    Parameters
    ----------
    k_min : int
        Global index of row 0 of ``C``.
    C : ndarray, shape (G, 2 D + 1)
        ``C[I, D + d]``: proposals from bin ``k_min + I`` to bin ``k_min + I + d``.
    band : int
        D.
    mirror_align : int or None
        If given (the grid alignment, 0 or 1), fold bins onto E <= 0 with ``m(k) = -k - align``.
    """
    G = C.shape[0]
    n = C.sum(axis=1)
    ln_n = np.log(np.where(n > 0, n, 1.0))
    src, dst, diff, wt = [], [], [], []
    for d in range(1, band + 1):
        if d >= G:
            break
        cf = C[: G - d, band + d]
        cb = C[d:, band - d]
        ok = (cf > 0) & (cb > 0)
        I = np.flatnonzero(ok)
        cf, cb = cf[ok], cb[ok]
        src.append(I)
        dst.append(I + d)
        diff.append(np.log(cf) - ln_n[I] - np.log(cb) + ln_n[I + d])
        wt.append(1.0 / (1.0 / cf + 1.0 / cb))
    if not src:
        return TMFit(np.zeros(0, np.int64), np.zeros(0), float("nan"), 0)
    src, dst = np.concatenate(src), np.concatenate(dst)
    diff, wt = np.concatenate(diff), np.concatenate(wt)
    k_all = np.arange(G, dtype=np.int64) + k_min
    if mirror_align is not None:
        rep = np.minimum(k_all, -k_all - mirror_align)
    else:
        rep = k_all
    a_k, b_k = rep[src], rep[dst]
    keep = a_k != b_k  # a bin and its own mirror image: no information
    a_k, b_k, diff, wt = a_k[keep], b_k[keep], diff[keep], wt[keep]
    nodes, inv = np.unique(np.concatenate([a_k, b_k]), return_inverse=True)
    a, b = inv[: a_k.size], inv[a_k.size :]
    M = nodes.size
    adj = sp.coo_matrix((np.ones(a.size), (a, b)), shape=(M, M)).tocsr()
    n_comp, lab = connected_components(adj, directed=False)
    main = np.argmax(np.bincount(lab))
    sel = lab == main
    dropped = int((~sel).sum())
    e = sel[a] & sel[b]
    a, b, diff, wt = a[e], b[e], diff[e], wt[e]
    remap = -np.ones(M, dtype=np.int64)
    remap[sel] = np.arange(sel.sum())
    a, b = remap[a], remap[b]
    m = int(sel.sum())
    # normal equations of min sum wt (x_b - x_a - diff)^2, with x_0 = 0 (the constant is free)
    L = sp.coo_matrix(
        (np.concatenate([wt, wt, -wt, -wt]), (np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a]))),
        shape=(m, m),
    ).tocsr()
    r = np.zeros(m)
    np.add.at(r, b, wt * diff)
    np.add.at(r, a, -wt * diff)
    x = np.zeros(m)
    if m > 1:
        x[1:] = spsolve(L[1:, 1:].tocsc(), r[1:])
    res = x[b] - x[a] - diff
    chi2 = float((wt * res * res).sum() / max(res.size - (m - 1), 1))
    return TMFit(nodes[sel], x, chi2, dropped)
