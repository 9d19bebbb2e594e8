"""Wang-Landau (ising_nn.wanglandau.run) against exact densities of states, and its kernels against the reference.

Statistical checks: each comparison runs K independent seeds with the same effort and forms, per bin, the
t-statistic of the mean deviation from the exact ln g, ``t_b = mean_b / (sd_b / sqrt(K))``. For an unbiased
sampler with roughly normal errors each ``t_b^2`` follows F(1, K-1), mean (K-1)/(K-3) = 1.67 for K = 6, and
the mean over B ~ 10-40 bins (correlated through the common normalisation) stays within ~1-2 of it. We
assert ``mean_b t_b^2 < 8``: a bias of only a few standard errors per bin fails it (a bias of 0.05 in ln g
with the ~0.01 run-to-run spread seen here gives ~150), while chance alone does not.
"""


import numpy as np
import pytest
from scipy.special import logsumexp

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.testing.exact import (
    bin_levels,
    chain_dos,
    enumerate_dos,
    rank_one_dos,
    rank_one_network,
    transfer_matrix_dos,
)
from ising_nn.testing.reference import ref_energy, ref_fields, ref_run_window
from ising_nn.wanglandau.join import known_bins
from ising_nn.wanglandau.kernels import (
    DONE,
    MODE_FIELDS,
    MODE_IMMEDIATE,
    kglob,
    wl_chunk,
)
from ising_nn.wanglandau.moves import exchange
from ising_nn.wanglandau.run import wang_landau
from ising_nn.wanglandau.state import Arrays, field_scales, setup_state

K_SEEDS = 6
T2_BOUND = 8.0
RUNS = [1, 16]  # run lengths: the authors' random spins, and runs of consecutive spins
REQUIRED = ("model", "n_spins", "n_bonds", "bin_width", "seed", "method", "sweeps", "ln_f_final", "time",
            "symmetry_error", "stop_reason", "converged", "family", "shuffle")


def _net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices([rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])])


