"""Ground-state summaries: ``NAME.dat`` (a header with E_0, the search's settings and the inputs, then one
line ``energy n_spins``) with the lowest state's spins beside it in ``NAME.npz``
(:mod:`ising_nn.results.spins`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ising_nn.errors import IsingNNError
from ising_nn.results.spins import save_spins
from ising_nn.results.textfile import atomic_path, format_header, read_header

__all__ = ["QuenchSummary", "write_quench_summary", "spins_beside"]


def spins_beside(summary: str | os.PathLike) -> Path:
    """The spins file of a summary: the same name ending in ``.npz``."""
    return Path(summary).with_suffix(".npz")


@dataclass(frozen=True)
class QuenchSummary:
    """A cached ground-state search (:func:`ising_nn.quench.search.quench` without its spins and traces).

    Attributes
    ----------
    energy, energy_per_spin : float
        Lowest energy found, E_0 and E_0 / N.
    width, width_per_spin : float
        ``2 |E_0|``: the span of realisable energies if E_0 is the ground state, else a lower bound.
    n_spins : int
    method : str
    seed : int
    seconds : float
        Wall time of the search.
    converged : bool
        The configuration is a local minimum by the method's own test.
    model_blocks : int
        Blocks of the whole model.
    path : Path
        The file.
    header : dict
    spins_path : Path or None
        The lowest state's spins (:func:`ising_nn.results.spins.load_spins`), None if the file is not there.
    """

    energy: float
    energy_per_spin: float
    width: float
    width_per_spin: float
    n_spins: int
    method: str
    seed: int
    seconds: float
    converged: bool
    model_blocks: int
    path: Path
    header: dict = field(repr=False)
    spins_path: Path | None = None

    @classmethod
    def read(cls, path: str | os.PathLike) -> QuenchSummary:
        path = Path(path)
        h = read_header(path)
        try:
            E = float(h["energy"])
            n = int(h["n_spins"])
            spins = spins_beside(path)
            return cls(E, E / n, 2 * abs(E), 2 * abs(E) / n, n, h["method"], int(h["seed"]),
                       float(h["seconds"]), h["converged"] == "True", int(h["model_blocks"]), path, h,
                       spins if spins.is_file() else None)
        except (KeyError, ValueError) as exc:
            raise IsingNNError(f"{str(path)!r} is not a quench summary file ({exc})") from None


def write_quench_summary(path: str | os.PathLike, r, c, *, model_blocks: int, **inputs) -> QuenchSummary:
    """Write the search result ``r`` (:class:`~ising_nn.quench.search.QuenchResult`) of couplings ``c`` to
    ``path`` and its spins beside it (the spins first: a summary on disk always has its state beside it)."""
    path = Path(path)
    h = {
        "model": c.provenance.model, "n_spins": c.n_spins, "n_bonds": c.n_bonds, "model_blocks": model_blocks,
        "energy": repr(float(r.energy)), "energy_per_spin": repr(float(r.energy_per_spin)),
        "width": repr(float(r.width)), "method": r.method, "seed": r.seed, "restarts": r.restarts,
        "seconds": f"{r.seconds:.3f}", "converged": bool(r.converged), "stopped_early": bool(r.stopped_early),
        **{k: v for k, v in c.provenance.as_header().items() if k != "model"},
        **inputs,
        "columns": "energy n_spins",
    }
    save_spins(spins_beside(path), r.spins, c, r.energy, method=r.method, seed=r.seed, restarts=r.restarts,
               **{"summary": path.name, **inputs})
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(format_header(h))
            fh.write(f"{float(r.energy)!r} {c.n_spins}\n")
    return QuenchSummary.read(path)
