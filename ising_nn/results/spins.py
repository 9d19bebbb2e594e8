"""Spin configurations on disk: a low-energy state found by ``ising-nn quench`` handed to ``ising-nn dos``.

A Wang-Landau run lays out its energy range from the lowest state its own greedy descents find; an annealed
state lies lower, and a run started from it (``start_spins``) reaches lower energies. The file carries the state,
its energy and where it came from, so that ``dos`` can refuse a state saved from other couplings. The figure
pipeline keeps one beside every cached ground-state search and starts its Wang-Landau runs from it
(:func:`ising_nn.paper.dos.cached_dos`).

Format: ``.npz`` (compressed) with ``spins`` (int8, shape (N,), values +-1) and ``header`` (a JSON string:
model, n_spins, energy, method, seed, version, the couplings' provenance).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ising_nn._version import __version__
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.textfile import atomic_path

__all__ = ["SavedSpins", "save_spins", "load_spins", "check_spins_match"]


@dataclass(frozen=True)
class SavedSpins:
    """A configuration read by :func:`load_spins`: ``spins`` int8 (N,) and its ``header`` (str -> str)."""

    spins: np.ndarray
    header: dict[str, str]

    @property
    def energy(self) -> float:
        return float(self.header["energy"])


def save_spins(path: str | os.PathLike, spins: np.ndarray, c: Couplings, energy: float, **fields) -> Path:
    """Write ``spins`` (shape (N,), +-1) of couplings ``c`` with energy ``energy`` to ``path`` (.npz), atomically.

    ``fields`` (method, seed, ...) join the header besides model, n_spins, energy, version and provenance.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise IsingNNError(f"a spins file must end in .npz, got {str(path)!r}")
    s = np.asarray(spins)
    if s.shape != (c.n_spins,) or not np.isin(s, (-1, 1)).all():
        raise IsingNNError(f"spins must be {c.n_spins} values in {{-1, +1}}, got shape {s.shape}")
    header = {"model": c.provenance.model, "n_spins": str(c.n_spins), "energy": repr(float(energy)),
              "version": __version__, **{k: str(v) for k, v in fields.items()},
              **{f"couplings_{k}": v for k, v in c.provenance.as_header().items()}}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, spins=s.astype(np.int8), header=np.array(json.dumps(header)))
    return path


def load_spins(path: str | os.PathLike) -> SavedSpins:
    """Read a file written by :func:`save_spins` (or ``ising-nn quench --save-spins``)."""
    path = Path(path)
    if not path.is_file():
        raise IsingNNError(f"spins file {str(path)!r} not found (write one with `ising-nn quench --save-spins`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            spins, header = z["spins"], json.loads(str(z["header"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise IsingNNError(f"{str(path)!r} is not a spins file of `ising-nn quench --save-spins` "
                           f"(.npz with 'spins' and 'header'): {exc}") from None
    try:
        float(header["energy"])
        ok = spins.ndim == 1 and bool(np.isin(spins, (-1, 1)).all())
    except (TypeError, KeyError, ValueError):
        ok = False
    if not ok:
        raise IsingNNError(f"{str(path)!r}: 'spins' must be a 1-d array of +-1 and the header must hold the "
                           f"energy, got spins of shape {spins.shape}")
    return SavedSpins(spins.astype(np.int8), {k: str(v) for k, v in header.items()})


def check_spins_match(saved: SavedSpins, c: Couplings, where: str) -> np.ndarray:
    """``saved.spins`` if they belong to couplings ``c`` (same N, same energy), else a clear error.

    The energy is recomputed on ``c``: a state saved from other couplings of the same size (the shuffled
    network instead of the trained one, say) has another energy here.
    """
    s = saved.spins
    if s.size != c.n_spins:
        raise IsingNNError(f"{where} holds {s.size} spins (model {saved.header.get('model')!r}), but these "
                           f"couplings have {c.n_spins}")
    E = float(c.energy(s))
    # float32 products here, float64 sums in the quench: agreement to ~1e-7 relative; other couplings
    # of the same size give an energy off by O(1) relative
    if abs(E - saved.energy) > 1e-5 * max(1.0, abs(saved.energy)):
        raise IsingNNError(f"{where}: these spins have energy {E:.6g} on these couplings but were saved with "
                           f"{saved.energy:.6g}: they come from other couplings (saved from model "
                           f"{saved.header.get('model')!r}, shuffle {saved.header.get('couplings_shuffle')})")
    return s