def _int_net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices(
        [rng.choice(np.array([-1, 1], np.float32), size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    )


def _t2(c, levels, **kw):
    """Mean over bins of t^2 of the deviation from the exact ln g over K_SEEDS runs (module docstring)."""
    dev = []
    for seed in range(K_SEEDS):
        d = wang_landau(c, seed=seed, progress=False, **kw)
        E_b, g_b = bin_levels(levels, d.E_k, d.bin_width)
        np.testing.assert_allclose(E_b, d.E_k, atol=1e-9 * max(1.0, abs(d.E_min)))  # every level found
        dev.append(d.ln_g_k - g_b)
    dev = np.array(dev)
    m, sd = dev.mean(axis=0), dev.std(axis=0, ddof=1)
    return float(np.mean(m**2 / (sd**2 / K_SEEDS))), float(np.abs(m).max()), d


@pytest.mark.parametrize(("estimator", "run"), [("tm", 1), ("wl", 1), ("tm", 16), ("tm", 5)])
def test_matches_enumeration_real_couplings(estimator, run):
    c = _net([3, 4, 4, 3], seed=7)
    t2, worst, d = _t2(c, enumerate_dos(c), bins=24, ln_f_final=1e-5, estimator=estimator, run_length=run)
    assert t2 < T2_BOUND
    assert worst < 0.05
    assert d.header["estimator"] == estimator and d.header["run_length"] == run


@pytest.mark.parametrize("run", RUNS)
def test_matches_enumeration_with_several_windows_and_exchanges(run):
    c = _net([4, 4, 4, 4, 4], seed=8)  # N = 20
    t2, worst, d = _t2(c, enumerate_dos(c), bins=60, windows=3, ln_f_final=1e-5, run_length=run)
    assert int(d.header["windows"]) == 3
    assert t2 < T2_BOUND and worst < 0.05


@pytest.mark.parametrize("run", RUNS)
def test_matches_transfer_matrix_of_deeper_integer_network(run):
    c = _int_net([3] * 12, seed=9)  # 36 spins, energies on a lattice of spacing 4
    levels = transfer_matrix_dos(c)
    spacing = float(np.min(np.diff(levels.E)))
    t2, worst, d = _t2(c, levels, bin_width=spacing, ln_f_final=1e-5, run_length=run)
    assert float(d.header["bin_width"]) == spacing and d.header["sampling_bin_width"] == d.header["bin_width"]
    assert t2 < T2_BOUND and worst < 0.1


@pytest.mark.parametrize("run", RUNS)
def test_matches_rank_one_network_with_layers_wider_than_a_run(run):
    c = rank_one_network([20, 20, 20], seed=1)  # a run of 16 stays within one layer most of the time
    levels = rank_one_dos(c)
    spacing = float(np.min(np.diff(levels.E)))
    t2, worst, d = _t2(c, levels, bin_width=spacing, ln_f_final=1e-5, run_length=run)
    assert t2 < T2_BOUND and worst < 0.1


def test_typical_field_is_the_gaussian_expectation_of_the_rms_field():
    c = rank_one_network([32, 32, 32])  # every bond +-1: fan-ins 32, 64, 32
    largest, typical = field_scales(c)
    assert largest == 64.0
    assert typical == pytest.approx(np.sqrt(2 / np.pi) * (2 * np.sqrt(32) + np.sqrt(64)) / 3, rel=1e-12)


def test_grid_and_windows_do_not_depend_on_the_seed():
    # One random state's mean |h| used to set them: on these couplings seed 7 drew a typical |dE| of 2.5
    # (others up to 18.5), cut the range into 29 windows too narrow to explore, and ln g was off by 5.6.
    c = rank_one_network([32, 32, 32])
    heads = [wang_landau(c, bin_width=4.0, seed=s, max_sweeps=2, progress=False).header for s in range(10)]
    grids = {(h["windows"], h["sampling_bin_width"]) for h in heads}
    assert len(grids) == 1


@pytest.mark.parametrize("run", RUNS)
def test_matches_binomial_chain(run):
    # in runs each spin is proposed right after its neighbour in the chain
    signs = np.random.default_rng(1).choice([-1.0, 1.0], 15)
    c = Couplings.from_matrices([np.full((1, 1), 1.5 * s, np.float32) for s in signs])  # 16 spins in a row
    t2, worst, _ = _t2(c, chain_dos(c), bin_width=3.0, ln_f_final=1e-5, run_length=run)
    assert t2 < T2_BOUND and worst < 0.05


# Small networks at the default binning (400 bins over [E_q, -E_q]): with N <= 11 nearly every level has a bin
# of its own and one flip jumps up to ~400 bins. Regression for a DOS that lost every level below -5.87 of
# the first network (ground state -11.51, found by the descent): the proposal counts kept jumps of at most 64
# bins, so the deep bins had no counts and dropped out of the transition-matrix fit, and windows of 16 bins
# (a fraction of one flip) confined their walkers to islands of states.
SMALL_NETS = [((5, 5), 1), ((3, 7), 0), ((1, 6), 0), ((3, 4, 3), 2), ((1,) * 9, 3)]


@pytest.mark.parametrize("sizes, seed", SMALL_NETS, ids=["5x5", "3x7", "1x6", "3x4x3", "chain9"])
def test_default_binning_finds_every_level_of_small_networks(sizes, seed):
    c = _net(sizes, seed)
    levels = enumerate_dos(c)
    # max_sweeps: ~10x what convergence takes, so that a walk trapped in an island stops (and fails) quickly
    t2, worst, d = _t2(c, levels, ln_f_final=1e-4, max_sweeps=2e6)  # asserts: the bins are exactly the levels
    assert d.header["converged"] is True
    assert t2 < T2_BOUND and worst < 0.05
    assert d.E_min == pytest.approx(levels.E[0], rel=1e-9)  # the ground state sits at a bin centre
    assert float(d.header["E_lowest_known"]) == pytest.approx(levels.E[0], rel=1e-9)
    assert d.header["low_end_missing"] is False and d.header["unestimated_bins"] == 0
    assert d.header["jumps_out_of_band"] == 0


def test_known_bins_hold_states_and_every_jump_is_counted():
    c = _net((5, 5), seed=1)
    a = Arrays.of(c)
    st = setup_state(c, a, bin_width=None, bins=400, seed=2, windows=None, threads=2, overlap=0.3, flatness=0.8,
                     ln_f_final=1e-6, symmetric=True, margin=0.25, start_spins=None, restarts=4)
    wl_chunk(np.full(st.n_windows, 200_000, np.int64), *st.kernel_args(), *a.args(), st.settings)
    assert (st.walker_w["out_of_band"] == 0).all()  # the band holds the longest flip
    w, align = float(st.cfg["bin_width"]), int(st.cfg["align"])
    exact = {int(kglob(E, w, align)) for E in enumerate_dos(c).E}
    known = set(known_bins(st).tolist())
    assert known <= exact  # every bin said to hold states does
    top = int((st.walker_w["bin0"] + st.walker_w["hi"]).max())
    assert any(k > top for k in known)  # ... including bins only proposed, beyond the sampled range


def test_a_low_end_without_estimate_is_reported():
    c = _net((5, 5), seed=1)
    E0 = enumerate_dos(c).E[0]
    d = wang_landau(c, seed=0, max_sweeps=50, progress=False)  # far too short to cross the deepest bins both ways
    h = d.header
    assert float(h["E_descent"]) == pytest.approx(E0, rel=1e-9)
    assert d.E_min > E0 + d.bin_width
    assert h["low_end_missing"] is True and float(h["E_lowest_known"]) == pytest.approx(E0, rel=1e-9)
    assert h["unestimated_bins"] > 0 and float(h["E_unestimated_min"]) == pytest.approx(E0, rel=1e-9)
    # one poor descent and a few sweeps: the walk saw lower states than the descent, none of them estimated
    d = wang_landau(c, seed=0, max_sweeps=5, restarts=1, margin=0.0, progress=False)
    h = d.header
    E_known = float(h["E_lowest_known"])
    assert E_known < float(h["E_descent"]) and E_known < d.E_min and h["low_end_missing"] is True
    assert np.abs(enumerate_dos(c).E - E_known).min() <= 0.5 * d.bin_width  # a level lies in that bin


def _ground_state(c):
    N = c.n_spins
    S = ((np.arange(2**N)[:, None] >> np.arange(N)) & 1).astype(np.int8) * 2 - 1
    E = c.energy(S)
    return S[int(np.argmin(E))], float(E.min())


def test_start_spins_take_the_range_down_to_their_energy():
    c = _net([4, 5, 5, 4], seed=11)  # N = 18; a single descent misses the ground state
    s0, E0 = _ground_state(c)
    kw = dict(restarts=1, margin=0.0, seed=0, ln_f_final=1e-4, max_sweeps=2e6, progress=False)
    d = wang_landau(c, start_spins=s0, **kw)
    assert d.header["converged"] is True
    assert float(wang_landau(c, **{**kw, "max_sweeps": 1}).header["E_descent"]) > E0 + d.bin_width
    assert float(d.header["E_descent"]) == pytest.approx(E0, rel=1e-6)
    assert d.E_min == pytest.approx(E0, rel=1e-6) and d.header["low_end_missing"] is False
    E_b, _ = bin_levels(enumerate_dos(c), d.E_k, d.bin_width)
    np.testing.assert_allclose(E_b, d.E_k, atol=1e-9 * abs(E0))


@pytest.mark.parametrize("run", RUNS)
def test_whole_range_sampling_is_symmetric_within_its_errors(run):
    c = _net([3, 4, 4, 3], seed=7)
    runs = [wang_landau(c, bins=24, seed=s, ln_f_final=1e-5, symmetric=False, progress=False, run_length=run)
            for s in range(K_SEEDS)]
    g = np.array([d.ln_g_k for d in runs])
    asym = g - g[:, ::-1]  # ln g(E) - ln g(-E) on a symmetric grid
    m, sd = asym.mean(axis=0), asym.std(axis=0, ddof=1)
    inner = sd > 0  # the centre bin is its own mirror
    assert np.mean(m[inner] ** 2 / (sd[inner] ** 2 / K_SEEDS)) < T2_BOUND
    assert float(runs[0].header["symmetry_error"]) < 0.1
    assert "whole range" in runs[0].header["method"]


def test_normalised_mirrored_and_header():
    c = _net([3, 4, 4, 3], seed=7)
    d = wang_landau(c, bins=24, seed=0, ln_f_final=1e-4, progress=False)
    assert logsumexp(d.ln_g_k) == pytest.approx(c.n_spins * np.log(2), abs=1e-9)
    np.testing.assert_allclose(d.E_k, -d.E_k[::-1], atol=1e-9)
    np.testing.assert_array_equal(d.ln_g_k, d.ln_g_k[::-1])
    for key in REQUIRED:
        assert key in d.header, key
    assert d.header["converged"] is True and d.header["stop_reason"] == "converged"
    assert float(d.header["field_drift"]) < 1e-9 and float(d.header["energy_drift"]) < 1e-9
    t = {k: float(d.header[k]) for k in ("time", "setup_time", "loop_time", "loop_kernel_time", "sampling_time")}
    ms = 1e-3  # each is written rounded to the millisecond
    assert min(t.values()) >= 0 and t["loop_kernel_time"] <= t["loop_time"] + ms
    assert t["setup_time"] + t["loop_time"] <= t["time"] + 1.5 * ms
    assert t["sampling_time"] == t["loop_kernel_time"]  # one call: its kernels are all the sampling


def test_timing_of_a_resumed_call_is_its_own(tmp_path):
    c = _net([3, 4, 4, 3], seed=7)
    ck = tmp_path / "ck.npz"
    first = wang_landau(c, bins=24, seed=0, max_sweeps=2_000, checkpoint=ck, progress=False)
    again = wang_landau(c, bins=24, seed=0, max_sweeps=4_000, checkpoint=ck, resume=True, progress=False)
    assert again.header["resumed"] is True
    assert float(again.header["sampling_time"]) == pytest.approx(
        float(first.header["sampling_time"]) + float(again.header["loop_kernel_time"]), abs=2e-3)


def _ref_views(st, w):
    nd = 2 * int(st.cfg["band"]) + 1
    a, b = st.bin_off_w[w], st.bin_off_w[w + 1]
    return (st.spins_wi[w], st.h_wi[w], st.ln_g_b[a:b], st.hist_b[a:b], st.visited_b[a:b],
            st.counts_bd[a * nd : b * nd],
            st.rng_w[w], st.walker_w[w : w + 1])


@pytest.mark.parametrize(("symmetric", "layout", "run"),
                         [(True, "records", 1), (False, "rows", 1), (True, "records", 5)])
def test_kernel_equals_pure_python_reference_step_for_step(symmetric, layout, run):
    # run 5 on 14 spins: runs that end at their length and runs cut short by the end of the network
    c = _net([3, 5, 2, 4], seed=3)
    a = Arrays.of(c, layout)
    st = setup_state(c, a, bin_width=None, bins=24, seed=5, windows=2, threads=2, overlap=0.3, flatness=0.8,
                     ln_f_final=3e-3, symmetric=symmetric, margin=0.25, start_spins=None, restarts=4,
                     run_length=run)
    # the reference works on lists and on a copy of the walker's record
    ref = [[x.tolist() for x in _ref_views(st, w)[:-1]] + [st.walker_w[w : w + 1].copy()] for w in range(st.n_windows)]
    n = 100_000  # long enough to pass through walk-in, halvings, 1/t and the end (ln f = 3e-3)
    wl_chunk(np.full(st.n_windows, n, np.int64), *st.kernel_args(), *a.args(), st.settings)
    for w in range(st.n_windows):
        ref_run_window(c, n, *ref[w][:-1], ref[w][-1][0], st.settings.copy()[0])
        for name, x, y in zip("spins h ln_g hist visited counts rng walker".split(), _ref_views(st, w), ref[w]):
            np.testing.assert_array_equal(x, np.asarray(y, dtype=x.dtype), err_msg=f"window {w}: {name}")
    assert (st.walker_w["stage"] == DONE).all()  # both windows reached the final ln f


def test_kernel_called_in_short_chunks_equals_one_call():
    # The kernel applies each accepted flip's field update one accepted flip late and flushes it when a call
    # ends: chunks of 1 to 40 attempts (a pending flip left at almost every return) must give the same walk.
    c = _net([3, 5, 2, 4], seed=4)
    a = Arrays.of(c)
    kw = dict(bin_width=None, bins=24, seed=6, windows=2, threads=2, overlap=0.3, flatness=0.8, ln_f_final=1e-3,
              symmetric=True, margin=0.25, start_spins=None, restarts=4)
    one, many = setup_state(c, a, **kw), setup_state(c, a, **kw)
    n = 30_000
    wl_chunk(np.full(one.n_windows, n, np.int64), *one.kernel_args(), *a.args(), one.settings)
    rng = np.random.default_rng(0)
    done = 0
    while done < n:
        m = min(int(rng.integers(1, 41)), n - done)
        wl_chunk(np.full(many.n_windows, m, np.int64), *many.kernel_args(), *a.args(), many.settings)
        done += m
    for name in ("spins_wi", "h_wi", "ln_g_b", "hist_b", "visited_b", "counts_bd", "rng_w", "walker_w"):
        np.testing.assert_array_equal(getattr(one, name), getattr(many, name), err_msg=name)
    for w in range(one.n_windows):  # every accepted flip is in the fields when a call returns
        np.testing.assert_allclose(one.h_wi[w], ref_fields(c, one.spins_wi[w]), atol=1e-12)
        assert one.walker_w["E"][w] == pytest.approx(ref_energy(c, one.spins_wi[w]), abs=1e-12)


@pytest.mark.parametrize("layout", ["rows", "records"])
@pytest.mark.parametrize("sizes", [[3, 5, 2, 4], [40, 600, 30, 1]], ids=["narrow", "rows-over-512"])
def test_deferred_field_updates_walk_exactly_as_immediate_ones(sizes, layout):
    # (random order only: the sequential order always updates at once)
    c = _net(sizes, seed=9)
    a = Arrays.of(c, layout)
    kw = dict(bin_width=None, bins=40, seed=2, windows=2, threads=2, overlap=0.3, flatness=0.8, ln_f_final=1e-4,
              symmetric=True, margin=0.25, start_spins=None, restarts=4)
    runs = []
    for mode in (MODE_FIELDS, MODE_IMMEDIATE):
        st = setup_state(c, a, **kw)
        st.cfg["mode"] = mode
        wl_chunk(np.full(st.n_windows, 50_000, np.int64), *st.kernel_args(), *a.args(), st.settings)
        runs.append(st)
    assert runs[0].walker_w["accepted"].sum() > 10_000  # enough accepted flips, many of them next to a pending one
    for name in ("spins_wi", "h_wi", "ln_g_b", "hist_b", "visited_b", "counts_bd", "rng_w", "walker_w"):
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name), err_msg=name)


