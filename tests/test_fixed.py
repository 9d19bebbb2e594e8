"""Fixed-point couplings of three int8 digits (ising_nn.kernels.fixed) and the int8x3 fields built on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ising_nn.canonical.chain import LayerChains
from ising_nn.kernels.fixed import (
    DIGIT_SCALE,
    MAX_STEP_RATIO,
    combine_digits,
    combine_digits_reference,
    fixed_point_digits,
    layer_steps,
)
from ising_nn.model.couplings import Couplings


def _value(delta, k, d):
    return delta * 2.0**-k * (65536 * d[0].astype(np.int64) + 256 * d[1].astype(np.int64) + d[2].astype(np.int64))


def test_digits_rebuild_every_coupling_within_half_its_matrix_step():
    rng = np.random.default_rng(0)
    # heavy tails and both extremes: the largest coupling sets delta, the others must still fit their own step
    J = [(rng.standard_t(2, size=(7, 11)) * 0.1).astype(np.float32), rng.normal(size=(11, 5)).astype(np.float32),
         (rng.normal(size=(5, 4)) * 1e-4).astype(np.float32), (rng.normal(size=(4, 6)) * 1e-3).astype(np.float32)]
    J[1][0, 0] = -np.abs(J[0]).max() - 3.0  # the largest magnitude is negative
    top = float(max(np.abs(j).max() for j in J))
    delta, k, D = fixed_point_digits(J)
    assert delta == pytest.approx(top / DIGIT_SCALE)
    assert k[1] == 0  # the matrix holding the largest coupling
    assert np.abs(np.diff(k)).max() <= MAX_STEP_RATIO and k[2] == k[1] + MAX_STEP_RATIO  # 1e-4 of it: capped
    for m, (j, d) in enumerate(zip(J, D)):
        assert d.dtype == np.int8 and d.shape == (3, *j.shape) and k[m] >= 0
        assert np.abs(j).max() * 2.0 ** k[m] <= top * (1 + 1e-12)
        if m != 2:  # the finest power of two that fits: one more halving would overflow the digits
            assert np.abs(j).max() * 2.0 ** (k[m] + 1) > top * (1 - 1e-6)
        assert np.abs(_value(delta, k[m], d) - j.astype(np.float64)).max() <= 0.5 * delta * 2.0 ** -k[m] * (1 + 1e-12)
    # the largest coupling itself is representable (top digit at the edge of int8, not beyond)
    assert np.abs(D[1][0]).max() <= 127


def test_layer_steps_put_both_neighbours_on_the_finer_grid():
    delta_l, mult = layer_steps(0.5, np.array([2, 0, 6]), 4)
    np.testing.assert_array_equal(delta_l, 0.5 * 2.0 ** -np.array([2, 2, 6, 6]))
    np.testing.assert_array_equal(mult, [[1, 1], [1, 4], [64, 1], [1, 1]])


def test_digits_of_zero_couplings():
    delta, k, D = fixed_point_digits([np.zeros((2, 3), np.float32)])
    assert delta > 0 and k[0] == 0 and not D[0].any()


def test_combine_matches_the_reference_on_extreme_products():
    rng = np.random.default_rng(1)
    R, n = 5, 6
    P = rng.integers(-(2**31), 2**31 - 1, size=(R, 3 * n), dtype=np.int64).astype(np.int32)
    P[0, :n] = np.iinfo(np.int32).max
    P[1, :n] = np.iinfo(np.int32).min
    out = np.empty((R, n), np.float32)
    combine_digits(P, 1.5e-7, out)
    np.testing.assert_array_equal(out, combine_digits_reference(P, 1.5e-7))


def test_int8x3_fields_are_the_exact_fields_of_the_rounded_couplings():
    """Against float64 products of the digit-rebuilt couplings (each matrix on its own step): equal to one
    float32 rounding; and within the rounding bound sum_j delta_m / 2 of the float32 couplings' fields."""
    rng = np.random.default_rng(2)
    sizes = [9, 17, 4, 13, 8]
    c = Couplings.from_matrices([(rng.normal(size=(a, b)) * (1 + 10 * (k == 1))).astype(np.float32)
                                 for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))])
    s = rng.choice(np.array([-1, 1], np.int8), (6, c.n_spins))
    ch = LayerChains(c, s, "cpu", 0, "int8x3")
    delta, k, D = fixed_point_digits(c.J)
    assert len(set(k)) > 1  # the matrices do not share one step
    Jq = [torch.from_numpy(_value(delta, km, d)) for km, d in zip(k, D)]
    J64 = [torch.from_numpy(j.astype(np.float64)) for j in c.J]
    S = [torch.from_numpy(x.astype(np.float64)) for x in c.split(s)]
    L = len(sizes)
    for l in range(L):
        def f(W, l=l):
            return (S[l - 1] @ W[l - 1] if l > 0 else 0) + (S[l + 1] @ W[l].T if l < L - 1 else 0)
        got = ch.field(l).numpy()
        np.testing.assert_array_equal(got, f(Jq).numpy().astype(np.float32))
        bound = (sizes[l - 1] * 2.0 ** -k[l - 1] if l > 0 else 0) + (sizes[l + 1] * 2.0 ** -k[l] if l < L - 1 else 0)
        assert np.abs(got - f(J64).numpy()).max() <= bound * delta / 2 + 2.0**-23 * np.abs(got).max()


