"""Replica exchange's MBAR analysis with pymbar's dense solver against the windowed one (``make bench-mbar``).

Every sample of replica exchange carries its marginal only at the rungs of its window (``+inf`` elsewhere).
The engine solved MBAR with pymbar on the dense ``u_kn`` until 2026-12-08; it now solves the same equations on
each rung's window (:mod:`ising_nn.canonical.banded`). Here one finished replica-exchange checkpoint of the
whole-network shuffle of MiniLM (run first if ``--work`` does not hold it: ``--sweeps`` production sweeps, the
figures' range, seed and cold start) is analysed twice in this process, with every MBAR solve handed to pymbar
on the dense ``u_kn`` and with the windowed solver, and the two results are compared: they are one estimator,
so they must agree to the solvers' tolerance. Writes ``bench/MBAR.md`` with machine, date and command."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ising_nn.results.textfile import atomic_path


def pymbar_solve(blocks, N_k, f_k_init=None, **_):
    """The free energies from pymbar on the dense ``u_kn`` that the blocks stand for (the engine's old solver)."""
    from ising_nn.canonical.mbar import _mbar

    K, n = len(N_k), sum(b.u_nj.shape[0] for b in blocks)
    u_kn = np.full((K, n), np.inf)
    start = 0
    for b in blocks:
        m, w = b.u_nj.shape
        u_kn[b.lo:b.lo + w, start:start + m] = b.u_nj.T
        start += m
    return np.asarray(_mbar(u_kn, np.asarray(N_k), f_k_init).f_k)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def _analyse(c, sweeps, cold, ckpt, precision, solver=None):
    """Resume the finished checkpoint (analysis only), with ``solver`` in place of the windowed one if given."""
    import ising_nn.canonical.banded as banded
    import ising_nn.canonical.rbmbar as rbmbar
    from ising_nn.canonical import canonical_thermo

    saved = banded.solve, rbmbar.solve
    if solver is not None:
        banded.solve = rbmbar.solve = solver
    try:
        t0 = time.perf_counter()
        r = canonical_thermo(c, sweeps=sweeps, cold_spins=cold, checkpoint=ckpt, resume=True, progress=False,
                             precision=precision)
        return r, time.perf_counter() - t0
    finally:
        banded.solve, rbmbar.solve = saved


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="minilm")
    p.add_argument("--sweeps", type=int, default=2000)
    p.add_argument("--precision", default="float32")
    p.add_argument("--work", default="bench/.work/mbar")
    p.add_argument("--out", default="bench/MBAR.md")
    a = p.parse_args(argv)
    from ising_nn.canonical import canonical_thermo
    from ising_nn.model.load import load_couplings
    from ising_nn.paper.paths import DOS_DIR, model_slug
    from ising_nn.results.spins import check_spins_match, load_spins

    cold_path = Path(DOS_DIR) / model_slug(a.model) / "quench" / "shuffled_anneal.npz"
    if not cold_path.exists():
        print(f"bench_mbar: no cold start at {cold_path} (run make figures first)", file=sys.stderr)
        return 2
    c = load_couplings(a.model, shuffle=1.0, seed=0)
    cold = check_spins_match(load_spins(cold_path), c, str(cold_path))
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / f"shuffled_{a.precision}_{a.sweeps}.ckpt.npz"
    done = ckpt.with_suffix(".done")  # the run finished: the timed calls below only analyse it
    t0 = time.perf_counter()
    if not done.exists():
        canonical_thermo(c, sweeps=a.sweeps, cold_spins=cold, checkpoint=ckpt, resume=True, progress=True,
                         precision=a.precision)
        done.touch()
    sampled = time.perf_counter() - t0
    print(f"bench_mbar: run ready ({sampled:.0f} s); analysing with pymbar's dense solver", file=sys.stderr)
    dense, t_dense = _analyse(c, a.sweeps, cold, ckpt, a.precision, solver=pymbar_solve)
    print(f"bench_mbar: {t_dense:.1f} s; now the windowed solver", file=sys.stderr)
    windowed, t_win = _analyse(c, a.sweeps, cold, ckpt, a.precision)
    rows = []
    for name in ("U", "C", "F", "S"):
        for suffix in ("_t", "_err_t"):
            x, y = getattr(dense.curve, name + suffix), getattr(windowed.curve, name + suffix)
            rows.append((name + suffix[:-2], float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300)))))
    d_lng = float(np.max(np.abs(dense.ln_g_b - windowed.ln_g_b)))
    h = windowed.header
    command = " ".join(["python -m bench.bench_mbar", *(argv if argv is not None else sys.argv[1:])])
    date = datetime.date.today().isoformat()
    lines = [
        "# Replica exchange's MBAR analysis: pymbar's dense solver against the windowed one",
        "",
        f"- date: {date}; machine: {platform.machine()}, {os.cpu_count()} cores "
        f"({_cpu()}); command: `{command}`",
        f"- the checkpoint: whole-network shuffle of {a.model}, {a.sweeps} production sweeps, precision "
        f"{h['precision']}, {h['rungs']} rungs of which {h['rungs_equilibrated']} equilibrated (down to "
        f"T = {h['T_equilibrated']}), {h['mbar_samples']} raw and {h['marginal_samples']} marginal samples, "
        f"{h['mbar_bootstrap']} bootstrap replicates per parity",
        "- each analysis resumes the finished checkpoint in this process (so it is the whole analysis: ladder "
        "statistics, both MBAR curves, ln g), once with every solve handed to pymbar on the dense u_kn and once "
        "with `ising_nn.canonical.banded.solve`",
        "",
        "| solver | analysis (s) |",
        "|---|---|",
        f"| pymbar, dense u_kn | {t_dense:.1f} |",
        f"| windowed (`banded.solve`) | {t_win:.1f} |",
        f"| ratio | {t_dense / t_win:.2f}x |",
        "",
        "Largest relative difference between the two analyses (the same estimator: both solvers stop at a "
        "relative change of 1e-12):",
        "",
        "| quantity | max rel. diff |",
        "|---|---|",
        *[f"| {n} | {d:.1e} |" for n, d in rows],
        f"| ln g per spin (absolute) | {d_lng:.1e} |",
        "",
    ]
    with atomic_path(a.out) as tmp:
        Path(tmp).write_text("\n".join(lines))
    print(f"bench_mbar: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
