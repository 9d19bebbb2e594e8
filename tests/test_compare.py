"""The overview's statements about T_c: a difference over a few seeds is judged by Welch's t-test, one between
two estimates with their own errors (the canonical engine's bootstrap) by a normal test."""

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ising_nn.paper.compare import _tc_test, findings, tc_welch
from ising_nn.thermo.from_dos import tc_estimate


def _row(tc_trained, tc_shuffled, method=None):
    et, es = tc_estimate(tc_trained), tc_estimate(tc_shuffled)
    return {"model": "m", "n_spins": 10, "W_ratio": 1.5, "W_per_spin_trained": 5.0, "W_per_spin_shuffled": 3.0,
            "W0_per_spin_trained": 5.0, "W0_per_spin_shuffled": 3.0, "W0_ratio": 1.6,
            "Tc_trained": et.Tc, "Tc_shuffled": es.Tc, "Tc_err_trained": et.Tc_err, "Tc_err_shuffled": es.Tc_err,
            "Tc_err_method": method or f"standard error over {len(tc_trained)} seeds",
            **_tc_test(et, es),
            "Tc_paper_style_trained": 0.08, "Tc_paper_style_shuffled": 0.04, "symmetry_error_trained": 0.0,
            "symmetry_error_shuffled": 0.0, "ln_g_per_spin_max": 0.69}


@pytest.mark.parametrize("trained, shuffled", [([3.11, 3.46], [2.25, 2.0]), ([4.07, 1.4], [2.24, 2.18]),
                                               ([3.0, 3.2, 3.1], [2.9, 3.3, 3.0])])
def test_tc_difference_is_welchs_t_test(trained, shuffled):
    text = findings(pd.DataFrame([_row(trained, shuffled)]), None)[1]
    p = float(re.search(r"p = ([0-9.e-]+)", text).group(1))
    ref = stats.ttest_ind(trained, shuffled, equal_var=False).pvalue
    assert p == pytest.approx(ref, rel=0.05)  # printed to two digits
    assert ("not resolved" in text) == (ref >= 0.05)


def test_welch_needs_two_seeds_a_side():
    assert all(np.isnan(tc_welch([3.0], [2.0, 2.1])))
    a, b = np.array([3.11, 3.46, 3.3]), np.array([2.25, 2.0])
    p, dof = tc_welch(a, b)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size  # Welch-Satterthwaite, by hand
    dof_ref = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    p_ref = 2 * stats.t.sf((a.mean() - b.mean()) / np.sqrt(va + vb), dof_ref)
    assert dof == pytest.approx(dof_ref, rel=1e-9) and p == pytest.approx(p_ref, rel=1e-9)


def test_single_estimates_use_a_normal_test_on_their_errors():
    row = _row([3.0], [2.0], method="canonical MBAR, bootstrap")
    row.update(Tc_err_trained=0.2, Tc_err_shuffled=0.2)
    row.update(_tc_test(_est(3.0, 0.2), _est(2.0, 0.2)))
    text = findings(pd.DataFrame([row]), None)[1]
    p_ref = 2 * stats.norm.sf(1.0 / np.hypot(0.2, 0.2))
    assert "3.5 standard errors" in text and "Welch" not in text and "not resolved" not in text
    assert float(re.search(r"p = ([0-9.e-]+)", text).group(1)) == pytest.approx(p_ref, rel=0.05)
    row.update(Tc_err_trained=np.sqrt(0.5), Tc_err_shuffled=np.sqrt(0.5))
    row.update(_tc_test(_est(3.0, np.sqrt(0.5)), _est(2.0, np.sqrt(0.5))))
    assert "not resolved" in findings(pd.DataFrame([row]), None)[1]


def _est(tc, err):
    from ising_nn.thermo.from_dos import TcEstimate

    return TcEstimate(tc, err, float("nan"), (tc,), method="canonical MBAR, bootstrap")
