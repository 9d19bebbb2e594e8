"""Cached results: names, reuse when the inputs match, recomputation when they do not, checkpoints, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

import ising_nn.wanglandau.run as wl_module
from ising_nn import Couplings, Provenance, save_npz
from ising_nn.errors import IsingNNError
from ising_nn.paper import (
    QuenchSummary,
    budget,
    cached_dos,
    cached_quench,
    dos_path,
    model_key,
    model_slug,
    quench_path,
    quench_spins_path,
)
from ising_nn.results.dos import DOS
from ising_nn.results.spins import load_spins
from ising_nn.results.textfile import read_header

# Start states from the layer-parallel descent: quick, where the start is not what a test is about (the
# default is an anneal of 64 restarts).
FAST = {"start_method": "layer", "start_restarts": None}


def _model(tmp_path, sizes, blocks, seed=0, name="tiny"):
    rng = np.random.default_rng(seed)
    mats = [rng.normal(size=(a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    c = Couplings.from_matrices(mats, Provenance(model=name, family="matrices", matrices_per_block=4,
                                                 blocks=blocks))
    return save_npz(c, tmp_path / f"{name}.npz"), c


@pytest.fixture
def two_blocks(tmp_path):
    """A 2-block model (4 matrices per block), too big to enumerate: the sampler is faked."""
    return _model(tmp_path, [3, 3, 3, 6, 3, 3, 3, 6, 3], 2)[0]


@pytest.fixture
def fake_wl(monkeypatch):
    """Replace the sampler by a recorder returning a symmetric DOS, normalised to 2^N."""
    calls = []

    def fake(c, *, bins=None, seed=0, time_limit=None, checkpoint=None, resume=False, progress=True, **kw):
        calls.append({"n_spins": c.n_spins, "seed": seed, "time_limit": time_limit, "checkpoint": checkpoint,
                      "resume": resume, "resumed": bool(resume and checkpoint and checkpoint.exists()),
                      "shuffle": c.provenance.shuffle, "layers": c.n_layers, "start_spins": kw.get("start_spins"),
                      "start_energy": None if kw.get("start_spins") is None else float(c.energy(kw["start_spins"]))})
        E = np.linspace(-1.0, 1.0, 21) * float(np.abs(c.buffer).sum()) / 4
        ln_g = -(E / E.max()) ** 2 * c.n_spins / 10
        ln_g += c.n_spins * np.log(2) - logsumexp(ln_g)
        return DOS.from_ln_g(E, ln_g, c.n_spins, {"model": c.provenance.model, "seed": seed})

    monkeypatch.setattr(wl_module, "wang_landau", fake)
    return calls


def test_names(tmp_path):
    d = tmp_path / "dos"
    assert dos_path("minilm", out_dir=d) == d / "minilm" / "trained.dat"
    assert dos_path("minilm", shuffle=1.0, out_dir=d) == d / "minilm" / "shuffled.dat"
    assert dos_path("minilm", blocks=3, shuffle=1, out_dir=d) == d / "minilm" / "blocks3_shuffled.dat"
    assert dos_path("minilm", shuffle=0.2, out_dir=d) == d / "minilm" / "fraction0.2.dat"
    assert dos_path("minilm", shuffle=0.2, seed=1, out_dir=d) == d / "minilm" / "fraction0.2_seed1.dat"
    assert dos_path("minilm", seed=3, out_dir=d).name == "trained_seed3.dat"
    assert quench_path("minilm", blocks=2, out_dir=d) == d / "minilm" / "quench" / "blocks2_anneal.dat"
    assert model_slug("facebook/opt-125m") == "opt-125m" == model_slug("opt-125m")
    assert model_key("opt-125m") == "facebook/opt-125m"
    p = tmp_path / "my model.npz"
    p.write_bytes(b"")
    assert model_slug(str(p)) == "my-model" and model_key(str(p)) == p.resolve().as_posix()


def test_reuse_and_recompute(two_blocks, tmp_path, fake_wl):
    out = tmp_path / "dos"
    a = cached_dos(str(two_blocks), sweeps=5, out_dir=out, verbose=False, **FAST)
    path = out / "tiny" / "trained.dat"
    h = read_header(path)
    assert h["input.model"] == two_blocks.resolve().as_posix() and h["input.sweeps"] == "5"
    assert h["input.shuffle"] == "0.0" and h["input.blocks"] == "None" and h["model_blocks"] == "2"
    assert len(fake_wl) == 1 and fake_wl[0]["n_spins"] == a.n_spins == 33
    b = cached_dos(str(two_blocks), sweeps=5, out_dir=out, verbose=False, **FAST)
    assert len(fake_wl) == 1  # read back, no sampler
    np.testing.assert_allclose(b.ln_g_k, a.ln_g_k, rtol=1e-9)
    cached_dos(str(two_blocks), sweeps=6, out_dir=out, verbose=False, **FAST)
    assert len(fake_wl) == 2  # an input changed
    cached_dos(str(two_blocks), sweeps=6, out_dir=out, verbose=False, **FAST, force=True)
    assert len(fake_wl) == 3
    cached_dos(str(two_blocks), sweeps=6, out_dir=out, bins=50, verbose=False, **FAST)
    assert len(fake_wl) == 4
    s = cached_dos(str(two_blocks), shuffle=1.0, seed=2, sweeps=6, out_dir=out, verbose=False, **FAST)
    assert fake_wl[-1]["seed"] == 2 and fake_wl[-1]["shuffle"] == 1.0
    assert (out / "tiny" / "shuffled_seed2.dat").is_file() and s.header["shuffle_seed"] == "2"
    k1 = cached_dos(str(two_blocks), blocks=1, sweeps=6, out_dir=out, verbose=False, **FAST)
    assert k1.n_spins == 3 + 3 + 3 + 6 + 3 and fake_wl[-1]["layers"] == 4
    # the whole depth is the blocks=None file: no new sampler run
    n = len(fake_wl)
    full = cached_dos(str(two_blocks), blocks=2, bins=50, sweeps=6, out_dir=out, verbose=False, **FAST)
    assert len(fake_wl) == n and full.n_spins == 33 and not (out / "tiny" / "blocks2.dat").exists()


def test_changed_file_header_recomputes(two_blocks, tmp_path, fake_wl):
    out = tmp_path / "dos"
    cached_dos(str(two_blocks), sweeps=5, out_dir=out, verbose=False, **FAST)
    path = out / "tiny" / "trained.dat"
    path.write_text(path.read_text().replace("# input.cache_version: ", "# input.cache_version: 0"))
    cached_dos(str(two_blocks), sweeps=5, out_dir=out, verbose=False, **FAST)
    assert len(fake_wl) == 2


def test_checkpoint_resume(two_blocks, tmp_path, monkeypatch, fake_wl):
    out = tmp_path / "dos"
    real_fake = wl_module.wang_landau

    def interrupted(c, **kw):
        kw["checkpoint"].write_bytes(b"state")
        raise KeyboardInterrupt

    monkeypatch.setattr(wl_module, "wang_landau", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cached_dos(str(two_blocks), sweeps=5, out_dir=out, verbose=False, **FAST)
    assert not (out / "tiny" / "trained.dat").exists()
    ckpts = list((out / ".checkpoints").iterdir())
    assert len(ckpts) == 1
    monkeypatch.setattr(wl_module, "wang_landau", real_fake)
    cached_dos(str(two_blocks), sweeps=5, out_dir=out, verbose=False, **FAST)
    assert fake_wl[-1]["resumed"] and fake_wl[-1]["checkpoint"] == ckpts[0]
    assert not ckpts[0].exists()  # removed once the result is written
    cached_dos(str(two_blocks), sweeps=7, out_dir=out, verbose=False, **FAST)
    assert not fake_wl[-1]["resumed"]  # other inputs, other checkpoint


def test_real_sampler_round_trip(tmp_path):
    """The real Wang-Landau through the cache: the file read back is the DOS, normalised and symmetric."""
    path, c = _model(tmp_path, [2, 2, 2, 4, 2], 1, name="small")
    out = tmp_path / "dos"
    d = cached_dos(str(path), sweeps=2, bins=30, out_dir=out, verbose=False, **FAST)
    assert d.n_spins == 12
    assert logsumexp(d.ln_g_k) == pytest.approx(12 * np.log(2), rel=1e-6)
    np.testing.assert_allclose(d.E_k, -d.E_k[::-1], atol=1e-6 * d.width)
    np.testing.assert_allclose(d.ln_g_k, d.ln_g_k[::-1], atol=1e-6)
    s = np.array(list(itertools.product((-1, 1), repeat=12)), dtype=np.int8)
    E0 = float(c.energy(s).min())
    assert d.E_min >= E0 - d.bin_width  # no bin below the exact ground state
    assert (d.header["input.sampler"], d.header["input.bins"]) == ("wang_landau", "30")


def test_quench_cache_and_exact_ground_state(tmp_path):
    path, c = _model(tmp_path, [2, 2, 2, 4, 2], 1, name="small")
    out = tmp_path / "dos"
    q = cached_quench(str(path), method="anneal", restarts=8, out_dir=out, verbose=False)
    s = np.array(list(itertools.product((-1, 1), repeat=12)), dtype=np.int8)
    E0 = float(c.energy(s).min())
    assert isinstance(q, QuenchSummary) and q.n_spins == 12 and q.model_blocks == 1
    assert q.energy >= E0 - 1e-4  # never below the exact ground state
    assert q.energy == pytest.approx(E0, abs=1e-4)  # and a 12-spin model is solved exactly
    assert q.width == pytest.approx(2 * abs(q.energy)) and q.width_per_spin == pytest.approx(q.width / 12)
    mtime = q.path.stat().st_mtime_ns
    again = cached_quench(str(path), method="anneal", restarts=8, out_dir=out, verbose=False)
    assert again.path.stat().st_mtime_ns == mtime and again.energy == q.energy
    layer = cached_quench(str(path), method="layer", restarts=None, out_dir=out, verbose=False)
    assert layer.path.name == "trained_layer.dat" and layer.energy >= E0 - 1e-4
    full = cached_quench(str(path), blocks=1, method="layer", restarts=None, out_dir=out, verbose=False)
    assert full.path == layer.path


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"shuffle": 1.5}, "shuffle"),
        ({"shuffle": "x"}, "shuffle"),
        ({"blocks": 0}, "blocks"),
        ({"seed": -1}, "seed"),
        ({"time_limit": 0}, "time_limit"),
        ({"sweeps": 0}, "sweeps"),
        ({"blocks": 9}, "blocks"),
        ({"start_method": "magic"}, "quench method"),
        ({"start_restarts": 0}, "restarts"),
    ],
)
def test_bad_input(two_blocks, tmp_path, fake_wl, kw, match):
    with pytest.raises(IsingNNError, match=match):
        cached_dos(str(two_blocks), out_dir=tmp_path, verbose=False, **kw)


def test_dos_starts_from_the_cached_quench(two_blocks, tmp_path, fake_wl):
    """The sampler gets the cached search's state (same inputs), which is kept beside its summary; the DOS
    header says so, and the start is one of the inputs that decide whether a cached DOS is reused."""
    out = tmp_path / "dos"
    d = cached_dos(str(two_blocks), shuffle=1.0, seed=3, sweeps=5, out_dir=out, verbose=False, **FAST)
    q = cached_quench(str(two_blocks), shuffle=1.0, seed=3, method="layer", restarts=None, out_dir=out,
                      verbose=False)
    spins = quench_spins_path(str(two_blocks), shuffle=1.0, seed=3, method="layer", out_dir=out)
    assert q.spins_path == spins and spins.name == "shuffled_seed3_layer.npz"
    saved = load_spins(spins)
    np.testing.assert_array_equal(fake_wl[-1]["start_spins"], saved.spins)
    assert fake_wl[-1]["start_energy"] == pytest.approx(q.energy, rel=1e-6)
    assert saved.header["input.shuffle"] == "1.0" and saved.header["summary"] == q.path.name
    h = d.header
    assert h["input.start"] == "quench layer None" and h["start_spins_method"] == "layer"
    assert h["start_spins"] == spins.as_posix() and float(h["start_spins_energy"]) == pytest.approx(q.energy)
    cached_dos(str(two_blocks), shuffle=1.0, seed=3, sweeps=5, out_dir=out, verbose=False, **FAST)
    assert len(fake_wl) == 1  # read back
    plain = cached_dos(str(two_blocks), shuffle=1.0, seed=3, sweeps=5, start_method=None, out_dir=out,
                       verbose=False)
    assert len(fake_wl) == 2 and fake_wl[-1]["start_spins"] is None
    assert plain.header["input.start"] == "descent" and "start_spins" not in plain.header


def test_dos_start_searches_again_without_valid_spins(two_blocks, tmp_path, fake_wl):
    """A summary whose spins are missing (written by an older version) or belong to other couplings (here the
    shuffled network's state put in the trained one's place) is searched again, not trusted."""
    out = tmp_path / "dos"
    kw = {"sweeps": 5, "out_dir": out, "verbose": False, **FAST}
    cached_dos(str(two_blocks), **kw)
    q = cached_quench(str(two_blocks), method="layer", restarts=None, out_dir=out, verbose=False)
    q.spins_path.unlink()
    assert cached_quench(str(two_blocks), method="layer", restarts=None, out_dir=out,
                         verbose=False).spins_path is None
    cached_dos(str(two_blocks), force=True, **kw)
    assert q.spins_path.is_file() and fake_wl[-1]["start_energy"] == pytest.approx(q.energy, rel=1e-6)
    qs = cached_quench(str(two_blocks), shuffle=1.0, method="layer", restarts=None, out_dir=out, verbose=False)
    q.spins_path.write_bytes(qs.spins_path.read_bytes())
    cached_dos(str(two_blocks), force=True, **kw)
    assert load_spins(q.spins_path).energy == pytest.approx(q.energy, rel=1e-6)  # the trained state again
    assert fake_wl[-1]["start_energy"] == pytest.approx(q.energy, rel=1e-6)


def test_bad_quench_input(two_blocks, tmp_path):
    with pytest.raises(IsingNNError, match="method"):
        cached_quench(str(two_blocks), method="magic", out_dir=tmp_path)
    with pytest.raises(IsingNNError, match="name or path"):
        cached_quench(object(), out_dir=tmp_path)
    bad = tmp_path / "q.dat"
    bad.write_text("# energy: x\n")
    with pytest.raises(IsingNNError, match="quench summary"):
        QuenchSummary.read(bad)


def test_budgets():
    assert budget(True).wl_sweeps < budget(False).wl_sweeps
    assert budget(True).blocks is not None and budget(False).blocks is None
