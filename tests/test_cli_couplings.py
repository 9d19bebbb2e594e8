"""``ising-nn couplings`` and ``ising-nn info``: outputs, and one clean error line for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _hf_models import build

from ising_nn import Couplings, Provenance, load_npz, save_npz
from ising_nn.cli import main
from ising_nn.cli.couplings import human_bytes


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_old_seed_spelling_still_works_with_a_deprecation_message(tmp_path, capsys):
    rc, _, se = _run(capsys, "couplings", "minilm", "-o", str(tmp_path / "a.npz"), "--blocks", "1", "--shuffle",
                     "1", "--seed", "3")
    assert rc == 0 and "--seed is deprecated" in se and "--shuffle-seed" in se
    assert load_npz(tmp_path / "a.npz").provenance.shuffle_seed == 3


def test_couplings_then_info(tmp_path, capsys):
    out = tmp_path / "m.npz"
    rc, so, se = _run(capsys, "couplings", "minilm", "-o", str(out), "--blocks", "2", "--shuffle", "0.25",
                      "--shuffle-seed", "7")
    assert rc == 0 and so == ""
    assert se.count("\n") == 1 and "5,760 spins" in se and "2,949,120 bonds" in se
    c = load_npz(out)
    assert c.n_blocks == 2 and c.provenance.shuffle == 0.25 and c.provenance.shuffle_seed == 7
    rc, so, _ = _run(capsys, "info", str(out), "--json")
    d = json.loads(so)
    assert rc == 0 and d["family"] == "bert" and d["blocks"] == 2 and d["n_spins"] == 5_760
    assert d["shuffle"] == 0.25 and d["source"] == ".npz file"
    rc, so, _ = _run(capsys, "info", str(out))
    for key in ("family:", "blocks:", "layer sizes:", "spins:", "bonds:", "memory:", "weights:", "mean |J|"):
        assert key in so
    assert "384 + 2 x (384, 384, 1536, 384)" in so and "11.2 MiB" in so


def test_info_default_is_minilm(capsys):
    rc, so, _ = _run(capsys, "info")
    assert rc == 0 and "minilm" in so and "16,512" in so and "8,847,360" in so


def test_info_on_hf_folder(tmp_path, capsys):
    build("vit", tmp_path / "vit")
    rc, so, _ = _run(capsys, "info", str(tmp_path / "vit"), "--json")
    d = json.loads(so)
    assert rc == 0 and d["family"] == "vit" and d["layer_sizes"] == [32] + [32, 32, 128, 32] * 2


def _npz(path: Path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture
def bad_inputs(tmp_path):
    """name -> (argv after the subcommand's MODEL, expected words in the error)."""
    d = tmp_path
    build("bert", d / "llama")
    cfg = json.loads((d / "llama" / "config.json").read_text())
    cfg["model_type"] = "llama"
    (d / "llama" / "config.json").write_text(json.dumps(cfg))
    (d / "corrupt.npz").write_bytes(b"this is not a zip file")
    nan = np.ones((3, 3), np.float32)
    nan[1, 1] = np.nan
    return {
        "unknown architecture": (str(d / "llama"), "unknown architecture 'llama'"),
        "unreachable hub": ("gpt2", "hub cannot be reached"),
        "missing file": (str(d / "missing.npz"), "no such file"),
        "corrupt file": (str(d / "corrupt.npz"), "not a readable .npz"),
        "nan": (_npz(d / "nan.npz", J_0=nan), "NaN or Inf"),
        "inf": (_npz(d / "inf.npz", J_0=np.full((2, 2), np.inf, np.float32)), "NaN or Inf"),
        "no chain": (_npz(d / "chain.npz", J_0=np.ones((3, 4), np.float32), J_1=np.ones((5, 2), np.float32)),
                     "do not chain"),
        "not couplings": (_npz(d / "other.npz", x=np.ones(3)), "no arrays J_0"),
    }


@pytest.mark.parametrize("command", ["couplings", "info"])
@pytest.mark.parametrize(
    "case",
    ["unknown architecture", "unreachable hub", "missing file", "corrupt file", "nan", "inf", "no chain",
     "not couplings"],
)
def test_bad_input_one_line_exit_2(bad_inputs, tmp_path, capsys, monkeypatch, command, case):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, words = bad_inputs[case]
    out = tmp_path / "out" / "o.npz"
    out.parent.mkdir()
    extra = ["-o", str(out)] if command == "couplings" else []
    rc, so, se = _run(capsys, command, model, *extra)
    assert rc == 2 and so == ""
    assert se.count("\n") == 1 and words in se and "Traceback" not in se
    assert se.startswith(f"ising-nn {command}: error: ")
    assert list(out.parent.iterdir()) == []  # no output, no temporary file


@pytest.mark.parametrize(
    "args, words",
    [
        (["--shuffle", "1.5"], "shuffle fraction must be in [0, 1]"),
        (["--shuffle", "-0.1"], "shuffle fraction must be in [0, 1]"),
        (["--blocks", "0"], "from 1 to 6"),
        (["--blocks", "7"], "from 1 to 6"),
    ],
)
def test_bad_transform_arguments(tmp_path, capsys, args, words):
    out = tmp_path / "o.npz"
    rc, so, se = _run(capsys, "couplings", "minilm", "-o", str(out), *args)
    assert rc == 2 and se.count("\n") == 1 and words in se and not out.exists()
    rc, _, se = _run(capsys, "info", "minilm", *args)
    assert rc == 2 and words in se


def test_bad_output_paths(tmp_path, capsys):
    rc, _, se = _run(capsys, "couplings", "minilm", "-o", str(tmp_path / "o.txt"))
    assert rc == 2 and "must end in .npz" in se
    rc, _, se = _run(capsys, "couplings", "minilm", "-o", str(tmp_path / "nodir" / "o.npz"))
    assert rc == 2 and "does not exist" in se


def test_existing_output_survives_a_failed_run(tmp_path, capsys):
    out = tmp_path / "o.npz"
    c = Couplings.from_matrices([np.eye(2, dtype=np.float32)], Provenance("keep"))
    save_npz(c, out)
    before = out.read_bytes()
    rc, _, _ = _run(capsys, "couplings", "minilm", "-o", str(out), "--blocks", "9")
    assert rc == 2 and out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["o.npz"]


@pytest.mark.parametrize(
    "argv",
    [["couplings", "minilm"], ["couplings", "-o", "x.npz", "--blocks", "two"], ["info", "--shuffle", "x"],
     ["nosuchcommand"]],
)
def test_argparse_errors_exit_non_zero(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_human_bytes():
    assert human_bytes(0) == "0 B" and human_bytes(1023) == "1023 B"
    assert human_bytes(4 * 8_847_360) == "33.8 MiB"
    assert human_bytes(4 * 1_006_632_960) == "3.8 GiB"


def test_console_script_exit_codes(tmp_path):
    exe = Path(sys.executable).parent / "ising-nn"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    ok = subprocess.run([str(exe), "info", "minilm"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "16,512" in ok.stdout
    bad = subprocess.run([str(exe), "info", str(tmp_path / "missing.npz")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
