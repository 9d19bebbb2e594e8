"""Cached sampling results: a density of states or a ground-state search is computed once and read back after.

Every result is a text file under ``dos/<model>/`` with readable names::

    dos/minilm/trained.dat            dos/minilm/shuffled.dat
    dos/minilm/blocks3.dat            dos/minilm/blocks3_shuffled.dat
    dos/minilm/fraction0.2.dat        dos/minilm/fraction0.2_seed1.dat
    dos/minilm/quench/trained_anneal.dat    dos/minilm/quench/trained_anneal.npz (its spins)
    dos/minilm/thermo/trained.dat           dos/minilm/thermo/trained.npz (canonical engine)
    dos/minilm/trained_wl.dat               (Wang-Landau alone, beside a joined trained.dat)

Each file's header records the inputs (``input.model``, ``input.blocks``, ``input.shuffle``, ``input.seed``,
the sampler's parameters and ``input.cache_version``, the package's major.minor). A call whose inputs match
the header reads the file; otherwise (or with ``force=True``) it recomputes and replaces the file atomically.
Replotting therefore never reruns a sampler. A Wang-Landau run writes a checkpoint under
``dos/.checkpoints/`` (keyed by the inputs) and an interrupted run resumes from it (with its time limit
counted afresh); the checkpoint is removed once the result is written.

A Wang-Landau run starts its lowest windows from the state of the cached ground-state search of the same
inputs (``start_method``, by default the figures' anneal): its own greedy descents stop higher (on MiniLM
E/N = -2.660 against the anneal's -2.697), and g(E) below them would be left unestimated. The search's spins
are kept beside its summary (``.npz``, :mod:`ising_nn.spinsfile`).

With a budget's ``canonical_sweeps`` (the figures' whole models), :func:`cached_thermo` runs the canonical
engine first, the Wang-Landau windows start from its equilibrium states, and the DOS returned joins MBAR's ln g
(where the chains are equilibrated) to Wang-Landau's below (:func:`ising_nn.canonical.hybrid_dos`).

The seed seeds both the shuffle and the sampler. A model's whole depth (``blocks`` equal to its number of
blocks) is the same file as ``blocks=None``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._version import __version__
from .dosfile import DOS, read_dos, write_dos
from .errors import IsingNNError
from .io import atomic_path, format_header, read_header
from .paths import DOS_DIR, REPO_ROOT
from .spinsfile import check_spins_match, load_spins, save_spins

__all__ = [
    "Budget",
    "budget",
    "QuenchSummary",
    "cached_dos",
    "cached_quench",
    "dos_path",
    "thermo_path",
    "cached_thermo",
    "CachedThermo",
    "quench_path",
    "quench_spins_path",
    "model_slug",
    "model_key",
    "DEFAULT_WL_SECONDS",
    "DEFAULT_QUENCH_SECONDS",
]

#: Default Wang-Landau time limit of one density of states, seconds.
DEFAULT_WL_SECONDS = 60.0
#: Default time limit of one annealed ground-state search, seconds.
DEFAULT_QUENCH_SECONDS = 10.0
CACHE_VERSION = ".".join(__version__.split(".")[:2])


@dataclass(frozen=True)
class Budget:
    """Sampler budgets of a figures run (the notebooks take one by name: ``budget(smoke)``).

    Attributes
    ----------
    wl_seconds : float
        Wang-Landau time limit of a whole model's DOS.
    wl_seconds_blocks : float
        Wang-Landau time limit of a DOS of the first k blocks (k below the full depth).
    bins : int or None
        Wang-Landau bins over the full energy range (None: the sampler's default).
    quench_method : str
        Method of :func:`ising_nn.quench.quench` for E_0.
    quench_seconds : float or None
        Its time limit.
    blocks : tuple of int or None
        Depths k for the blocks figure (None: 1 .. L).
    seeds : tuple of int
        Independent Wang-Landau runs of the whole model (and, shuffled, independent shuffles); the first is
        the one plotted everywhere.
    canonical_sweeps : int or None
        Production sweeps of the canonical engine for a whole model's thermodynamics (:func:`cached_thermo`),
        whose equilibrium states start the Wang-Landau windows and whose MBAR ln g replaces Wang-Landau's where
        its chains are equilibrated (:func:`ising_nn.canonical.hybrid_dos`). None: Wang-Landau alone.
    canonical_tmin, canonical_tmax : float
        Temperature range of the canonical engine.
    canonical_bins : int or None
        Wang-Landau bins over the full range of a whole model joined with MBAR: fine enough that a bin is
        narrower than a third of the canonical energy spread down to ``canonical_tmin``.
    """

    wl_seconds: float
    wl_seconds_blocks: float
    bins: int | None
    quench_method: str
    quench_seconds: float | None
    blocks: tuple[int, ...] | None
    seeds: tuple[int, ...] = (0,)
    canonical_sweeps: int | None = None
    canonical_tmin: float = 1.0
    canonical_tmax: float = 10.0
    canonical_bins: int | None = None


#: The default run of ``make figures`` (its wall time is in README.md, section Figures).
DEFAULT_BUDGET = Budget(DEFAULT_WL_SECONDS, 20.0, None, "anneal", DEFAULT_QUENCH_SECONDS, None, (0,),
                        canonical_sweeps=1000, canonical_bins=8000)
#: Tiny budgets for the notebook tests: seconds per sampler, two depths plus the whole model, one seed.
SMOKE_BUDGET = Budget(2.0, 1.0, 100, "layer", None, (1, 2), (0,), canonical_sweeps=80, canonical_tmin=8.0,
                      canonical_tmax=40.0, canonical_bins=400)


def budget(smoke: bool = False) -> Budget:
    """The smoke-test budget or the default one."""
    return SMOKE_BUDGET if smoke else DEFAULT_BUDGET


# ---------------------------------------------------------------------------------------- names and keys
def model_key(model) -> str:
    """The model as recorded in headers: an alias resolved to its hub id, a path relative to the repository."""
    if not isinstance(model, (str, os.PathLike)):
        raise IsingNNError(
            f"cached results need a model given by name or path (a string), got {type(model).__name__}"
        )
    s = os.fspath(model)
    p = Path(s).expanduser()
    if s != "minilm" and p.exists():
        return _rel(p)
    from .load import resolve_hub_name

    return resolve_hub_name(s) or s


def model_slug(model) -> str:
    """Folder name of a model's results: the last component of its name or path (``facebook/opt-125m``
    -> ``opt-125m``), made safe for file names."""
    name = Path(model_key(model)).name.removesuffix(".npz")
    safe = "".join(ch if ch.isalnum() or ch in "-_.+" else "-" for ch in name).strip(".")
    return safe or "model"


def _check_inputs(blocks, shuffle, seed) -> tuple[int | None, float, int]:
    if blocks is not None and (isinstance(blocks, bool) or not isinstance(blocks, (int, np.integer))
                               or blocks < 1):
        raise IsingNNError(f"blocks must be a positive integer or None, got {blocks!r}")
    try:
        f = float(shuffle)
    except (TypeError, ValueError):
        raise IsingNNError(f"shuffle must be a fraction in [0, 1], got {shuffle!r}") from None
    if not 0.0 <= f <= 1.0:
        raise IsingNNError(f"shuffle must be a fraction in [0, 1], got {shuffle!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise IsingNNError(f"seed must be a non-negative integer, got {seed!r}")
    return (None if blocks is None else int(blocks)), f, int(seed)


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
    blocks, shuffle, seed = _check_inputs(blocks, shuffle, seed)
    return Path(out_dir) / model_slug(model) / f"{_stem(blocks, shuffle, seed)}.dat"


def quench_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, method="anneal", out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_quench` keeps this ground-state search."""
    blocks, shuffle, seed = _check_inputs(blocks, shuffle, seed)
    return Path(out_dir) / model_slug(model) / "quench" / f"{_stem(blocks, shuffle, seed)}_{method}.dat"


