"""Specific-heat files: ``HEAT.dat`` of ``ising-nn heat`` (a header, then columns ``T C``) and the heat
figure's table ``heat_<model>.csv`` (one row per temperature and curve). Floats are written at a fixed
precision, so that a rerun from the same inputs writes the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ising_nn.results.textfile import atomic_path, format_header

__all__ = ["write_heat", "heat_table", "write_heat_table", "write_tc_table", "TABLE_FLOAT_FORMAT"]

#: Significant digits of the figure's table: more than any of its numbers' statistical precision.
TABLE_FLOAT_FORMAT = "%.6g"


def write_heat(path: str | os.PathLike, T_k: np.ndarray, C_k: np.ndarray, fields: dict) -> Path:
    """``HEAT.dat``: ``fields`` as the header, then ``T C`` per line (``%.10g``), atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(format_header({**fields, "columns": "T C"}))
            np.savetxt(fh, np.column_stack([T_k, C_k]), fmt="%.10g")
    return Path(path)


def heat_table(h, kinds=("trained", "shuffled")) -> pd.DataFrame:
    """The heat figure's data from :class:`ising_nn.paper.series.HeatResults`: columns ``kind, curve, T, C,
    C_err, U, U_err`` for population annealing (its certified temperatures), the canonical engine,
    Wang-Landau alone, the DOS file and the paper-style recipe."""
    frames = []
    for k in kinds:
        c = h.certified(k) if hasattr(h, "certified") else None
        if c is not None:
            m = c.certified_t
            frames.append(pd.DataFrame({"kind": k, "curve": "population annealing", "T": c.T_t[m], "C": c.C_t[m],
                                        "C_err": c.C_err_t[m], "U": c.U_t[m], "U_err": c.U_err_t[m]}))
        cur = h.canonical(k)
        if cur is not None:
            frames.append(pd.DataFrame({"kind": k, "curve": "canonical", "T": cur.T_t, "C": cur.C_t,
                                        "C_err": cur.C_err_t, "U": cur.U_t, "U_err": cur.U_err_t}))
        wl = h.wang_landau(k)
        if wl is not None:
            frames.append(pd.DataFrame({"kind": k, "curve": "wang-landau", "T": wl.T_k, "C": wl.C_k, "U": wl.U_k}))
        t = h.physical(k)
        frames.append(pd.DataFrame({"kind": k, "curve": "dos file", "T": t.T_k, "C": t.C_k, "U": t.U_k}))
        frames.append(pd.DataFrame({"kind": k, "curve": "paper-style", "T": h.paper(k).T_k, "C": h.paper(k).C_k}))
    return pd.concat(frames, ignore_index=True)


def write_heat_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """The figure's table as CSV at :data:`TABLE_FLOAT_FORMAT`, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=TABLE_FLOAT_FORMAT)
    return Path(path)


def write_tc_table(answer, path: str | os.PathLike) -> Path:
    """The T_c answer (:class:`ising_nn.paper.criticality.TcAnswer`) as CSV: one row per network, then the
    difference and its test in the last columns, at :data:`TABLE_FLOAT_FORMAT`, atomically."""
    df = answer.table()
    df["delta_Tc"], df["delta_Tc_err"], df["t"], df["dof"], df["p_one_sided"] = (
        answer.delta, answer.delta_err, answer.t, answer.dof, answer.p_value)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=TABLE_FLOAT_FORMAT)
    return Path(path)
