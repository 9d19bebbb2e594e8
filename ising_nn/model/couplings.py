"""The layered Ising model of a network: couplings ``J_l`` between consecutive layers of spins.

All couplings live in one flat float32 buffer; each ``J_l`` is a C-contiguous view of shape
``(n_l, n_{l+1})`` (rows = input spins, columns = output spins, as in the authors' files). One buffer makes
the whole-network shuffle a permutation of one array, keeps the memory at one copy of the weights, and
hands the numba kernels plain arrays.

Energy: ``E(s) = - sum_l s_l^T J_l s_{l+1}`` with spins in {-1, +1} and no field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ising_nn.errors import IsingNNError

__all__ = ["Couplings", "Provenance"]


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (float32 BLAS) into zeroed memory: numpy hands BLAS an uninitialised output with beta = 0, and
    stale NaN there must not raise a spurious "invalid value" warning (an error under the test suite)."""
    out = np.zeros(a.shape[:-1] + b.shape[1:], dtype=np.result_type(a, b))
    return np.matmul(a, b, out=out)


@dataclass(frozen=True)
class Provenance:
    """Where a set of couplings came from; written into every output file's header.

    Attributes
    ----------
    model : str
        Model name, path or description (e.g. ``"minilm"``, ``"gpt2"``, ``"/path/to/folder"``).
    family : str
        Architecture family (``"bert"``, ``"gpt2"``, ``"opt"``, ``"bloom"``, ``"vit"``, ``"deit"``,
        ``"beit"``, ``"matrices"``, ...).
    matrices_per_block : int
        Matrices contributed by one block (4 for a transformer block: qkv, proj, fc1, fc2).
    blocks : int or None
        Blocks kept (``None``: all, or not a block structure).
    shuffle : float
        Fraction of couplings shuffled (0 = trained weights).
    shuffle_seed : int or None
        Seed of the shuffle.
    per_layer : bool
        Whether the shuffle stayed within each layer (the authors pool all layers).
    """

    model: str = "matrices"
    family: str = "matrices"
    matrices_per_block: int = 1
    blocks: int | None = None
    shuffle: float = 0.0
    shuffle_seed: int | None = None
    per_layer: bool = False

    def as_header(self) -> dict[str, str]:
        """Key/value pairs for a ``# key: value`` file header."""
        return {f.name: str(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_header(cls, d: dict[str, str]) -> Provenance:
        """Inverse of :meth:`as_header` (unknown keys ignored, missing keys default)."""
        kw: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if f.name in ("matrices_per_block",):
                kw[f.name] = int(v)
            elif f.name in ("blocks", "shuffle_seed"):
                kw[f.name] = None if v in ("None", "") else int(v)
            elif f.name == "shuffle":
                kw[f.name] = float(v)
            elif f.name == "per_layer":
                kw[f.name] = v in ("True", "true", "1")
            else:
                kw[f.name] = v
        return cls(**kw)


@dataclass(frozen=True, eq=False)
class Couplings:
    """Couplings of a layered Ising model.

    Parameters
    ----------
    buffer : ndarray, shape (n_bonds,), float32
        All couplings, layer after layer, each layer row-major ``(n_l, n_{l+1})``.
    layer_sizes : tuple of int, length L + 1
        Spins per layer ``n_0 ... n_L``.
    provenance : Provenance
        Where the couplings came from.

    Use :meth:`from_matrices` to build one from a list of matrices.
    """

    buffer: np.ndarray
    layer_sizes: tuple[int, ...]
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        sizes = tuple(int(n) for n in self.layer_sizes)
        object.__setattr__(self, "layer_sizes", sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise IsingNNError(f"layer sizes must be at least two positive integers, got {sizes}")
        buf = self.buffer
        if not (isinstance(buf, np.ndarray) and buf.dtype == np.float32 and buf.ndim == 1):
            raise IsingNNError("couplings buffer must be a 1-D float32 array")
        if not buf.flags.c_contiguous:
            raise IsingNNError("couplings buffer must be C-contiguous")
        expected = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        if buf.size != expected:
            raise IsingNNError(
                f"couplings buffer holds {buf.size} values but layer sizes {sizes} need {expected}"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def allocate(cls, layer_sizes: Sequence[int], provenance: Provenance | None = None) -> Couplings:
        """Zero couplings for ``layer_sizes``; fill ``J`` views in place (one copy of the weights)."""
        sizes = tuple(int(n) for n in layer_sizes)
        n = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        return cls(np.zeros(n, dtype=np.float32), sizes, provenance or Provenance())

    @classmethod
    def from_matrices(
        cls, J_l: Sequence[np.ndarray], provenance: Provenance | None = None
    ) -> Couplings:
        """Build from matrices ``J_l`` of shape ``(n_l, n_{l+1})``; validates shapes and values."""
        mats = list(J_l)
        if not mats:
            raise IsingNNError("need at least one coupling matrix, got none")
        for l, m in enumerate(mats):
            if getattr(m, "ndim", None) != 2:
                raise IsingNNError(
                    f"matrix {l} must be 2-D (rows = input spins, columns = output spins), "
                    f"got shape {getattr(m, 'shape', None)}"
                )
        for l in range(len(mats) - 1):
            if mats[l].shape[1] != mats[l + 1].shape[0]:
                raise IsingNNError(
                    f"matrix shapes do not chain: matrix {l} has shape {mats[l].shape} and matrix {l + 1} "
                    f"has shape {mats[l + 1].shape}; the columns of one must equal the rows of the next"
                )
        sizes = [mats[0].shape[0]] + [m.shape[1] for m in mats]
        out = cls.allocate(sizes, provenance)
        for l, (view, m) in enumerate(zip(out.J, mats)):
            view[...] = m
            check_finite(view, f"matrix {l}")
        return out

    # ------------------------------------------------------------------ shape facts
    @property
    def n_layers(self) -> int:
        """Number of coupling matrices L (there are L + 1 layers of spins)."""
        return len(self.layer_sizes) - 1

    @property
    def n_blocks(self) -> int:
        """Number of whole blocks (matrices / matrices_per_block)."""
        return self.n_layers // self.provenance.matrices_per_block

    @property
    def n_spins(self) -> int:
        return int(sum(self.layer_sizes))

    @property
    def n_bonds(self) -> int:
        return int(self.buffer.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the couplings, in bytes."""
        return int(self.buffer.nbytes)

    @property
    def sum_J2(self) -> float:
        """sum_ij J_ij^2 in float64 (in chunks: no float64 copy of the whole buffer). It sets the scale of the
        thermodynamics: the variance of E over random spins, and the high-temperature limit U = -beta sum J^2."""
        total = 0.0
        for i in range(0, self.buffer.size, 1 << 24):
            x = self.buffer[i : i + (1 << 24)].astype(np.float64)
            total += float(x @ x)
        return total

    @property
    def bond_offsets(self) -> np.ndarray:
        """int64, shape (L + 1,): start of ``J_l`` in :attr:`buffer`; last entry = n_bonds."""
        s = np.asarray(self.layer_sizes, dtype=np.int64)
        return np.concatenate([[0], np.cumsum(s[:-1] * s[1:])]).astype(np.int64)

    @property
    def spin_offsets(self) -> np.ndarray:
        """int64, shape (L + 2,): start of layer l in a flat spin vector; last entry = n_spins."""
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    @property
    def sizes_array(self) -> np.ndarray:
        """int64, shape (L + 1,): layer sizes as an array for kernels."""
        return np.asarray(self.layer_sizes, dtype=np.int64)

    @property
    def J(self) -> tuple[np.ndarray, ...]:
        """Views ``J_l`` of shape ``(n_l, n_{l+1})`` into :attr:`buffer` (writable, no copy)."""
        off = self.bond_offsets
        s = self.layer_sizes
        return tuple(
            self.buffer[off[l] : off[l + 1]].reshape(s[l], s[l + 1]) for l in range(self.n_layers)
        )

    def replace(self, buffer: np.ndarray | None = None, layer_sizes=None, **provenance_changes) -> Couplings:
        """New couplings with some fields changed (provenance fields by keyword)."""
        prov = dataclasses.replace(self.provenance, **provenance_changes)
        return Couplings(
            self.buffer if buffer is None else buffer,
            self.layer_sizes if layer_sizes is None else tuple(layer_sizes),
            prov,
        )

    # ------------------------------------------------------------------ physics
    def split(self, s: np.ndarray) -> list[np.ndarray]:
        """Views of a flat spin vector (or batch ``(B, N)``) per layer."""
        off = self.spin_offsets
        return [s[..., off[l] : off[l + 1]] for l in range(len(self.layer_sizes))]

    def _check_spins(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s)
        if s.shape[-1] != self.n_spins or s.ndim not in (1, 2):
            raise IsingNNError(
                f"spins must have shape ({self.n_spins},) or (batch, {self.n_spins}), got {s.shape}"
            )
        return s

    def energy(self, s: np.ndarray) -> float | np.ndarray:
        """Energy ``E = - sum_l s_l^T J_l s_{l+1}``.

        Parameters
        ----------
        s : ndarray, shape (N,) or (B, N)
            Spins in {-1, +1} (any numeric dtype).

        Returns
        -------
        float or ndarray of shape (B,), float64
        """
        s = self._check_spins(s)
        layers = self.split(s.astype(np.float32, copy=False))
        e = np.zeros(s.shape[:-1], dtype=np.float64)
        for l, J in enumerate(self.J):
            # float32 BLAS products (no float64 copy of 1e9 couplings); the sum over a layer in float64.
            t = _product(layers[l], J)
            e -= np.einsum("...j,...j->...", t.astype(np.float64), layers[l + 1].astype(np.float64))
        return float(e) if s.ndim == 1 else e

    def local_fields(self, s: np.ndarray) -> np.ndarray:
        """Local fields ``h_i = dE/d(-s_i)``: flipping spin i changes the energy by ``2 s_i h_i``.

        Parameters
        ----------
        s : ndarray, shape (N,) or (B, N)

        Returns
        -------
        ndarray, same shape as ``s``, float64
        """
        s = self._check_spins(s)
        layers = self.split(s.astype(np.float32, copy=False))
        h = np.zeros(s.shape, dtype=np.float64)
        hl = self.split(h)
        for l, J in enumerate(self.J):
            hl[l] += _product(layers[l + 1], J.T)
            hl[l + 1] += _product(layers[l], J)
        return h

    def weight_stats(self) -> WeightStats:
        """Summary statistics of the couplings (float64 accumulation, chunked)."""
        return WeightStats.of(self.buffer)


@dataclass(frozen=True)
class WeightStats:
    """Mean, standard deviation, extremes and mean absolute value of the couplings."""

    mean: float
    std: float
    min: float
    max: float
    mean_abs: float

    @classmethod
    def of(cls, x: np.ndarray, chunk: int = 1 << 24) -> WeightStats:
        n = x.size
        s = s2 = sa = 0.0
        lo, hi = np.inf, -np.inf
        for i in range(0, n, chunk):
            c = x[i : i + chunk].astype(np.float64)
            s += c.sum()
            s2 += (c * c).sum()
            sa += np.abs(c).sum()
            lo = min(lo, float(c.min()))
            hi = max(hi, float(c.max()))
        mean = s / n
        return cls(mean, float(np.sqrt(max(s2 / n - mean * mean, 0.0))), lo, hi, sa / n)


def check_finite(a: np.ndarray, what: str) -> None:
    """Raise :class:`IsingNNError` if ``a`` holds NaN or Inf."""
    if not np.isfinite(a).all():
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise IsingNNError(f"{what} holds {bad} NaN or Inf value(s); couplings must be finite")
