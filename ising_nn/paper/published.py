"""The paper's published results: the authors' data files and the numbers quoted in ``../shared/PAPER.md``.

The authors' files (``stosicresearch/dnnising``, folder ``paper/``) are reference data: read from a local copy
(``$ISING_NN_PAPER_DATA`` or ``../shared/paper-data``), or downloaded at run time into a cache outside the
repository (never committed). Their DOS files are headerless ``E column2`` with E the total energy; N comes
from the architecture, ``N = (7 L + 1) h``.
"""

from __future__ import annotations

import math
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ising_nn.errors import IsingNNError
from ising_nn.paper.paths import paper_data_dir
from ising_nn.results.dos import DOS, read_dos
from ising_nn.thermo.from_dos import paper_style_heat

__all__ = [
    "PAPER_MODELS", "ARCHITECTURE", "PUBLISHED_TC", "PUBLISHED_WIDTH_PER_SPIN", "PUBLISHED_QUENCH",
    "REPOSITORY", "paper_name", "n_spins", "paper_data", "published_dos", "survey", "FileSurvey", "asymmetry",
    "symmetry_error",
]

REPOSITORY = "stosicresearch/dnnising"
_RAW = "https://raw.githubusercontent.com/" + REPOSITORY + "/{branch}/paper/{path}"

#: Paper name -> (blocks L, width h); the MLP is 4h wide.
ARCHITECTURE: dict[str, tuple[int, int]] = {
    "opt-125m": (12, 768), "gpt2": (12, 768), "bert-base": (12, 768), "vit-base": (12, 768),
    "deit-base": (12, 768), "beit-base": (12, 768), "opt-350m": (24, 1024), "gpt2-medium": (24, 1024),
    "bert-large": (24, 1024), "bloom": (24, 1024), "opt-1.3b": (24, 2048),
}
PAPER_MODELS = tuple(ARCHITECTURE)

# Quoted from ../shared/PAPER.md (published results; compared against, never used as results).
#: Peak temperatures of the published specific-heat figures, (trained, shuffled).
PUBLISHED_TC: dict[str, tuple[float, float]] = {
    "opt-125m": (0.109, 0.031), "opt-350m": (0.046, 0.009), "opt-1.3b": (0.112, 0.013),
    "gpt2": (0.047, 0.038), "gpt2-medium": (0.036, 0.083), "bloom": (0.034, 0.034),
    "bert-base": (0.110, 0.027), "bert-large": (0.100, 0.055), "vit-base": (0.054, 0.018),
    "deit-base": (0.048, 0.040), "beit-base": (0.039, 0.027),
}
#: Widths W/N of the published DOS files, (trained, shuffled).
PUBLISHED_WIDTH_PER_SPIN: dict[str, tuple[float, float]] = {
    "opt-125m": (3.02, 0.97), "opt-350m": (0.88, 0.22), "opt-1.3b": (0.27, 0.09), "gpt2": (6.96, 3.01),
    "gpt2-medium": (0.92, 0.82), "bloom": (0.22, 0.19), "bert-base": (2.74, 0.90), "bert-large": (0.42, 0.25),
    "vit-base": (8.84, 1.89), "deit-base": (0.32, 0.43), "beit-base": (1.13, 0.86),
}
#: The authors' README quench energies (trained, shuffled); None where not given.
PUBLISHED_QUENCH: dict[str, tuple[float, float | None]] = {
    "vit-base": (-609510, -181891), "bert-base": (-225609, -84333), "opt-125m": (-209625, -79749),
    "opt-350m": (-601322, -180562), "opt-1.3b": (-1832284, -317504), "opt-2.7b": (-3041074, None),
}


def n_spins(name: str) -> int:
    """``N = (7 L + 1) h`` of a paper model."""
    L, h = ARCHITECTURE[name]
    return (7 * L + 1) * h


def paper_name(model) -> str | None:
    """The paper's name of a model given by alias or hub id (``facebook/opt-125m`` -> ``opt-125m``)."""
    from ising_nn.model.load import ALIASES

    s = os.fspath(model) if isinstance(model, (str, os.PathLike)) else ""
    if s in ARCHITECTURE:
        return s
    if s == "bloom-560m":
        return "bloom"
    for alias, hub in ALIASES.items():
        if s == hub and alias in ARCHITECTURE:
            return alias
    return None


def _download(dest: Path, names: list[str], timeout: float) -> bool:
    for branch in ("main", "master"):
        try:
            for rel in names:
                target = dest / rel
                if target.is_file():
                    continue
                with urllib.request.urlopen(_RAW.format(branch=branch, path=rel), timeout=timeout) as r:
                    data = r.read()
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".part")
                tmp.write_bytes(data)
                os.replace(tmp, target)
            return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                continue
            return False
        except (urllib.error.URLError, OSError, TimeoutError):
            return False
    return False


