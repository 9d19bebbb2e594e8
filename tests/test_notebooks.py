"""Every figure notebook present, executed by papermill in smoke mode (tiny budgets, temporary dos/ and plots/),
and what it wrote: files present and parseable, values finite, the trained MiniLM wider than its shuffle,
C(T) positive with one interior peak."""

from __future__ import annotations

import sys

import nbformat
import numpy as np
import pandas as pd
import pytest

from ising_nn.paper import QuenchSummary
from ising_nn.paper.figures import ORDER, run_figures
from ising_nn.paper.paths import NOTEBOOKS_DIR, paper_data_dir
from ising_nn.results.dos import read_dos

pytestmark = pytest.mark.notebooks

PRESENT = [n for n in ORDER if (NOTEBOOKS_DIR / f"{n}.ipynb").is_file()]
MINE = ("dos", "heat", "blocks", "overview", "analyze")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures")
    runs = run_figures(smoke=True, dos_dir=root / "dos", plots_dir=root / "plots", out_dir=root / "executed",
                       paper_data=paper_data_dir(), notebooks=PRESENT)
    return root, {r.name: r for r in runs}


def _png(path):
    assert path.is_file(), f"{path} missing"
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000


@pytest.mark.parametrize("name", PRESENT)
def test_source_notebook_is_clean(name):
    """In git: no outputs, a papermill `parameters` cell with the common parameters, the python3 kernel."""
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    if name in MINE:
        for p in ("models", "smoke", "dos_dir", "plots_dir"):
            assert f"{p} =" in params[0].source
        assert 'if "google.colab" in sys.modules' in code[0].source
    assert nb.metadata.kernelspec["name"] == "python3"


@pytest.mark.parametrize("name", PRESENT)
def test_executed(run, name):
    root, runs = run
    r = runs[name]
    assert r.status == "ok", f"{name}: {r.error}"
    nb = nbformat.read(r.output, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "smoke = True" in injected[0].source


def test_kernel_is_this_interpreter(run):
    """The kernel that ran the notebooks is the venv's python (the setup cell prints sys.executable)."""
    root, runs = run
    nb = nbformat.read(runs["dos"].output, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"kernel {sys.executable}" in text


def test_dos(run):
    root, _ = run
    _png(root / "plots" / "dos_minilm.png")
    t = read_dos(root / "dos" / "minilm" / "trained.dat")
    s = read_dos(root / "dos" / "minilm" / "shuffled.dat")
    for d in (t, s):
        assert d.n_spins == 16512 and np.isfinite(d.ln_g_per_spin_k).all() and d.E_k.size > 3
        assert d.header["input.model"] == "minilm"
    assert t.width > s.width
    qt = QuenchSummary.read(root / "dos" / "minilm" / "quench" / "trained_layer.dat")
    qs = QuenchSummary.read(root / "dos" / "minilm" / "quench" / "shuffled_layer.dat")
    assert qt.width > 1.3 * qs.width  # physics: the trained MiniLM's span is far wider than its shuffle's
    assert np.isfinite([qt.energy, qs.energy]).all() and qt.energy < 0 and qs.energy < 0


def test_heat(run):
    """Canonical C(T) finite, positive, with positive errors, on increasing temperatures; the DOS curves finite.

    Shapes are not asserted on the smoke budget: the canonical engine runs 80 sweeps over T in [8, 40] (where
    C(T) of MiniLM is falling), and a smoke-budget Wang-Landau DOS of MiniLM is off by far more than the O(1)
    in ln g that C(T) needs. Exact C(T) is tested in test_thermo.py and test_canonical.py.
    """
    root, _ = run
    _png(root / "plots" / "heat_minilm.png")
    df = pd.read_csv(root / "plots" / "heat_minilm.csv")
    assert set(df.kind) == {"trained", "shuffled"}
    assert set(df.curve) == {"canonical", "wang-landau", "dos file", "paper-style"}
    for (kind, curve), g in df.groupby(["kind", "curve"]):
        what = (kind, curve)
        T, C = g["T"].to_numpy(), g["C"].to_numpy()
        assert np.isfinite(T).all() and (T > 0).all() and (np.diff(T) > 0).all(), what
        assert np.isfinite(C).all() and (C >= 0).all() and C.max() > 0, what
        if curve == "canonical":
            assert T[0] >= 8.0 and (g["C_err"] > 0).all(), what
        if curve == "paper-style":
            assert T[-1] == 1.0 and (C > 0).all(), what


def test_blocks(run):
    root, _ = run
    _png(root / "plots" / "blocks_minilm.png")
    df = pd.read_csv(root / "plots" / "blocks_minilm.csv")
    assert sorted(set(df.k)) == [1, 2, 6]
    num = df[["W", "W_per_spin", "W0", "W0_per_spin"]].to_numpy()
    assert np.isfinite(num).all() and (num > 0).all()
    for k, g in df.groupby("k"):
        row = g.set_index("kind")
        assert row.loc["trained", "W0"] > row.loc["shuffled", "W0"], f"k = {k}"
        assert row.loc["trained", "n_spins"] == (7 * k + 1) * 384
    for k in (1, 2):
        for stem in (f"blocks{k}", f"blocks{k}_shuffled"):
            assert np.isfinite(read_dos(root / "dos" / "minilm" / f"{stem}.dat").ln_g_per_spin_k).all()


def test_overview(run):
    root, _ = run
    text = (root / "plots" / "overview.md").read_text()
    assert "minilm (N = 16512): the trained network's DOS is wider than its whole-network shuffle" in text
    assert "nan" not in text.split("## Our results")[1].split("##")[0].replace("paper_name | None", "")
    if paper_data_dir() is not None:
        assert "recomputes 11 of 11 quoted T_c pairs exactly" in text
        assert "log10(2)" in text


@pytest.mark.skipif(not set(PRESENT) - set(MINE), reason="the quality notebooks are not there yet")
def test_quality_notebooks_wrote_figures(run):
    root, runs = run
    for name in set(PRESENT) - set(MINE):
        assert runs[name].status == "ok"
    assert len(list((root / "plots").glob("*.png"))) > 3


def test_analyze(run):
    """The report of the cached smoke results: both widths, the trained one wider, one row per model."""
    root, _ = run
    _png(root / "plots" / "analyze_minilm.png")
    df = pd.read_csv(root / "plots" / "analyze_minilm.csv")
    assert list(df.model) == ["minilm"] and df.n_spins[0] == 16512
    assert df.W_per_spin_trained[0] > df.W_per_spin_shuffled[0] > 0
    assert len(df.W_per_spin_blocks_trained[0].split()) == 6
