"""``make bench``: run every benchmark and write ``bench/RESULTS.md`` (atomically).

Sections: Wang-Landau speed and accuracy (:mod:`bench.bench_wl`), scaling (:mod:`bench.bench_scaling`),
the ground-state search (:mod:`bench.bench_quench`) and the canonical engine (:mod:`bench.bench_canonical`,
which ``make bench-canonical`` runs alone into ``bench/CANONICAL.md``). The header records the machine (CPU model,
cores, memory, load), the date, the command and the numpy / numba versions.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np

from ising_nn._version import __version__
from ising_nn.results.textfile import atomic_path

__all__ = ["main", "machine"]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{_cpuinfo()}, {os.cpu_count()} cores ({numba.get_num_threads()} numba threads), "
            f"{_memory_gib():.1f} GiB memory, load average {load:.2f} at start")


def main() -> int:
    started = time.perf_counter()
    host = machine()  # before the sections: its load average is the machine's, not the benchmark's own
    sections = []
    for name in ("bench.bench_wl", "bench.bench_scaling", "bench.bench_quench", "bench.bench_canonical"):
        if importlib.util.find_spec(name) is None:
            continue
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        sections.append(importlib.import_module(name).run())
    head = [
        "# Benchmarks",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- command: `make bench` (`python -m bench.run`), {time.perf_counter() - started:.0f} s in all",
        f"- machine: {host}",
        f"- python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"ising-nn {__version__}",
        "",
        "Each ratio is measured in one process, back to back. On a shared machine the wall-clock figures are "
        "noisy; figures per CPU second are given where a thread may have been descheduled.",
        "",
    ]
    with atomic_path(RESULTS) as tmp:
        tmp.write_text("\n".join(head) + "\n" + "\n".join(sections), encoding="utf-8")
    print(f"bench: wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