def test_replica_exchange_keeps_every_walker_consistent():
    c = _net([4, 4, 4, 4, 4], seed=8)
    a = Arrays.of(c)
    st = setup_state(c, a, bin_width=None, bins=60, seed=1, windows=3, threads=2, overlap=0.5, flatness=0.8,
                     ln_f_final=1e-6, symmetric=True, margin=0.25, start_spins=None, restarts=4)
    by_energy = np.argsort(st.walker_w["bin0"])
    for i in range(200):
        wl_chunk(np.full(st.n_windows, 2000, np.int64), *st.kernel_args(), *a.args(), st.settings)
        exchange(i % 2, by_energy, st.bin_off_w, st.spins_wi, st.h_wi, st.ln_g_b, st.visited_b, st.walker_w,
                 st.rng_exchange, st.exchanges_p)
    assert st.exchanges_p[:, 1].sum() > 0  # some swaps happened
    w_bin, align = float(st.cfg["bin_width"]), int(st.cfg["align"])
    for w in range(st.n_windows):
        E = ref_energy(c, st.spins_wi[w])
        assert st.walker_w["E"][w] == pytest.approx(E, abs=1e-9)
        np.testing.assert_allclose(st.h_wi[w], ref_fields(c, st.spins_wi[w]), atol=1e-9)
        k = int(kglob(E, w_bin, align)) - int(st.walker_w["bin0"][w])
        assert k == st.walker_w["k"][w] and 0 <= k <= st.walker_w["hi"][w]