def test_int8x3_chains_are_the_same_whatever_the_threads():
    import numba

    rng = np.random.default_rng(3)
    c = Couplings.from_matrices([rng.normal(size=(a, b)).astype(np.float32) for a, b in ((40, 70), (70, 30))])
    s = rng.choice(np.array([-1, 1], np.int8), (16, c.n_spins))
    out = []
    threads = numba.get_num_threads(), torch.get_num_threads()
    try:
        for t in (1, max(threads)):
            numba.set_num_threads(min(t, numba.config.NUMBA_NUM_THREADS))
            torch.set_num_threads(t)
            ch = LayerChains(c, s, "cpu", 9, "int8x3")
            hs = [ch.half_sweep(p % 2, 0.7) for p in range(6)]
            out.append((ch.spins(), hs[-1].E_r, hs[-1].m_r))
    finally:
        numba.set_num_threads(threads[0])
        torch.set_num_threads(threads[1])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_auto_takes_int8x3_exactly_where_the_cpu_has_int8_dot_products(monkeypatch):
    from ising_nn.canonical import chain

    for has in (True, False):
        monkeypatch.setattr(chain, "_INT8", has)
        assert chain.resolve_precision("auto") == ("int8x3" if has else "float32")
        assert chain.resolve_precision("auto", "meta") == "float32"  # never off the CPU
        assert chain.resolve_precision("float32") == "float32"
    with pytest.raises(Exception, match="CPU only"):
        chain.resolve_precision("int8x3", "meta")


def _heavy_tailed(seed, sizes=(48, 90, 40, 70)):
    """Couplings with a large outlier in every matrix, so the steps (and the third digit's bound) are coarse."""
    rng = np.random.default_rng(seed)
    J = [(rng.standard_t(3, size=(a, b)) * 0.3).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    for m, j in enumerate(J):
        j[0, 0] = 25.0 / (1 + m % 2)
    return Couplings.from_matrices(J)


def _run_pair(c, beta, sweeps=6, R=24, seed=5, bound_scale=1.0):
    s = np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), (R, c.n_spins))
    exact = LayerChains(c, s, "cpu", seed, "int8x3")
    fast = LayerChains(c, s, "cpu", seed, "int8x3")
    fast._B = [b * bound_scale for b in fast._B]
    for _ in range(sweeps):
        for p in (0, 1):
            exact.half_sweep(p, beta)
            assert fast.half_sweep(p, beta, measure=False) is None
    return exact, fast


@pytest.mark.parametrize("beta", [0.02, 0.3, 1.0, 4.0])
def test_two_digit_draws_are_the_exact_draws(beta):
    """Unmeasured sweeps draw from the top two digits' products and take the third only where those leave the
    draw undecided: the same spins and random streams as the full int8x3 sweep, bit for bit, with both kinds
    of site present."""
    c = _heavy_tailed(11)
    exact, fast = _run_pair(c, beta)
    np.testing.assert_array_equal(fast.spins(), exact.spins())
    np.testing.assert_array_equal(fast.streams, exact.streams)
    draws = 6 * 24 * c.n_spins
    assert 0 < fast.exact_draws.sum() < draws


def test_two_digit_draws_need_their_bound():
    """The identity rests on the bound of the third digit: with every site sent to the exact field it still
    holds, with the bound taken as zero it breaks (the test can fail)."""
    c = _heavy_tailed(12)
    exact, fast = _run_pair(c, 0.5, bound_scale=1e6)
    np.testing.assert_array_equal(fast.spins(), exact.spins())
    assert fast.exact_draws.sum() == 6 * 24 * c.n_spins
    exact, fast = _run_pair(c, 0.5, bound_scale=0.0)
    assert not np.array_equal(fast.spins(), exact.spins())


def test_two_digit_draws_on_minilm():
    """The same on the embedded MiniLM (its largest coupling, 7.9, is some 60 typical ones)."""
    from ising_nn import load_couplings

    c = load_couplings("minilm")
    for beta in (0.1, 0.6, 2.0):
        exact, fast = _run_pair(c, beta, sweeps=3, R=8)
        np.testing.assert_array_equal(fast.spins(), exact.spins())
        assert fast.exact_draws.sum() > 0