def paper_data(
    path: str | os.PathLike | None = None, *, download: bool = True, cache_dir: str | os.PathLike | None = None,
    models=PAPER_MODELS, timeout: float = 10.0,
) -> Path | None:
    """A folder holding the authors' ``dos/<model>[_shuffled].dat`` files, or None (with a printed note).

    ``path`` if it is a folder; with no ``path``, the local copy (:func:`ising_nn.paper.paths.paper_data_dir`);
    else, when ``download``, the files fetched from the authors' repository into ``cache_dir`` (default
    ``~/.cache/ising-nn/paper-data``); None when offline.
    """
    if path is not None:
        if Path(path).is_dir():
            return Path(path)
    else:
        local = paper_data_dir()
        if local is not None:
            return local
    if not download:
        print(f"note: the authors' published files are not here ({path or '../shared/paper-data'}); "
              "skipping the comparison with them")
        return None
    dest = Path(cache_dir or Path.home() / ".cache" / "ising-nn" / "paper-data")
    names = [f"dos/{m}{s}.dat" for m in models for s in ("", "_shuffled")]
    if _download(dest, names, timeout):
        return dest
    print(f"note: the authors' files could not be downloaded from github.com/{REPOSITORY} (offline?); "
          "skipping the comparison with them")
    return None


def published_dos(root: str | os.PathLike, name: str, shuffled: bool = False) -> DOS:
    """An authors' DOS file, with N from the architecture (column 2 kept as published)."""
    if name not in ARCHITECTURE:
        raise IsingNNError(f"{name!r} is not one of the paper's models ({', '.join(PAPER_MODELS)})")
    f = Path(root) / "dos" / f"{name}{'_shuffled' if shuffled else ''}.dat"
    d = read_dos(f)
    return DOS(d.E_k, d.ln_g_per_spin_k, n_spins(name), {"model": name, "source": str(f)})


@dataclass(frozen=True)
class FileSurvey:
    """What the authors' DOS files of one model say, measured from the files."""

    model: str
    W_per_spin_trained: float
    W_per_spin_shuffled: float
    E_min_per_spin: float
    E_max_per_spin: float
    asymmetry: float
    column2_max: float
    Tc_trained: float
    Tc_shuffled: float
    quench_per_spin: float | None


def survey(root: str | os.PathLike, models=PAPER_MODELS) -> pd.DataFrame:
    """Measure every published DOS pair: widths, energy window, asymmetry ``(E_max + E_min) / W`` (0 for
    the exact, symmetric g(E)), the peak of column 2 (log10 2 = 0.301, ln 2 = 0.693), paper-style T_c, and
    the authors' quench energy per spin, beside the values quoted in PAPER.md."""
    rows = []
    for m in models:
        if not (Path(root) / "dos" / f"{m}.dat").is_file():
            continue
        t, s = published_dos(root, m), published_dos(root, m, True)
        n = t.n_spins
        pt, ps = paper_style_heat(t), paper_style_heat(s, trained=t)
        q = PUBLISHED_QUENCH.get(m, (None, None))[0]
        rows.append(FileSurvey(m, t.width / n, s.width / n, t.E_min / n, t.E_max / n,
                               (t.E_max + t.E_min) / t.width, float(t.ln_g_per_spin_k.max()), pt.Tc, ps.Tc,
                               None if q is None else q / n))
    df = pd.DataFrame([r.__dict__ for r in rows])
    if df.empty:
        return df
    df["W_per_spin_quoted"] = [PUBLISHED_WIDTH_PER_SPIN[m] for m in df.model]
    df["Tc_quoted"] = [PUBLISHED_TC[m] for m in df.model]
    df["column2_over_log10_2"] = df.column2_max / math.log10(2)
    return df


def asymmetry(d: DOS) -> float:
    """``(E_max + E_min) / W``: 0 for a DOS symmetric about E = 0."""
    return (d.E_max + d.E_min) / d.width if d.width > 0 else float("nan")


def symmetry_error(d: DOS) -> float:
    """Max |ln g(E)/N - ln g(-E)/N| over bins whose mirror image is a bin (NaN if none is)."""
    E = d.E_k
    j = np.searchsorted(E, -E)
    ok = (j < E.size) & (np.abs(E[np.minimum(j, E.size - 1)] + E) <= 1e-6 * max(d.bin_width, 1e-300))
    if not ok.any():
        return float("nan")
    return float(np.abs(d.ln_g_per_spin_k[ok] - d.ln_g_per_spin_k[j[ok]]).max())
