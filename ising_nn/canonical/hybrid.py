"""A density of states from two estimators: MBAR of the canonical engine where its chains are equilibrated,
Wang-Landau below (towards the ground state), g(E) = g(-E) above zero.

Wang-Landau walkers confined to narrow energy windows sample the neighbourhood of the state they entered
with; on trained MiniLM that biased ln g over the range the canonical chains reach (the closing note of
the thermodynamics issue and ``bench/RESULTS.md`` give the figures). Where the canonical chains from a hot
and a cold start agree, MBAR's ln g is the better estimate; below the coldest equilibrated temperature only
Wang-Landau reaches, and its ln g is shifted to join MBAR's where that rung's energies are densest.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from ising_nn.canonical.mbar import MBARSamples, ThermoCurve, mbar_ln_g
from ising_nn.errors import IsingNNError
from ising_nn.results.dos import DOS

__all__ = ["hybrid_dos", "JOIN_SIGMAS", "VALID_SIGMAS"]

#: The join lies this many energy spreads below the coldest equilibrated rung's mean energy: above it MBAR's
#: ln g covers every temperature that rung's samples weigh (its energy distribution is ~Gaussian).
JOIN_SIGMAS = 2.0
#: A temperature's thermodynamics come from MBAR's ln g alone once its mean energy lies this many spreads above
#: the join (the Gaussian tail beyond holds under 1e-3 of the weight).
VALID_SIGMAS = 3.1


def hybrid_dos(wl: DOS, samples: MBARSamples, E_mean: float, sigma: float, curve: ThermoCurve | None = None) -> DOS:
    """Join a Wang-Landau DOS and the canonical engine's MBAR ln g on the Wang-Landau bins.

    Parameters
    ----------
    wl : DOS
        Wang-Landau DOS with uniform bins, symmetric about 0, with ``n_spins``.
    samples : MBARSamples
        The canonical engine's MBAR samples and solution (:attr:`CanonicalResult.samples`).
    E_mean, sigma : float
        Mean total energy and energy standard deviation of the coldest equilibrated rung. Below
        ``E_join = E_mean - JOIN_SIGMAS sigma`` Wang-Landau's ln g is used, shifted so that both estimates put
        the same number of states in ``[E_join, E_join + sigma]`` (at least one bin).
    curve : ThermoCurve, optional
        The engine's MBAR curve: gives ``T_valid``, the lowest temperature from which the canonical energy
        distribution keeps above the join (its mean at least ``VALID_SIGMAS`` spreads above it), so that the
        DOS's thermodynamics there come from MBAR's ln g alone. Just above the coldest equilibrated rung.

    Returns
    -------
    DOS
        Normalised to ``sum g = 2^N``; the header says which estimator gave which energies.
    """
    N = wl.n_spins
    if N is None:
        raise IsingNNError("the Wang-Landau DOS needs n_spins to be joined")
    E_k, lng_k = wl.E_k, wl.ln_g_per_spin_k
    w = wl.bin_width
    if not np.allclose(E_k, -E_k[::-1], atol=1e-6 * w):
        raise IsingNNError("the Wang-Landau DOS must be symmetric about E = 0 (a mirrored run) to be joined")
    edges = np.concatenate([E_k - 0.5 * w, [E_k[-1] + 0.5 * w]])
    E_b, lng_b = mbar_ln_g(samples, N, edges)
    mb = np.full(E_k.size, np.nan)
    mb[np.searchsorted(E_k, E_b - 0.25 * w)] = lng_b
    E_join = E_mean - JOIN_SIGMAS * sigma
    if not np.isfinite(mb).any() or E_join < float(np.min(E_b)):
        E_join = float(np.min(E_b))  # no samples that low: join at the lowest one
    near = (E_k >= E_join) & (E_k <= E_join + max(sigma, w))
    if not (near & np.isfinite(mb)).any():
        raise IsingNNError(f"no MBAR estimate within {max(sigma, w):.4g} above the join energy {E_join:.6g}")
    # match the states the two estimates put in [E_join, E_join + sigma]: a sum over bins, not bin by bin,
    # because in that tail most bins hold one sample or none and a single bin's ln g is mostly noise
    shift = float(logsumexp(N * mb[near & np.isfinite(mb)]) - logsumexp(N * lng_k[near])) / N
    out = lng_k + shift
    use_mbar = (E_k >= E_join) & (E_k <= 0.0) & np.isfinite(mb)
    out[use_mbar] = mb[use_mbar]
    neg = E_k <= 0.0
    out[~neg] = out[::-1][~neg]  # the grid is symmetric: E_k[i] = -E_k[K-1-i]
    lng = N * out
    lng += N * math.log(2.0) - float(logsumexp(lng))
    header = dict(wl.header)
    header.update(
        ln_g_source=(f"E/N < {E_join / N:.4f}: Wang-Landau shifted by {shift * N:.4f} (ln g) to join; "
                     f"{E_join / N:.4f} <= E/N <= 0: MBAR of the canonical engine ({int(use_mbar.sum())} bins); "
                     "E > 0: mirrored, g(E) = g(-E)"),
        E_join=f"{E_join:.4f}", ln_g_join_shift=f"{shift * N:.4f}", mbar_bins=int(use_mbar.sum()),
    )
    if curve is not None:
        spread = curve.T_t * np.sqrt(N * curve.C_t)
        ok = N * curve.U_t - E_join >= VALID_SIGMAS * spread
        bad = np.flatnonzero(~ok)
        if not ok[-1]:
            header["T_valid"] = "none"
        else:
            header["T_valid"] = f"{curve.T_t[bad[-1] + 1] if bad.size else curve.T_t[0]:.4f}"
    return DOS(E_k, lng / N, N, header)
