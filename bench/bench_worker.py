"""The heat-bath sweep where the figures run it: in this process against in a Dask worker (``make bench-worker``).

Population annealing's sweep mix (four unmeasured int8x3 sweeps to one measured) on MiniLM, one thread, in
this process, in a worker of a :class:`distributed.LocalCluster` with Dask's own worker environment
(``MALLOC_TRIM_THRESHOLD_=65536``: glibc hands freed memory back at once and keeps its mmap threshold at
128 KiB), and in a worker of the figures' sweep cluster (:func:`ising_nn.paper.sweep._client`, which leaves
glibc's adaptive thresholds alone); each with the chains' reusable buffers and with a fresh buffer for every
product (as the chains did before). Wall, user and system milliseconds per sweep, medians of interleaved
repetitions (each repetition a fresh chain, its first sweeps not timed). Writes ``bench/WORKER.md``."""

from __future__ import annotations

import datetime
import logging
import os
import platform
import sys
import time

import numpy as np

REPEATS = 5
SWEEPS = 10


def sweeps(replicas: int, fresh: bool, n: int = SWEEPS) -> tuple[float, float, float]:
    """``(wall, user, sys)`` ms per sweep of ``n`` sweeps (one in five measured) at ``beta = 0.25``."""
    import numba
    import torch

    import ising_nn as isn
    from ising_nn.canonical.chain import LayerChains

    numba.set_num_threads(1)
    torch.set_num_threads(1)
    c = isn.load_couplings("minilm")
    s = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (replicas, c.n_spins))
    ch = LayerChains(c, s, "cpu", 0, "int8x3")
    if fresh:
        ch._scratch_tensor = lambda name, shape, dtype: torch.empty(shape, dtype=dtype)
    beta = np.full(replicas, 0.25)
    ch.half_sweep(0, beta, False), ch.half_sweep(1, beta, True)
    t0, w = os.times(), time.perf_counter()
    for i in range(n):
        ch.half_sweep(0, beta, i % 5 == 4), ch.half_sweep(1, beta, i % 5 == 4)
    t1, w = os.times(), time.perf_counter() - w
    return 1e3 * w / n, 1e3 * (t1.user - t0.user) / n, 1e3 * (t1.system - t0.system) / n


def main(out: str = "bench/WORKER.md") -> None:
    import dask
    import distributed  # noqa: F401  (its configuration defaults)
    from distributed import Client, LocalCluster

    from ising_nn.paper.sweep import _client

    t_all = time.perf_counter()
    default_env = dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_")
    here = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    # the figures' cluster first: a nanny also writes its pre-spawn environment into this process's, which a
    # cluster started after it would inherit
    ours_client, ours_cluster = _client(None, 1, 10.0)
    dask_cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                silence_logs=logging.CRITICAL)
    dask_client = Client(dask_cluster, set_as_default=False)
    where = {"this process": None, "Dask worker, Dask's environment": dask_client,
             "Dask worker, the figures' sweep cluster": ours_client}
    envs = {k: (c.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")) if c else {"": here})
            for k, c in where.items()}
    cases = [(w, r, f) for r in (1024, 368) for w in where for f in (False, True)]
    times: dict = {k: [] for k in cases}
    for rep in range(REPEATS):
        for k in cases:
            w, r, f = k
            cl = where[w]
            times[k].append(sweeps(r, f) if cl is None else cl.submit(sweeps, r, f, pure=False).result())
        sys.stderr.write(f"repetition {rep + 1}/{REPEATS} done\n")
    for c in (dask_client, ours_client):
        c.close()
    for c in (dask_cluster, ours_cluster):
        c.close()
    med = {k: np.median(np.array(v), axis=0) for k, v in times.items()}
    rows = []
    for k in cases:
        w, r, f = k
        base = med[("this process", r, False)][0]
        wall, user, sys_ = med[k]
        rows.append(f"| {r} | {w} | {'fresh each product' if f else 'reused'} | {wall:.1f} | {user:.1f} | "
                    f"{sys_:.1f} | {wall / base:.2f} |")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
               f"{os.getloadavg()[0]:.2f} at the end")
    env_line = "; ".join(f"{k}: {next(iter(v.values()))}" for k, v in envs.items())
    text = f"""# The sweep in a Dask worker

- date: {datetime.datetime.now().isoformat(timespec='seconds')}
- command: `python -m bench.bench_worker` (`make bench-worker`), {time.perf_counter() - t_all:.0f} s in all
- machine: {machine}; one thread (numba and torch) everywhere
- MiniLM, int8x3 fields, population annealing's sweep mix (4 unmeasured : 1 measured) at beta = 0.25;
  medians of {REPEATS} interleaved repetitions of {SWEEPS} sweeps, each a fresh chain
- `MALLOC_TRIM_THRESHOLD_` seen by each: {env_line} (Dask's default: {default_env})

| replicas | where | sweep buffers | wall ms | user ms | sys ms | wall / this process, reused |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    with open(out, "w") as fh:
        fh.write(text)
    sys.stderr.write(text)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench/WORKER.md")
    main(ap.parse_args().out)
