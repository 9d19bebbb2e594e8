"""Replica exchange between neighbouring rungs of a temperature ladder (Swendsen and Wang 1986; Hukushima
and Nemoto 1996): the configurations at ``beta_k`` and ``beta_{k+1}`` swap with probability
``min(1, exp((beta_{k+1} - beta_k) (E_{k+1} - E_k)))``, even pairs on even sweeps and odd pairs on odd ones."""

from __future__ import annotations

import numpy as np

__all__ = ["exchange"]


def exchange(beta_k: np.ndarray, slot_k: np.ndarray, E_r: np.ndarray, parity: int, rng: np.random.Generator,
             accepted_k: np.ndarray, attempted_k: np.ndarray) -> None:
    """One round of swaps on one ladder, in place.

    Parameters
    ----------
    beta_k : ndarray, shape (K,)
        Inverse temperatures of the rungs.
    slot_k : ndarray of int, shape (K,)
        Replica (slot) holding rung k's configuration; permuted in place.
    E_r : ndarray, shape (R,)
        Energy of every slot.
    parity : int
        0: pairs (0, 1), (2, 3), ...; 1: pairs (1, 2), (3, 4), ...
    rng : numpy Generator
    accepted_k, attempted_k : ndarray of int, shape (K - 1,)
        Counters of pair (k, k+1), incremented in place.
    """
    k = np.arange(parity, len(beta_k) - 1, 2)
    if k.size == 0:
        return
    a, b = slot_k[k], slot_k[k + 1]
    log_p = (beta_k[k + 1] - beta_k[k]) * (E_r[b] - E_r[a])
    ok = np.log(rng.random(k.size)) < log_p
    attempted_k[k] += 1
    accepted_k[k[ok]] += 1
    slot_k[k[ok]], slot_k[k[ok] + 1] = b[ok], a[ok]
