"""Copies of the couplings that the samplers read: the transposed float32 buffer, bfloat16 copies, records.

They belong to the samplers, not to :class:`~ising_nn.model.couplings.Couplings`, but are kept per couplings
object (as long as it lives) so that a second sampler call on the same network does not rebuild them.
"""

from __future__ import annotations

import weakref

import numpy as np

from ising_nn.kernels.bf16 import round_bf16
from ising_nn.kernels.fields import transpose_buffer

__all__ = ["derived", "transposed", "bf16_copies"]

_KEPT: dict[int, dict] = {}


def derived(c, key: str, build):
    """``build()``, computed once per couplings object ``c`` and key, and kept while ``c`` lives.

    Couplings are meant to be left unchanged once sampled (edit a copy: ``c.replace(buffer=...)``). As a
    guard, 1,024 evenly spaced couplings are compared at every call and everything derived is rebuilt if any
    changed; an edit that misses all of them is not seen.
    """
    kept = _KEPT.get(id(c))
    if kept is None or not np.array_equal(kept["values"], c.buffer[kept["probe"]]):
        if kept is None:
            weakref.finalize(c, _KEPT.pop, id(c), None)
        probe = np.linspace(0, c.buffer.size - 1, min(1024, c.buffer.size)).astype(np.int64)
        kept = _KEPT[id(c)] = {"probe": probe, "values": c.buffer[probe].copy()}
    if key not in kept:
        kept[key] = build()
    return kept[key]


def transposed(c) -> np.ndarray:
    """Every ``J_l^T``, row-major ``(n_{l+1}, n_l)``, in one float32 array at the offsets of ``c.buffer``.

    The samplers read a flipped spin's couplings in both directions from contiguous rows: row ``i`` of
    ``J_l`` in ``c.buffer`` and row ``i`` of ``J_{l-1}^T`` in this copy (Wang-Landau's ``"rows"`` layout;
    its ``"records"`` layout keeps both rows of each spin together instead, :mod:`ising_nn.kernels.layout`).
    It doubles the memory of the couplings.

    Returns
    -------
    bufferT : ndarray, shape (n_bonds,), float32
    """
    return derived(c, "T", lambda: transpose_buffer(c.buffer, c.sizes_array, c.bond_offsets))


def bf16_copies(c) -> tuple[np.ndarray, np.ndarray]:
    """bfloat16 bits (``uint16``) of ``c.buffer`` and of its transpose, for the quick search: half the bytes
    of the float32 rows (the couplings rounded by at most 0.2 %), together the size of one float32 copy.

    Returns
    -------
    b16, b16T : ndarray, shape (n_bonds,), uint16
    """

    def build():
        b16 = round_bf16(c.buffer)
        return b16, transpose_buffer(b16, c.sizes_array, c.bond_offsets)

    return derived(c, "bf16", build)
