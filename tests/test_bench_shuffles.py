"""``bench.bench_shuffles.agreed_edge``: the range where population annealing and replica exchange agree, on
hand-made verdict tables whose answer is known, and on a real ``certify`` where a family-wise test passes what a
per-temperature |z| <= 3 would not."""

import math
from types import SimpleNamespace

import numpy as np

from bench.bench_shuffles import agreed_edge

T_t = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def _cert(ok):
    return SimpleNamespace(T_t=T_t, pt_ok_t=np.array(ok, bool))


def _pt(t_eq):
    return SimpleNamespace(header={"T_equilibrated": str(t_eq)})


def test_the_edge_is_the_next_temperature_above_the_hottest_parting():
    assert agreed_edge(_cert([False, True, False, True, True]), _pt(0.5)) == 4.0


def test_partings_below_replica_exchanges_range_do_not_count():
    assert agreed_edge(_cert([False, True, True, True, True]), _pt(1.5)) == 2.0
    assert agreed_edge(_cert([True] * 5), _pt(2.5)) == 3.0


def test_a_parting_at_the_top_or_no_range_leaves_nothing():
    assert math.isinf(agreed_edge(_cert([True, True, True, True, False]), _pt(1.0)))
    assert math.isinf(agreed_edge(_cert([True] * 5), _pt(6.0)))


def test_the_verdicts_are_certifys_family_wise_ones():
    """A curve of 4 runs that differs from replica exchange by 3.5 errors at one of 200 temperatures agrees
    (Student's t on 3 degrees of freedom, Bonferroni over 400 comparisons passes up to |z| ~ 14), so the edge
    is replica exchange's; a difference of 40 errors parts."""
    from ising_nn.paper.criticality import certify

    T = np.geomspace(10.0, 1.0, 200)
    U, C = -1.0 / T, 0.5 / T**2
    err = np.full(T.size, 1e-3)

    class Pop:  # the few attributes certify reads from a CachedPopulation
        population, runs = 512, 4
        beta_i = np.concatenate([[0.0], 1.0 / T])
        rho_t_mi = np.ones((4, T.size + 1))
        header = {"tmin": "1", "tmax": "10"}

        def __init__(self, dU):
            self.dU = dU

        def combined(self):
            est = np.zeros((4, T.size + 1))
            e = np.full((4, T.size + 1), 1e-3)
            est[0, 1:], est[1, 1:] = U + self.dU, C
            return est, e, np.full((4, T.size + 1), 0.25), np.zeros((4, 4, T.size + 1)), math.nan

        def parities(self):
            return None

    curve = SimpleNamespace(T_t=T[::-1], U_t=U[::-1], U_err_t=err, C_t=C[::-1], C_err_t=err)
    pt = SimpleNamespace(curve=curve, header={"T_equilibrated": "1.0"})
    for z, edge in ((3.5, 1.0), (40.0, None)):
        dU = np.zeros(T.size)
        dU[100] = z * math.hypot(1e-3, 1e-3)
        cert = certify(Pop(dU), Pop(np.zeros(T.size)), pt)
        got = agreed_edge(cert, pt)
        if edge is None:
            assert got == cert.T_t[np.flatnonzero(~cert.pt_ok_t)[-1] + 1] > 1.0
        else:
            assert got == edge
