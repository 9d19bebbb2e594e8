"""``ising-nn heat``: output columns and header, our files and the authors' headerless ones, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln

from ising_nn.cli import main
from ising_nn.paper.paths import paper_data_dir
from ising_nn.results.dos import DOS, write_dos
from ising_nn.results.textfile import read_header


@pytest.fixture
def chain_file(tmp_path):
    """Exact DOS of a 40-spin open chain with J = 0.5 (our format, with n_spins)."""
    n, J = 40, 0.5
    m = np.arange(n)
    ln_g = np.log(2) + gammaln(n) - gammaln(m + 1) - gammaln(n - m)
    p = tmp_path / "chain.dat"
    write_dos(DOS.from_ln_g(-J * (n - 1 - 2 * m), ln_g, n, {"model": "chain"}), p)
    return p


def test_physical(chain_file, tmp_path, capsys):
    out = tmp_path / "heat.dat"
    assert main(["heat", str(chain_file), "-o", str(out)]) == 0
    h = read_header(out)
    T, C = np.loadtxt(out, unpack=True)
    assert h["columns"] == "T C" and h["n_spins"] == "40" and h["model"] == "chain"
    assert T.size == int(h["points"]) == 400 and (np.diff(T) > 0).all()
    x = 0.5 / T
    np.testing.assert_allclose(C, 39 / 40 * x**2 / np.cosh(x) ** 2, rtol=1e-8)  # %.10g in the file
    x_star = brentq(lambda x: x * np.tanh(x) - 1, 0.5, 2)
    assert float(h["Tc"]) == pytest.approx(0.5 / x_star, rel=1e-6)
    assert "binning" in h["Tc_err"]
    assert "Tc =" in capsys.readouterr().err


def test_replicas(chain_file, tmp_path, capsys):
    """T_c over several runs: the mean and standard error of the runs' own T_c values."""
    n, J = 40, 0.5
    m = np.arange(n)
    base = np.log(2) + gammaln(n) - gammaln(m + 1) - gammaln(n - m)
    rng = np.random.default_rng(0)
    files = []
    for i in range(2):
        p = tmp_path / f"rep{i}.dat"
        write_dos(DOS.from_ln_g(-J * (n - 1 - 2 * m), base + rng.normal(0, 0.3, n), n), p)
        files.append(p)
    out = tmp_path / "heat.dat"
    assert main(["heat", str(chain_file), "-o", str(out), "--replicas", *map(str, files)]) == 0
    tcs = [float(read_header(out)["Tc"])]
    for f in files:
        assert main(["heat", str(f), "-o", str(tmp_path / "one.dat")]) == 0
        tcs.append(float(read_header(tmp_path / "one.dat")["Tc"]))
    mean, sem = np.mean(tcs), np.std(tcs, ddof=1) / np.sqrt(3)
    got = read_header(out)["Tc_replicas"].split()
    assert float(got[0]) == pytest.approx(mean, rel=1e-6) and float(got[2]) == pytest.approx(sem, rel=1e-2)
    assert "over 3 runs" in capsys.readouterr().err
    assert main(["heat", str(chain_file), "-o", str(out), "--paper-style", "--replicas", str(files[0])]) == 2


def test_grid_options(chain_file, tmp_path):
    out = tmp_path / "heat.dat"
    args = ["heat", str(chain_file), "-o", str(out), "--tmin", "0.1", "--tmax", "10", "--points", "50"]
    assert main(args) == 0
    T, C = np.loadtxt(out, unpack=True)
    np.testing.assert_allclose(T, np.geomspace(0.1, 10, 50))
    assert main(["heat", str(chain_file), "-o", str(out), "--paper-style", "--points", "100"]) == 0
    T, _ = np.loadtxt(out, unpack=True)
    np.testing.assert_allclose(T, np.arange(1, 101) / 100)


def test_headerless(chain_file, tmp_path, capsys):
    raw = tmp_path / "authors.dat"
    np.savetxt(raw, np.loadtxt(chain_file), delimiter="\t")
    out = tmp_path / "heat.dat"
    assert main(["heat", str(raw), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "n_spins" in err and "--paper-style" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["heat", str(raw), "-o", str(out), "--n-spins", "40"]) == 0
    ref = tmp_path / "ref.dat"
    assert main(["heat", str(chain_file), "-o", str(ref)]) == 0
    np.testing.assert_allclose(np.loadtxt(out), np.loadtxt(ref), rtol=1e-9)
    assert main(["heat", str(raw), "-o", str(out), "--paper-style"]) == 0
    h = read_header(out)
    assert "NOT the physical" in h["quantity"] and float(h["width"]) == pytest.approx(39.0)


def test_paper_style_width_sources(chain_file, tmp_path):
    out = tmp_path / "a.dat"
    assert main(["heat", str(chain_file), "-o", str(out), "--paper-style", "--width", "78"]) == 0
    a = np.loadtxt(out)
    assert main(["heat", str(chain_file), "-o", str(out), "--paper-style", "--trained", str(chain_file)]) == 0
    b = np.loadtxt(out)
    assert not np.allclose(a[:, 1], b[:, 1])  # W = 78 against the file's own W = 39
    assert float(read_header(out)["width"]) == pytest.approx(39.0)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--width", "3"], "--paper-style"),
        (["--points", "2"], "--points"),
        (["--tmin", "2", "--tmax", "1"], "--tmin"),
        (["--tmin", "-1"], "--tmin"),
        (["--paper-style", "--width", "0"], "width"),
    ],
)
def test_bad_options(chain_file, tmp_path, capsys, extra, message):
    out = tmp_path / "heat.dat"
    assert main(["heat", str(chain_file), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.dat"
    bad.write_text("1 2\nthree four\n")
    assert main(["heat", str(bad), "-o", str(tmp_path / "o.dat")]) == 2
    assert main(["heat", str(tmp_path / "missing.dat"), "-o", str(tmp_path / "o.dat")]) == 2
    chain = tmp_path / "c.dat"
    write_dos(DOS.from_ln_g([0.0, 1.0, 2.0], [0.0, 1.0, 0.0], 3), chain)
    assert main(["heat", str(chain), "-o", str(tmp_path / "no" / "o.dat")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "Traceback" not in err


@pytest.mark.skipif(paper_data_dir() is None, reason="the authors' files (../shared/paper-data) are absent")
def test_published_opt125m(tmp_path):
    root = paper_data_dir() / "dos"
    out = tmp_path / "h.dat"
    args = ["heat", str(root / "opt-125m_shuffled.dat"), "-o", str(out), "--paper-style",
            "--trained", str(root / "opt-125m.dat")]
    assert main(args) == 0
    assert float(read_header(out)["Tc"]) == pytest.approx(0.031)
