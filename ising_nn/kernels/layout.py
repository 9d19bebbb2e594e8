"""Where the Wang-Landau kernels find a spin's couplings: two layouts of the same numbers.

A flip of spin ``g`` (index ``i`` in layer ``l``) reads its *down* row ``J_{l-1}[:, i]`` (``n_{l-1}`` floats,
added to the fields of layer ``l - 1``) and its *up* row ``J_l[i, :]`` (``n_{l+1}`` floats, added to the
fields of layer ``l + 1``). The kernels address them as ``down[down_start:]`` and ``up[up_start:]``, the starts
from a table of four numbers per layer (``table[l] = up_base, up_stride, down_base, down_stride``; the start
of spin ``i`` of layer ``l`` is ``base + i * stride``, computed rather than looked up: a per-spin table is one
more random load per attempt), so they run unchanged on either layout:

- ``"rows"``: ``up`` is the couplings' own buffer and ``down`` its transposed copy
  (:func:`ising_nn.kernels.copies.transposed`): one extra copy of the couplings, two reads at
  unrelated places per flip.
- ``"records"``: one array holding, spin after spin, ``[down row, up row]``; ``up`` and ``down`` are the same
  array. Each flip then reads one contiguous block (4 KiB on MiniLM) instead of two, which the hardware
  prefetcher follows as one stream (``make bench`` measures both layouts). The price is memory: the
  records are two copies of the couplings, kept besides the buffer (three in all, against two).

The numbers are the same in both, and so is the order of every floating-point operation, hence the same walk
bit for bit (tested). ``"auto"`` takes the records when they fit in :data:`RECORDS_MEMORY_FRACTION` of the
machine's memory (MiniLM and GPT-2 sizes; not opt-1.3b's 8 GB on a 24 GB machine).
"""

from __future__ import annotations

import os

import numba as nb
import numpy as np

from ising_nn.kernels.fields import _add_row
from ising_nn.kernels.prefetch import prefetch

__all__ = ["LAYOUTS", "RECORDS_MEMORY_FRACTION", "choose_layout", "row_table", "build_records", "spin_starts",
           "flip_layout"]

LAYOUTS = ("auto", "rows", "records")
#: ``"auto"`` uses the records when their bytes (8 per bond) are at most this fraction of physical memory.
RECORDS_MEMORY_FRACTION = 0.25


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): assume a modest machine
        return 8.0 * 2**30


def choose_layout(layout: str, n_bonds: int) -> str:
    """``"rows"`` or ``"records"`` for ``layout`` in :data:`LAYOUTS` (``"auto"``: see the module docstring)."""
    from ising_nn.errors import IsingNNError

    if layout not in LAYOUTS:
        raise IsingNNError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")
    if layout != "auto":
        return layout
    return "records" if 8.0 * n_bonds <= RECORDS_MEMORY_FRACTION * _physical_memory() else "rows"


