"""``ising-nn dos``: writes a parseable DOS file with the required header; bad input exits 2."""

import numpy as np
import pytest
from scipy.special import logsumexp

from ising_nn.cli import main
from ising_nn.model.couplings import Couplings
from ising_nn.model.files import save_npz
from ising_nn.results.dos import read_dos
from ising_nn.results.textfile import read_header

REQUIRED = ("model", "n_spins", "n_bonds", "bin_width", "seed", "method", "sweeps", "version", "ln_f_final",
            "time", "stop_reason", "symmetry_error")


@pytest.fixture()
def npz(tmp_path):
    rng = np.random.default_rng(0)
    c = Couplings.from_matrices([rng.normal(size=(4, 4)).astype(np.float32) for _ in range(3)])
    return str(save_npz(c, tmp_path / "c.npz")), c


def test_dos_writes_file_with_header(npz, tmp_path, capsys):
    path, c = npz
    out = tmp_path / "d.dat"
    rc = main(["dos", path, "-o", str(out), "--bins", "30", "--ln-f-final", "1e-4", "--seed", "3",
               "--no-progress"])
    assert rc == 0
    header = read_header(out)
    for key in REQUIRED:
        assert key in header, key
    assert header["seed"] == "3" and header["n_spins"] == str(c.n_spins)
    data = np.loadtxt(out)  # the authors' scripts read it the same way
    assert data.shape[1] == 2
    d = read_dos(out)
    assert logsumexp(d.ln_g_k) == pytest.approx(c.n_spins * np.log(2), abs=1e-6)
    assert "bins" in capsys.readouterr().err


def test_dos_resume_uses_default_checkpoint(npz, tmp_path):
    path, _ = npz
    out = tmp_path / "d.dat"
    args = ["dos", path, "-o", str(out), "--bins", "30", "--no-progress", "--resume", "--max-sweeps"]
    assert main([*args, "20000"]) == 0
    assert (tmp_path / "d.dat.ckpt.npz").is_file()
    assert read_header(out)["resumed"] == "False"
    assert main([*args, "40000"]) == 0
    assert read_header(out)["resumed"] == "True"


def test_dos_time_limit_and_pass_throughs(tmp_path):
    rng = np.random.default_rng(1)
    c = Couplings.from_matrices([rng.normal(size=(4, 4)).astype(np.float32) for _ in range(8)])
    c = c.replace(matrices_per_block=4)
    path = str(save_npz(c, tmp_path / "c.npz"))
    out = tmp_path / "d.dat"
    assert main(["dos", path, "-o", str(out), "--time-limit", "1", "--blocks", "1", "--shuffle", "0.5",
                 "--shuffle-seed", "2", "--threads", "1", "--no-progress", "--layout", "rows",
                 "--run-length", "16"]) == 0
    h = read_header(out)
    assert h["layout"] == "rows" and h["run_length"] == "16"
    assert h["n_spins"] == "20" and h["shuffle"] == "0.5" and h["shuffle_seed"] == "2" and h["blocks"] == "1"
    assert h["threads"] == "1"


@pytest.mark.parametrize(
    "extra",
    [["--bins", "-3"], ["--bin-width", "0"], ["--time-limit", "-1"], ["--threads", "999"], ["--shuffle", "2"],
     ["--layout", "cols"], ["--run-length", "0"], ["--run-length", "17"]],
)
def test_dos_bad_input_exits_2(npz, tmp_path, extra, capsys):
    path, _ = npz
    assert main(["dos", path, "-o", str(tmp_path / "d.dat"), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ising-nn dos: error:") and "Traceback" not in err
    assert not (tmp_path / "d.dat").exists()


def test_dos_missing_input_and_bad_output_folder(npz, tmp_path, capsys):
    path, _ = npz
    assert main(["dos", str(tmp_path / "nope.npz"), "-o", str(tmp_path / "d.dat")]) == 2
    assert main(["dos", path, "-o", str(tmp_path / "no" / "d.dat"), "--bins", "20", "--sweeps", "100",
                 "--no-progress"]) == 2
    with pytest.raises(SystemExit) as e:  # argparse: mutually exclusive options
        main(["dos", path, "-o", "x.dat", "--bins", "3", "--bin-width", "1"])
    assert e.value.code == 2
