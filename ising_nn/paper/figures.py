"""``make figures``: execute the figure notebooks with papermill, in order, and report the time of each.

``python -m ising_nn.paper.figures [--models gpt2 opt-125m] [--smoke] [--scheduler ADDRESS]``

First every sampler run the figures need is computed (or read from ``dos/``) as Dask tasks
(:mod:`ising_nn.paper.sweep`: a local cluster sized to the machine, or the scheduler at ``--scheduler`` /
``$ISING_NN_SCHEDULER``); the notebooks then only read cached results and plot.

Notebooks run in the order ``dos, heat, blocks, fraction, accuracy, ladder, overview, analyze`` (one that is not
there yet is skipped with a warning). Each receives the parameters it declares among ``models``, ``smoke``,
``dos_dir``, ``plots_dir`` and ``paper_data``. Executed copies (with outputs) go to ``notebooks/_executed/``,
a build folder; the notebooks in git carry no outputs. The kernel is the running interpreter's ipykernel: a
``python3`` kernelspec pointing at ``sys.executable`` is written into the build folder and put first on
``JUPYTER_PATH``, so a user-level ``python3`` kernel elsewhere cannot take over.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ising_nn.errors import IsingNNError
from ising_nn.paper.paths import DOS_DIR, NOTEBOOKS_DIR, PLOTS_DIR

__all__ = ["ORDER", "EXECUTED_DIR", "NotebookRun", "run_figures", "main"]

ORDER = ("dos", "heat", "blocks", "fraction", "accuracy", "ladder", "overview", "analyze")
#: The notebooks whose sampler runs the sweep computes beforehand.
SAMPLED = {"dos", "heat", "blocks", "fraction", "overview", "analyze"}
#: The notebooks that read the quality study's tables (the sweep computes them beside the sampler runs).
QUALITY = {"fraction", "accuracy", "ladder"}
EXECUTED_DIR = NOTEBOOKS_DIR / "_executed"
KERNEL = "python3"


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of one notebook: ``status`` is ``"ok"``, ``"skipped"`` (not present) or ``"failed"``."""

    name: str
    status: str
    seconds: float
    output: Path | None
    error: str = ""


@contextlib.contextmanager
def venv_kernel(build_dir: Path) -> Iterator[str]:
    """A ``python3`` kernelspec for this interpreter, first on ``JUPYTER_PATH`` while the block runs."""
    spec_dir = build_dir / "kernels" / KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.prefix})",
        "language": "python",
        "metadata": {"debugger": True},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(build_dir), *([old] if old else [])])
    try:
        yield KERNEL
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old


def run_figures(
    models: Sequence[str] | None = None,
    *,
    smoke: bool = False,
    dos_dir: str | os.PathLike | None = None,
    plots_dir: str | os.PathLike | None = None,
    paper_data: str | os.PathLike | None = None,
    notebooks: Sequence[str] = ORDER,
    notebooks_dir: str | os.PathLike = NOTEBOOKS_DIR,
    out_dir: str | os.PathLike = EXECUTED_DIR,
    log_output: bool = False,
    sweep: bool = True,
    scheduler: str | None = None,
    connect_timeout: float | None = None,
) -> list[NotebookRun]:
    """Execute the figure notebooks in order; returns one :class:`NotebookRun` per notebook.

    Parameters
    ----------
    models : list of str, optional
        Models for every notebook (default: each notebook's own default, the bundled MiniLM).
    smoke : bool
        Tiny sampler budgets (the tests).
    dos_dir, plots_dir : path, optional
        Results and figures folders (default the repository's ``dos/`` and ``plots/``).
    paper_data : path, optional
        The authors' files for the comparisons (default: local copy, else download, else skipped).
    notebooks : names
        Which notebooks, in this order.
    out_dir : path
        Where executed copies go.
    log_output : bool
        Stream the notebooks' cell output to the terminal.
    sweep : bool
        Compute the sampler runs first as Dask tasks (:func:`precompute`); else each notebook computes what
        it needs, one run after another.
    scheduler : str, optional
        A Dask scheduler's address for the sweep (default ``$ISING_NN_SCHEDULER``, else a local cluster).
    connect_timeout : float, optional
        Seconds to wait for ``scheduler`` (default ``$ISING_NN_CONNECT_TIMEOUT``, else 10).
    """
    import papermill as pm

    unknown = [n for n in notebooks if n not in ORDER]
    if unknown:
        raise IsingNNError(f"unknown notebook(s) {unknown}; the figure notebooks are {', '.join(ORDER)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    values = {"smoke": bool(smoke), "dos_dir": str(Path(dos_dir or DOS_DIR).resolve()),
              "plots_dir": str(Path(plots_dir or PLOTS_DIR).resolve())}
    if models:
        values["models"] = list(models)
    if paper_data is not None:
        values["paper_data"] = str(Path(paper_data).resolve())
    present = [n for n in notebooks if (Path(notebooks_dir) / f"{n}.ipynb").is_file()]
    if sweep and set(present) & (SAMPLED | QUALITY):
        report = precompute(models or ["minilm"], smoke=smoke, dos_dir=values["dos_dir"], scheduler=scheduler,
                            connect_timeout=connect_timeout, sampled=bool(set(present) & SAMPLED),
                            quality=bool(set(present) & QUALITY))
        for t, msg in report.failed:
            print(f"figures: sweep task {t.label} failed: {msg}", flush=True)
    runs: list[NotebookRun] = []
    with venv_kernel(out_dir) as kernel:
        for name in notebooks:
            src = Path(notebooks_dir) / f"{name}.ipynb"
            if name not in present:
                print(f"figures: warning: {src} is not there yet; skipped", flush=True)
                runs.append(NotebookRun(name, "skipped", 0.0, None))
                continue
            declared = set(pm.inspect_notebook(str(src)))
            params = {k: v for k, v in values.items() if k in declared}
            dst = out_dir / src.name
            i = present.index(name) + 1
            print(f"figures: [{i}/{len(present)}] {src.name} ...", flush=True)
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name=kernel,
                                    progress_bar=False, log_output=log_output, cwd=str(Path(notebooks_dir)))
            except pm.PapermillExecutionError as exc:
                dt = time.perf_counter() - t0
                msg = f"{exc.ename}: {exc.evalue}"
                print(f"figures: [{i}/{len(present)}] {src.name} FAILED after {dt:.0f} s: {msg} "
                      f"(see {dst})", flush=True)
                runs.append(NotebookRun(name, "failed", dt, dst, msg))
                continue
            dt = time.perf_counter() - t0
            print(f"figures: [{i}/{len(present)}] {src.name} done in {dt:.0f} s", flush=True)
            runs.append(NotebookRun(name, "ok", dt, dst))
    return runs