def test_checkpoint_and_resume_continue_the_same_run(tmp_path):
    c = _net([3, 4, 4, 3], seed=7)
    kw = dict(bins=24, seed=3, windows=1, progress=False, ln_f_final=1e-8)
    full = wang_landau(c, max_sweeps=40_000, **kw)
    ck = tmp_path / "state.npz"
    half = wang_landau(c, max_sweeps=20_000, checkpoint=ck, **kw)
    assert ck.is_file() and half.header["stop_reason"] == "max sweeps"
    rest = wang_landau(c, max_sweeps=40_000, checkpoint=ck, resume=True, **kw)
    assert rest.header["resumed"] is True and full.header["resumed"] is False
    assert rest.header["attempts"] == full.header["attempts"]
    np.testing.assert_array_equal(rest.ln_g_k, full.ln_g_k)
    assert not np.array_equal(half.ln_g_k, full.ln_g_k)
    with pytest.raises(IsingNNError, match="other couplings"):
        wang_landau(_net([3, 4, 4, 3], seed=8), checkpoint=ck, resume=True, progress=False)


def test_resume_keeps_the_checkpoints_run_length(tmp_path):
    c = _net([3, 4, 4, 3], seed=7)
    kw = dict(bins=24, seed=3, windows=1, progress=False, ln_f_final=1e-8)
    full = wang_landau(c, max_sweeps=40_000, run_length=4, **kw)
    ck = tmp_path / "state.npz"
    wang_landau(c, max_sweeps=20_000, checkpoint=ck, run_length=4, **kw)
    with pytest.raises(IsingNNError, match="run_length=4, got 1"):
        wang_landau(c, max_sweeps=40_000, checkpoint=ck, resume=True, run_length=1, **kw)
    rest = wang_landau(c, max_sweeps=40_000, checkpoint=ck, resume=True, **kw)  # None: the checkpoint's
    assert rest.header["run_length"] == 4
    np.testing.assert_array_equal(rest.ln_g_k, full.ln_g_k)
    random = wang_landau(c, max_sweeps=40_000, **kw)
    assert random.header["run_length"] == 1 and not np.array_equal(random.ln_g_k, full.ln_g_k)