def quench_spins_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, method="anneal",
                      out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_quench` keeps the spins of its lowest state (beside its summary)."""
    return _spins_beside(quench_path(model, blocks=blocks, shuffle=shuffle, seed=seed, method=method,
                                     out_dir=out_dir))


def _spins_beside(summary: Path) -> Path:
    return summary.with_suffix(".npz")


def _inputs(model, blocks, shuffle, seed, **sampler) -> dict[str, str]:
    d = {"model": model_key(model), "blocks": blocks, "shuffle": repr(float(shuffle)), "seed": seed}
    d.update(sampler)
    d["cache_version"] = CACHE_VERSION
    return {f"input.{k}": str(v) for k, v in d.items()}


def _matches(path: Path, inputs: dict[str, str]) -> bool:
    if not path.is_file():
        return False
    try:
        h = read_header(path)
    except (OSError, UnicodeDecodeError):
        return False
    return all(h.get(k) == v for k, v in inputs.items())


def _checkpoint(out_dir, model, stem: str, inputs: dict[str, str]) -> Path:
    """A sampler's checkpoint under ``out_dir/.checkpoints``, keyed by its inputs (created folder)."""
    folder = Path(out_dir) / ".checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
    return folder / f"{model_slug(model)}_{stem}_{digest}.npz"


def _drop_checkpoint(ckpt: Path) -> None:
    """Remove a finished run's checkpoint, and its folder if that leaves it empty."""
    ckpt.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        ckpt.parent.rmdir()


def _say(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, flush=True)


def _load(model, blocks, shuffle, seed):
    from .load import load_couplings

    base = load_couplings(model)
    L = base.n_blocks
    if blocks is not None and blocks > L:
        raise IsingNNError(f"blocks must be from 1 to {L} for {model!r}, got {blocks}")
    full = blocks is None or blocks == L
    return load_couplings(base, blocks=None if full else blocks, shuffle=shuffle, seed=seed), L, full


# ---------------------------------------------------------------------------------------- DOS
def cached_dos(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    time_limit: float = DEFAULT_WL_SECONDS,
    bins: int | None = None,
    start_method: str | None = "anneal",
    start_seconds: float | None = DEFAULT_QUENCH_SECONDS,
    canonical: Budget | None = None,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
) -> DOS:
    """Wang-Landau density of states of a model, read from ``out_dir`` when computed before.

    Parameters
    ----------
    model : str or path
        Anything :func:`ising_nn.load.load_couplings` accepts by name or path (default the bundled MiniLM).
    blocks : int, optional
        The first k blocks only.
    shuffle : float in [0, 1]
        Fraction of couplings shuffled (1 = the whole-network shuffle).
    seed : int
        Seed of the shuffle and of the sampler.
    time_limit : float
        Wang-Landau seconds.
    bins : int, optional
        Wang-Landau bins over the full energy range.
    start_method, start_seconds : str or None, float or None
        The lowest windows start from the state of :func:`cached_quench` with this method and time limit
        (and the same model, blocks, shuffle and seed; computed if not cached), so that the estimate reaches
        down towards E_0. ``start_method=None``: from the sampler's own greedy descents only.
    canonical : Budget, optional
        With ``canonical.canonical_sweeps``: run (or read) :func:`cached_thermo` first, start every window
        from the equilibrium state of the temperature nearest its energy, keep that Wang-Landau DOS beside
        the result as ``<name>_wl.dat``, and return :func:`ising_nn.canonical.hybrid_dos`: MBAR's ln g where
        the canonical chains are equilibrated, Wang-Landau's below, on ``canonical.canonical_bins`` bins.
    out_dir : path
        Results folder (default the repository's ``dos/``).
    force : bool
        Recompute even if a matching file exists.
    verbose : bool
        One line per result: read, or computed and where.

    Returns
    -------
    DOS
        With the header of the file (sampler diagnostics and the ``input.*`` keys).
    """
    blocks, shuffle, seed = _check_inputs(blocks, shuffle, seed)
    if not (isinstance(time_limit, (int, float)) and np.isfinite(time_limit) and time_limit > 0):
        raise IsingNNError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if start_method is None:
        start = "descent"
    else:
        _check_quench_args(start_method, start_seconds)
        start = f"quench {start_method} {_seconds(start_seconds)}"
    params = {"sampler": "wang_landau", "time_limit": f"{float(time_limit):g}", "bins": bins, "start": start}
    joined = canonical is not None and canonical.canonical_sweeps is not None
    if joined:
        bins = canonical.canonical_bins
        params.update(bins=bins, windows=f"canonical {_thermo_key(canonical)}",
                      ln_g="MBAR where equilibrated, Wang-Landau below")
    path = dos_path(model, blocks=blocks, shuffle=shuffle, seed=seed, out_dir=out_dir)
    inputs = _inputs(model, blocks, shuffle, seed, **params)
    if not force and _matches(path, inputs):
        _say(verbose, f"dos: read {path}")
        return read_dos(path)

    c, L, full = _load(model, blocks, shuffle, seed)
    if full and blocks is not None:  # the whole depth: the same result as blocks=None
        return cached_dos(model, shuffle=shuffle, seed=seed, time_limit=time_limit, bins=bins,
                          start_method=start_method, start_seconds=start_seconds, canonical=canonical,
                          out_dir=out_dir, force=force, verbose=verbose)
    from .wanglandau import wang_landau

    spins, start_header = None, {}
    if start_method is not None:
        q, saved = _quench_spins(model, c, blocks, shuffle, seed, start_method, start_seconds, out_dir, verbose)
        spins = saved.spins
        start_header = {"start_spins": _rel(q.spins_path), "start_spins_energy": saved.header["energy"],
                        "start_spins_method": saved.header.get("method", "")}

    # the canonical run first: it tidies away an empty checkpoint folder when it is done
    thermo = None
    if joined:
        thermo = cached_thermo(model, blocks=blocks, shuffle=shuffle, seed=seed, b=canonical, out_dir=out_dir,
                               force=force, verbose=verbose)
    ckpt = _checkpoint(out_dir, model, path.stem, inputs)
    _say(verbose, f"dos: computing {path} (Wang-Landau, {time_limit:g} s, {c.n_spins} spins)"
         + (" from its checkpoint" if ckpt.exists() else ""))
    t0 = time.perf_counter()
    reused = joined and not force and _matches(wl_path(path), inputs)
    if reused:  # only the join is redone
        _say(verbose, f"dos: read {wl_path(path)}")
        dos = read_dos(wl_path(path))
    else:
        dos = wang_landau(c, bins=bins, seed=seed, time_limit=float(time_limit), checkpoint=ckpt, resume=True,
                          progress=False, start_spins=spins, window_spins=None if thermo is None else thermo.spins_k)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {**c.provenance.as_header(), "n_bonds": c.n_bonds, "model_blocks": L,
             "wall_seconds": (dos.header["wall_seconds"] if reused else f"{time.perf_counter() - t0:.3f}"),
             **start_header, **inputs}
    if thermo is not None:
        from .canonical import hybrid_dos

        extra["thermo"] = _rel(thermo.path)
        if not reused:
            write_dos(dos, wl_path(path), {**extra, "ln_g": "Wang-Landau alone (windows from canonical states)"})
        dos = hybrid_dos(read_dos(wl_path(path)), thermo.samples, thermo.E_coldest, thermo.sigma_coldest,
                         thermo.curve)
        extra["wang_landau"] = _rel(wl_path(path))
    write_dos(dos, path, extra)
    _drop_checkpoint(ckpt)
    return read_dos(path)


# ---------------------------------------------------------------------------------------- canonical
def wl_path(dos_file: Path) -> Path:
    """The Wang-Landau DOS kept beside a joined one (``trained.dat`` -> ``trained_wl.dat``)."""
    return dos_file.with_name(f"{dos_file.stem}_wl{dos_file.suffix}")


def thermo_path(model="minilm", *, blocks=None, shuffle=0.0, seed=0, out_dir=DOS_DIR) -> Path:
    """Where :func:`cached_thermo` keeps these thermodynamics (its states and samples beside, ``.npz``)."""
    blocks, shuffle, seed = _check_inputs(blocks, shuffle, seed)
    return Path(out_dir) / model_slug(model) / "thermo" / f"{_stem(blocks, shuffle, seed)}.dat"


def _thermo_key(b: Budget) -> str:
    return f"{b.canonical_sweeps} sweeps, T {b.canonical_tmin:g}-{b.canonical_tmax:g}"


@dataclass(frozen=True, eq=False)
class CachedThermo:
    """A cached canonical-engine result: the MBAR curve and header (``.dat``), the per-rung estimates, the
    hot ladder's final states and MBAR's samples (``.npz`` beside it).

    Attributes
    ----------
    curve : ThermoCurve
    header : dict
    T_k, U_lk, U_err_lk, C_lk, C_err_lk, equilibrated_k : ndarray
        As :class:`ising_nn.canonical.RungStats` (ladder order: beta ascending).
    spins_k : ndarray, shape (K, N), int8
    samples : MBARSamples
    path : Path
    """

    curve: object
    header: dict
    T_k: np.ndarray
    U_lk: np.ndarray
    U_err_lk: np.ndarray
    C_lk: np.ndarray
    C_err_lk: np.ndarray
    equilibrated_k: np.ndarray
    spins_k: np.ndarray
    samples: object
    path: Path

    @property
    def n_spins(self) -> int:
        return int(self.header["n_spins"])

    @property
    def _coldest(self) -> int:
        return int(np.flatnonzero(self.equilibrated_k)[-1])

    @property
    def E_coldest(self) -> float:
        """Mean total energy of the coldest equilibrated rung."""
        return float(self.U_lk.mean(0)[self._coldest] * self.n_spins)

    @property
    def sigma_coldest(self) -> float:
        """Its energy standard deviation, T sqrt(N C)."""
        k = self._coldest
        return float(self.T_k[k] * np.sqrt(self.n_spins * self.C_lk.mean(0)[k]))

    @classmethod
    def read(cls, path: Path) -> CachedThermo:
        from .canonical import MBARSamples, read_thermo

        curve, header = read_thermo(path)
        z = np.load(path.with_suffix(".npz"))
        N = int(header["n_spins"])
        spins = (np.unpackbits(z["spins_bits"], axis=1)[:, :N].astype(np.int8) * 2 - 1)
        samples = MBARSamples(z["E_n"], z["N_k"], z["beta_k"], z["f_k"])
        with np.errstate(divide="ignore"):
            T_k = 1.0 / z["beta_rungs"]
        return cls(curve, header, T_k, z["U_lk"], z["U_err_lk"], z["C_lk"], z["C_err_lk"],
                   z["equilibrated_k"].astype(bool), spins, samples, path)


def cached_thermo(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    b: Budget | None = None,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
) -> CachedThermo:
    """Canonical thermodynamics of a model (:func:`ising_nn.canonical.canonical_thermo`), read from
    ``out_dir`` when computed before. The cold start is the state of the cached ground-state search of the
    same inputs (``b.quench_method``); ``b.canonical_sweeps``, ``canonical_tmin`` and ``canonical_tmax`` set
    the run. Other parameters as :func:`cached_dos`."""
    from .canonical import canonical_thermo, write_thermo

    b = b or budget()
    blocks, shuffle, seed = _check_inputs(blocks, shuffle, seed)
    if b.canonical_sweeps is None:
        raise IsingNNError("this budget has no canonical_sweeps: the canonical engine is not part of it")
    inputs = _inputs(model, blocks, shuffle, seed, sampler="canonical", sweeps=b.canonical_sweeps,
                     tmin=f"{b.canonical_tmin:g}", tmax=f"{b.canonical_tmax:g}",
                     cold=f"quench {b.quench_method} {_seconds(b.quench_seconds)}")
    path = thermo_path(model, blocks=blocks, shuffle=shuffle, seed=seed, out_dir=out_dir)
    if not force and _matches(path, inputs) and path.with_suffix(".npz").is_file():
        _say(verbose, f"thermo: read {path}")
        return CachedThermo.read(path)
    c, L, full = _load(model, blocks, shuffle, seed)
    q, saved = _quench_spins(model, c, blocks, shuffle, seed, b.quench_method, b.quench_seconds, out_dir, verbose)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = _checkpoint(out_dir, model, f"thermo_{path.stem}", inputs)
    _say(verbose, f"thermo: computing {path} (canonical engine, {b.canonical_sweeps} sweeps, {c.n_spins} spins)"
         + (" from its checkpoint" if ckpt.exists() else ""))
    r = canonical_thermo(c, tmin=b.canonical_tmin, tmax=b.canonical_tmax, sweeps=b.canonical_sweeps, seed=seed,
                         cold_spins=saved.spins, checkpoint=ckpt, resume=True, progress=False)
    rs = r.rungs
    N = c.n_spins
    with atomic_path(path.with_suffix(".npz"), suffix=".npz") as tmp:
        np.savez_compressed(
            tmp, spins_bits=np.packbits(r.spins_k > 0, axis=1), E_n=r.samples.E_n, N_k=r.samples.N_k,
            beta_k=r.samples.beta_k, f_k=r.samples.f_k, beta_rungs=rs.beta_k, U_lk=rs.U_lk, U_err_lk=rs.U_err_lk,
            C_lk=rs.C_lk, C_err_lk=rs.C_err_lk, equilibrated_k=rs.equilibrated_k, n_spins=N)
    header = {**r.header, "model": c.provenance.model, "model_blocks": L,
              "cold_start": _rel(q.spins_path or _spins_beside(q.path)), **inputs}
    write_thermo(r.curve, path, header)
    _drop_checkpoint(ckpt)
    return CachedThermo.read(path)


# ---------------------------------------------------------------------------------------- quench
@dataclass(frozen=True)
class QuenchSummary:
    """A cached ground-state search (:func:`ising_nn.quench.quench` without its spins and traces).

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
        The lowest state's spins (:func:`ising_nn.spinsfile.load_spins`), None if the file is not there.
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
            spins = _spins_beside(path)
            return cls(E, E / n, 2 * abs(E), 2 * abs(E) / n, n, h["method"], int(h["seed"]),
                       float(h["seconds"]), h["converged"] == "True", int(h["model_blocks"]), path, h,
                       spins if spins.is_file() else None)
        except (KeyError, ValueError) as exc:
            raise IsingNNError(f"{str(path)!r} is not a quench summary file ({exc})") from None


def cached_quench(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    method: str = "anneal",
    time_limit: float | None = DEFAULT_QUENCH_SECONDS,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
) -> QuenchSummary:
    """Lowest energy E_0 of a model by :func:`ising_nn.quench.quench`, read from ``out_dir`` when computed
    before. Parameters as :func:`cached_dos`; ``method`` and ``time_limit`` go to the search."""
    from .quench import quench

    blocks, shuffle, seed = _check_inputs(blocks, shuffle, seed)
    _check_quench_args(method, time_limit)
    inputs = _inputs(model, blocks, shuffle, seed, sampler=f"quench {method}", time_limit=_seconds(time_limit))
    path = quench_path(model, blocks=blocks, shuffle=shuffle, seed=seed, method=method, out_dir=out_dir)
    if not force and _matches(path, inputs):
        _say(verbose, f"quench: read {path}")
        return QuenchSummary.read(path)

    c, L, full = _load(model, blocks, shuffle, seed)
    if full and blocks is not None:
        return cached_quench(model, shuffle=shuffle, seed=seed, method=method, time_limit=time_limit,
                             out_dir=out_dir, force=force, verbose=verbose)
    _say(verbose, f"quench: computing {path} ({method}, {c.n_spins} spins)")
    r = quench(c, method, seed=seed, time_limit=time_limit)
    h = {
        "model": c.provenance.model, "n_spins": c.n_spins, "n_bonds": c.n_bonds, "model_blocks": L,
        "energy": repr(float(r.energy)), "energy_per_spin": repr(float(r.energy_per_spin)),
        "width": repr(float(r.width)), "method": r.method, "seed": r.seed, "restarts": r.restarts,
        "seconds": f"{r.seconds:.3f}", "converged": bool(r.converged), "stopped_early": bool(r.stopped_early),
        **{k: v for k, v in c.provenance.as_header().items() if k != "model"},
        **inputs,
        "columns": "energy n_spins",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # the spins first: a summary on disk always has its state beside it, unless written by an older version
    save_spins(_spins_beside(path), r.spins, c, r.energy, method=r.method, seed=r.seed, restarts=r.restarts,
               **{"summary": path.name, **inputs})
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(format_header(h))
            fh.write(f"{float(r.energy)!r} {c.n_spins}\n")
    return QuenchSummary.read(path)


def _check_quench_args(method, time_limit) -> None:
    from .quench import METHODS

    if method not in METHODS:
        raise IsingNNError(f"quench method must be one of {', '.join(METHODS)}, got {method!r}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise IsingNNError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")


def _seconds(time_limit) -> str | None:
    return None if time_limit is None else f"{float(time_limit):g}"


def _rel(path: Path) -> str:
    """A path as headers record it: relative to the repository when inside it, else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _quench_spins(model, c, blocks, shuffle, seed, method, seconds, out_dir, verbose):
    """The cached search of these inputs and its spins, checked against ``c``; searched again when its spins
    are missing (a summary written before they were kept) or belong to other couplings."""
    kw = {"blocks": blocks, "shuffle": shuffle, "seed": seed, "method": method, "time_limit": seconds,
          "out_dir": out_dir, "verbose": verbose}
    q = cached_quench(model, **kw)
    try:
        return q, _checked_spins(q, c)
    except IsingNNError as exc:
        _say(verbose, f"quench: {exc}; searching again")
    q = cached_quench(model, **kw, force=True)
    return q, _checked_spins(q, c)


def _checked_spins(q: QuenchSummary, c):
    path = q.spins_path or _spins_beside(q.path)  # load_spins says clearly that a missing file is missing
    saved = load_spins(path)
    check_spins_match(saved, c, str(path))
    return saved
