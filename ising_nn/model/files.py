"""Couplings files: our ``.npz`` exchange format and the authors' text format (one file per matrix).

Both are written atomically (:func:`ising_nn.results.textfile.atomic_path`).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ising_nn._version import __version__
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings, Provenance, check_finite
from ising_nn.results.textfile import atomic_path

__all__ = [
    "save_npz",
    "load_npz",
    "save_authors_folder",
    "load_authors_folder",
    "AUTHORS_NAMES",
]

AUTHORS_NAMES = ("qkv", "proj", "fc1", "fc2")


# ---------------------------------------------------------------------------------------- npz
def save_npz(c: Couplings, path: str | os.PathLike) -> Path:
    """Write ``J_0 ... J_{L-1}`` and a JSON ``meta`` string to ``path`` atomically (uncompressed)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise IsingNNError(f"couplings output must end in .npz, got {str(path)!r}")
    meta = {"provenance": c.provenance.as_header(), "layer_sizes": list(c.layer_sizes),
            "version": __version__}
    arrays = {f"J_{l}": J for l, J in enumerate(c.J)}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_npz(path: str | os.PathLike) -> Couplings:
    """Read a file written by :func:`save_npz` (or any ``.npz`` with arrays ``J_0 ... J_{L-1}``)."""
    path = Path(path)
    if not path.is_file():
        raise IsingNNError(f"couplings file {str(path)!r} not found")
    try:
        # Our own handle: np.load leaks its file when the zip is corrupt (NpzFile raises in __init__).
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            keys = set(z.files)
            n = 0
            while f"J_{n}" in keys:
                n += 1
            if n == 0:
                raise IsingNNError(
                    f"{str(path)!r} holds no arrays J_0, J_1, ...; expected an ising-nn couplings .npz "
                    f"(found: {sorted(keys)[:5]})"
                )
            meta = json.loads(str(z["meta"])) if "meta" in keys else {}
            prov = Provenance.from_header(meta.get("provenance", {"model": str(path)}))
            # Read each layer straight into the flat buffer: one copy of the weights plus one layer.
            mats_shapes = _npz_shapes(z, n)
            for l, shp in enumerate(mats_shapes):
                if len(shp) != 2:
                    raise IsingNNError(f"{str(path)!r}: J_{l} must be 2-D, got shape {shp}")
            _check_chain(mats_shapes, str(path))
            sizes = [mats_shapes[0][0]] + [s[1] for s in mats_shapes]
            c = Couplings.allocate(sizes, prov)
            for l, view in enumerate(c.J):
                view[...] = z[f"J_{l}"]
                check_finite(view, f"{str(path)!r} J_{l}")
            return c
    except IsingNNError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise IsingNNError(f"{str(path)!r} is not a readable .npz couplings file ({exc})") from None


def _npz_shapes(z, n: int) -> list[tuple[int, ...]]:
    """Shapes of ``J_0 .. J_{n-1}`` from the .npy headers, without reading the data."""
    shapes = []
    for l in range(n):
        with z.zip.open(f"J_{l}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, _ = read(fh)
        shapes.append(tuple(shape))
    return shapes


def _check_chain(shapes, where: str) -> None:
    for l in range(len(shapes) - 1):
        if shapes[l][1] != shapes[l + 1][0]:
            raise IsingNNError(
                f"{where}: matrix shapes do not chain: matrix {l} is {tuple(shapes[l])}, matrix {l + 1} is "
                f"{tuple(shapes[l + 1])}; the columns of one must equal the rows of the next"
            )


# ---------------------------------------------------------------------------------------- authors
def _authors_file(folder: Path, l: int) -> Path:
    return folder / f"layers.{l // 4}.{AUTHORS_NAMES[l % 4]}.txt"


def is_authors_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding ``layers.0.qkv.txt``."""
    p = Path(path)
    return p.is_dir() and (p / "layers.0.qkv.txt").is_file()


def save_authors_folder(c: Couplings, folder: str | os.PathLike) -> Path:
    """Write the authors' text format (``layers.<i>.{qkv,proj,fc1,fc2}.txt``) into ``folder``.

    The folder is filled under a temporary name and renamed into place. Needs a whole number of
    four-matrix blocks.
    """
    folder = Path(folder)
    if c.n_layers % 4:
        raise IsingNNError(
            f"the authors' format needs whole blocks of 4 matrices (qkv, proj, fc1, fc2); got {c.n_layers}"
        )
    if folder.exists():
        raise IsingNNError(f"{str(folder)!r} already exists; the authors' format is written to a new folder")
    parent = folder.parent if str(folder.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    try:
        for l, J in enumerate(c.J):
            # repr precision of float32 round-trips exactly
            np.savetxt(_authors_file(tmp, l), J, fmt="%.9g")
        os.replace(tmp, folder)
    except BaseException:
        for f in tmp.glob("*"):
            f.unlink()
        tmp.rmdir()
        raise
    return folder


def load_authors_folder(folder: str | os.PathLike, name: str | None = None) -> Couplings:
    """Read the authors' text format: ``layers.<i>.qkv.txt``, ``.proj``, ``.fc1``, ``.fc2`` per block."""
    folder = Path(folder)
    if not is_authors_folder(folder):
        raise IsingNNError(
            f"{str(folder)!r} is not a folder in the authors' format (expected layers.0.qkv.txt, "
            "layers.0.proj.txt, layers.0.fc1.txt, layers.0.fc2.txt, ...)"
        )
    blocks = 0
    while _authors_file(folder, 4 * blocks).is_file():
        blocks += 1
    mats = []
    for l in range(4 * blocks):
        f = _authors_file(folder, l)
        if not f.is_file():
            raise IsingNNError(f"{str(folder)!r}: block {l // 4} is missing {f.name}")
        try:
            a = np.loadtxt(f, dtype=np.float32, ndmin=2)
        except ValueError as exc:
            raise IsingNNError(f"{str(f)!r} is not a whitespace-separated matrix of numbers ({exc})") from None
        mats.append(a)
    _check_chain([m.shape for m in mats], str(folder))
    prov = Provenance(model=name or str(folder), family="authors", matrices_per_block=4, blocks=blocks)
    return Couplings.from_matrices(mats, prov)
