"""Input checks shared by every entry point: each returns the value converted, or raises
:class:`~ising_nn.errors.IsingNNError` with one line naming the input, what is accepted and what was given."""

from __future__ import annotations

import math

import numpy as np

from ising_nn.errors import IsingNNError

__all__ = ["integer", "number", "seconds", "choice"]


def integer(name: str, v, lo: int | None = None, hi: int | None = None, *, optional: bool = False) -> int | None:
    """``v`` as an int in ``[lo, hi]`` (bools refused); ``None`` passes when ``optional``."""
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or (lo is not None and v < lo) or (
            hi is not None and v > hi):
        if lo is not None and hi is not None:
            want = f"an integer from {lo} to {hi}"
        elif lo == 1:
            want = "a positive integer"
        elif lo is not None:
            want = f"an integer >= {lo}"
        else:
            want = "an integer"
        raise IsingNNError(f"{name} must be {want}{' or None' if optional else ''}, got {v!r}")
    return int(v)


def number(name: str, v, *, positive: bool = False, lo: float | None = None, hi: float | None = None,
           optional: bool = False, what: str = "number") -> float | None:
    """``v`` as a finite float (``> 0`` when ``positive``; within ``[lo, hi]``); ``None`` passes when
    ``optional``. ``what`` names the quantity in the message ("number", "temperature", ...)."""
    if v is None and optional:
        return None
    try:
        x = float(v) if not isinstance(v, bool) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    bad = not math.isfinite(x) or (positive and not x > 0) or (lo is not None and x < lo) or (
        hi is not None and x > hi)
    if bad:
        want = f"a positive {what}" if positive else f"a finite {what}"
        if lo is not None or hi is not None:
            want += f" in [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise IsingNNError(f"{name} must be {want}{' or None' if optional else ''}, got {v!r}")
    return x


def seconds(name: str, v) -> float | None:
    """A time limit: ``None`` (no limit) or a positive finite number of seconds."""
    return number(name, v, positive=True, optional=True, what="number of seconds")


def choice(name: str, v, options) -> str:
    """``v`` if it is one of ``options``."""
    if v not in options:
        raise IsingNNError(f"{name} must be one of {', '.join(map(repr, options))}, got {v!r}")
    return v