def test_checkpoint_with_slot_arrays_is_refused_with_one_line(tmp_path):
    # checkpoints written before the walker's state had named fields held it as slot arrays IST / FST
    c = _net([3, 4, 4, 3], seed=7)
    ck = tmp_path / "state.npz"
    np.savez(ck, meta=np.array("{}"), IST=np.zeros((1, 15), np.int64), FST=np.zeros((1, 2)))
    with pytest.raises(IsingNNError, match="start afresh without --resume"):
        wang_landau(c, bins=24, max_sweeps=10, checkpoint=ck, resume=True, progress=False)


def test_time_limit_stops_the_run_and_says_so():
    c = _net([20, 20, 20, 20], seed=2)
    d = wang_landau(c, time_limit=1.5, ln_f_final=1e-12, progress=False)
    assert d.header["stop_reason"] == "time limit"
    assert d.header["converged"] is False
    assert float(d.header["ln_f_final"]) > 1e-12


def test_range_grows_below_a_poor_descent():
    c = _net([4, 5, 5, 4], seed=11)  # N = 18
    levels = enumerate_dos(c)
    d = wang_landau(c, bins=30, seed=0, restarts=1, margin=0.0, ln_f_final=1e-4, progress=False)
    E0 = levels.E[0]
    assert float(d.header["E_descent"]) > E0 + 0.5 * d.bin_width  # the descent missed the ground state ...
    assert d.E_min <= E0 + 0.5 * d.bin_width  # ... and the walk found it anyway


def test_all_zero_couplings_give_one_exact_bin():
    c = Couplings.allocate([3, 3])
    d = wang_landau(c, progress=False)
    assert d.E_k.tolist() == [0.0] and d.ln_g_k[0] == pytest.approx(6 * np.log(2))


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(bins=10, bin_width=1.0), "either"),
        (dict(bins=0), "bins"),
        (dict(bin_width=-1.0), "bin_width"),
        (dict(threads=99), "threads"),
        (dict(resume=True), "checkpoint"),
        (dict(estimator="xx"), "estimator"),
        (dict(run_length=0), "run_length must be an integer from 1 to 16 or None, got 0"),
        (dict(run_length=17), "run_length must be an integer from 1 to 16 or None, got 17"),
        (dict(run_length=2.0), "run_length must be an integer"),
        (dict(time_limit=float("nan")), "time_limit"),
        (dict(start_spins=np.zeros(3)), "start_spins"),
        (dict(bin_width=1e-7), "proposal counts"),
    ],
)
def test_bad_inputs(kw, match):
    with pytest.raises(IsingNNError, match=match):
        wang_landau(_net([3, 3]), progress=False, **kw)
    with pytest.raises(IsingNNError, match="Couplings"):
        wang_landau(np.zeros(3), progress=False)
