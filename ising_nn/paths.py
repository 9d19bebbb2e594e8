"""Where things live: every path the package, notebooks and Makefile use comes from here."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "DOS_DIR", "PLOTS_DIR", "NOTEBOOKS_DIR", "MODELS_DIR", "paper_data_dir"]

_pkg = Path(__file__).resolve().parent
#: The repository root for a source checkout (editable install); the working directory otherwise.
REPO_ROOT = _pkg.parent if (_pkg.parent / "notebooks").is_dir() else Path.cwd()
#: Sampling results (densities of states, quench and quality tables): cached data, committed.
DOS_DIR = Path(os.environ.get("ISING_NN_DOS_DIR", REPO_ROOT / "dos"))
#: Figures.
PLOTS_DIR = Path(os.environ.get("ISING_NN_PLOTS_DIR", REPO_ROOT / "plots"))
#: Parameterised notebooks, one per paper figure.
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
#: Locally trained models (cached weights).
MODELS_DIR = Path(os.environ.get("ISING_NN_MODELS_DIR", REPO_ROOT / "models"))


def paper_data_dir() -> Path | None:
    """The authors' published result files, if present: ``$ISING_NN_PAPER_DATA`` or ``../shared/paper-data``."""
    env = os.environ.get("ISING_NN_PAPER_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "paper-data")
    for c in candidates:
        if c.is_dir():
            return c
    return None
