"""The sweep on Dask: the same tasks on a two-worker LocalCluster write the same results as a sequential
run, a failing task is reported with its inputs while the others finish, and cached results are read."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _tiny import save_tiny

from ising_nn.paper import Budget
from ising_nn.paper.sweep import Task, _ordered, model_tasks, priorities, run_sweep, run_task

BUDGET = Budget(wl_sweeps=100.0, wl_sweeps_blocks=100.0, bins=40, quench_method="anneal", quench_restarts=4,
                blocks=None, seeds=(0,), canonical_sweeps=80, canonical_tmin=0.8, canonical_tmax=20.0,
                canonical_bins=80)
# header lines that record the run's wall time, the machine or where the files are, not results
VOLATILE = re.compile(r"^# (\S*time\S*|\S*seconds\S*|elapsed|threads|layout|cold_start|start_spins|thermo|"
                      r"wang_landau|input\.model|summary|couplings_read|loop\S*|tau\S*):")


@pytest.fixture
def model(tmp_path):
    return save_tiny(tmp_path, "sweep", seed=8)


def _results(root):
    out = {}
    for p in sorted(root.rglob("*")):
        if p.suffix == ".dat":
            out[p.relative_to(root).as_posix()] = [l for l in p.read_text().splitlines() if not VOLATILE.match(l)]
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                out[p.relative_to(root).as_posix()] = {k: z[k].tobytes() for k in z.files if k != "header"}
    return out


def test_two_worker_cluster_writes_what_a_sequential_run_writes(model, tmp_path):
    tasks = model_tasks(model, BUDGET, n_blocks=2)
    assert {t.kind for t in tasks} == {"quench", "thermo", "dos"} and any(t.blocks == 1 for t in tasks)
    seq = tmp_path / "seq"
    for t in _ordered(tasks, BUDGET):
        run_task(t, BUDGET, str(seq))
    report = run_sweep(tasks, BUDGET, out_dir=tmp_path / "dask", workers=2, progress=False)
    assert report.ok and len(report.done) == len(_ordered(tasks, BUDGET))
    a, b = _results(seq), _results(tmp_path / "dask")
    assert sorted(a) == sorted(b) and len(a) >= 10
    for name in a:
        assert a[name] == b[name], name


def test_a_failing_task_is_reported_with_its_inputs_and_the_others_finish(model, tmp_path):
    bad = Task("quench", str(tmp_path / "missing.npz"))
    good = Task("quench", model, shuffle=1.0)
    dependent = Task("dos", str(tmp_path / "missing.npz"), blocks=1)
    report = run_sweep([bad, good, dependent], BUDGET, out_dir=tmp_path / "dos", workers=2, progress=False)
    assert report.done == [good]
    failed = dict(report.failed)
    # the dependent DOS fails with its own ground-state search (another task, added as its dependency)
    assert set(failed) == {bad, dependent, Task("quench", dependent.model, blocks=1)}
    assert all("missing.npz" in msg for msg in failed.values())
    assert "missing.npz" in bad.label
    # cached: a second sweep reads the file (it is not written again)
    path = next((tmp_path / "dos").rglob("shuffled_anneal.dat"))
    mtime = path.stat().st_mtime_ns
    again = run_sweep([good], BUDGET, out_dir=tmp_path / "dos", workers=1, progress=False)
    assert again.ok and path.stat().st_mtime_ns == mtime


def test_bad_task_kind():
    with pytest.raises(ValueError, match="task kind"):
        Task("magic", "minilm")


@pytest.mark.parametrize("precision", ["auto", "float64"])
def test_budget_names_a_precision(precision):
    """A budget gives the same numbers on every machine, so it names its fields' precision: never ``auto``."""
    from ising_nn.errors import IsingNNError

    with pytest.raises(IsingNNError, match="budget's precision"):
        Budget(1.0, 1.0, 10, "anneal", 1, None, precision=precision)


@pytest.mark.parametrize("field, value", [("pa_population", 16), ("pa_runs", 1), ("pa_sweeps", 0),
                                          ("pa_sweeps_hot", 0), ("pa_population", 64.0)])
def test_budget_refuses_a_population_that_cannot_run(field, value):
    """Caught when the budget is made, in one line, not in a Dask task an hour later (the R / 4 check of a
    population of 16 would have 4 replicas)."""
    from ising_nn.errors import IsingNNError

    with pytest.raises(IsingNNError, match=f"budget's {field} must be"):
        Budget(1.0, 1.0, 10, "anneal", 1, None, precision="float32", **{field: value})


