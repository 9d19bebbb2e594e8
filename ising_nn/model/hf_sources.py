"""Tensor sources for :mod:`ising_nn.model.hf`: safetensors files read one tensor at a time, state dicts, .bin.

Every source answers ``names()``, ``shape(name)`` (without reading data) and ``read(name)`` (a float32
array: fp16/bf16 widened per tensor). ``read`` of a safetensors file opens the file afresh, so no mapping
of the whole file stays alive between tensors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError

__all__ = ["SafetensorsFiles", "MappingTensors", "index_files", "torch_state"]


class SafetensorsFiles:
    """Tensors of one or more safetensors files, read one at a time."""

    def __init__(self, files: Iterable[Path]):
        from safetensors import safe_open

        self._file: dict[str, Path] = {}
        self._shape: dict[str, tuple[int, ...]] = {}
        self._dtype: dict[str, str] = {}
        for f in files:
            try:
                with safe_open(str(f), framework="np") as h:
                    for k in h.keys():
                        sl = h.get_slice(k)
                        self._file[k] = f
                        self._shape[k] = tuple(sl.get_shape())
                        self._dtype[k] = sl.get_dtype()
            except Exception as exc:  # safetensors raises SafetensorError or OSError for bad files
                raise IsingNNError(f"{str(f)!r} is not a readable safetensors file ({exc})") from None

    def names(self) -> list[str]:
        return list(self._file)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._shape[name]

    def read(self, name: str) -> np.ndarray:
        from safetensors import safe_open

        f, dt = self._file[name], self._dtype[name]
        if dt not in ("F16", "BF16", "F32", "F64"):
            raise IsingNNError(
                f"tensor {name!r} in {str(f)!r} has dtype {dt}; expected floating-point weights"
            )
        try:
            if dt == "BF16":  # numpy has no bfloat16: let torch widen it
                with safe_open(str(f), framework="pt") as h:
                    return h.get_tensor(name).float().numpy()
            with safe_open(str(f), framework="np") as h:
                a = h.get_tensor(name)
        except Exception as exc:
            raise IsingNNError(f"cannot read tensor {name!r} from {str(f)!r} ({exc})") from None
        return a.astype(np.float32, copy=False)


class MappingTensors:
    """Tensors of a state dict (torch tensors or numpy arrays)."""

    def __init__(self, tensors: Mapping):
        self._d = tensors

    def names(self) -> list[str]:
        return list(self._d.keys())

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(n) for n in self._d[name].shape)

    def read(self, name: str) -> np.ndarray:
        t = self._d[name]
        if hasattr(t, "detach"):  # torch tensor: float32 on the CPU is shared, not copied
            import torch

            t = t.detach()
            if not t.is_floating_point():
                raise IsingNNError(f"tensor {name!r} has dtype {t.dtype}; expected floating-point weights")
            return t.to(device="cpu", dtype=torch.float32).numpy()
        a = np.asarray(t)
        if a.dtype.kind != "f":
            raise IsingNNError(f"tensor {name!r} has dtype {a.dtype}; expected floating-point weights")
        return a.astype(np.float32, copy=False)


def index_files(index: Path) -> list[Path]:
    try:
        wm = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        files = sorted({index.parent / f for f in wm.values()})
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise IsingNNError(f"{str(index)!r} is not a readable weight index ({exc!r})") from None
    for f in files:
        if not f.is_file():
            raise IsingNNError(f"{str(index)!r} names shard {f.name!r}, which is missing")
    return files


def torch_state(files: list[Path]) -> dict:
    import pickle

    import torch

    state: dict = {}
    for f in files:
        try:
            try:  # mmap keeps the file's tensors out of memory until read
                part = torch.load(f, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError:  # legacy (non-zip) files cannot be mapped
                part = torch.load(f, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise IsingNNError(f"{str(f)!r} is not a readable PyTorch weights file ({exc})") from None
        if not isinstance(part, Mapping):
            raise IsingNNError(f"{str(f)!r} does not hold a state dict")
        state.update(part)
    return state
