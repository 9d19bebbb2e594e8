"""Stdout carries only the data asked for: every ``ising-nn`` subcommand, run on the tiny network, prints what a
pipe can parse (JSON with --json, a table otherwise) or nothing when its output goes to a file; status lines,
progress bars, the "wrote" lines and the Dask sweep's scheduler and dashboard addresses go to stderr."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from _tiny import save_tiny

from ising_nn.cli import build_parser, main
from ising_nn.model.files import load_npz
from ising_nn.results.textfile import read_header

FLOAT = r"(-?[\d,]+\.\d+)"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("stdout"), "tiny", seed=5)


@pytest.fixture
def one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _run(capsys, *argv) -> tuple[str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out, err


def test_every_subcommand_has_a_stdout_test():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    tested = {"info", "couplings", "quench", "dos", "heat", "thermo", "crosscheck", "analyze"}
    assert set(sub.choices) == tested


def test_info_text_is_a_key_value_table_and_json_parses(model, capsys):
    out, err = _run(capsys, "info", model)
    rows = dict(re.fullmatch(r"([a-z ]+):\s+(.+)", line).groups() for line in out.splitlines())
    assert list(rows) == ["model", "family", "blocks", "layer sizes", "spins", "bonds", "memory", "weights",
                          "shuffle"]
    assert rows["spins"] == "44" and rows["blocks"].startswith("2 ") and err == ""
    out, err = _run(capsys, "info", model, "--json")
    d = json.loads(out)
    assert d["n_spins"] == 44 and d["blocks"] == 2 and err == ""


def test_couplings_writes_the_file_and_nothing_on_stdout(model, tmp_path, capsys):
    out, err = _run(capsys, "couplings", model, "-o", tmp_path / "J.npz", "--shuffle", "1")
    assert out == "" and err.startswith("wrote ") and err.count("\n") == 1
    assert load_npz(tmp_path / "J.npz").n_spins == 44


def test_quench_text_and_json(model, capsys):
    out, err = _run(capsys, "quench", model, "--restarts", "2", "--sweeps", "20")  # the progress bar is on
    m = re.fullmatch(rf"E = {FLOAT}\s+E/N = {FLOAT}\s+N = 44 spins\nW = 2\|E_0\| = {FLOAT}\s+W/N = {FLOAT}\s+"
                     r"\[anneal, 2 restarts, seed 0, [\d.]+ s\]\n", out)
    assert m, out
    energy = float(m.group(1).replace(",", ""))
    assert float(m.group(3).replace(",", "")) == pytest.approx(-2 * energy, abs=1e-3)
    out, _ = _run(capsys, "quench", model, "--restarts", "2", "--sweeps", "20", "--json")
    d = json.loads(out)
    assert d["n_spins"] == 44 and d["energy"] == pytest.approx(energy, abs=1e-3)


def test_dos_and_heat_write_files_and_nothing_on_stdout(model, tmp_path, capsys):
    dos, heat = tmp_path / "dos.dat", tmp_path / "heat.dat"
    out, err = _run(capsys, "dos", model, "-o", dos, "--sweeps", "20", "--bins", "20")  # the progress bar is on
    assert out == "" and "bins" in err and read_header(dos)["n_spins"] == "44"
    out, err = _run(capsys, "heat", dos, "-o", heat)
    assert out == "" and "wrote" in err and np.loadtxt(heat).shape[1] == 2
    out, err = _run(capsys, "heat", dos, "-o", tmp_path / "paper.dat", "--paper-style")
    assert out == "" and "paper-style" in err


def test_thermo_writes_the_file_and_nothing_on_stdout(model, tmp_path, capsys, one_torch_thread):
    th = tmp_path / "thermo.dat"
    out, err = _run(capsys, "thermo", model, "-o", th, "--sweeps", "80", "--points", "10", "--tmin", "0.8",
                    "--tmax", "5")  # the progress bar is on
    assert out == "" and "T_c" in err and read_header(th)["n_spins"] == "44"


def test_crosscheck_prints_its_data_and_only_the_summary_on_stderr(model, tmp_path, capsys, one_torch_thread):
    ths = [tmp_path / f"{m}.dat" for m in ("pt", "pa")]
    for th, m in zip(ths, ("pt", "pa")):
        _run(capsys, "thermo", model, "-o", th, "--method", m, "--sweeps", "80", "--points", "10", "--tmin", "1.5",
             "--tmax", "5", "--population", "64", "--runs", "2", "--no-progress")
    out, err = _run(capsys, "crosscheck", *ths)
    body = [line for line in out.splitlines() if not line.startswith("#")]
    assert np.loadtxt(body, ndmin=2).shape[1] == 15 and read_header(ths[0])["n_spins"] in out
    assert err.count("\n") == 1 and "Compared at" in err


def _analyze(model, dos_dir, *extra):
    return ["analyze", str(model), "--dos-dir", str(dos_dir), "--no-thermo", *map(str, extra)]


def test_analyze_json_is_the_whole_stdout_of_the_console(model, tmp_path):
    """The issue's pipe, `ising-nn analyze ... --json | python -m json.tool`, in a subprocess (the sweep's
    workers, their logs and the interpreter's exit write to the same file descriptors)."""
    r = subprocess.run([sys.executable, "-m", "ising_nn", *_analyze(model, tmp_path / "dos", "--json")],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 1 and rows[0]["n_spins"] == 44 and rows[0]["W_per_spin_trained"] > 0
    assert "sweep: " in r.stderr and "tasks on tcp://" in r.stderr  # the status line, on stderr


def test_analyze_csv_to_stdout_to_a_file_and_text(model, tmp_path, capfd):
    """``capfd``: the local cluster's worker processes write to the same file descriptors."""
    dos = tmp_path / "dos"
    assert main(_analyze(model, dos, "-o", "-")) == 0  # the progress bar is on
    out, err = capfd.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1 and rows[0]["model"] == model and int(rows[0]["n_spins"]) == 44
    assert "tasks on tcp://" in err
    report = tmp_path / "report.csv"
    assert main(_analyze(model, dos, "-o", report, "--no-progress")) == 0
    out, err = capfd.readouterr()
    assert out == "" and err == f"wrote {report}\n"
    assert list(csv.DictReader(io.StringIO(report.read_text()))) == rows
    assert main(_analyze(model, dos, "--no-progress")) == 0
    out, err = capfd.readouterr()
    table = dict(re.fullmatch(r"(\S+)\s+(.*\S)", line).groups() for line in out.splitlines())
    assert table["model"] == model and table["n_spins"] == "44" and err == ""
    assert float(table["W_per_spin_trained"]) == pytest.approx(float(rows[0]["W_per_spin_trained"]), rel=1e-3)
