"""``ising-nn thermo``: writes THERMO.dat (header, columns T U U_err C C_err F F_err S S_err) with the library's
numbers; bad input exits 2 with one line on stderr and leaves nothing behind."""

from __future__ import annotations

import contextlib
import gc
import warnings

import numpy as np
import pytest
import torch

from ising_nn.canonical import canonical_thermo, read_thermo
from ising_nn.cli import main
from ising_nn.model.couplings import Couplings
from ising_nn.model.files import save_npz
from ising_nn.model.load import load_couplings
from ising_nn.quench.search import quench
from ising_nn.results.spins import save_spins
from ising_nn.results.textfile import read_header
from ising_nn.results.thermo import COLUMNS

REQUIRED = ("model", "command", "n_spins", "n_bonds", "tmin", "tmax", "sweeps", "production_sweeps", "burn_in",
            "seed", "device", "method", "version", "stop_reason", "T_c", "T_c_err", "T_c_at_edge",
            "T_equilibrated", "failed_T", "rungs", "ladder_T", "swap_acceptance_min", "cold_start_energy_per_spin")
TMIN, TMAX, SWEEPS, POINTS, SEED = 0.8, 5.0, 120, 12, 3
ARGS = ["--tmin", str(TMIN), "--tmax", str(TMAX), "--sweeps", str(SWEEPS), "--points", str(POINTS), "--seed",
        str(SEED), "--no-progress"]


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One torch thread: tiny batches, and two OpenMP threads on a busy 2-core machine spin at every barrier."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@contextlib.contextmanager
def _collect_file_warnings():
    """The engine leaves a resumed checkpoint's file to the garbage collector (see test_canonical): collect it
    here, where its ResourceWarning is expected, rather than in some later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        gc.collect()




def _net(sizes, seed=0) -> Couplings:
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices([rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])])


@pytest.fixture()
def npz(tmp_path):
    c = _net([4, 5, 4, 3])
    return str(save_npz(c, tmp_path / "c.npz")), c


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ising-nn thermo: error: ") and "Traceback" not in err
    return lines[0]


def test_thermo_writes_the_file_with_the_librarys_numbers(npz, tmp_path, capsys):
    path, c = npz
    out = tmp_path / "THERMO.dat"
    assert main(["thermo", path, "-o", str(out), *ARGS]) == 0
    header = read_header(out)
    for key in REQUIRED:
        assert key in header, key
    assert header["command"] == "ising-nn thermo" and header["model"] in (path, c.provenance.model)
    assert header["n_spins"] == str(c.n_spins) and header["seed"] == str(SEED) and header["sweeps"] == str(SWEEPS)
    assert header["stop_reason"] == "sweeps" and header["device"] == "cpu"
    lines = out.read_text().splitlines()
    assert "# " + " ".join(COLUMNS) == "# T U U_err C C_err F F_err S S_err"
    assert "# T U U_err C C_err F F_err S S_err" in lines
    data = np.loadtxt(out)  # plain columns under '#' lines, as the authors' scripts read files
    assert data.shape == (POINTS, 9)
    assert float(header["T_equilibrated"]) == pytest.approx(TMIN)  # 16 spins equilibrate down to tmin
    np.testing.assert_allclose(data[:, 0], np.geomspace(TMIN, TMAX, POINTS), rtol=1e-6)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{out}: T_c = ") and "rungs" in err
    # the same inputs through the library give the same numbers (to the file's 7 significant digits)
    r = canonical_thermo(load_couplings(path), tmin=TMIN, tmax=TMAX, sweeps=SWEEPS, seed=SEED, progress=False,
                         points=POINTS)
    curve, _ = read_thermo(out)
    for col in ("T", "U", "U_err", "C", "C_err", "F", "F_err", "S", "S_err"):
        attr = col + "_t" if not col.endswith("_err") else col[:-4] + "_err_t"
        np.testing.assert_allclose(getattr(curve, attr), getattr(r.curve, attr), rtol=6e-7, atol=0, err_msg=col)
    assert header["T_c"] == f"{r.curve.Tc:.4f}" and header["ladder_T"] == r.header["ladder_T"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["THERMO.dat", "c.npz"]  # no temporary files


@pytest.fixture()
def blocks_npz(tmp_path):
    c = _net([4] * 9, seed=1).replace(matrices_per_block=4)  # two blocks of four matrices
    path = str(save_npz(c, tmp_path / "c.npz"))
    kept = load_couplings(path, blocks=1, shuffle=0.5, seed=2)
    assert kept.n_spins == 20
    q = quench(kept, "fast", seed=7)
    return path, kept, q


def test_thermo_pass_throughs_and_cold_spins(blocks_npz, tmp_path):
    path, kept, q = blocks_npz
    spins = tmp_path / "s.npz"
    save_spins(spins, q.spins, kept, q.energy)
    out = tmp_path / "t.dat"
    assert main(["thermo", path, "-o", str(out), "--tmin", "1", "--tmax", "4", "--sweeps", "80", "--points", "5",
                 "--blocks", "1", "--shuffle", "0.5", "--shuffle-seed", "2", "--cold-spins", str(spins),
                 "--no-progress"]) == 0
    h = read_header(out)
    assert h["n_spins"] == "20" and h["blocks"] == "1" and h["shuffle"] == "0.5" and h["shuffle_seed"] == "2"
    assert h["cold_start_energy_per_spin"] == f"{kept.energy(q.spins) / kept.n_spins:.6f}"


def test_thermo_refuses_cold_spins_of_other_couplings(blocks_npz, tmp_path, capsys):
    path, _, q = blocks_npz
    # spins saved with the unshuffled network have another energy on the shuffled one
    other = tmp_path / "o.npz"
    full = load_couplings(path, blocks=1)
    save_spins(other, q.spins, full, full.energy(q.spins))
    out2 = tmp_path / "t2.dat"
    assert main(["thermo", path, "-o", str(out2), "--sweeps", "80", "--blocks", "1", "--shuffle", "0.5",
                 "--shuffle-seed", "2", "--cold-spins", str(other), "--no-progress"]) == 2
    assert "--cold-spins" in _one_error_line(capsys) and not out2.exists()


def test_thermo_resume_uses_the_default_checkpoint(npz, tmp_path):
    path, _ = npz
    out = tmp_path / "THERMO.dat"
    args = ["thermo", path, "-o", str(out), *ARGS, "--resume"]
    assert main(args) == 0
    assert (tmp_path / "THERMO.dat.ckpt.npz").is_file()
    first = np.loadtxt(out)
    untimed = ("seconds", "analysis_seconds")
    first_header = {k: v for k, v in read_header(out).items() if k not in untimed}
    float(first_header["cold_start_energy_per_spin"])
    with _collect_file_warnings():
        assert main(args) == 0  # a finished checkpoint: the same numbers again
    np.testing.assert_array_equal(np.loadtxt(out), first)
    assert {k: v for k, v in read_header(out).items() if k not in untimed} == first_header  # the same header too
    with _collect_file_warnings():
        assert main([*args[:-1], "--seed", "4", "--resume"]) == 2  # other inputs: refused


def test_thermo_time_limit_too_short_leaves_nothing(npz, tmp_path, capsys):
    path, _ = npz
    out = tmp_path / "THERMO.dat"
    assert main(["thermo", path, "-o", str(out), *ARGS, "--time-limit", "0.001"]) == 2
    assert "time limit" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--tmin", "5", "--tmax", "1"], "tmin must be below tmax"),
        (["--tmin", "2", "--tmax", "2"], "tmin must be below tmax"),
        (["--tmin", "-1"], "tmin must be a positive temperature"),
        (["--sweeps", "10"], "at least 80"),
        (["--points", "2"], "points"),
        (["--time-limit", "-1"], "time-limit"),
        (["--device", "tpu"], "unknown device"),
        (["--cold-spins", "missing.npz"], "not found"),
        (["--shuffle", "2"], "shuffle"),
    ],
)
def test_thermo_bad_input_exits_2(npz, tmp_path, capsys, extra, words):
    path, _ = npz
    out = tmp_path / "THERMO.dat"
    assert main(["thermo", path, "-o", str(out), *ARGS, *extra]) == 2
    assert words in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]  # no output, no temporary file


def test_thermo_missing_output_folder_and_couplings(npz, tmp_path, capsys):
    path, _ = npz
    assert main(["thermo", path, "-o", str(tmp_path / "no" / "THERMO.dat"), *ARGS]) == 2
    assert "does not exist" in _one_error_line(capsys)
    assert main(["thermo", str(tmp_path / "nope.npz"), "-o", str(tmp_path / "THERMO.dat"), *ARGS]) == 2
    assert "nope.npz" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]
    with pytest.raises(SystemExit) as e:  # argparse: -o is required
        main(["thermo", path])
    assert e.value.code == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_thermo_cuda_without_cuda_exits_2(npz, tmp_path, capsys):
    path, _ = npz
    assert main(["thermo", path, "-o", str(tmp_path / "THERMO.dat"), *ARGS, "--device", "cuda"]) == 2
    assert "CUDA is not available" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is available here")
def test_thermo_unavailable_mps_exits_2(npz, tmp_path, capsys):
    path, _ = npz
    assert main(["thermo", path, "-o", str(tmp_path / "THERMO.dat"), *ARGS, "--device", "mps"]) == 2
    _one_error_line(capsys)


PA_ARGS = ["--method", "pa", "--tmin", "1.0", "--tmax", "5.0", "--population", "32", "--runs", "2",
           "--sweeps-per-step", "2", "--seed", "5", "--precision", "float32", "--no-progress"]


def test_thermo_population_annealing_writes_what_the_library_computes(npz, tmp_path):
    """``--method pa``: the library's curve and header, ``--hot-sweeps`` in it, nothing else left behind."""
    from ising_nn.canonical import population_annealing

    path, c = npz
    out = tmp_path / "PA.dat"
    assert main(["thermo", path, "-o", str(out), *PA_ARGS, "--hot-sweeps", "1"]) == 0
    curve, header = read_thermo(out)
    r = population_annealing(c, tmin=1.0, tmax=5.0, population=32, runs=2, sweeps=2, hot_sweeps=1, seed=5,
                             precision="float32", progress=False)
    np.testing.assert_allclose(curve.T_t, r.curve.T_t, rtol=1e-6)
    np.testing.assert_allclose(curve.C_t, r.curve.C_t, rtol=1e-6, atol=1e-12)
    assert header["method"].startswith("population annealing") and header["sweeps_above_tmax"] == "1"
    assert header["command"] == "ising-nn thermo --method pa" and header["sweeps_per_step"] == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PA.dat", "c.npz"]


@pytest.mark.parametrize(("extra", "words"), [(["--hot-sweeps", "0"], "hot_sweeps"), (["--runs", "1"], "runs")])
def test_thermo_population_annealing_bad_input_exits_2(npz, tmp_path, capsys, extra, words):
    path, _ = npz
    assert main(["thermo", path, "-o", str(tmp_path / "PA.dat"), *PA_ARGS, *extra]) == 2
    assert words in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]
