"""Result tables: CSV files with a ``# key: value`` header, written atomically and reused when the header's
parameters match (:func:`ising_nn.results.textfile.header_matches`, the rule of every cached result).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from ising_nn.results.textfile import atomic_path, format_header, header_matches, read_header

__all__ = ["write_table", "read_table", "cached_table"]


def _norm(params: Mapping[str, object]) -> dict[str, str]:
    return {str(k): str(v).replace("\n", " ") for k, v in params.items()}


def write_table(df: pd.DataFrame, path: str | os.PathLike, params: Mapping[str, object]) -> Path:
    """Write ``df`` as CSV under a header of ``params`` (plus the package version), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(format_header(_norm(params)))
            df.to_csv(fh, index=False, float_format="%.10g")
    return path


def read_table(path: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table and its header."""
    return pd.read_csv(path, comment="#"), read_header(path)


def cached_table(path: str | os.PathLike, params: Mapping[str, object],
                 compute: Callable[[], pd.DataFrame], *, recompute: bool = False) -> pd.DataFrame:
    """Read ``path`` if its header holds exactly ``params`` (and this version); else compute and write it.
    Either way the table returned is the one read from the file."""
    path = Path(path)
    want = _norm(params)
    if not recompute and header_matches(path, want):
        return read_table(path)[0]
    write_table(compute(), path, want)
    # read back, so a fresh result and a cached one are the same frame (dtypes included)
    return read_table(path)[0]
