"""What both canonical methods share besides the chains: input checks, the cold start, the checkpoint file.

A checkpoint is one ``.npz`` written atomically: arrays, plus a JSON ``meta`` entry holding the method, the
run's inputs (``params``; a resume with other inputs is refused, naming them) and the counters. Everything a
header reports about the start (the cold start's energy) is kept in it, so a resumed run writes the same
header as an uninterrupted one but for its timing lines. A file that is not such a checkpoint (truncated,
corrupted, another method's) is refused in one line that says how to start afresh.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from ising_nn import validate
from ising_nn.canonical.chain import resolve_precision
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.textfile import atomic_path

__all__ = ["check_device", "check_range", "cold_state", "save_checkpoint", "load_checkpoint", "params_of"]


def check_range(tmin, tmax) -> tuple[float, float]:
    """``(tmin, tmax)`` as floats, both positive, ``tmin < tmax``."""
    for name, v in (("tmin", tmin), ("tmax", tmax)):
        validate.number(name, v, positive=True, what="temperature")
    if not tmin < tmax:
        raise IsingNNError(f"tmin must be below tmax, got {tmin} and {tmax}")
    return float(tmin), float(tmax)


def check_device(device, precision: str = "auto") -> tuple[str, str]:
    """``(device, precision)``: a usable torch device and the fields' precision resolved on it."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise IsingNNError(f"unknown device {device!r} (cpu, cuda, cuda:0, ...)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise IsingNNError(f"device {device!r}: CUDA is not available on this machine (use --device cpu)")
    try:
        torch.zeros(1, device=dev)
    except (RuntimeError, AssertionError) as exc:
        why = str(exc).splitlines()[0]
        raise IsingNNError(f"device {device!r} is not usable here ({why}); use cpu or cuda") from exc
    return str(dev), resolve_precision(precision, dev)


def cold_state(c: Couplings, cold_spins, seed: int) -> np.ndarray:
    """The cold start: ``cold_spins`` checked, or a fast quench of ``c``."""
    if cold_spins is None:
        from ising_nn.quench.search import quench

        return quench(c, "fast", seed=seed).spins
    s = np.asarray(cold_spins)
    if s.shape != (c.n_spins,) or not np.isin(s, (-1, 1)).all():
        raise IsingNNError(f"cold_spins must be {c.n_spins} values in {{-1, +1}}, got shape {s.shape}")
    return s.astype(np.int8)


def params_of(c: Couplings, **inputs) -> dict:
    """The inputs a checkpoint must match: ``inputs`` and what identifies the couplings."""
    return dict(inputs, n_spins=c.n_spins, n_bonds=c.n_bonds,
                coupling_sum=float(np.sum(c.buffer, dtype=np.float64)))


def save_checkpoint(path: Path, method: str, params: dict, meta: dict, arrays: dict) -> None:
    """Write ``arrays`` and ``meta`` (JSON-able) to ``path`` atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, meta=json.dumps(dict(meta, method=method, params=params)), **arrays)


def load_checkpoint(path: Path, method: str, params: dict) -> tuple[dict, dict]:
    """``(meta, arrays)`` of a checkpoint of ``method`` made with ``params``; one clear line otherwise."""
    fresh = f"remove {str(path)!r} to start afresh"
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:  # our handle: closed on any error
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(str(arrays.pop("meta")))
        ok = isinstance(meta, dict) and meta.get("method") == method and isinstance(meta.get("params"), dict)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IsingNNError(f"checkpoint {str(path)!r} is unreadable (truncated or corrupted: {why}); {fresh}") \
            from None
    if not ok:
        raise IsingNNError(f"checkpoint {str(path)!r} is not a {method} checkpoint; {fresh}")
    if meta["params"] != params:
        diff = sorted(k for k in set(params) | set(meta["params"]) if params.get(k) != meta["params"].get(k))
        raise IsingNNError(f"checkpoint {str(path)!r} was made with other inputs ({', '.join(diff)}); "
                           "remove it or rerun with the same inputs")
    return meta, arrays

