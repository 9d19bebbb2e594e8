"""``make bench-runs``: do runs of consecutive spins buy accuracy, or only attempts? Writes ``bench/RUNS.md``.

``wang_landau(..., run_length=16)`` makes more attempts per second than random spins on MiniLM (1.33-1.48x
in ``make bench`` until 2026-11-24, 1.14-1.17x since random spins' flips are prefetched piece by piece),
because consecutive flips stream consecutive couplings. Both walks keep the weights 1/g(E), so at equal
accuracy per attempt x times the attempts would cut the error of a timed run by ``sqrt(1/x)``.
Whether they do is measured here against exact g(E), run length 1 against 16, on two networks:

- ``rank_one_dos``'s test system, three layers of 32 spins (wider than a run), couplings ``u v^T``;
- ``make bench``'s width-8 network of 200 spins with +-1 couplings (transfer matrix).

For each seed both run lengths get the same time limit on all cores, the bin width being the level spacing.
The per-seed ratio of mean |d ln g| (runs / random) is summarised by its geometric mean and a 95 % t
interval over the seeds; the ratio of sweeps gives the gain the extra attempts alone would bring. The mean
signed error over the lowest tenth of each estimate's bins, with its standard error, tests whether runs shift
the low tail.

Run: ``python -m bench.bench_runs [--seconds 30] [--seeds 10] [--first-seed 0] [--network width8]
[-o RUNS.md]`` (about 4 x seeds x seconds; 2 x with one network). The same seeds give nearly the same runs
(a seed fixes the walk; only where the time limit stops it varies), so a replication takes new seeds.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
from scipy import stats

from bench.bench_wl import RUN_LENGTH, accuracy_network, errors
from bench.run import machine
from ising_nn._version import __version__
from ising_nn.results.textfile import atomic_path
from ising_nn.testing.exact import rank_one_dos, rank_one_network, transfer_matrix_dos
from ising_nn.wanglandau.run import wang_landau

__all__ = ["Trial", "trials", "summarise", "main"]

RUNS = Path(__file__).resolve().parent / "RUNS.md"
NETWORKS = {
    "rank one, 3 x 32 spins": (lambda: rank_one_network([32, 32, 32]), rank_one_dos),
    "width 8, 200 spins, +-1": (accuracy_network, transfer_matrix_dos),
}
SHORT = {"rank1": "rank one, 3 x 32 spins", "width8": "width 8, 200 spins, +-1"}


@dataclass(frozen=True)
class Trial:
    """One timed Wang-Landau run against the exact g(E)."""

    network: str
    seed: int
    run_length: int
    sweeps: float
    acceptance: float
    mean_error: float
    max_error: float
    low_tenth: float  # mean signed d ln g over the lowest tenth of the bins
    missing: int


def trials(seconds: float, seeds: int, first_seed: int = 0, networks=None) -> list[Trial]:
    """Every network (of ``networks``, keys of :data:`NETWORKS`; default all) x seed (``first_seed`` on) x run
    length (1 and :data:`bench.bench_wl.RUN_LENGTH`), alternating the run lengths so that both see the same
    drift in the machine's load."""
    out = []
    for name, (build, exact_dos) in NETWORKS.items():
        if networks is not None and name not in networks:
            continue
        c = build()
        exact = exact_dos(c)
        spacing = float(np.min(np.diff(exact.E)))
        for seed in range(first_seed, first_seed + seeds):
            for run in (1, RUN_LENGTH):
                d = wang_landau(c, bin_width=spacing, seed=seed, time_limit=seconds, progress=False, run_length=run)
                diff, missing = errors(exact, d, spacing)
                out.append(Trial(name, seed, run, float(d.header["sweeps"]), float(d.header["acceptance"]),
                                 float(np.nanmean(np.abs(diff))), float(np.nanmax(np.abs(diff))),
                                 float(np.nanmean(diff[: max(1, diff.size // 10)])), missing))
                print(f"bench-runs: {name}, seed {seed}, run length {run}: mean |d ln g| {out[-1].mean_error:.4f}",
                      file=sys.stderr, flush=True)
    return out


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    m = float(np.mean(x))
    half = float(stats.t.ppf(0.975, x.size - 1) * np.std(x, ddof=1) / np.sqrt(x.size))
    return m, m - half, m + half


def summarise(ts: list[Trial]) -> list[str]:
    """Markdown lines: per network, the paired ratios of runs to random spins and the low-tail shift."""
    lines = [
        "| network | seeds | sweeps, runs / random | error ratio the sweeps alone would give | mean abs d ln g, "
        "random / runs (medians) | error ratio runs / random (geometric mean, 95 % CI) | max abs d ln g ratio "
        "(same) | lowest tenth, mean d ln g: random / runs (+- s.e.) | acceptance random / runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in NETWORKS:
        one = sorted((t for t in ts if t.network == name and t.run_length == 1), key=lambda t: t.seed)
        run = sorted((t for t in ts if t.network == name and t.run_length == RUN_LENGTH), key=lambda t: t.seed)
        if len(one) < 2:
            continue
        a = lambda xs, f: np.array([f(t) for t in xs])  # noqa: E731
        sweeps = a(run, lambda t: t.sweeps) / a(one, lambda t: t.sweeps)
        ratio = _mean_ci(np.log(a(run, lambda t: t.mean_error) / a(one, lambda t: t.mean_error)))
        worst = _mean_ci(np.log(a(run, lambda t: t.max_error) / a(one, lambda t: t.max_error)))
        low1, low16 = a(one, lambda t: t.low_tenth), a(run, lambda t: t.low_tenth)
        se = lambda x: float(np.std(x, ddof=1) / np.sqrt(x.size))  # noqa: E731
        lines.append(
            f"| {name} | {len(one)} | {np.median(sweeps):.2f}x | {np.median(sweeps) ** -0.5:.2f}x "
            f"| {np.median(a(one, lambda t: t.mean_error)):.4f} / {np.median(a(run, lambda t: t.mean_error)):.4f} "
            f"| {np.exp(ratio[0]):.2f}x ({np.exp(ratio[1]):.2f}-{np.exp(ratio[2]):.2f}) "
            f"| {np.exp(worst[0]):.2f}x ({np.exp(worst[1]):.2f}-{np.exp(worst[2]):.2f}) "
            f"| {low1.mean():+.4f} +- {se(low1):.4f} / {low16.mean():+.4f} +- {se(low16):.4f} "
            f"| {np.mean(a(one, lambda t: t.acceptance)):.4f} / {np.mean(a(run, lambda t: t.acceptance)):.4f} |")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_runs", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="time limit of each run (default 30)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per network and run length (default 10)")
    p.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")
    p.add_argument("--network", choices=sorted(SHORT), help="one network only (default both)")
    p.add_argument("-o", "--output", type=Path, default=RUNS, help="where to write (default bench/RUNS.md)")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.seeds < 2 or args.first_seed < 0:
        p.error(f"need --seconds > 0, --seeds >= 2 (a spread needs two) and --first-seed >= 0, got "
                f"{args.seconds:g}, {args.seeds} and {args.first_seed}")
    started = time.perf_counter()
    host = machine()  # before the runs: its load average is the machine's, not this benchmark's own
    ts = trials(args.seconds, args.seeds, args.first_seed, None if args.network is None else [SHORT[args.network]])
    opts = (f" --first-seed {args.first_seed}" if args.first_seed else "") + (
        f" --network {args.network}" if args.network else "")
    text = [
        "# Runs of consecutive spins against random spins: accuracy per second",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- command: `python -m bench.bench_runs --seconds {args.seconds:g} --seeds {args.seeds}{opts}`"
        f"{'' if opts else ' (`make bench-runs`)'}, {time.perf_counter() - started:.0f} s in all",
        f"- machine: {host}",
        f"- python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"ising-nn {__version__}",
        "",
        f"Each seed: `wang_landau(c, bin_width=spacing, seed=s, time_limit={args.seconds:g}, run_length=R)` for "
        f"R = 1 (random spins, the default) and R = {RUN_LENGTH}, one after the other, against the exact g(E). "
        "Ratios are runs over random spins, paired by seed (below 1: runs better).",
        "",
        *summarise(ts),
        "",
        "Every run:",
        "",
        "| network | seed | run length | sweeps | acceptance | mean abs d ln g | max abs d ln g | lowest tenth "
        "| levels missed |",
        "|---|---|---|---|---|---|---|---|---|",
        *(f"| {t.network} | {t.seed} | {t.run_length} | {t.sweeps:.4g} | {t.acceptance:.4f} | {t.mean_error:.4f} "
          f"| {t.max_error:.4f} | {t.low_tenth:+.4f} | {t.missing} |" for t in ts),
    ]
    with atomic_path(args.output) as tmp:
        tmp.write_text("\n".join(text) + "\n", encoding="utf-8")
    print(f"bench-runs: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