def _neighbours(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # int64 (L + 1,) each: the length of a spin's down row and up row, per layer
    n = np.asarray(sizes, np.int64)
    return np.concatenate([[0], n[:-1]]), np.concatenate([n[1:], [0]])


def row_table(sizes: np.ndarray, bond_off: np.ndarray) -> np.ndarray:
    """The ``"rows"`` layout's table (int64, shape (L + 1, 4)): rows of the buffer (up) and of its transpose (down).

    Spin ``i`` of layer ``l`` starts at ``bond_off[l] + i n_{l+1}`` (row ``i`` of ``J_l``) and at
    ``bond_off[l-1] + i n_{l-1}`` (row ``i`` of ``J_{l-1}^T``); a missing row starts at 0 with stride 0.
    """
    bond_off = np.asarray(bond_off, np.int64)
    dn, up = _neighbours(sizes)
    L1 = dn.size
    table = np.zeros((L1, 4), np.int64)
    table[:-1, 0] = bond_off[:-1]
    table[:, 1] = up
    table[1:, 2] = bond_off[:-1]
    table[:, 3] = dn
    return table


def build_records(buffer: np.ndarray, sizes: np.ndarray, bond_off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``"records"`` layout: every spin's down row then up row, spin after spin, in one array.

    Parameters
    ----------
    buffer : ndarray, shape (n_bonds,), float32
    sizes, bond_off : int64 arrays (see :mod:`ising_nn.kernels.fields`)

    Returns
    -------
    R : ndarray, shape (2 n_bonds,), float32
    table : ndarray, shape (L + 1, 4), int64
        Spin ``i`` of layer ``l``: its record starts at ``table[l, 2] + i * table[l, 3]`` (down row first),
        its up row at ``table[l, 0] + i * table[l, 1]``.
    """
    sizes, bond_off = (np.asarray(x, np.int64) for x in (sizes, bond_off))
    buffer = np.asarray(buffer, np.float32)
    dn, up = _neighbours(sizes)
    rec = sizes * (dn + up)  # floats per layer
    first = np.zeros(sizes.size, np.int64)
    np.cumsum(rec[:-1], out=first[1:])
    table = np.stack([first + dn, dn + up, first, dn + up], axis=1).astype(np.int64)
    R = np.empty(int(rec.sum()), np.float32)
    for l, n in enumerate(sizes):
        # numpy's strided copies: 0.04 s for MiniLM, against 0.15 s for a tiled numba loop (measured)
        R_l = R[first[l] : first[l] + rec[l]].reshape(n, dn[l] + up[l])
        if dn[l]:  # the columns of J_{l-1}
            R_l[:, : dn[l]] = buffer[bond_off[l - 1] : bond_off[l]].reshape(dn[l], n).T
        if up[l]:  # the rows of J_l
            R_l[:, dn[l] :] = buffer[bond_off[l] : bond_off[l + 1]].reshape(n, up[l])
    return R, table


def spin_starts(table: np.ndarray, spin_off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``up_start, down_start`` (int64, shape (N,)) of every spin from a layout's ``table``."""
    spin_off = np.asarray(spin_off, np.int64)
    layer = np.repeat(np.arange(table.shape[0]), np.diff(spin_off))
    i = np.arange(spin_off[-1]) - spin_off[layer]
    return table[layer, 0] + i * table[layer, 1], table[layer, 2] + i * table[layer, 3]


@nb.njit(cache=True, inline="always")
def _add_spin(g, l, delta, up, down, table, sizes, spin_off, h):
    # The field update of a flip of spin g in layer l (delta = s_new - s_old = +-2, so each product is exact
    # and each field update one rounding, as in ising_nn.kernels.fields._add_rows). The down row first: in the
    # records layout the two rows are then read in address order.
    i = g - spin_off[l]
    if l > 0:
        _add_row(h, spin_off[l - 1], down, table[l, 2] + i * table[l, 3], sizes[l - 1], delta)
    if l < sizes.shape[0] - 1:
        _add_row(h, spin_off[l + 1], up, table[l, 0] + i * table[l, 1], sizes[l + 1], delta)


@nb.njit(cache=True, inline="always")
def _pending_coupling(g, l, p, lp, delta, up, down, table, spin_off):
    """The change :func:`_add_spin` will make to ``h[g]`` (layer ``l``) for the flip of spin ``p`` (layer
    ``lp``): ``delta`` times their one coupling, or 0 when the layers are not adjacent. ``h[g]`` plus this
    rounds exactly as the update itself (``delta * J`` is exact)."""
    if l == lp + 1:
        return delta * up[table[lp, 0] + (p - spin_off[lp]) * table[lp, 1] + (g - spin_off[l])]
    if l == lp - 1:
        return delta * down[table[lp, 2] + (p - spin_off[lp]) * table[lp, 3] + (g - spin_off[l])]
    return 0.0


@nb.njit(cache=True, inline="always")
def _reads_base(g, l, table, sizes, spin_off):
    # What the flip of spin g (layer l) reads, its down row then its up row, taken as one sequence of
    # n_{l-1} + n_{l+1} floats (one contiguous record in the "records" layout): float q is down[rd + q] for
    # q < n_down, else up[ru + q]. Returns n_down, rd, ru.
    i = g - spin_off[l]
    n_down = sizes[l - 1] if l > 0 else 0
    return n_down, table[l, 2] + i * table[l, 3], table[l, 0] + i * table[l, 1] - n_down


@nb.njit(cache=True, inline="always")
def _prefetch_reads(g, l, q0, q1, up, down, table, sizes, spin_off):
    # floats q0 .. q1 - 1 of the flip's reads (see _reads_base), a prefetch every 16 floats (a 64-byte cache
    # line); q1 <= n_{l-1} + n_{l+1}
    n_down, rd, ru = _reads_base(g, l, table, sizes, spin_off)
    for q in range(q0, q1, 16):
        if q < n_down:
            prefetch(down, rd + q)
        else:
            prefetch(up, ru + q)


@nb.njit(cache=True)
def read_positions(g, q0, q1, layer_idx, up, down, table, sizes, spin_off, out):
    """The couplings at the places :func:`_prefetch_reads` prefetches for spin ``g``: a test hook.

    Writes ``out[m]`` = float ``q0 + 16 m`` of the flip's reads (its down row, then its up row) through the
    same addressing, so that a test can check it against the rows themselves; returns how many were written.
    """
    n_down, rd, ru = _reads_base(g, layer_idx[g], table, sizes, spin_off)
    m = 0
    for q in range(q0, q1, 16):
        out[m] = down[rd + q] if q < n_down else up[ru + q]
        m += 1
    return m


@nb.njit(cache=True)
def flip_layout(g, layer_idx, up, down, table, sizes, spin_off, s, h):
    """Flip spin ``g`` and update its neighbours' fields through either layout; return ``dE = 2 s_g h_g``."""
    l = layer_idx[g]
    s_old = s[g]
    dE = 2.0 * s_old * h[g]
    s[g] = -s_old
    _add_spin(g, l, -2.0 * s_old, up, down, table, sizes, spin_off, h)
    return dE
