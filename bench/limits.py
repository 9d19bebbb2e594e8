"""``bench/limits.png``: the figure of what limits the Wang-Landau speed, drawn by ``make bench`` from its numbers.

Left: couplings streamed (GB/s, all threads) by the kernel and by the same memory work without the walk,
against the machine's measured sequential read bandwidth and the issue's target (half of it). Right: where
the wall time of ``wang_landau(minilm, time_limit=60)`` goes: set-up, the numba kernels, the Python between
chunks, and the final check and estimate (from the timings in the DOS header).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Stream", "RunTime", "fig_limits", "write_limits", "run_time"]

PNG = Path(__file__).resolve().parent / "limits.png"


@dataclass(frozen=True)
class Stream:
    """One bar of the left panel: ``label`` and its couplings streamed, GB/s."""

    label: str
    GBs: float


@dataclass(frozen=True)
class RunTime:
    """Seconds of one time-limited run by stage (see :class:`ising_nn.wanglandau.join.Timing`)."""

    label: str
    setup: float
    kernels: float
    python: float
    estimate: float


def run_time(label: str, header: dict) -> RunTime:
    """The stages of a DOS header's ``time`` (one call, not resumed).

    The header rounds each time to the millisecond, so a difference of them can come out a little below 0 for
    a stage that took no time: it is reported as 0.
    """
    total, setup, loop, kernels = (float(header[k]) for k in ("time", "setup_time", "loop_time",
                                                               "loop_kernel_time"))
    return RunTime(label, setup, kernels, max(loop - kernels, 0.0), max(total - setup - loop, 0.0))


def fig_limits(streams: list[Stream], best: float, median: float, runs: list[RunTime], title: str = ""):
    """The two panels (a matplotlib Figure); ``best`` and ``median`` are the read bandwidth in GB/s."""
    import matplotlib.pyplot as plt

    from ising_nn.paper.plotting import set_style

    set_style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.2), width_ratios=[1.6, 1])
    y = range(len(streams))
    ax.barh(list(y), [s.GBs for s in streams], color="C0")
    for i, s in enumerate(streams):
        ax.text(s.GBs, i, f" {s.GBs:.1f} ({100 * s.GBs / best:.0f} %)", va="center", fontsize=8.5)
    ax.axvline(best, color="k", lw=1.2, label=f"sequential read, best {best:.1f} GB/s")
    ax.axvline(median, color="k", lw=1.0, ls=":", label=f"sequential read, median {median:.1f} GB/s")
    ax.axvline(0.5 * best, color="C3", lw=1.2, ls="--", label="target: 50 % of the best")
    ax.set_yticks(list(y), [s.label for s in streams], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.25 * best)
    ax.set_xlabel("couplings streamed (GB/s, all threads)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, frameon=False)
    parts = (("set-up", "setup", "C7"), ("numba kernels", "kernels", "C0"), ("Python between chunks", "python", "C1"),
             ("check + estimate", "estimate", "C2"))
    left = [0.0] * len(runs)
    for name, attr, col in parts:
        w = [getattr(r, attr) for r in runs]
        bx.barh(range(len(runs)), w, left=left, color=col, label=name)
        left = [a + b for a, b in zip(left, w)]
    for i, r in enumerate(runs):
        bx.text(left[i], i, f" Python {100 * r.python / left[i]:.1f} %", va="center", fontsize=8.5)
    bx.set_yticks(range(len(runs)), [r.label for r in runs], fontsize=9)
    bx.invert_yaxis()
    bx.set_xlim(0, 1.35 * max(left))
    bx.set_xlabel("wall time of wang_landau (s)")
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def write_limits(streams: list[Stream], best: float, median: float, runs: list[RunTime], title: str = "",
                 path: Path = PNG) -> Path:
    """Draw :func:`fig_limits` and write it atomically to ``path``."""
    from ising_nn.paper.plotting import savefig

    return savefig(fig_limits(streams, best, median, runs, title), path)