def test_a_shuffle_can_have_its_own_canonical_sweeps(tmp_path):
    """``canonical_sweeps_shuffled`` sets the shuffle's run alone; the trained one and a budget without it keep
    ``canonical_sweeps``; the shuffle's DOS names the run its windows came from, so a change recomputes it."""
    from dataclasses import replace

    from ising_nn.errors import IsingNNError
    from ising_nn.paper.dos import _sampler_inputs

    b = replace(BUDGET, canonical_sweeps_shuffled=160)
    assert (b.sweeps_canonical(0.0), b.sweeps_canonical(1.0), b.sweeps_canonical(0.5)) == (80, 160, 160)
    assert BUDGET.sweeps_canonical(1.0) == 80
    assert replace(b, canonical_sweeps=None).sweeps_canonical(1.0) is None
    keys = [_sampler_inputs(1.0, None, 40, "anneal", 4, x, f)["windows"]
            for x, f in ((BUDGET, 1.0), (b, 0.0), (b, 1.0))]
    assert keys[0] == keys[1] != keys[2] and "160 sweeps" in keys[2]
    with pytest.raises(IsingNNError, match="canonical_sweeps_shuffled must be"):
        replace(BUDGET, canonical_sweeps_shuffled=40)
    from _tiny import save_tiny

    from ising_nn.paper import cached_thermo

    path = save_tiny(tmp_path, "tiny", seed=3)
    th = cached_thermo(path, shuffle=1.0, b=replace(b, quench_restarts=1), out_dir=tmp_path / "dos", verbose=False)
    assert th.header["input.sweeps"] == th.header["sweeps"] == "160"


def test_the_longest_chain_goes_first():
    """The figures' budget: the shuffle's canonical engine (16,000 sweeps), its ground-state search before it and
    its DOS after it first; the trained network's chain (1,000) next; population annealing's tasks above the
    minutes-long rest, which all take 0."""
    from ising_nn.paper.budget import DEFAULT_BUDGET

    tasks = _ordered(model_tasks("minilm", DEFAULT_BUDGET, n_blocks=6) + [Task("quench", "minilm", None, 0.1, 1)],
                     DEFAULT_BUDGET)
    rank = priorities(tasks, DEFAULT_BUDGET)
    assert set(rank) == set(tasks)
    for f, sweeps in ((1.0, 16000), (0.0, 1000)):
        for kind in ("quench", "thermo", "dos"):
            assert rank[Task(kind, "minilm", None, f, 0)] == sweeps
    assert rank[Task("population", "minilm")] == rank[Task("population-check", "minilm")] == 1
    rest = [t for t in tasks if t.blocks is not None or t.shuffle not in (0.0, 1.0) or t.seed != 0]
    assert rest and all(rank[t] == 0 for t in rest)


def test_one_worker_runs_the_longest_chain_first(model, tmp_path):
    """On one worker the scheduler follows the priorities: the shuffle's search and canonical run (more sweeps)
    before the trained network's, and both before the first-k-block results. Dask sends a worker one task more
    than it has threads, so a task that becomes ready while another is already there can wait for it; only the
    orders that survive that are asserted."""
    from dataclasses import replace

    from ising_nn.paper.paths import model_slug

    b = replace(BUDGET, canonical_sweeps_shuffled=160)
    report = run_sweep(model_tasks(model, b, n_blocks=2), b, out_dir=tmp_path / "dos", workers=1, progress=False)
    assert report.ok
    root = tmp_path / "dos" / model_slug(model)

    def written(pattern):
        (path,) = root.glob(pattern)
        return path.stat().st_mtime_ns

    assert written("quench/shuffled_anneal.dat") < written("quench/trained_anneal.dat")
    assert written("thermo/shuffled.dat") < written("thermo/trained.dat")
    assert written("thermo/trained.dat") < min(written("quench/blocks1_anneal.dat"),
                                               written("quench/blocks1_shuffled_anneal.dat"))


def test_population_annealing_tasks_follow_the_budget():
    """With ``pa_shuffled`` both networks are annealed (each with its R/4 check); without it (the default
    budget) the trained one only; no ``pa_population``, none."""
    from dataclasses import replace

    from ising_nn.paper.budget import DEFAULT_BUDGET

    def pa(b):
        return sorted((t.kind, t.shuffle) for t in model_tasks("minilm", b) if t.kind.startswith("population"))

    assert pa(replace(DEFAULT_BUDGET, pa_shuffled=True)) == [("population", 0.0), ("population", 1.0),
                                                             ("population-check", 0.0), ("population-check", 1.0)]
    assert pa(DEFAULT_BUDGET) == [("population", 0.0), ("population-check", 0.0)]
    assert pa(replace(DEFAULT_BUDGET, pa_population=None)) == []


def test_local_cluster_workers_keep_glibcs_trim_threshold(monkeypatch):
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, so that the samplers' large temporaries cost
    page faults on every sweep (bench/WORKER.md); the sweep's own cluster leaves glibc's threshold alone, and a
    user's setting still reaches the workers."""
    import os

    import dask
    import distributed  # noqa: F401  (its configuration defaults)

    from ising_nn.paper.sweep import _client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") == 65536
    for env, want in ((None, None), ("1048576", "1048576")):
        if env is not None:
            monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", env)
        client, cluster = _client(None, 1, 10.0)
        try:
            seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        finally:
            client.close()
            cluster.close()
        assert list(seen.values()) == [want]
    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") == 65536