def precompute(models: Sequence[str], *, smoke: bool = False, dos_dir: str | os.PathLike | None = None,
               scheduler: str | None = None, progress: bool = True, connect_timeout: float | None = None,
               sampled: bool = True, quality: bool = True):
    """Every sampler run of the figures for ``models`` (:func:`ising_nn.paper.sweep.figure_tasks` with the
    fraction notebook's shuffled fractions and seeds; given ``sampled``) and the quality study's tables (one
    task per trained model; given ``quality``), as Dask tasks; returns the sweep's report."""
    from ising_nn.paper.budget import budget
    from ising_nn.paper.sweep import figure_tasks, run_sweep
    from ising_nn.quality.report import SMOKE_FRACTIONS
    from ising_nn.quality.shuffle_eval import FRACTIONS
    from ising_nn.quality.train import TASKS

    b = budget(smoke)
    tasks = figure_tasks(models if sampled else [], b, fractions=SMOKE_FRACTIONS if smoke else FRACTIONS,
                         fraction_seeds=(0,) if smoke else (0, 1, 2), quality=TASKS if quality else ())
    report = run_sweep(tasks, b, out_dir=dos_dir or DOS_DIR, scheduler=scheduler, progress=progress,
                       connect_timeout=connect_timeout)
    print(f"figures: sweep of {len(report.done) + len(report.failed)} tasks in {report.seconds:.0f} s"
          + (f", {len(report.failed)} failed" if report.failed else ""), flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ising_nn.paper.figures", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="models for every notebook (default: the bundled MiniLM); hub names need the hub")
    p.add_argument("--smoke", action="store_true", help="tiny sampler budgets (tests)")
    p.add_argument("--dos-dir", help="results folder (default: the repository's dos/)")
    p.add_argument("--plots-dir", help="figures folder (default: the repository's plots/)")
    p.add_argument("--paper-data", help="the authors' published files (default: ../shared/paper-data or download)")
    p.add_argument("--only", nargs="+", choices=ORDER, metavar="NOTEBOOK", help=f"a subset of {', '.join(ORDER)}")
    p.add_argument("--verbose", action="store_true", help="stream the notebooks' output")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask scheduler for the sampler runs (default $ISING_NN_SCHEDULER, else a local cluster)")
    p.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                   help="how long to wait for --scheduler to answer (default $ISING_NN_CONNECT_TIMEOUT, else 10)")
    p.add_argument("--no-sweep", action="store_true", help="no Dask: each notebook computes what it needs")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        runs = run_figures(a.models, smoke=a.smoke, dos_dir=a.dos_dir, plots_dir=a.plots_dir,
                           paper_data=a.paper_data, notebooks=a.only or ORDER, log_output=a.verbose,
                           sweep=not a.no_sweep, scheduler=a.scheduler, connect_timeout=a.connect_timeout)
    except IsingNNError as exc:
        print(f"figures: error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t0
    ok = sum(r.status == "ok" for r in runs)
    failed = [r.name for r in runs if r.status == "failed"]
    print(f"figures: {ok} notebook(s) ran in {total:.0f} s ({total / 60:.1f} min)"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
