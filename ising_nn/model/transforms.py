"""Seeded transformations of couplings: the first k blocks, and shuffles of a fraction f of the couplings.

The authors' shuffle swaps every coupling with one at a uniformly random position anywhere in the network,
several times over: in effect a uniform permutation of all couplings pooled. ``shuffle(c, 1.0)`` draws that
permutation directly (Fisher-Yates on the flat buffer, in place on a copy). ``shuffle(c, f)`` picks each
coupling independently with probability f and permutes the values among the picked positions, so about a
fraction f of the couplings move and the multiset of values is kept exactly.
"""

from __future__ import annotations

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings

__all__ = ["first_blocks", "shuffle"]

_CHUNK = 1 << 24  # positions drawn per chunk: bounds the memory of the Bernoulli mask


def first_blocks(c: Couplings, k: int) -> Couplings:
    """Couplings of the first ``k`` blocks (a view, no copy).

    Parameters
    ----------
    c : Couplings
    k : int
        Blocks to keep, ``1 <= k <= c.n_blocks``.
    """
    L = c.n_blocks
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= L:
        raise IsingNNError(f"--blocks must be an integer from 1 to {L} (the model's blocks), got {k!r}")
    k = int(k)
    m = k * c.provenance.matrices_per_block
    end = int(c.bond_offsets[m])
    return c.replace(buffer=c.buffer[:end], layer_sizes=c.layer_sizes[: m + 1], blocks=k)


def _check_fraction(f) -> float:
    try:
        f = float(f)
    except (TypeError, ValueError):
        raise IsingNNError(f"shuffle fraction must be a number in [0, 1], got {f!r}") from None
    if not 0.0 <= f <= 1.0:
        raise IsingNNError(f"shuffle fraction must be in [0, 1], got {f}")
    return f


def _shuffle_inplace(x: np.ndarray, f: float, rng: np.random.Generator) -> None:
    if f == 0.0 or x.size < 2:
        return
    if f == 1.0:
        rng.shuffle(x)
        return
    idx = np.concatenate(
        [np.flatnonzero(rng.random(min(_CHUNK, x.size - i)) < f) + i for i in range(0, x.size, _CHUNK)]
    )
    vals = x[idx]
    rng.shuffle(vals)
    x[idx] = vals


def shuffle(c: Couplings, fraction: float = 1.0, seed: int | None = 0, per_layer: bool = False) -> Couplings:
    """Shuffle a fraction of the couplings; returns new couplings (the input is not changed).

    Parameters
    ----------
    c : Couplings
    fraction : float in [0, 1]
        0 returns an identical copy; 1 is a uniform permutation of all couplings.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same result.
    per_layer : bool
        Permute within each matrix ``J_l`` instead of across the whole network.
    """
    f = _check_fraction(fraction)
    rng = np.random.default_rng(seed)
    out = c.replace(buffer=c.buffer.copy(), shuffle=f, shuffle_seed=seed, per_layer=bool(per_layer))
    if per_layer:
        off = out.bond_offsets
        for l in range(out.n_layers):
            _shuffle_inplace(out.buffer[off[l] : off[l + 1]], f, rng)
    else:
        _shuffle_inplace(out.buffer, f, rng)
    return out
