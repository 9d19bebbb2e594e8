"""Density-of-states results and their text file.

File format: ``# key: value`` header lines, then whitespace columns ``E ln_g_per_spin`` (E the total energy
at the bin centre, ln g(E) / N in natural log), one row per bin that has states. ``np.loadtxt`` and the
authors' plotting scripts read it as is. The authors' own files have the same two columns and no header
(and, per ``../shared/PAPER.md``, their column 2 looks like a base-10 logarithm).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.results.textfile import atomic_path, format_header, read_header

__all__ = ["DOS", "write_dos", "read_dos"]


@dataclass(frozen=True, eq=False)
class DOS:
    """A density of states on uniform energy bins.

    Attributes
    ----------
    E_k : ndarray, shape (K,), float64
        Total energy at the bin centres, increasing.
    ln_g_per_spin_k : ndarray, shape (K,), float64
        ln g(E_k) / N, natural log; for a file of ours normalised so that ``sum_k g(E_k) = 2^N``.
    n_spins : int or None
        N; ``None`` for a headerless file (the authors'), where only per-spin quantities are known.
    header : dict of str to str
        The file header (model, parameters, seed, version, diagnostics).
    """

    E_k: np.ndarray
    ln_g_per_spin_k: np.ndarray
    n_spins: int | None = None
    header: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        E = np.asarray(self.E_k, dtype=np.float64)
        g = np.asarray(self.ln_g_per_spin_k, dtype=np.float64)
        if E.ndim != 1 or E.shape != g.shape or E.size < 1:
            raise IsingNNError(f"a DOS needs two equal-length 1-D columns, got shapes {E.shape} and {g.shape}")
        if not (np.isfinite(E).all() and np.isfinite(g).all()):
            raise IsingNNError("a DOS must hold finite energies and ln g values")
        order = np.argsort(E, kind="stable")
        object.__setattr__(self, "E_k", E[order])
        object.__setattr__(self, "ln_g_per_spin_k", g[order])

    @classmethod
    def from_ln_g(cls, E_k, ln_g_k, n_spins: int, header: dict[str, str] | None = None) -> DOS:
        """From total ``ln g`` (natural log) and N."""
        return cls(np.asarray(E_k, float), np.asarray(ln_g_k, float) / n_spins, int(n_spins), dict(header or {}))

    @property
    def ln_g_k(self) -> np.ndarray:
        """Total ln g(E_k) (needs N)."""
        if self.n_spins is None:
            raise IsingNNError("this DOS has no n_spins (a headerless file): only per-spin values are known")
        return self.ln_g_per_spin_k * self.n_spins

    @property
    def bin_width(self) -> float:
        if "bin_width" in self.header:
            return float(self.header["bin_width"])
        return float(np.median(np.diff(self.E_k))) if self.E_k.size > 1 else 0.0

    @property
    def E_min(self) -> float:
        return float(self.E_k[0])

    @property
    def E_max(self) -> float:
        return float(self.E_k[-1])

    @property
    def width(self) -> float:
        """``W = E_max - E_min`` over the energy column (the paper's definition)."""
        return self.E_max - self.E_min


def write_dos(dos: DOS, path: str | os.PathLike, header: dict[str, object] | None = None) -> Path:
    """Write ``dos`` to ``path`` atomically: header, then ``E ln_g_per_spin`` rows."""
    fields: dict[str, object] = dict(dos.header)
    if dos.n_spins is not None:
        fields.setdefault("n_spins", dos.n_spins)
    fields.update(header or {})
    fields.setdefault("columns", "E ln_g_per_spin (E: total energy at bin centre; ln g(E)/N, natural log)")
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(format_header(fields))
            np.savetxt(fh, np.column_stack([dos.E_k, dos.ln_g_per_spin_k]), fmt="%.10g")
    return path


def read_dos(path: str | os.PathLike) -> DOS:
    """Read a DOS file of ours or the authors' headerless two-column file."""
    path = Path(path)
    if not path.is_file():
        raise IsingNNError(f"DOS file {str(path)!r} not found")
    try:
        header = read_header(path)
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IsingNNError(f"{str(path)!r} is not a DOS file of two numeric columns E, ln_g_per_spin ({exc})") from None
    if data.shape[0] == 0 or data.shape[1] < 2:
        raise IsingNNError(f"{str(path)!r} needs at least one row of two columns E, ln_g_per_spin")
    n = header.get("n_spins")
    return DOS(data[:, 0], data[:, 1], int(n) if n else None, header)
