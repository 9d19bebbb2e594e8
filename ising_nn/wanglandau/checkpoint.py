"""Checkpoints of a Wang-Landau run: the whole :class:`~ising_nn.wanglandau.state.WLState` in one ``.npz``,
written atomically, read back only for the couplings it was made from (a cheap fingerprint of sizes and
weights)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.textfile import atomic_path
from ising_nn.wanglandau.kernels import SETTINGS, WALKER
from ising_nn.wanglandau.state import RunInfo, WLState, fingerprint

__all__ = ["ARRAYS", "fingerprint", "save_state", "load_state", "check_state_shapes"]

#: The arrays of a state, saved by name.
ARRAYS = tuple(f.name for f in dataclasses.fields(WLState) if f.name != "info")


def save_state(st: WLState, path: str | os.PathLike) -> Path:
    """Write the whole state to ``path`` (.npz) atomically."""
    path = Path(path)
    arrays = {k: getattr(st, k) for k in ARRAYS}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, info=np.array(json.dumps(dataclasses.asdict(st.info))), **arrays)
    return path


def load_state(path: str | os.PathLike, c: Couplings) -> WLState:
    """Read a checkpoint written by :func:`save_state` for the same couplings ``c``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "IST" in z.files:
                raise IsingNNError(
                    f"checkpoint {str(path)!r} was written by ising-nn before its state had named fields; "
                    "start afresh without --resume (or delete it)"
                )
            info = RunInfo(**json.loads(str(z["info"])))
            arrays = {k: z[k] for k in ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, TypeError) as exc:
        raise IsingNNError(f"{str(path)!r} is not a readable Wang-Landau checkpoint ({exc})") from None
    if info.fingerprint != fingerprint(c):
        raise IsingNNError(
            f"checkpoint {str(path)!r} was written for other couplings (spins, bonds or weights differ); "
            "resume with the couplings it was made from, or start afresh without --resume"
        )
    return WLState(info=info, **arrays)


def check_state_shapes(st: WLState, N: int) -> None:
    if st.spins_wi.shape[1] != N or st.walker_w.dtype != WALKER or st.settings.dtype != SETTINGS:
        raise IsingNNError("checkpoint arrays do not match these couplings; start afresh without --resume")
