"""``ising-nn quench``: text and JSON output equal to the library's result; one clean error line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ising_nn import Couplings, Provenance, save_npz
from ising_nn.cli import main
from ising_nn.quench.search import quench


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    rng = np.random.default_rng(0)
    sizes = (8, 8, 8, 32, 8, 8, 8, 32, 8)
    mats = [rng.standard_t(3, (a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    c = Couplings.from_matrices(mats, Provenance(model="toy", family="matrices", matrices_per_block=4))
    path = tmp_path_factory.mktemp("q") / "toy.npz"
    save_npz(c, path)
    return path, c


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_text_output(npz, capsys):
    path, c = npz
    rc, out, err = _run(capsys, "quench", path, "--method", "layer", "--restarts", "4", "--seed", "3",
                        "--no-progress")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("E = ") and "E/N = " in lines[0]
    r = quench(c, "layer", restarts=4, seed=3)
    assert f"E = {r.energy:,.4f}" in lines[0] and f"E/N = {r.energy_per_spin:.6f}" in lines[0]
    assert f"N = {c.n_spins:,} spins" in lines[0]
    assert "W = 2|E_0|" in lines[1] and "layer, 4 restarts, seed 3" in lines[1]


@pytest.mark.parametrize(
    "method,extra", [("anneal", ["--restarts", "8", "--sweeps", "20"]), ("fast", []), ("layer", []),
                     ("single", []),
                     ("authors", ["--steps", "5000"])],
)
def test_json_matches_library(npz, capsys, method, extra):
    path, c = npz
    rc, out, err = _run(capsys, "quench", path, "--method", method, "--seed", "2", "--json", "--no-progress", *extra)
    assert rc == 0 and err == ""
    d = json.loads(out)  # exactly one JSON object
    for key in ("energy", "energy_per_spin", "n_spins", "seconds", "method", "seed", "width", "model"):
        assert key in d
    kw = dict(restarts=8, sweeps=20) if method == "anneal" else {}
    if method == "authors":
        kw["steps"] = 5000
    r = quench(c, method, seed=2, **kw)
    assert d["energy"] == r.energy and d["n_spins"] == c.n_spins == 120
    assert d["energy_per_spin"] == pytest.approx(d["energy"] / 120)
    assert d["width"] == 2 * abs(d["energy"]) and d["method"] == method and d["seed"] == 2
    assert d["model"] == "toy" and d["n_bonds"] == c.n_bonds


def test_blocks_and_shuffle_reach_the_couplings(npz, capsys):
    path, c = npz
    rc, out, _ = _run(capsys, "quench", path, "--method", "layer", "--blocks", "1", "--json")
    d = json.loads(out)
    assert rc == 0 and d["n_spins"] == 64 and d["blocks"] == 1
    rc, out, _ = _run(capsys, "quench", path, "--method", "layer", "--shuffle", "1", "--shuffle-seed", "5",
                      "--json")
    d2 = json.loads(out)
    assert rc == 0 and d2["shuffle"] == 1.0 and d2["shuffle_seed"] == 5
    assert d2["energy"] != json.loads(_run(capsys, "quench", path, "--method", "layer", "--json")[1])["energy"]


def test_time_limit_reported(npz, capsys):
    path, _ = npz
    rc, out, _ = _run(capsys, "quench", path, "--method", "authors", "--steps", "1000000000",
                      "--time-limit", "0.05", "--json")
    d = json.loads(out)
    assert rc == 0 and d["stopped_early"] and d["steps"] < 10**9


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--restarts", "0"], "restarts"),
        (["--time-limit", "-1"], "time limit"),
        (["--steps", "0"], "steps"),
        (["--seed", "-4"], "seed"),
        (["--shuffle", "2"], "fraction"),
        (["--blocks", "9"], "blocks"),
    ],
)
def test_bad_input_exits_2(npz, capsys, argv, words):
    path, _ = npz
    rc, out, err = _run(capsys, "quench", path, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "error:" in err and words in err


def test_missing_file_and_bad_method(tmp_path, capsys):
    rc, _, err = _run(capsys, "quench", tmp_path / "nope.npz")
    assert rc == 2 and err.count("\n") == 1 and "nope.npz" in err
    with pytest.raises(SystemExit) as exc:  # argparse rejects an unknown method itself
        main(["quench", "x.npz", "--method", "simulated"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_no_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    p = subprocess.run([sys.executable, "-m", "ising_nn", "quench", str(bad), "--method", "layer"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def test_old_progress_flag_is_accepted_with_a_deprecation_line(npz, capsys):
    path, _ = npz
    rc, out, err = _run(capsys, "quench", path, "--method", "layer", "--progress", "--json")
    assert rc == 0 and json.loads(out)["method"] == "layer"
    assert "--progress is deprecated" in err
