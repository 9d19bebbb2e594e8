"""Text results: atomic writes and the ``# key: value`` header every result file starts with.

Every file is written to a temporary name in the target folder and renamed into place, so an interrupted
run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from ising_nn._version import __version__
from ising_nn.errors import IsingNNError

__all__ = ["atomic_path", "format_header", "read_header", "header_matches", "CACHE_VERSION"]

#: Results written by one major.minor version are reused by the same major.minor (patch releases keep them).
CACHE_VERSION = ".".join(__version__.split(".")[:2])


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    ``suffix`` is appended to the temporary name (``np.savez`` insists on ``.npz``). On error the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise IsingNNError(f"output folder {str(folder)!r} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=folder)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp creates 0600; give the result the permissions an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def format_header(fields: Mapping[str, object]) -> str:
    """``# key: value`` lines (with the package version added), newline-terminated."""
    d = dict(fields)
    d.setdefault("version", f"ising-nn {__version__}")
    lines = []
    for k, v in d.items():
        text = str(v).replace("\n", " ")
        lines.append(f"# {k}: {text}")
    return "\n".join(lines) + "\n"


def read_header(path: str | os.PathLike) -> dict[str, str]:
    """Parse the leading ``# key: value`` lines of a text file (empty dict for a headerless file)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            body = line[1:].strip()
            if ":" in body:
                k, v = body.split(":", 1)
                out[k.strip()] = v.strip()
    return out


def header_matches(path: str | os.PathLike, inputs: Mapping[str, str]) -> bool:
    """The one caching rule: a result file is reused when it exists, every key of ``inputs`` has the same value
    in its header, and it was written by this :data:`CACHE_VERSION`."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        h = read_header(path)
    except (OSError, UnicodeDecodeError):
        return False
    written = h.get("version", "").removeprefix("ising-nn ")
    return ".".join(written.split(".")[:2]) == CACHE_VERSION and all(h.get(k) == v for k, v in inputs.items())
