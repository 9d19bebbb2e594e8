"""Population annealing's runs on the cores: one run at a time on every core, or one run per core at once
(``make bench-pa-layout``).

The figures' sweep runs population annealing as tasks of its cluster (``scheduler="worker"``): a local cluster of
one single-threaded worker per core, so the runs go one per core at once, each on one thread.
``scheduler="local"`` (``ising-nn thermo --method pa --scheduler local``) makes a cluster of one worker and runs
each run on every core, one after the other. Same seeds, same numbers (checked here); this bench times both on
trained MiniLM, alone on the machine (the figures' sweep also runs its other tasks beside them). Writes
``bench/PA_LAYOUT.md``."""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
import time

import numpy as np

from ising_nn.results.textfile import atomic_path

CORES = os.cpu_count() or 1


def _kw(c, population: int, runs: int) -> dict:
    from ising_nn.paper.budget import budget
    from ising_nn.paper.population import pa_range

    b = budget()
    tmin, tmax = pa_range(b, math.sqrt(c.sum_J2 / c.n_spins), 0.0)
    return dict(tmin=tmin, tmax=tmax, population=population, runs=runs, sweeps=b.pa_sweeps, seed=0,
                precision=b.precision, progress=False)


def _in_task(c, kw):
    import numba
    import torch

    from ising_nn.canonical import population_annealing

    numba.set_num_threads(1)  # as the sweep's run_task gives every task of its single-threaded workers
    torch.set_num_threads(1)
    return population_annealing(c, **kw, scheduler="worker")


def figures_layout(c, kw):
    """The figures' sweep: the call is itself a task of a cluster of single-threaded workers, one per core."""
    from ising_nn.paper.sweep import _client, _close_quietly

    client, cluster = _client(None, CORES, 10.0)
    try:
        return client.submit(_in_task, c, kw, pure=False).result()
    finally:
        _close_quietly(client)
        cluster.close()


def main(argv=None) -> None:
    import torch

    import ising_nn as isn
    from ising_nn.canonical import population_annealing

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=512)
    ap.add_argument("--runs", type=int, default=2 * CORES)
    ap.add_argument("-o", "--out", default="bench/PA_LAYOUT.md")
    a = ap.parse_args(argv)
    c = isn.load_couplings("minilm")
    kw = _kw(c, a.population, a.runs)
    rows, results = [], {}
    for name, fn in (("every core per run, one run at a time (scheduler='local')",
                      lambda: population_annealing(c, **kw, scheduler="local")),
                     ("one core per run, one run per core at once (the figures' sweep)",
                      lambda: figures_layout(c, kw))):
        t = time.perf_counter()
        r = fn()
        wall = time.perf_counter() - t
        results[name] = r
        run_s = [x.seconds for x in r.runs]
        rows.append(f"| {name} | {wall:.0f} | {np.median(run_s):.1f} | {r.header.get('threads_per_run', '?')} |")
        print(f"{name}: {wall:.0f} s", file=sys.stderr)
    (ra, rb) = results.values()
    same = all(np.array_equal(getattr(ra.curve, f), getattr(rb.curve, f)) for f in ("U_t", "C_t", "F_t", "S_t"))
    walls = [float(r.split("|")[2]) for r in rows]
    text = "\n".join([
        "# Population annealing's runs on the cores",
        "",
        f"- machine: {platform.machine()}, {CORES} cores, {platform.processor() or platform.platform()}; "
        f"torch {torch.__version__}",
        f"- date: {datetime.date.today().isoformat()}; command: `python -m bench.bench_pa_layout --population "
        f"{a.population} --runs {a.runs}` (`make bench-pa-layout`)",
        f"- trained MiniLM, {a.runs} runs of {a.population} replicas, T from {kw['tmax']:g} down to {kw['tmin']:g}, "
        f"{kw['sweeps']} sweeps per step, precision {kw['precision']}, seed 0; the pilot run (schedule) is part of "
        "each wall time",
        "",
        "| layout | wall (s) | median seconds of one run | threads per run |",
        "|---|---|---|---|",
        *rows,
        "",
        f"The same curves bit for bit: {same}. Wall time, one core per run against every core per run: "
        f"{walls[1] / walls[0]:.2f}.",
        "",
    ])
    with atomic_path(a.out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
