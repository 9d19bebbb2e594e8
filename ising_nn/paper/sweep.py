"""The pipeline's independent runs (model x trained / shuffled x first-k blocks x fraction x seed) as Dask tasks.

A :class:`Task` names one cached result (a ground-state search, a canonical run or a density of states); its
inputs and the budget decide its file, so a task whose file exists is read, never recomputed, and the same
tasks give the same files sequentially, on a local cluster or on a remote one. Dependencies follow the
samplers: a canonical run starts cold from the ground-state search of the same inputs, and a density of
states from both. :func:`run_sweep` sends the tasks to ``scheduler`` (an address, or ``$ISING_NN_SCHEDULER``)
or to a :class:`distributed.LocalCluster` sized to the machine, shows progress, prints the dashboard
address, and reports every failed task with its inputs while the others finish.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import Budget
from ising_nn.paper.paths import DOS_DIR, dos_path

__all__ = ["Task", "SweepReport", "figure_tasks", "model_tasks", "run_task", "run_sweep", "SCHEDULER_ENV"]

#: Environment variable naming a Dask scheduler to send the tasks to (``tcp://host:8786``).
SCHEDULER_ENV = "ISING_NN_SCHEDULER"
KINDS = ("quench", "thermo", "dos")


@dataclass(frozen=True)
class Task:
    """One cached result: ``kind`` in ``quench``, ``thermo``, ``dos``; the model by name or path; the first
    ``blocks`` blocks (None: all); the fraction ``shuffle`` of couplings shuffled; the seed."""

    kind: str
    model: str
    blocks: int | None = None
    shuffle: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise IsingNNError(f"task kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def sort_key(self) -> tuple:
        return (str(self.model), KINDS.index(self.kind), self.blocks or 0, self.shuffle, self.seed)

    @property
    def label(self) -> str:
        parts = [self.kind, str(self.model)]
        if self.blocks is not None:
            parts.append(f"blocks={self.blocks}")
        if self.shuffle:
            parts.append(f"shuffle={self.shuffle:g}")
        if self.seed:
            parts.append(f"seed={self.seed}")
        return " ".join(parts)


def dependencies(t: Task, b: Budget) -> list[Task]:
    """The tasks whose files ``t`` reads: the ground-state search of the same inputs, and for a whole model's
    DOS with a canonical budget the canonical run."""
    if t.kind == "quench":
        return []
    same = dict(model=t.model, blocks=t.blocks, shuffle=t.shuffle, seed=t.seed)
    deps = [Task("quench", **same)]
    if t.kind == "dos" and t.blocks is None and b.canonical_sweeps is not None:
        deps.append(Task("thermo", **same))
    return deps


def model_tasks(model: str, b: Budget, *, n_blocks: int | None = None, thermo: bool = True) -> list[Task]:
    """A model's trained and shuffled results for every seed of ``b``, and (given ``n_blocks``, its depth)
    the first-k-block searches and densities of states of the blocks figure."""
    out: list[Task] = []
    for s in b.seeds:
        for f in (0.0, 1.0):
            out.append(Task("quench", model, None, f, s))
            if thermo and b.canonical_sweeps is not None:
                out.append(Task("thermo", model, None, f, s))
            out.append(Task("dos", model, None, f, s))
    if n_blocks is not None:
        ks = sorted(k for k in (b.blocks or range(1, n_blocks + 1)) if 1 <= k < n_blocks)
        for k in ks:
            for f in (0.0, 1.0):
                out += [Task("quench", model, k, f, 0), Task("dos", model, k, f, 0)]
    return out


def figure_tasks(models: Sequence[str], b: Budget, *, fractions: Iterable[float] = (),
                 fraction_seeds: Sequence[int] = (0,)) -> list[Task]:
    """Every sampler run behind ``make figures`` for ``models`` (the ground-state searches of the shuffled
    fractions too), deduplicated, in a deterministic order."""
    from ising_nn.model.load import describe

    tasks: set[Task] = set()
    for m in models:
        tasks.update(model_tasks(m, b, n_blocks=describe(m).blocks))
        for f in fractions:
            for s in (fraction_seeds if f > 0 else fraction_seeds[:1]):
                tasks.add(Task("quench", m, None, float(f), int(s)))
    return sorted(tasks, key=lambda t: t.sort_key)


def run_task(t: Task, b: Budget, out_dir: str, threads: int | None = None, *_deps) -> str:
    """Compute (or read) ``t``'s cached result with ``threads`` threads for numba and torch; returns its file.

    ``_deps`` are the results of the tasks it depends on (passed only so that a scheduler orders them)."""
    from ising_nn.paper.cache import cached_quench
    from ising_nn.paper.dos import cached_dos
    from ising_nn.paper.thermo import cached_thermo

    if threads is not None:
        import numba
        import torch

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        torch.set_num_threads(max(1, int(threads)))
    kw = dict(blocks=t.blocks, shuffle=t.shuffle, seed=t.seed, out_dir=out_dir, verbose=False)
    if t.kind == "quench":
        return str(cached_quench(t.model, method=b.quench_method, restarts=b.quench_restarts, **kw).path)
    if t.kind == "thermo":
        return str(cached_thermo(t.model, b=b, **kw).path)
    sweeps = b.wl_sweeps if t.blocks is None else b.wl_sweeps_blocks
    cached_dos(t.model, sweeps=sweeps, bins=b.bins, start_method=b.quench_method, start_restarts=b.quench_restarts,
               canonical=b if t.blocks is None else None, **kw)
    return str(dos_path(t.model, blocks=t.blocks, shuffle=t.shuffle, seed=t.seed, out_dir=out_dir))


@dataclass
class SweepReport:
    """What a sweep did: the tasks that finished, those that failed (with the error), and its wall time."""

    done: list[Task] = field(default_factory=list)
    failed: list[tuple[Task, str]] = field(default_factory=list)
    seconds: float = 0.0
    scheduler: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed


def _ordered(tasks: Sequence[Task], b: Budget) -> list[Task]:
    """``tasks`` and their dependencies, each after the tasks it depends on."""
    seen: dict[Task, None] = {}

    def visit(t: Task) -> None:
        if t in seen:
            return
        for d in dependencies(t, b):
            visit(d)
        seen[t] = None

    for t in tasks:
        visit(t)
    return list(seen)


def _client(scheduler: str | None, workers: int | None):
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        return Client(address), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    return Client(cluster), cluster


def run_sweep(tasks: Sequence[Task], b: Budget, *, out_dir: str | os.PathLike = DOS_DIR, scheduler: str | None = None,
              workers: int | None = None, progress: bool = True) -> SweepReport:
    """Run ``tasks`` (and what they depend on) as Dask tasks; see the module docstring.

    Parameters
    ----------
    tasks : sequence of Task
    b : Budget
    out_dir : path
        The results folder every worker reads and writes (shared storage on a cluster).
    scheduler : str, optional
        Address of an existing Dask scheduler (default ``$ISING_NN_SCHEDULER``; else a local cluster).
    workers : int, optional
        Workers of the local cluster (default: one per core, each task on one thread).
    progress : bool
        A progress bar, and one line per failed task as it fails.
    """
    from distributed import as_completed
    from tqdm import tqdm

    order = _ordered(tasks, b)
    out = str(Path(out_dir).resolve())
    t0 = time.perf_counter()
    client, cluster = _client(scheduler, workers)
    report = SweepReport(scheduler=str(client.scheduler.address))
    try:
        link = client.dashboard_link if cluster is None or cluster.dashboard_link else ""
        if progress:
            print(f"sweep: {len(order)} tasks on {report.scheduler}"
                  + (f"; dashboard {link}" if link else ""), flush=True)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        threads = 1 if cluster is not None or n_workers > 1 else None
        futures = {}
        for t in order:
            deps = [futures[d] for d in dependencies(t, b) if d in futures]
            futures[t] = client.submit(run_task, t, b, out, threads, *deps, key=f"ising-nn {t.label}", pure=False)
        by_future = {f.key: t for t, f in futures.items()}
        bar = tqdm(total=len(futures), desc="sweep", unit="task", disable=not progress)
        for fut in as_completed(list(futures.values())):
            t = by_future[fut.key]
            if fut.status == "finished":
                report.done.append(t)
            else:
                exc = fut.exception()
                msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                report.failed.append((t, msg))
                if progress:
                    tqdm.write(f"sweep: FAILED {t.label}: {msg}")
            bar.update(1)
        bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    report.seconds = time.perf_counter() - t0
    report.done.sort(key=lambda t: t.sort_key)
    report.failed.sort(key=lambda x: x[0].sort_key)
    return report
