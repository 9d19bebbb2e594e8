"""Cluster faults in the Dask sweep (``ising-nn analyze``, ``make figures``), on 127.0.0.1 only, with the tiny
network: an unreachable scheduler (one line, exit 2, a connect timeout the user sets), a worker killed inside a
task (the task runs again on another worker; one that keeps killing its workers is reported with its inputs,
the finished tasks' results are kept and a rerun computes only what is missing, to the same numbers), and a
scheduler killed mid-sweep (one line, exit 2, no result file; a rerun completes)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import numpy as np
import pytest
from _faults import HoldTask, KillWorker
from _tiny import TINY_BUDGET, save_tiny
from distributed import Client, LocalCluster

from ising_nn.cli import main
from ising_nn.paper import cached_quench
from ising_nn.paper.budget import budget
from ising_nn.paper.sweep import CONNECT_TIMEOUT, Task, _ordered, connect_timeout_seconds, run_sweep, run_task

TESTS = Path(__file__).resolve().parent
#: No canonical runs: the DOS of a whole model then needs only its ground-state search.
BUDGET = dataclasses.replace(TINY_BUDGET, canonical_sweeps=None)
UNREACHABLE = "tcp://127.0.0.1:1"  # nothing listens on port 1
# header lines that record the run's wall time, the machine or where the files are, not results (test_sweep's)
VOLATILE = re.compile(r"^# (\S*time\S*|\S*seconds\S*|elapsed|threads|layout|cold_start|start_spins|thermo|"
                      r"wang_landau|input\.model|summary|couplings_read|loop\S*|tau\S*):")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("faults"), "faulty", seed=21)


def _err_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --- an unreachable scheduler, and bad settings ---------------------------------------------------------------

def test_connect_timeout_default_option_and_environment(monkeypatch):
    monkeypatch.delenv("ISING_NN_CONNECT_TIMEOUT", raising=False)
    assert connect_timeout_seconds() == CONNECT_TIMEOUT == 10
    monkeypatch.setenv("ISING_NN_CONNECT_TIMEOUT", "2.5")
    assert connect_timeout_seconds() == 2.5 and connect_timeout_seconds(4) == 4


def test_unreachable_scheduler_in_a_console(model, tmp_path):
    """The issue's command: one line naming the address and what to check, exit 2, nothing written."""
    report = tmp_path / "report.csv"
    r = subprocess.run([sys.executable, "-m", "ising_nn", "analyze", model, "--scheduler", UNREACHABLE,
                        "--connect-timeout", "1", "--dos-dir", str(tmp_path / "dos"), "-o", str(report)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr == (f"ising-nn analyze: error: cannot reach the Dask scheduler at {UNREACHABLE} (--scheduler) "
                        "within 1 s: check that it is running (`dask scheduler`) and that the host and port are "
                        "right and open to this machine, or wait longer with --connect-timeout SECONDS (or "
                        "$ISING_NN_CONNECT_TIMEOUT)\n")
    assert not any(tmp_path.iterdir())


def test_unreachable_scheduler_from_the_environment(model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ISING_NN_SCHEDULER", UNREACHABLE)
    monkeypatch.setenv("ISING_NN_CONNECT_TIMEOUT", "0.5")
    assert main(["analyze", model, "--dos-dir", str(tmp_path), "--no-progress"]) == 2
    line = _err_line(capsys)
    assert f"at {UNREACHABLE} ($ISING_NN_SCHEDULER) within 0.5 s" in line and not any(tmp_path.iterdir())


@pytest.mark.parametrize("extra, env, words", [
    (["--connect-timeout", "0"], {}, "--connect-timeout must be a positive number of seconds"),
    (["--connect-timeout", "nan"], {}, "--connect-timeout must be a positive number of seconds"),
    ([], {"ISING_NN_CONNECT_TIMEOUT": "soon"}, "$ISING_NN_CONNECT_TIMEOUT must be a positive number"),
    (["--scheduler", "127.0.0.1"], {}, "--scheduler '127.0.0.1' is not a Dask scheduler address"),
    (["--scheduler", "http://127.0.0.1:8786"], {}, "unknown address scheme 'http'"),
    ([], {"ISING_NN_SCHEDULER": "tcp://host:port"}, "$ISING_NN_SCHEDULER 'tcp://host:port' is not a Dask"),
])
def test_bad_scheduler_settings_one_line_exit_2(model, tmp_path, capsys, monkeypatch, extra, env, words):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["analyze", model, "--dos-dir", str(tmp_path), "--no-progress", *extra]) == 2
    line = _err_line(capsys)
    assert line.startswith("ising-nn analyze: error: ") and words in line, line
    assert not any(tmp_path.iterdir())


# --- workers killed inside a task -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on 127.0.0.1; a task is marked failed once 2 workers died running it."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as lc, Client(lc, set_as_default=False) as client:
            yield lc.scheduler_address, client


def _results(root: Path) -> dict:
    """Every result under ``root``: its numbers (header lines that record times, the machine or paths left out)."""
    out = {}
    for p in sorted(root.rglob("*")):
        name = p.relative_to(root).as_posix()
        if p.suffix == ".dat":
            out[name] = [line for line in p.read_text().splitlines() if not VOLATILE.match(line)]
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                out[name] = {k: z[k].tobytes() for k in z.files if k != "header"}
    return out


def _sequential(tasks, root: Path) -> dict:
    for t in _ordered(tasks, BUDGET):
        run_task(t, BUDGET, str(root))
    return _results(root)


def _mtimes(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_worker_killed_inside_a_task_the_task_runs_again_elsewhere(model, tmp_path, cluster):
    address, client = cluster
    tasks = [Task("quench", model), Task("quench", model, shuffle=1.0)]
    sentinel = tmp_path / "killed"
    client.register_plugin(KillWorker(f"quench {model} shuffle=1", sentinel), name="kill-once")
    try:
        report = run_sweep(tasks, BUDGET, out_dir=tmp_path / "dask", scheduler=address, progress=False)
    finally:
        client.unregister_worker_plugin("kill-once")
    assert len(sentinel.read_text().splitlines()) == 1  # one worker died inside the task
    assert report.ok and report.done == sorted(tasks, key=lambda t: t.sort_key)
    dask_results = _results(tmp_path / "dask")
    assert dask_results == _sequential(tasks, tmp_path / "seq") and len(dask_results) == 4


def test_a_task_that_keeps_killing_its_workers_is_reported_and_a_rerun_computes_the_rest(model, tmp_path, cluster):
    address, client = cluster
    killer = Task("quench", model, shuffle=1.0)
    dependent = Task("dos", model, shuffle=1.0)  # starts from the killer's ground state
    others = [Task("quench", model), Task("quench", model, blocks=1)]
    tasks = [*others, dependent]
    sentinel, out = tmp_path / "killed", tmp_path / "dask"
    client.register_plugin(KillWorker(f"quench {model} shuffle=1", sentinel, always=True), name="kill-always")
    try:
        report = run_sweep(tasks, BUDGET, out_dir=out, scheduler=address, progress=False)
    finally:
        client.unregister_worker_plugin("kill-always")
    # allowed-failures 1: two workers died with the others, then two more with the killer alone
    assert len(sentinel.read_text().splitlines()) == 4
    assert report.done == sorted(others, key=lambda t: t.sort_key)
    failed = dict(report.failed)
    assert failed == {
        killer: "its worker died 2 times while it ran alone (killed, or out of memory?); rerun to compute what is "
                "missing",
        dependent: f"it needs {killer.label}, whose worker died 2 times (killed, or out of memory?); rerun to "
                   "compute what is missing",
    }
    assert "faulty.npz shuffle=1" in killer.label  # the inputs: model, shuffle
    kept = _mtimes(out)
    assert sorted(kept) == ["faulty/quench/blocks1_anneal.dat", "faulty/quench/blocks1_anneal.npz",
                            "faulty/quench/trained_anneal.dat", "faulty/quench/trained_anneal.npz"]
    again = run_sweep(tasks, BUDGET, out_dir=out, scheduler=address, progress=False)
    assert again.ok and len(again.done) == 4
    after = _mtimes(out)
    assert {k: after[k] for k in kept} == kept  # read, not computed again
    assert _results(out) == _sequential(tasks, tmp_path / "seq")


def test_a_task_on_the_same_worker_as_a_killer_is_not_blamed(model, tmp_path):
    """One worker with two threads: every death of the worker counts against both tasks on it, so Dask fails
    the innocent one with the killer; run alone again, it finishes and only the killer is reported."""
    innocent, killer = Task("quench", model, blocks=1), Task("quench", model, shuffle=1.0)
    killed, held = tmp_path / "killed", tmp_path / "held"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                         dashboard_address=":0") as lc, Client(lc, set_as_default=False) as client:
        # the innocent task waits 3 s (no release file comes), so it is still running when the killer strikes
        client.register_plugin(HoldTask(f"quench {model} blocks=1", held, tmp_path / "never", hold_s=3.0),
                               name="hold")
        client.register_plugin(KillWorker(f"quench {model} shuffle=1", killed, always=True), name="kill")
        report = run_sweep([innocent, killer], BUDGET, out_dir=tmp_path / "dask", scheduler=lc.scheduler_address,
                           progress=False)
    assert report.done == [innocent]
    assert [t for t, _ in report.failed] == [killer] and "while it ran alone" in report.failed[0][1]
    assert len(killed.read_text().splitlines()) == 4
    assert _results(tmp_path / "dask") == _sequential([innocent], tmp_path / "seq")


# --- a scheduler killed mid-sweep -----------------------------------------------------------------------------

def _wait_for(path: Path, proc: subprocess.Popen, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"{what} ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {path.name} after {timeout} s")
        time.sleep(0.05)


def test_a_scheduler_killed_mid_sweep_one_line_exit_2_and_a_rerun_completes(model, tmp_path, capfd):
    py = sys.executable
    dos, report = tmp_path / "dos", tmp_path / "report.csv"
    held, release, sfile = tmp_path / "held", tmp_path / "release", tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    try:
        sched = subprocess.Popen([py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(sfile)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sched)
        _wait_for(sfile, sched, "the scheduler")
        address = json.loads(sfile.read_text())["address"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
        procs.append(subprocess.Popen([py, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
                                       "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address, set_as_default=False, timeout=60) as c:
            c.wait_for_workers(1, timeout=120)
            c.register_plugin(HoldTask(f"quench {model} shuffle=1", held, release), name="hold")
        sweep = subprocess.Popen([py, "-m", "ising_nn", "analyze", model, "--scheduler", address, "--no-thermo",
                                  "--no-progress", "--dos-dir", str(dos), "-o", str(report)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(sweep)
        _wait_for(held, sweep, "the sweep")  # the shuffled network's search has begun, and waits
        sched.send_signal(signal.SIGKILL)
        out, err = sweep.communicate(timeout=120)
    finally:
        release.touch()
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=60)
    assert sweep.returncode == 2 and out == "" and "Traceback" not in err, err
    assert err.startswith(f"ising-nn analyze: error: lost the Dask scheduler at {address} mid-sweep (")
    assert err.endswith(f" tasks finished, kept in {dos}): check that the scheduler is still running and "
                        "reachable, then rerun to compute the rest\n") and err.count("\n") == 1
    assert not report.exists() and not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
    kept = _mtimes(dos)
    assert "faulty/quench/shuffled_anneal.dat" not in kept

    # the rerun, on a local cluster: only what is missing, and the numbers of an uninterrupted run
    capfd.readouterr()
    assert main(["analyze", model, "--no-thermo", "--no-progress", "--dos-dir", str(dos), "--json"]) == 0
    rows = json.loads(capfd.readouterr().out)
    after = _mtimes(dos)
    assert {k: after[k] for k in kept} == kept and "faulty/quench/shuffled_anneal.dat" in after
    b = budget()
    clean = tmp_path / "clean"
    for key, kw in (("trained", {}), ("shuffled", {"shuffle": 1.0})):
        q = cached_quench(model, method=b.quench_method, restarts=b.quench_restarts, out_dir=clean, verbose=False,
                          **kw)
        assert rows[0][f"E0_per_spin_{key}"] == q.energy_per_spin
    q1 = cached_quench(model, blocks=1, method=b.quench_method, restarts=b.quench_restarts, out_dir=clean,
                       verbose=False)
    assert rows[0]["W_per_spin_blocks_trained"][0] == q1.width_per_spin
