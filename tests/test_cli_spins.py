"""``ising-nn quench --save-spins`` then ``ising-nn dos --start-spins``: the state reaches the sampler, and a
state saved from other couplings, a missing or foreign file and a bad output path are refused cleanly."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

import ising_nn.wanglandau.run as wl
from ising_nn import Couplings, Provenance, save_npz
from ising_nn.cli import main
from ising_nn.results.spins import load_spins, save_spins
from ising_nn.results.textfile import read_header


@pytest.fixture()
def npz(tmp_path):
    rng = np.random.default_rng(4)
    mats = [rng.normal(size=(5, 5)).astype(np.float32) for _ in range(4)]
    c = Couplings.from_matrices(mats, Provenance(model="toy", family="matrices", matrices_per_block=2))
    return str(save_npz(c, tmp_path / "toy.npz")), c


def _saved(tmp_path, path, *extra):
    sp = str(tmp_path / "s.npz")
    assert main(["quench", path, "--method", "single", "--seed", "1", "--json", "--save-spins", sp, *extra]) == 0
    return sp


def test_quench_saves_its_state_and_dos_starts_from_it(npz, tmp_path, capsys, monkeypatch):
    path, c = npz
    sp = _saved(tmp_path, path)
    out = json.loads(capsys.readouterr().out)
    saved = load_spins(sp)
    assert saved.spins.shape == (c.n_spins,) and saved.spins.dtype == np.int8
    assert saved.energy == out["energy"]
    assert c.energy(saved.spins) == pytest.approx(saved.energy, rel=1e-6)
    assert saved.header["method"] == "single" and saved.header["model"] == "toy"
    assert saved.header["n_spins"] == str(c.n_spins)

    seen = {}
    real = wl.wang_landau

    def spy(*args, **kwargs):
        if "start_spins" in kwargs:  # (the module also calls itself once to compile its kernels)
            seen["start"] = kwargs["start_spins"]
        return real(*args, **kwargs)

    monkeypatch.setattr(wl, "wang_landau", spy)
    d = tmp_path / "d.dat"
    assert main(["dos", path, "-o", str(d), "--bins", "20", "--sweeps", "2000", "--start-spins", sp,
                 "--no-progress"]) == 0
    np.testing.assert_array_equal(seen["start"], saved.spins)
    h = read_header(d)
    assert h["start_spins"] == sp and float(h["start_spins_energy"]) == saved.energy
    assert h["start_spins_method"] == "single"
    assert float(h["E_descent"]) <= saved.energy + 1e-9 * abs(saved.energy)


def test_resume_keeps_the_checkpoint_range(npz, tmp_path, capsys):
    path, _ = npz
    sp = _saved(tmp_path, path)
    d = tmp_path / "d.dat"
    args = ["dos", path, "-o", str(d), "--bins", "20", "--start-spins", sp, "--no-progress", "--resume",
            "--sweeps"]
    assert main([*args, "1000"]) == 0
    assert read_header(d)["start_spins"] == sp
    capsys.readouterr()
    assert main([*args, "2000"]) == 0
    assert "resuming" in capsys.readouterr().err
    h = read_header(d)
    assert h["resumed"] == "True" and "start_spins" not in h  # this call did not use them


def test_spins_of_other_couplings_are_refused(npz, tmp_path, capsys):
    path, _ = npz
    sp = _saved(tmp_path, path)
    capsys.readouterr()
    d = tmp_path / "d.dat"
    base = ["dos", path, "-o", str(d), "--bins", "20", "--sweeps", "100", "--no-progress", "--start-spins"]
    assert main([*base, sp, "--shuffle", "1", "--shuffle-seed", "3"]) == 2  # same N, other couplings
    assert "other couplings" in capsys.readouterr().err
    assert main([*base, sp, "--blocks", "1"]) == 2  # fewer spins
    assert "holds 25 spins" in capsys.readouterr().err
    assert main([*base, str(tmp_path / "none.npz")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_text("not a zip")
    assert main([*base, str(tmp_path / "junk.npz")]) == 2
    err = capsys.readouterr().err
    assert "not a spins file" in err and "Traceback" not in err
    np.savez(tmp_path / "nohead.npz", spins=np.ones(5, np.int8), header=np.array("[1, 2]"))
    assert main([*base, str(tmp_path / "nohead.npz")]) == 2
    assert "must hold the energy" in capsys.readouterr().err
    assert not d.exists()


@pytest.mark.parametrize("bad", ["s.txt", "missing/s.npz"])
def test_bad_save_path_exits_2_before_the_search(npz, tmp_path, capsys, bad):
    path, _ = npz
    assert main(["quench", path, "--method", "single", "--save-spins", str(tmp_path / bad)]) == 2
    out, err = capsys.readouterr()
    assert "--save-spins" in err and out == ""  # no result printed: the search did not run


def test_save_spins_checks_its_input(npz, tmp_path):
    _, c = npz
    with pytest.raises(ValueError, match="values in"):
        save_spins(tmp_path / "s.npz", np.zeros(c.n_spins), c, 0.0)
    with pytest.raises(ValueError, match=".npz"):
        save_spins(tmp_path / "s.dat", np.ones(c.n_spins), c, 0.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.npz"]  # nothing written


def test_start_anneal_anneals_then_starts_from_that_state(npz, tmp_path, capsys, monkeypatch):
    """``--start-anneal T``: one command for quench --save-spins then dos --start-spins, with the same seed."""
    path, c = npz
    qm = importlib.import_module("ising_nn.quench.search")  # the module (the package exports a function by its name)

    seen = {}
    real_q, real_wl = qm.quench, wl.wang_landau

    def spy_q(cc, method, **kw):
        r = real_q(cc, method, **kw)
        seen.update(method=method, seed=kw.get("seed"), time_limit=kw.get("time_limit"), spins=r.spins,
                    energy=r.energy)
        return r

    def spy_wl(*args, **kwargs):
        if "start_spins" in kwargs:
            seen["start"] = kwargs["start_spins"]
        return real_wl(*args, **kwargs)

    monkeypatch.setattr(qm, "quench", spy_q)
    monkeypatch.setattr(wl, "wang_landau", spy_wl)
    d = tmp_path / "d.dat"
    assert main(["dos", path, "-o", str(d), "--bins", "20", "--sweeps", "2000", "--seed", "5",
                 "--start-anneal", "0.3", "--no-progress"]) == 0
    assert "--start-anneal: E = " in capsys.readouterr().err
    assert (seen["method"], seen["seed"], seen["time_limit"]) == ("anneal", 5, 0.3)
    np.testing.assert_array_equal(seen["start"], seen["spins"])
    h = read_header(d)
    assert h["start_spins_method"] == "anneal" and float(h["start_spins_energy"]) == seen["energy"]
    assert float(h["E_lowest_known"]) <= seen["energy"] + 1e-9 * abs(seen["energy"])
    assert c.energy(seen["spins"]) == pytest.approx(seen["energy"], rel=1e-6)


def test_start_anneal_bad_input_exits_2(npz, tmp_path, capsys):
    path, _ = npz
    d = tmp_path / "d.dat"
    base = ["dos", path, "-o", str(d), "--bins", "20", "--sweeps", "100", "--no-progress"]
    assert main([*base, "--start-anneal", "0"]) == 2
    assert "--start-anneal must be a positive number of seconds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # argparse: one start or the other
        main([*base, "--start-anneal", "1", "--start-spins", "s.npz"])
    assert e.value.code == 2 and "not allowed with" in capsys.readouterr().err
    assert not d.exists()
