"""Where things live: every path the package, notebooks and Makefile use comes from here, the names of the
cached results included (``dos/<model>/<stem>.dat``, ``quench/``, ``thermo/``)."""

from __future__ import annotations

import os
from pathlib import Path

from ising_nn import validate
from ising_nn.errors import IsingNNError
from ising_nn.results.quench import spins_beside

__all__ = ["REPO_ROOT", "DOS_DIR", "PLOTS_DIR", "NOTEBOOKS_DIR", "MODELS_DIR", "paper_data_dir", "model_key",
           "model_slug", "check_inputs", "dos_path", "quench_path", "quench_spins_path", "thermo_path", "wl_path",
           "population_path", "rel"]

_pkg = Path(__file__).resolve().parent.parent  # the ising_nn package
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


def rel(path: Path) -> str:
    """A path as headers record it: relative to the repository when inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def model_key(model) -> str:
    """The model as recorded in headers: an alias resolved to its hub id, a path relative to the repository."""
    if not isinstance(model, (str, os.PathLike)):
        raise IsingNNError(
            f"cached results need a model given by name or path (a string), got {type(model).__name__}"
        )
    s = os.fspath(model)
    p = Path(s).expanduser()
    if s != "minilm" and p.exists():
        return rel(p)
    from ising_nn.model.load import resolve_hub_name

    return resolve_hub_name(s) or s


def model_slug(model) -> str:
    """Folder name of a model's results: the last component of its name or path (``facebook/opt-125m``
    -> ``opt-125m``), made safe for file names."""
    name = Path(model_key(model)).name.removesuffix(".npz")
    safe = "".join(ch if ch.isalnum() or ch in "-_.+" else "-" for ch in name).strip(".")
    return safe or "model"


def check_inputs(blocks, shuffle, seed) -> tuple[int | None, float, int]:
    """The inputs that name a result, checked: ``(blocks or None, shuffle fraction, seed)``."""
    blocks = validate.integer("blocks", blocks, 1, optional=True)
    f = validate.number("shuffle", shuffle, lo=0.0, hi=1.0, what="fraction")
    return blocks, f, validate.integer("seed", seed, 0)


def _stem(blocks, shuffle, seed) -> str:
    parts = [] if blocks is None else [f"blocks{blocks}"]
    if shuffle == 1.0:
        parts.append("shuffled")
    elif shuffle > 0.0:
        parts.append(f"fraction{shuffle:g}")
    if not parts:
        parts.append("trained")
    if seed:
        parts.append(f"seed{seed}")
    return "_".join(parts)


def dos_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_dos` keeps this DOS."""
    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    return Path(out_dir) / model_slug(model) / f"{_stem(blocks, shuffle, seed)}.dat"


def quench_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, method="anneal", out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_quench` keeps this ground-state search."""
    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    return Path(out_dir) / model_slug(model) / "quench" / f"{_stem(blocks, shuffle, seed)}_{method}.dat"


def quench_spins_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, method="anneal",
                      out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_quench` keeps the spins of its lowest state (beside its summary)."""
    return spins_beside(quench_path(model, blocks=blocks, shuffle=shuffle, seed=seed, method=method,
                                     out_dir=out_dir))


def wl_path(dos_file: Path) -> Path:
    """The Wang-Landau DOS kept beside a joined one (``trained.dat`` -> ``trained_wl.dat``)."""
    return dos_file.with_name(f"{dos_file.stem}_wl{dos_file.suffix}")


def thermo_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_thermo` keeps these thermodynamics (its states and samples beside, ``.npz``)."""
    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    return Path(out_dir) / model_slug(model) / "thermo" / f"{_stem(blocks, shuffle, seed)}.dat"


def population_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, check=False, out_dir=DOS_DIR) -> Path:
    """Where :func:`~ising_nn.paper.population.cached_population` keeps a population-annealing result
    (``thermo/trained_pa.dat``, its runs' records beside, ``.npz``; ``check``: the runs of a quarter of the
    population, ``trained_pa_check.dat``)."""
    p = thermo_path(model, blocks=blocks, shuffle=shuffle, seed=seed, out_dir=out_dir)
    return p.with_name(f"{p.stem}_pa{'_check' if check else ''}.dat")
