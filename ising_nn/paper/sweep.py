"""The pipeline's independent runs (model x trained / shuffled x first-k blocks x fraction x seed) as Dask tasks.

A :class:`Task` names one cached result (a ground-state search, a canonical run or a density of states); its
inputs and the budget decide its file, so a task whose file exists is read, never recomputed, and the same
tasks give the same files sequentially, on a local cluster or on a remote one. Dependencies follow the
samplers: a canonical run starts cold from the ground-state search of the same inputs, and a density of
states from both. :func:`run_sweep` sends the tasks to ``scheduler`` (an address, or ``$ISING_NN_SCHEDULER``)
or to a :class:`distributed.LocalCluster` sized to the machine, shows progress and the dashboard address (on
stderr: stdout is left to the data a command prints), and reports every failed task with its inputs while the
others finish.

Faults, each one line for the user (an :class:`~ising_nn.errors.IsingNNError`, exit status 2 from the CLI):

* a scheduler that cannot be reached within the connect timeout (``connect_timeout``, else
  ``$ISING_NN_CONNECT_TIMEOUT``, else 10 s; it is dask's ``distributed.comm.timeouts.connect`` while the sweep
  runs) names the address and what to check;
* a worker that dies in the middle of a task: the scheduler runs the task again on another worker (dask's
  ``distributed.scheduler.allowed-failures``). The scheduler counts a death against every task the worker
  held, so the tasks it fails that way run again one at a time once the others are done: a task that kills
  its workers also when alone, or that raises twice (``retries=1`` on submit), is reported with its inputs,
  and the ones that only shared its workers finish;
* a scheduler that goes away mid-sweep: the sweep stops with one line.

Every finished task's result is a file in the cache, written atomically, so a rerun of the same sweep reads
what was finished and computes only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ising_nn import validate
from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import Budget
from ising_nn.paper.paths import DOS_DIR, dos_path

__all__ = ["Task", "SweepReport", "figure_tasks", "model_tasks", "priorities", "run_task", "run_sweep",
           "connect_timeout_seconds", "SCHEDULER_ENV", "TIMEOUT_ENV", "CONNECT_TIMEOUT", "RETRIES"]

#: Environment variable naming a Dask scheduler to send the tasks to (``tcp://host:8786``).
SCHEDULER_ENV = "ISING_NN_SCHEDULER"
#: Environment variable: seconds to wait for the scheduler to answer (default :data:`CONNECT_TIMEOUT`).
TIMEOUT_ENV = "ISING_NN_CONNECT_TIMEOUT"
CONNECT_TIMEOUT = 10.0
#: Dask's ``retries=`` of every task: a task that raised runs once more (perhaps on another worker) before it is
#: reported. A worker that dies mid-task is the scheduler's ``allowed-failures`` (default 3), not a retry.
RETRIES = 1
_KEY = "ising-nn "  # a task's Dask key: this, then its label
KINDS = ("quench", "thermo", "dos", "population", "population-check", "quality")


@dataclass(frozen=True)
class Task:
    """One cached result: ``kind`` in ``quench``, ``thermo``, ``dos``, ``population`` (population annealing of
    a whole model), ``population-check`` (its runs of a quarter of the population), ``quality`` (the quality
    study's shuffle and ladder tables of one trained model, ``model`` naming its task, e.g. ``vit-digits``); the
    model by name or path; the first ``blocks`` blocks (None: all); the fraction ``shuffle`` of couplings
    shuffled; the seed."""

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


def _inputs(t: Task) -> dict:
    """What names a task's result besides its kind."""
    return dict(model=t.model, blocks=t.blocks, shuffle=t.shuffle, seed=t.seed)


def dependencies(t: Task, b: Budget) -> list[Task]:
    """The tasks whose files ``t`` reads: the ground-state search of the same inputs, and for a whole model's
    DOS with a canonical budget the canonical run."""
    if t.kind in ("quench", "population", "population-check", "quality"):
        return []
    same = _inputs(t)
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
            if thermo and s == b.seeds[0] and b.anneals(f):
                out += [Task("population", model, None, f, s), Task("population-check", model, None, f, s)]
    if n_blocks is not None:
        ks = sorted(k for k in (b.blocks or range(1, n_blocks + 1)) if 1 <= k < n_blocks)
        for k in ks:
            for f in (0.0, 1.0):
                out += [Task("quench", model, k, f, 0), Task("dos", model, k, f, 0)]
    return out


def figure_tasks(models: Sequence[str], b: Budget, *, fractions: Iterable[float] = (),
                 fraction_seeds: Sequence[int] = (0,), quality: Sequence[str] = ()) -> list[Task]:
    """Every sampler run behind ``make figures`` for ``models`` (the ground-state searches of the shuffled
    fractions too) and the quality study of the tasks ``quality``, deduplicated, in a deterministic order."""
    from ising_nn.model.load import describe

    tasks: set[Task] = {Task("quality", q) for q in quality}
    for m in models:
        tasks.update(model_tasks(m, b, n_blocks=describe(m).blocks))
        for f in fractions:
            for s in (fraction_seeds if f > 0 else fraction_seeds[:1]):
                tasks.add(Task("quench", m, None, float(f), int(s)))
    return sorted(tasks, key=lambda t: t.sort_key)


def _in_worker() -> bool:
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def run_task(t: Task, b: Budget, out_dir: str, threads: int | None = None, *_deps) -> str:
    """Compute (or read) ``t``'s cached result with ``threads`` threads for numba and torch; returns its file.

    ``_deps`` are the results of the tasks it depends on (passed only so that a scheduler orders them)."""
    from ising_nn.paper.cache import cached_quench
    from ising_nn.paper.dos import cached_dos
    from ising_nn.paper.population import cached_population
    from ising_nn.paper.thermo import cached_thermo
    from ising_nn.quality.report import cached_quality

    if threads is not None:
        import numba
        import torch

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        torch.set_num_threads(max(1, int(threads)))
    if t.kind == "quality":
        cached_quality(t.model, smoke=b.quality_smoke, dos_dir=out_dir, threads=threads or 1)
        return str(Path(out_dir) / "quality")
    kw = dict(blocks=t.blocks, shuffle=t.shuffle, seed=t.seed, out_dir=out_dir, verbose=False)
    if t.kind == "quench":
        return str(cached_quench(t.model, method=b.quench_method, restarts=b.quench_restarts, **kw).path)
    if t.kind == "thermo":
        return str(cached_thermo(t.model, b=b, **kw).path)
    if t.kind.startswith("population"):
        # inside a sweep, the runs of one result are tasks of their own: the cores share them
        return str(cached_population(t.model, b=b, check=t.kind == "population-check",
                                     scheduler="worker" if _in_worker() else None, **kw).path)
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


def priorities(tasks: Sequence[Task], b: Budget) -> dict[Task, int]:
    """Dask priorities of ``tasks`` (higher runs first; ``tasks`` as :func:`_ordered` gives them, each after its
    dependencies), so that the sweep's longest chain starts first.

    Every :meth:`distributed.Client.submit` of a sweep falls within one scheduling generation, so without them
    the scheduler's order among the tasks is arbitrary, and the tasks population annealing submits from inside its
    task (its runs) go before all of them: a long run of the canonical engine could start last and hold one core
    alone at the end. Here a whole model's canonical engine and the DOS that reads it take its sweeps as priority
    (the shuffle's longer run first); population annealing's tasks take 1, so that they submit their runs early
    (the runs then go before every task of priority 0); the rest, minutes each, take 0 and fill the cores at the
    end. A task's dependencies take at least its priority, so sorting by priority keeps them before it.
    """
    out = {}
    for t in tasks:
        chain = t.kind == "thermo" or (t.kind == "dos" and Task("thermo", **_inputs(t)) in dependencies(t, b))
        out[t] = int(b.sweeps_canonical(t.shuffle) or 1) if chain else int(t.kind.startswith("population"))
    for t in reversed(tasks):
        for d in dependencies(t, b):
            if d in out:
                out[d] = max(out[d], out[t])
    return out


def connect_timeout_seconds(seconds: float | str | None = None) -> float:
    """Seconds to wait for a Dask scheduler: ``seconds``, else ``$ISING_NN_CONNECT_TIMEOUT``, else 10."""
    if seconds is not None:
        return validate.number("--connect-timeout", seconds, positive=True, what="number of seconds")
    env = os.environ.get(TIMEOUT_ENV)
    if env not in (None, ""):
        return validate.number(f"${TIMEOUT_ENV}", env, positive=True, what="number of seconds")
    return CONNECT_TIMEOUT


def _client(scheduler: str | None, workers: int | None, timeout: float):
    import dask
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        from distributed.comm import get_address_host_port

        given = "--scheduler" if scheduler else f"${SCHEDULER_ENV}"
        try:  # before a Client exists: a half-made one waits 20 s at exit to close
            if not address.startswith("inproc://"):
                get_address_host_port(address)
        except ValueError as exc:  # a missing port, an unknown scheme
            raise IsingNNError(f"{given} {address!r} is not a Dask scheduler address ({exc}); give one like "
                               "tcp://HOST:8786") from None
        try:
            return Client(address, timeout=timeout, set_as_default=False), None
        except (OSError, TimeoutError):
            raise IsingNNError(
                f"cannot reach the Dask scheduler at {address} ({given}) within {timeout:g} s: check that it is "
                f"running (`dask scheduler`) and that the host and port are right and open to this machine, or "
                f"wait longer with --connect-timeout SECONDS (or ${TIMEOUT_ENV})") from None
    n = workers or os.cpu_count() or 1
    # the workers' own logs (a task's traceback, a restarted worker) stay quiet: the sweep reports every failed
    # task in one line with its inputs
    # Dask's workers hand freed memory back to the system at once (MALLOC_TRIM_THRESHOLD_=65536 in its
    # pre-spawn environment), so that every large temporary, torch's own included, costs fresh page faults:
    # these workers keep glibc's adaptive thresholds (a user's own $MALLOC_TRIM_THRESHOLD_ still passes through)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.CRITICAL)
    return Client(cluster, set_as_default=False), cluster


def _failure(exc: BaseException, key: str, alone: bool = False) -> str:
    """One line for the task ``key`` that failed with ``exc``: its error, or that its workers died (running it,
    or running a task it needs; ``alone``: with no other task on them)."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        died = (f"died {exc.allowed_failures + 1} times{' while it ran alone' if alone else ''} (killed, or out of "
                "memory?); rerun to compute what is missing")
        if str(exc.task) != key:
            return f"it needs {str(exc.task).removeprefix(_KEY)}, whose worker {died}"
        return f"its worker {died}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().replace("\n", " ")


def _killed(exc: BaseException | None) -> bool:
    from distributed.scheduler import KilledWorker

    return isinstance(exc, KilledWorker)


def _alone(client, killed: dict[Task, str], report: SweepReport, b: Budget, out: str, threads, progress: bool,
           n: int) -> None:
    """Run each task of ``killed`` again, one at a time, and report the ones that fail again.

    The scheduler blames every task a dying worker held, the one that killed it and any other it was running or
    had queued, so a task that kills its workers takes innocent ones down with it. Alone, each task either
    finishes or kills its workers again; a task whose dependency failed again is not run.
    """
    from distributed import as_completed

    if progress:
        print(f"sweep: {len(killed)} tasks were on workers that died; running them again one at a time to tell "
              "which task kills them", file=sys.stderr, flush=True)
    failed = {t for t, _ in report.failed}
    for t in _ordered(list(killed), b):
        if t not in killed:
            continue
        bad = [d for d in dependencies(t, b) if d in failed]
        if bad:
            msg = killed[t] if killed[t].startswith("it needs") else f"it needs {bad[0].label}, which failed"
        else:
            key = f"{_KEY}alone {t.label}"
            fut = client.submit(run_task, t, b, out, threads, key=key, pure=False)
            for _ in as_completed([fut], loop=client.loop):  # waits; the client's own loop (no default client)
                pass
            if fut.status == "finished":
                report.done.append(t)
                continue
            if fut.status == "cancelled":
                raise _lost(str(client.scheduler.address), report, n, out)
            msg = _failure(fut.exception(), key, alone=True)
        failed.add(t)
        report.failed.append((t, msg))
        if progress:
            print(f"sweep: FAILED {t.label}: {msg}", file=sys.stderr, flush=True)


def _close_quietly(client) -> None:
    """Close ``client``; a client that lost its scheduler logs the reconnection it gives up as a traceback."""
    loggers = [logging.getLogger(n) for n in ("distributed", "distributed.client")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        client.close()
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _lost(address: str, report: SweepReport, n: int, out: str) -> IsingNNError:
    return IsingNNError(
        f"lost the Dask scheduler at {address} mid-sweep ({len(report.done)} of {n} tasks finished, kept in "
        f"{out}): check that the scheduler is still running and reachable, then rerun to compute the rest")


def run_sweep(tasks: Sequence[Task], b: Budget, *, out_dir: str | os.PathLike = DOS_DIR, scheduler: str | None = None,
              workers: int | None = None, progress: bool = True, connect_timeout: float | None = None,
              retries: int = RETRIES) -> SweepReport:
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
        A progress bar, and one line per failed task as it fails (on stderr, with the scheduler's address).
    connect_timeout : float, optional
        Seconds to wait for ``scheduler`` (default ``$ISING_NN_CONNECT_TIMEOUT``, else 10).
    retries : int
        Dask's ``retries=``: how many more times a task that raised is run before it is reported.

    Raises
    ------
    IsingNNError
        The scheduler cannot be reached, or it went away mid-sweep (the finished tasks' results are kept).
    """
    import dask
    from distributed import as_completed
    from tqdm import tqdm

    timeout = connect_timeout_seconds(connect_timeout)
    retries = validate.integer("retries", retries, 0)
    order = _ordered(tasks, b)
    out = str(Path(out_dir).resolve())
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stack.enter_context(dask.config.set({"distributed.comm.timeouts.connect": f"{timeout:g}s"}))
        client, cluster = _client(scheduler, workers, timeout)
        if cluster is not None:
            stack.callback(cluster.close)
        stack.callback(_close_quietly, client)
        address = str(client.scheduler.address)
        report = SweepReport(scheduler=address)
        try:
            info = client.scheduler_info()
        except OSError:  # CommClosedError too
            raise _lost(address, report, len(order), out) from None
        n_workers = len(info.get("workers", {}))
        link = client.dashboard_link if "dashboard" in info.get("services", {}) else ""
        if progress:
            print(f"sweep: {len(order)} tasks on {address}" + (f"; dashboard {link}" if link else ""),
                  file=sys.stderr, flush=True)
        if n_workers == 0:
            print(f"sweep: no workers on {address} yet; the tasks wait for one (`dask worker {address}`)",
                  file=sys.stderr, flush=True)
        threads = 1 if cluster is not None or n_workers > 1 else None
        rank = priorities(order, b)
        futures = {}
        # submitted in priority order too: the first tasks go to idle workers before any later one is known
        for t in sorted(order, key=lambda t: -rank[t]):
            deps = [futures[d] for d in dependencies(t, b) if d in futures]
            futures[t] = client.submit(run_task, t, b, out, threads, *deps, key=_KEY + t.label, pure=False,
                                       retries=retries, priority=rank[t])
        by_future = {f.key: t for t, f in futures.items()}
        killed: dict[Task, str] = {}
        bar = stack.enter_context(tqdm(total=len(futures), desc="sweep", unit="task", disable=not progress))
        for fut in as_completed(list(futures.values()), loop=client.loop):
            t = by_future[fut.key]
            if fut.status == "finished":
                report.done.append(t)
            elif fut.status == "cancelled":
                # the client cancels every future when it loses the scheduler; nothing else here cancels them
                raise _lost(address, report, len(order), out)
            elif _killed(fut.exception()):
                killed[t] = _failure(fut.exception(), str(fut.key))
            else:
                msg = _failure(fut.exception(), str(fut.key))
                report.failed.append((t, msg))
                if progress:
                    tqdm.write(f"sweep: FAILED {t.label}: {msg}", file=sys.stderr)
            bar.update(1)
        if killed:
            _alone(client, killed, report, b, out, threads, progress, len(order))
    report.seconds = time.perf_counter() - t0
    report.done.sort(key=lambda t: t.sort_key)
    report.failed.sort(key=lambda x: x[0].sort_key)
    return report
