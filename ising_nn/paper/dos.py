"""Cached densities of states (:func:`cached_dos`): Wang-Landau, started from the cached ground state and, with a
budget's canonical sweeps, from the canonical engine's states and joined with its MBAR ln g."""

from __future__ import annotations

import os
import time

from ising_nn import validate
from ising_nn.paper.budget import DEFAULT_QUENCH_RESTARTS, DEFAULT_WL_SWEEPS, Budget
from ising_nn.paper.cache import (
    _check_quench_args,
    _checkpoint,
    _drop_checkpoint,
    _inputs,
    _load,
    _quench_spins,
    _say,
    _seconds,
)
from ising_nn.paper.paths import DOS_DIR, check_inputs, dos_path, rel, wl_path
from ising_nn.paper.thermo import _thermo_key, cached_thermo
from ising_nn.results.dos import DOS, read_dos, write_dos
from ising_nn.results.textfile import header_matches

__all__ = ["cached_dos"]


def cached_dos(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    sweeps: float = DEFAULT_WL_SWEEPS,
    time_limit: float | None = None,
    bins: int | None = None,
    start_method: str | None = "anneal",
    start_restarts: int | None = DEFAULT_QUENCH_RESTARTS,
    canonical: Budget | None = None,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
) -> DOS:
    """Wang-Landau density of states of a model, read from ``out_dir`` when computed before.

    Parameters
    ----------
    model : str or path
        Anything :func:`ising_nn.model.load.load_couplings` accepts by name or path (default the bundled MiniLM).
    blocks : int, optional
        The first k blocks only.
    shuffle : float in [0, 1]
        Fraction of couplings shuffled (1 = the whole-network shuffle).
    seed : int
        Seed of the shuffle and of the sampler.
    sweeps : float
        Wang-Landau sweeps per window (the budget: machine-independent).
    time_limit : float, optional
        A cap in seconds; a run it cuts short says so in its header (``stop_reason``).
    bins : int, optional
        Wang-Landau bins over the full energy range.
    start_method, start_restarts : str or None, int or None
        The lowest windows start from the state of :func:`cached_quench` with this method and restarts
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
    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    sweeps = validate.number("sweeps", sweeps, positive=True)
    time_limit = validate.seconds("time_limit", time_limit)
    joined = canonical is not None and canonical.canonical_sweeps is not None
    if joined:
        bins = canonical.canonical_bins
    params = _sampler_inputs(sweeps, time_limit, bins, start_method, start_restarts, canonical if joined else None,
                             shuffle)
    path = dos_path(model, blocks=blocks, shuffle=shuffle, seed=seed, out_dir=out_dir)
    inputs = _inputs(model, blocks, shuffle, seed, **params)
    if not force and header_matches(path, inputs):
        _say(verbose, f"dos: read {path}")
        return read_dos(path)

    c, L, full = _load(model, blocks, shuffle, seed)
    if full and blocks is not None:  # the whole depth: the same result as blocks=None
        return cached_dos(model, shuffle=shuffle, seed=seed, sweeps=sweeps, time_limit=time_limit, bins=bins,
                          start_method=start_method, start_restarts=start_restarts, canonical=canonical,
                          out_dir=out_dir, force=force, verbose=verbose)
    from ising_nn.wanglandau.run import wang_landau

    spins, start_header = None, {}
    if start_method is not None:
        q, saved = _quench_spins(model, c, L, blocks, shuffle, seed, start_method, start_restarts, out_dir, verbose)
        spins = saved.spins
        start_header = {"start_spins": rel(q.spins_path), "start_spins_energy": saved.header["energy"],
                        "start_spins_method": saved.header.get("method", "")}

    # the canonical run first (the windows start from its states)
    thermo = None
    if joined:
        thermo = cached_thermo(model, blocks=blocks, shuffle=shuffle, seed=seed, b=canonical, out_dir=out_dir,
                               force=force, verbose=verbose)
    ckpt = _checkpoint(out_dir, model, path.stem, inputs)
    _say(verbose, f"dos: computing {path} (Wang-Landau, {sweeps:g} sweeps per window, {c.n_spins} spins)"
         + (" from its checkpoint" if ckpt.exists() else ""))
    t0 = time.perf_counter()
    # the Wang-Landau run does not depend on how the join estimates MBAR's ln g
    reused = joined and not force and header_matches(wl_path(path), {k: v for k, v in inputs.items()
                                                                      if k != "input.ln_g"})
    if reused:  # only the join is redone
        _say(verbose, f"dos: read {wl_path(path)}")
        dos = read_dos(wl_path(path))
    else:
        dos = wang_landau(c, bins=bins, seed=seed, max_sweeps=sweeps, time_limit=time_limit, checkpoint=ckpt,
                          resume=True,
                          progress=False, start_spins=spins, window_spins=None if thermo is None else thermo.spins_k)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {**c.provenance.as_header(), "n_bonds": c.n_bonds, "model_blocks": L,
             "wall_seconds": (dos.header["wall_seconds"] if reused else f"{time.perf_counter() - t0:.3f}"),
             **start_header, **inputs}
    if thermo is not None:
        from ising_nn.canonical import hybrid_dos

        extra["thermo"] = rel(thermo.path)
        if not reused:
            write_dos(dos, wl_path(path), {**extra, "ln_g": "Wang-Landau alone (windows from canonical states)"})
        dos = hybrid_dos(read_dos(wl_path(path)), thermo.samples, thermo.E_coldest, thermo.sigma_coldest,
                         thermo.curve)
        extra["wang_landau"] = rel(wl_path(path))
    write_dos(dos, path, extra)
    _drop_checkpoint(ckpt)
    return read_dos(path)


#: How a joined DOS gets its ln g (an input of the file: a change here recomputes the join, not the samplers).
LN_G_JOINED = "MBAR at each bin's own temperature where equilibrated, Wang-Landau below"


def _sampler_inputs(sweeps, time_limit, bins, start_method, start_restarts, canonical: Budget | None,
                    shuffle: float) -> dict:
    """The sampler's part of a DOS file's inputs: its budget, its start and, joined, the canonical run's."""
    if start_method is None:
        start = "descent"
    else:
        _check_quench_args(start_method, start_restarts)
        start = f"quench {start_method} {start_restarts}"
    params = {"sampler": "wang_landau", "sweeps": f"{sweeps:g}", "time_limit": _seconds(time_limit), "bins": bins,
              "start": start}
    if canonical is not None:
        params.update(windows=f"canonical {_thermo_key(canonical, shuffle)}", ln_g=LN_G_JOINED)
    return params
