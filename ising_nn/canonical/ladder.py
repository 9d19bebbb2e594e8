"""Temperature ladders for replica exchange, placed so that neighbouring rungs swap often enough.

For two rungs whose energy distributions are Gaussian with spread ``sigma``, a swap is accepted with
probability ``erfc(d_beta sigma / (2 sqrt 2))`` on average (Kofke, J. Chem. Phys. 117, 6911 (2002)); the
ladder steps ``d_beta = 2 sqrt(2) erfcinv(a) / sigma(beta)`` from ``beta = 0`` (exactly sampled: independent
uniform spins) up to the coldest rung, with ``sigma(beta)`` interpolated from a short pilot run. Measured
spreads at every rung re-place it, and measured acceptances insert rungs where a pair still swaps too
rarely (:func:`refine_ladder`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcinv

__all__ = ["place_ladder", "refine_ladder", "STEP_ACCEPTANCE", "MIN_ACCEPTANCE"]

#: Acceptance the placement aims at (above the minimum, so that a rough pilot still meets it).
STEP_ACCEPTANCE = 0.3
#: Every neighbouring pair must swap at least this often; lower pairs get a rung inserted between them.
MIN_ACCEPTANCE = 0.20


def place_ladder(beta_p: np.ndarray, sigma_p: np.ndarray, beta_max: float,
                 acceptance: float = STEP_ACCEPTANCE, max_rungs: int = 4096) -> np.ndarray:
    """Inverse temperatures from 0 to ``beta_max`` (ascending) for a target swap acceptance.

    Parameters
    ----------
    beta_p : ndarray, shape (P,)
        Inverse temperatures of the pilot, ascending, ``beta_p[0] == 0``.
    sigma_p : ndarray, shape (P,)
        Energy standard deviation measured at each (total energy, not per spin).
    beta_max : float
        The coldest rung.
    acceptance : float
        Target mean swap acceptance of neighbouring rungs, in (0, 1).

    Returns
    -------
    beta_k : ndarray, shape (K,)
        Ascending, ``beta_k[0] == 0`` and ``beta_k[-1] == beta_max``.
    """
    beta_p = np.asarray(beta_p, dtype=np.float64)
    sigma_p = np.maximum(np.asarray(sigma_p, dtype=np.float64), 1e-300)
    step = 2.0 * math.sqrt(2.0) * float(erfcinv(acceptance))

    def sigma(b: float) -> float:
        return float(np.interp(b, beta_p, sigma_p))

    out = [0.0]
    while out[-1] < beta_max:
        b = out[-1]
        d = step / sigma(b)
        d = step / sigma(b + 0.5 * d)  # midpoint: sigma changes across the step
        if b + d >= beta_max * (1 - 1e-9) or len(out) >= max_rungs - 1:
            break
        out.append(b + d)
    if out[-1] < beta_max:
        out.append(float(beta_max))
    return np.asarray(out)


def refine_ladder(beta_k: np.ndarray, accepted_k: np.ndarray, minimum: float = MIN_ACCEPTANCE) -> np.ndarray:
    """Insert a rung midway between every neighbouring pair whose measured acceptance is below ``minimum``.

    ``accepted_k[k]`` is the acceptance of the pair ``(k, k+1)``; returns the new ascending ladder (unchanged
    if every pair passes).
    """
    beta_k = np.asarray(beta_k, dtype=np.float64)
    low = np.flatnonzero(np.asarray(accepted_k) < minimum)
    if low.size == 0:
        return beta_k
    mids = 0.5 * (beta_k[low] + beta_k[low + 1])
    return np.sort(np.concatenate([beta_k, mids]))
