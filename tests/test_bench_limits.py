"""bench/limits.py: the figure of what limits the Wang-Landau speed, from a real run's header."""

import numpy as np
import pytest

from bench.limits import RunTime, Stream, fig_limits, run_time, write_limits
from ising_nn.model.couplings import Couplings
from ising_nn.wanglandau.run import wang_landau


@pytest.fixture(scope="module")
def header():
    rng = np.random.default_rng(0)
    c = Couplings.from_matrices([rng.normal(size=(6, 6)).astype(np.float32) for _ in range(3)])
    return wang_landau(c, bins=16, seed=0, time_limit=1.0, progress=False).header


def test_run_time_splits_the_wall_time_of_a_run(header):
    t = run_time("seed 0", header)
    assert min(t.setup, t.kernels, t.python, t.estimate) >= 0
    assert t.setup + t.kernels + t.python + t.estimate == pytest.approx(float(header["time"]), abs=2e-3)
    assert t.kernels > 0.5 * float(header["time"])  # a 1 s run spends most of it sampling


def test_the_figure_has_a_bar_per_stream_and_a_stack_per_run(tmp_path, header):
    streams = [Stream("read", 20.0), Stream("kernel", 10.0)]
    runs = [run_time("seed 0", header), RunTime("made up", 0.5, 50.0, 0.2, 1.0)]
    fig = fig_limits(streams, best=30.0, median=28.0, runs=runs)
    left, right = fig.axes
    assert [p.get_width() for p in left.patches] == [20.0, 10.0]
    assert len(right.patches) == 4 * len(runs)  # set-up, kernels, Python, estimate, stacked per run
    assert [tl.get_text() for tl in right.get_yticklabels()] == ["seed 0", "made up"]
    path = write_limits(streams, 30.0, 28.0, runs, path=tmp_path / "limits.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["limits.png"]  # nothing half-written left beside it
