"""Checkpoints of a Wang-Landau run: the whole :class:`~ising_nn._wl_state.WLState` in one ``.npz``, written
atomically, read back only for the couplings it was made from (a cheap fingerprint of sizes and weights)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ._wl_kernels import NF, NI, NQ
from ._wl_state import WLState, fingerprint
from .couplings import Couplings
from .errors import IsingNNError
from .io import atomic_path

__all__ = ["ARRAYS", "fingerprint", "save_state", "load_state", "check_state_shapes"]

#: The arrays of a state, saved by name.
ARRAYS = ("S", "Hf", "LNG", "HIST", "VIS", "CM", "RNG", "IST", "FST", "params", "iparams", "order", "boff",
          "RNGX", "XCH")


def save_state(st: WLState, path: str | os.PathLike) -> Path:
    """Write the whole state to ``path`` (.npz) atomically."""
    path = Path(path)
    arrays = {k: getattr(st, k) for k in ARRAYS}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, meta=np.array(json.dumps(st.meta)), **arrays)
    return path


def load_state(path: str | os.PathLike, c: Couplings) -> WLState:
    """Read a checkpoint written by :func:`save_state` for the same couplings ``c``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in ARRAYS}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise IsingNNError(f"{str(path)!r} is not a readable Wang-Landau checkpoint ({exc})") from None
    if meta.get("fingerprint") != fingerprint(c):
        raise IsingNNError(
            f"checkpoint {str(path)!r} was written for other couplings (spins, bonds or weights differ); "
            "resume with the couplings it was made from, or start afresh without --resume"
        )
    if arrays["iparams"].size == NQ - 1:  # written before the run length was a parameter: R = 1
        arrays["iparams"] = np.append(arrays["iparams"], 1)
    return WLState(meta=meta, **arrays)


def check_state_shapes(st: WLState, N: int) -> None:
    if st.S.shape[1] != N or st.IST.shape[1] != NI or st.FST.shape[1] != NF or st.iparams.size != NQ:
        raise IsingNNError("checkpoint arrays do not match these couplings; start afresh without --resume")