def test_tanh_pair_error_is_within_the_slack_the_two_digit_draws_allow():
    """draw_i8_two_digits allows _TANH_SLACK for two evaluations of the float32 tanh; measured here."""
    from ising_nn.kernels.heatbath import _TANH_SLACK, tanh_pair

    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-8, 1.0, 20_001)]).astype(np.float32)
    got = np.array([tanh_pair(v) for v in x], dtype=np.float64)
    x64 = x.astype(np.float64)
    assert np.abs(got[:, 0] - np.tanh(x64)).max() < _TANH_SLACK / 10
    assert np.abs(got[:, 1] - 1 / np.cosh(x64) ** 2).max() < 1e-6


@pytest.mark.parametrize("precision", ["float32", "int8x3"])
def test_sweeps_in_reused_buffers_are_the_sweeps_in_fresh_ones(precision):
    """The sweep writes its neighbours, products and fields into buffers it keeps (no allocation per sweep):
    the chain, its sums and its random streams are those of a chain given a fresh buffer for every temporary,
    bit for bit, through measured and unmeasured half-sweeps on layers whose neighbours carry factors of two;
    and ``field`` still returns a tensor of its own."""
    c = _heavy_tailed(4)
    assert layer_steps(*fixed_point_digits(c.J)[:2], len(c.layer_sizes))[1].max() > 1
    s = np.random.default_rng(2).choice(np.array([-1, 1], np.int8), (20, c.n_spins))
    kept = LayerChains(c, s, "cpu", 7, precision)
    fresh = LayerChains(c, s, "cpu", 7, precision)
    fresh._scratch_tensor = lambda name, shape, dtype: torch.full(shape, 99, dtype=dtype)
    beta = np.linspace(0.05, 2.0, 20)
    for i in range(8):
        a, b = kept.half_sweep(i % 2, beta, i % 3 == 0), fresh.half_sweep(i % 2, beta, i % 3 == 0)
        if i % 3 == 0:
            for x, y in ((a.E_r, b.E_r), (a.m_r, b.m_r), (a.v_r, b.v_r)):
                np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(kept.spins(), fresh.spins())
    np.testing.assert_array_equal(kept.streams, fresh.streams)
    h = [kept.field(l) for l in range(len(c.layer_sizes))]
    for l, x in enumerate(h):
        np.testing.assert_array_equal(x.numpy(), fresh.field(l).numpy())


def _scaled_network(seed=4):
    """Matrices on very different scales, so that neighbours carry factors up to 2^6."""
    rng = np.random.default_rng(seed)
    sizes = [30, 50, 20, 40]
    scales = [1.0, 0.02, 0.3]
    return Couplings.from_matrices([(rng.normal(size=(a, b)) * s).astype(np.float32)
                                    for (a, b), s in zip(zip(sizes[:-1], sizes[1:]), scales)])


@pytest.mark.parametrize("exact_below", [2**24, 2**10])
def test_int8x3_products_without_int8_dot_products_are_the_int8_products(monkeypatch, exact_below):
    """Without int8 dot products the digits' products come from a float product: the same int32 integers,
    bit for bit, and then the same chains. exact_below = 2^10 forces float64 where float32 would round."""
    from ising_nn.canonical import chain

    c = _scaled_network()
    s = np.random.default_rng(5).choice(np.array([-1, 1], np.int8), (12, c.n_spins))
    runs = {}
    for has in (True, False):
        monkeypatch.setattr(chain, "_INT8", has)
        monkeypatch.setattr(chain, "FLOAT32_EXACT", exact_below)
        ch = LayerChains(c, s, "cpu", 3, "int8x3")
        assert (ch._Wf is None) == has
        if not has:
            kinds = {W.dtype for W in ch._Wf}
            assert kinds == {torch.float32} if exact_below == 2**24 else torch.float64 in kinds
        assert int(ch._mult.max()) > 1
        prods = [(ch._digit_products(l).clone(), ch._digit_products(l, digits=2).clone()) for l in range(len(ch.sizes))]
        hs = [ch.half_sweep(p % 2, 0.9, measure=p % 3 != 0) for p in range(8)]
        runs[has] = (prods, ch.spins(), hs[-1].E_r, hs[-1].m_r, hs[-1].v_r)
    for (a3, a2), (b3, b2) in zip(runs[True][0], runs[False][0]):
        assert a3.dtype == b3.dtype == torch.int32
        assert torch.equal(a3, b3) and torch.equal(a2, b2)
    for a, b in zip(runs[True][1:], runs[False][1:]):
        np.testing.assert_array_equal(a, b)
