"""Cached sampling results: a density of states, a ground-state search or a canonical run is computed once
and read back after (this module: the rule, checkpoints and the ground-state searches; :mod:`.dos` and
:mod:`.thermo` the other two).

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
Replotting therefore never reruns a sampler. The rule is :func:`ising_nn.results.textfile.header_matches`.
Budgets count work (sweeps, restarts), so the same inputs give the same file on any machine. A sampler
writes a checkpoint under ``dos/.checkpoints/`` (keyed by the inputs), an interrupted run resumes from it,
and the checkpoint is removed once the result is written.

A Wang-Landau run starts its lowest windows from the state of the cached ground-state search of the same
inputs (``start_method``, by default the figures' anneal): its own greedy descents stop higher, and g(E)
below them would be left unestimated. The search's spins are kept beside its summary (``.npz``,
:mod:`ising_nn.results.spins`).

With a budget's ``canonical_sweeps`` (the figures' whole models), :func:`cached_thermo` runs the canonical
engine first, the Wang-Landau windows start from its equilibrium states, and the DOS returned joins MBAR's ln g
(where the chains are equilibrated) to Wang-Landau's below (:func:`ising_nn.canonical.hybrid_dos`).

The seed seeds both the shuffle and the sampler. A model's whole depth (``blocks`` equal to its number of
blocks) is the same file as ``blocks=None``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ising_nn import validate
from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import DEFAULT_QUENCH_RESTARTS
from ising_nn.paper.paths import DOS_DIR, check_inputs, model_key, model_slug, quench_path
from ising_nn.results.quench import QuenchSummary, spins_beside, write_quench_summary
from ising_nn.results.spins import check_spins_match, load_spins
from ising_nn.results.textfile import CACHE_VERSION, header_matches

__all__ = ["cached_quench", "QuenchSummary"]


def _inputs(model, blocks, shuffle, seed, **sampler) -> dict[str, str]:
    d = {"model": model_key(model), "blocks": blocks, "shuffle": repr(float(shuffle)), "seed": seed}
    d.update(sampler)
    d["cache_version"] = CACHE_VERSION
    return {f"input.{k}": str(v) for k, v in d.items()}


def _checkpoint(out_dir, model, stem: str, inputs: dict[str, str]) -> Path:
    """A sampler's checkpoint under ``out_dir/.checkpoints``, keyed by its inputs (created folder)."""
    folder = Path(out_dir) / ".checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
    return folder / f"{model_slug(model)}_{stem}_{digest}.npz"


def _drop_checkpoint(ckpt: Path) -> None:
    """Remove a finished run's checkpoint. Its folder stays: another task of a sweep may be about to write
    into it (git does not list an empty folder)."""
    ckpt.unlink(missing_ok=True)


def _say(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, flush=True)


def _load(model, blocks, shuffle, seed):
    from ising_nn.model.load import load_couplings

    base = load_couplings(model)
    L = base.n_blocks
    if blocks is not None and blocks > L:
        raise IsingNNError(f"blocks must be from 1 to {L} for {model!r}, got {blocks}")
    full = blocks is None or blocks == L
    return load_couplings(base, blocks=None if full else blocks, shuffle=shuffle, seed=seed), L, full


def cached_quench(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    method: str = "anneal",
    restarts: int | None = DEFAULT_QUENCH_RESTARTS,
    time_limit: float | None = None,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
) -> QuenchSummary:
    """Lowest energy E_0 of a model by :func:`ising_nn.quench.search.quench`, read from ``out_dir`` when computed
    before. Parameters as :func:`cached_dos`; ``method``, ``restarts`` (None: the method's default) and
    ``time_limit`` (a cap in seconds, off by default) go to the search."""
    return _cached_quench(model, blocks, shuffle, seed, method, restarts, time_limit, out_dir, force, verbose)


def _cached_quench(model, blocks, shuffle, seed, method, restarts, time_limit, out_dir, force, verbose,
                   loaded=None) -> QuenchSummary:
    """:func:`cached_quench`; ``loaded``: the couplings and the model's depth when the caller has them."""
    from ising_nn.quench.search import quench

    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    _check_quench_args(method, restarts)
    time_limit = validate.seconds("time_limit", time_limit)
    inputs = _inputs(model, blocks, shuffle, seed, sampler=f"quench {method}", restarts=restarts,
                     time_limit=_seconds(time_limit))
    path = quench_path(model, blocks=blocks, shuffle=shuffle, seed=seed, method=method, out_dir=out_dir)
    if not force and header_matches(path, inputs):
        _say(verbose, f"quench: read {path}")
        return QuenchSummary.read(path)
    if loaded is None:
        c, L, full = _load(model, blocks, shuffle, seed)
        if full and blocks is not None:
            return _cached_quench(model, None, shuffle, seed, method, restarts, time_limit, out_dir, force, verbose,
                                  (c, L))
    else:
        c, L = loaded
    _say(verbose, f"quench: computing {path} ({method}, {c.n_spins} spins)")
    r = quench(c, method, seed=seed, restarts=restarts, time_limit=time_limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_quench_summary(path, r, c, model_blocks=L, **inputs)


def _check_quench_args(method, restarts) -> None:
    from ising_nn.quench.search import METHODS

    validate.choice("quench method", method, METHODS)
    validate.integer("quench restarts", restarts, 1, optional=True)


def _seconds(time_limit) -> str | None:
    return None if time_limit is None else f"{float(time_limit):g}"


def _quench_spins(model, c, L, blocks, shuffle, seed, method, restarts, out_dir, verbose):
    """The cached search of these inputs (for couplings ``c`` of a ``L``-block model) and its spins, checked
    against ``c``; searched again when its spins are missing or belong to other couplings."""
    args = (model, blocks, shuffle, seed, method, restarts, None, out_dir)
    q = _cached_quench(*args, False, verbose, (c, L))
    try:
        return q, _checked_spins(q, c)
    except IsingNNError as exc:
        _say(verbose, f"quench: {exc}; searching again")
    q = _cached_quench(*args, True, verbose, (c, L))
    return q, _checked_spins(q, c)


def _checked_spins(q: QuenchSummary, c):
    path = q.spins_path or spins_beside(q.path)  # load_spins says clearly that a missing file is missing
    saved = load_spins(path)
    check_spins_match(saved, c, str(path))
    return saved
