"""``bench.bench_shuffles.agreed_edge``: the range where population annealing and replica exchange agree, on
hand-made z tables whose answer is known."""

import math
from types import SimpleNamespace

import numpy as np

from bench.bench_shuffles import agreed_edge

T_t = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def _cert(z_U, z_C):
    return SimpleNamespace(T_t=T_t, z_pt_t=np.array(z_U, float), z_pt_C_t=np.array(z_C, float))


def _pt(t_eq):
    return SimpleNamespace(header={"T_equilibrated": str(t_eq)})


def test_the_edge_is_the_next_temperature_above_the_hottest_parting():
    # U parts at T = 2 and C at T = 3: the agreed range starts at 4 (a NaN of one quantity is no verdict)
    assert agreed_edge(_cert([5, 4, 1, 0.5, np.nan], [0, 0, 3.5, 0, 0]), _pt(1.5)) == 4.0


def test_partings_below_replica_exchanges_range_do_not_count():
    assert agreed_edge(_cert([9, 1, 1, 1, 1], [9, 1, 1, 1, 1]), _pt(1.5)) == 2.0
    assert agreed_edge(_cert([1, 1, 1, 1, 1], [1, 1, 1, 1, 1]), _pt(2.5)) == 3.0


def test_no_agreement_at_the_top_or_no_comparison_leaves_nothing():
    assert math.isinf(agreed_edge(_cert([1, 1, 1, 1, 4], [1, 1, 1, 1, 1]), _pt(1.0)))
    assert agreed_edge(_cert([1, 1, 1, np.nan, 1], [1, 1, 1, np.nan, 1]), _pt(1.0)) == 5.0
    assert math.isinf(agreed_edge(_cert([1] * 5, [1] * 5), _pt(6.0)))
