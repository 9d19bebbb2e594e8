"""Two thermodynamic curves of one network compared (:mod:`ising_nn.thermo.agreement`, ``ising-nn crosscheck``):
test systems with a known truth (U = -1/T and a smooth C, noise of known size), so that agreement, a parting,
the family-wise level and the cross-validated range all have exact expected answers; then the committed curves
of trained MiniLM by both methods."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from ising_nn.cli import main
from ising_nn.paper.paths import DOS_DIR
from ising_nn.results.thermo import ThermoCurve, read_thermo, write_thermo
from ising_nn.thermo.agreement import agree, agreement, dof

T_A = np.geomspace(1.0, 10.0, 200)  # replica exchange's output grid: dense, bootstrap errors
T_B = np.geomspace(1.5, 12.0, 90)  # a population-annealing schedule: sparser, errors from 4 runs
E_A, E_B = 1e-3, 2e-3


def c_true(T):
    return 0.5 * np.exp(-np.log(T / 3.0) ** 2)


def curve(T, err, rng=None, U_shift_below=None, C_shift_below=None, shift=0.0, T_eq=1.0, runs=None):
    noise = (lambda: rng.normal(0.0, err, T.size)) if rng is not None else (lambda: 0.0)
    U, C = -1.0 / T + noise(), c_true(T) + noise()
    if U_shift_below is not None:
        U = U + np.where(T < U_shift_below, shift, 0.0)
    if C_shift_below is not None:
        C = C + np.where(T < C_shift_below, shift, 0.0)
    e = np.full_like(T, err)
    h = {"T_equilibrated": f"{T_eq:.4f}", **({"runs": str(runs)} if runs else {})}
    return SimpleNamespace(curve=ThermoCurve(T, U, e, C, e, U, e, U, e, math.nan, math.nan, False), header=h)


def test_exact_curves_agree_on_the_sparser_grid_inside_both_ranges():
    r = agreement(curve(T_A, E_A, T_eq=2.0), curve(T_B, E_B, T_eq=4.0, runs=4))
    assert np.all(np.isin(r.T_t, T_B)) and r.T_t.min() >= 1.5 and r.T_t.max() <= 10.0
    assert r.T_t.size == np.sum((T_B >= 1.5) & (T_B <= 10.0))
    # the dense curve interpolated in ln T: its error is far below the noise
    assert np.nanmax(r.z_U_t) < 0.05 and np.nanmax(r.z_C_t) < 0.05 and r.agree_t.all()
    assert r.T_agreed == r.T_t[0] and r.n_parted == 0 and math.isnan(r.T_parted_hottest)
    assert r.T_cross_validated == pytest.approx(r.T_t[r.T_t >= 2.0].min())  # one method certifies from 2
    assert np.array_equal(r.certified_a_t, r.T_t >= 2.0) and np.array_equal(r.certified_b_t, r.T_t >= 4.0)
    assert r.dof_a == math.inf and r.dof_b == 3.0
    assert "They agree at every one" in r.summary() and "cross-validated down to T = 2.0" in r.summary()


def test_agreement_alone_is_not_equilibrium():
    """Two methods that both fail their own tests can be stuck alike: agreeing curves are cross-validated only
    where at least one certifies itself."""
    none = agreement(curve(T_A, E_A, T_eq=math.inf), curve(T_B, E_B, T_eq=math.inf, runs=4))
    assert none.agree_t.all() and none.T_agreed == none.T_t[0] and math.isinf(none.T_cross_validated)
    assert "cross-validated nowhere" in none.summary()
    above = agreement(curve(T_A, E_A, T_eq=50.0), curve(T_B, E_B, T_eq=20.0, runs=4))  # above the compared range
    assert math.isinf(above.T_cross_validated)


@pytest.mark.parametrize("which", ["U", "C"])
def test_a_bias_below_a_temperature_ends_the_agreed_range(which):
    """b 0.03 lower below T = 3 (13 combined errors; b from 8 runs, so the passing |z| is about 6.3): every
    compared temperature below 3 parts, none above, and a's U is the higher there. From 4 runs the passing
    |z| is about 14: few runs make a weak test, and the header says how weak."""
    rng = np.random.default_rng(1)
    kw = {f"{which}_shift_below": 3.0, "shift": -0.03}
    r = agreement(curve(T_A, E_A, rng, T_eq=1.0), curve(T_B, E_B, rng, runs=8, T_eq=5.0, **kw))
    below = r.T_t < 3.0
    assert np.array_equal(~r.agree_t, below)
    assert r.T_agreed == r.T_t[~below].min() and r.T_parted_hottest == r.T_t[below].max()
    assert r.n_parted == below.sum() and r.T_cross_validated == r.T_agreed
    if which == "U":
        assert r.n_a_lower == 0  # b's U is the lower wherever they part
    h = r.header()
    assert h["parted"] == below.sum() and h["T_agreed"] == f"{r.T_agreed:.4f}"
    assert 6.0 < float(h["z_crit_min"]) <= float(h["z_crit_max"]) < 9.0
    rng = np.random.default_rng(1)
    weak = agreement(curve(T_A, E_A, rng, T_eq=1.0), curve(T_B, E_B, rng, runs=4, T_eq=5.0, **kw))
    assert weak.z_crit_t.min() > 2.0 * r.z_crit_t.max()


def test_two_correct_curves_hold_the_family_wise_false_alarm_rate():
    """Pure noise of the stated size on both: some parting in at most about alpha = 1% of trials (Bonferroni
    over ~90 temperatures and U and C), where a per-point |z| <= 3 would part in about 40%."""
    rng = np.random.default_rng(2)
    trials, fails, per_point = 300, 0, 0
    for _ in range(trials):
        r = agreement(curve(T_A, E_A, rng), curve(T_B, E_B, rng))  # no runs: both errors exact
        fails += r.n_parted > 0
        per_point += np.nanmax(np.fmax(r.z_U_t, r.z_C_t)) > 3
    # 9 or more of 300 has probability < 1e-3 at a true rate of 0.01 (binomial)
    assert fails <= 8, fails
    assert per_point >= 60, per_point


def test_a_fixed_threshold_is_stricter_where_errors_are_many_runs_strong():
    """b 0.008 lower below T = 3 (about 3.6 combined errors): the family-wise test (passing |z| about 3.9 with
    exact errors) keeps most of those temperatures; |z| <= 3 parts at them and ends the range higher."""
    rng = np.random.default_rng(5)
    a, b = curve(T_A, E_A, rng), curve(T_B, E_B, rng, U_shift_below=3.0, shift=-0.008)
    fw, fixed = agreement(a, b), agreement(a, b, z_max=3.0)
    assert fixed.T_agreed > fw.T_agreed and fixed.n_parted > fw.n_parted
    assert fixed.rule == "|z| <= 3" and np.all(fixed.z_crit_t == 3.0) and fw.rule == "family-wise"
    assert np.array_equal(fixed.agree_t, (fixed.z_U_t <= 3) & (fixed.z_C_t <= 3))
    assert "per temperature" in fixed.summary() and fixed.header()["rule"] == "|z| <= 3"
    with pytest.raises(ValueError):
        agreement(a, b, z_max=0.0)


def test_few_runs_widen_the_threshold_by_student_t():
    """One comparison, z = 5: fails against exact errors (normal: 2.58 at alpha = 0.01), passes with 3 degrees
    of freedom (Student's t: 5.84); with 9 runs the t threshold lies between."""
    z, ok = agree([5.0], [1.0], math.inf, [0.0], [0.0], math.inf, 0.01)
    assert z[0] == 5.0 and not ok[0]
    assert agree([5.0], [1.0], 3.0, [0.0], [0.0], math.inf, 0.01)[1][0]
    assert stats.t.ppf(0.995, 3) > 5.0 > stats.norm.ppf(0.995)
    assert not agree([5.0], [1.0], 8.0, [0.0], [0.0], math.inf, 0.01)[1][0]  # t(8) threshold 3.36
    assert dof({"runs": "8"}) == 7.0 and dof({}) == math.inf


def test_no_common_temperature():
    r = agreement(curve(np.geomspace(1, 2, 20), E_A), curve(np.geomspace(3, 9, 20), E_B))
    assert r.T_t.size == 0 and math.isinf(r.T_agreed) and math.isinf(r.T_cross_validated)
    assert r.summary() == "a and b cover no common temperature."
    with pytest.raises(ValueError):
        agreement(curve(T_A, E_A), curve(T_B, E_B), alpha=1.5)


def _files(tmp_path, b_header=None, **kw):
    a, b = curve(T_A, E_A, np.random.default_rng(3), T_eq=2.0), curve(T_B, E_B, np.random.default_rng(4),
                                                                        runs=4, T_eq=3.0, **kw)
    base = {"model": "net", "n_spins": "100", "shuffle": "0.0"}
    pa, pb = tmp_path / "a.dat", tmp_path / "b.dat"
    write_thermo(a.curve, pa, {**base, **a.header, "method": "replica exchange"})
    write_thermo(b.curve, pb, {**base, **b.header, "method": "population annealing", **(b_header or {})})
    return pa, pb


def test_cli_writes_data_to_stdout_or_a_file_the_same_bytes(tmp_path, capsys):
    pa, pb = _files(tmp_path, U_shift_below=2.5, shift=-0.1)
    assert main(["crosscheck", str(pa), str(pb)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    head = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# ") and ": " in line)
    assert head["command"] == "ising-nn crosscheck" and head["method_b"] == "population annealing"
    assert head["dof_b"] == "3.0000" and head["T_cross_validated"] == head["T_agreed"]
    assert float(head["T_agreed"]) > 2.5 and int(head["parted"]) > 0 and head["version"].startswith("ising-nn")
    data = np.loadtxt(out.splitlines())
    assert data.shape[1] == 15 and np.array_equal(data[:, 12] == 0, data[:, 0] < 2.5)
    assert err.count("\n") == 1 and "cross-validated down to T = " in err and str(pa) in err
    o = tmp_path / "x.dat"
    assert main(["crosscheck", str(pa), str(pb), "-o", str(o)]) == 0
    assert capsys.readouterr().out == "" and o.read_text() == out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_refuses_different_systems_and_bad_input(tmp_path, capsys):
    pa, pb = _files(tmp_path, b_header={"shuffle": "1.0"})
    assert main(["crosscheck", str(pa), str(pb)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "shuffle '0.0' against '1.0'" in err and "--force" in err
    assert main(["crosscheck", str(pa), str(pb), "--force"]) == 0
    assert "# different_systems: shuffle '0.0' against '1.0'" in capsys.readouterr().out
    for argv in (["--alpha", "0"], ["--alpha", "nan"], ["--z-max", "-1"]):
        assert main(["crosscheck", str(pa), str(pb), *argv]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert main(["crosscheck", str(pa), str(tmp_path / "missing.dat")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["crosscheck", str(pa), str(pb), "-o", str(tmp_path / "no" / "x.dat")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_committed_minilm_curves_of_both_methods_agree_where_both_ran():
    """The figures' replica exchange and population annealing (8 x 1,024) of trained MiniLM, as committed:
    independent methods that must agree wherever both cover, and the R/4 population must agree with R."""
    th = DOS_DIR / "minilm" / "thermo"
    pt, pa, check = (read_thermo(th / f) for f in ("trained.dat", "trained_pa.dat", "trained_pa_check.dat"))
    r = agreement(pt, pa)
    assert r.T_t.size >= 20 and r.n_parted == 0, r.summary()
    assert r.T_cross_validated == pytest.approx(r.T_t[0])  # replica exchange's curve starts at its own edge
    q = agreement(check, pa)
    assert q.n_parted == 0 and q.T_cross_validated == q.T_t[q.T_t >= float(pa[1]["T_equilibrated"])].min()
