"""The two layouts of the couplings the Wang-Landau flips read (ising_nn.kernels.layout): same numbers, same walk."""

import numpy as np
import pytest

from ising_nn.errors import IsingNNError
from ising_nn.kernels import layout as _layout
from ising_nn.kernels.copies import transposed
from ising_nn.kernels.layout import build_records, choose_layout, flip_layout, read_positions, row_table, spin_starts
from ising_nn.model.couplings import Couplings
from ising_nn.testing.reference import ref_fields, ref_flip
from ising_nn.wanglandau.kernels import (
    MODE_IMMEDIATE,
    MODE_RECOMPUTE,
    MODE_RECOMPUTE_T,
    WALKER,
    wl_chunk,
)
from ising_nn.wanglandau.run import wang_landau
from ising_nn.wanglandau.state import Arrays, setup_state

STATE = ("spins_wi", "h_wi", "ln_g_b", "hist_b", "visited_b", "counts_bd", "rng_w", "walker_w")


def _net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices([rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])])


def _expected_rows(c):
    """Every spin's (down row, up row), built from the matrices J_l in plain Python."""
    out = []
    J = c.J
    for l, n in enumerate(c.layer_sizes):
        for i in range(n):
            down = J[l - 1][:, i] if l > 0 else np.zeros(0, np.float32)
            up = J[l][i, :] if l < c.n_layers else np.zeros(0, np.float32)
            out.append((down, up))
    return out


@pytest.mark.parametrize("sizes", [[3, 5, 2, 4], [1, 70, 130, 1], [1, 1], [200, 3]],
                         ids=["narrow", "tiles", "two-spins", "wide"])
def test_both_layouts_hold_every_spins_rows(sizes):
    c = _net(sizes, seed=1)
    sz, bo, so = c.sizes_array, c.bond_offsets, c.spin_offsets
    R, table = build_records(c.buffer, sz, bo)
    assert R.size == 2 * c.n_bonds and R.dtype == np.float32
    up_R, dn_R = spin_starts(table, so)
    up_s, dn_s = spin_starts(row_table(sz, bo), so)
    T = transposed(c)
    for g, (down, up) in enumerate(_expected_rows(c)):
        np.testing.assert_array_equal(R[dn_R[g] : dn_R[g] + down.size], down)
        np.testing.assert_array_equal(R[up_R[g] : up_R[g] + up.size], up)
        assert up_R[g] == dn_R[g] + down.size  # one contiguous record per spin
        np.testing.assert_array_equal(c.buffer[up_s[g] : up_s[g] + up.size], up)
        np.testing.assert_array_equal(T[dn_s[g] : dn_s[g] + down.size], down)


@pytest.mark.parametrize("layout", ["rows", "records"])
@pytest.mark.parametrize("sizes", [[3, 5, 2, 4], [1, 70, 130, 1], [40, 17, 33]], ids=["narrow", "tiles", "odd"])
def test_the_prefetched_places_are_the_flips_reads(layout, sizes):
    # The kernel prefetches an accepted flip's reads piece by piece from offsets q0 (any, not only multiples
    # of 16); the addresses must walk its down row then its up row and never past them (a prefetch does not
    # fault, so a wrong address would only ever show as lost speed).
    c = _net(sizes, seed=3)
    a = Arrays.of(c, layout)
    up, down, table, sz, so, layer_idx = a.args()
    out = np.empty(64, np.float32)
    for g, (dn, u) in enumerate(_expected_rows(c)):
        reads = np.concatenate([dn, u])
        for q0 in {0, 1, 5, 16, reads.size // 2, reads.size - 1} - {reads.size}:
            for q1 in {q0 + 1, q0 + 16, q0 + 37, reads.size}:
                q1 = min(q1, reads.size)
                m = read_positions(g, q0, q1, layer_idx, up, down, table, sz, so, out)
                np.testing.assert_array_equal(out[:m], reads[q0:q1:16])


@pytest.mark.parametrize("layout", ["rows", "records"])
def test_flip_through_a_layout_matches_the_reference(layout):
    c = _net([4, 6, 3, 5], seed=2)
    a = Arrays.of(c, layout)
    assert a.layout == layout
    rng = np.random.default_rng(0)
    s = rng.choice(np.array([-1, 1], np.int8), c.n_spins)
    h = np.array(ref_fields(c, s))
    s_ref, h_ref = s.tolist(), h.tolist()
    for g in rng.integers(0, c.n_spins, 300):
        dE = flip_layout(int(g), a.layer_idx, a.up, a.down, a.table, a.sizes, a.spin_off, s, h)
        assert ref_flip(c, int(g), s_ref, h_ref) == dE
    np.testing.assert_array_equal(s, np.array(s_ref, np.int8))
    np.testing.assert_array_equal(h, np.array(h_ref))  # the same roundings, in the same order


@pytest.mark.parametrize("mode", [0, MODE_IMMEDIATE, MODE_RECOMPUTE_T])
def test_the_walk_is_the_same_bit_for_bit_in_both_layouts(mode):
    c = _net([30, 50, 20, 40], seed=3)
    kw = dict(bin_width=None, bins=60, seed=4, windows=3, threads=2, overlap=0.3, flatness=0.8, ln_f_final=1e-5,
              symmetric=True, margin=0.25, start_spins=None, restarts=4)
    runs = []
    for layout in ("rows", "records"):
        a = Arrays.of(c, layout)
        st = setup_state(c, a, **kw)
        st.cfg["mode"] = mode
        wl_chunk(np.full(st.n_windows, 40_000, np.int64), *st.kernel_args(), *a.args(), st.settings)
        runs.append(st)
    assert runs[0].walker_w["accepted"].sum() > 20_000  # many accepted flips
    for name in STATE:
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name), err_msg=name)


def test_the_authors_strided_baseline_reads_the_rows_layout():
    # MODE_RECOMPUTE reads J_{l-1}'s column from the buffer (the "rows" layout). With +-1 couplings every
    # float32 sum is exact, so the recomputed fields equal the kept ones and all three walks coincide.
    rng = np.random.default_rng(5)
    c = Couplings.from_matrices([rng.choice(np.array([-1, 1], np.float32), size=s) for s in ((8, 12), (12, 6))])
    a = Arrays.of(c, "rows")
    kw = dict(bin_width=None, bins=30, seed=1, windows=2, threads=2, overlap=0.3, flatness=0.8, ln_f_final=1e-4,
              symmetric=True, margin=0.25, start_spins=None, restarts=4)
    runs = []
    for mode in (0, MODE_RECOMPUTE, MODE_RECOMPUTE_T):
        st = setup_state(c, a, **kw)
        st.cfg["mode"] = mode
        wl_chunk(np.full(st.n_windows, 20_000, np.int64), *st.kernel_args(), *a.args(), st.settings)
        runs.append(st)
    keep = [f for f in WALKER.names if f != "couplings_read"]  # (counted per attempt when recomputing)
    for other in runs[1:]:
        for name in ("spins_wi", "ln_g_b", "hist_b", "visited_b", "counts_bd", "rng_w"):  # (h_wi: untouched)
            np.testing.assert_array_equal(getattr(runs[0], name), getattr(other, name), err_msg=name)
        np.testing.assert_array_equal(runs[0].walker_w[keep], other.walker_w[keep])


def test_wang_landau_gives_the_same_dos_in_both_layouts():
    c = _net([5, 6, 5], seed=6)
    d = [wang_landau(c, layout=x, seed=3, windows=2, max_sweeps=2e4, progress=False) for x in ("rows", "records")]
    np.testing.assert_array_equal(d[0].E_k, d[1].E_k)
    np.testing.assert_array_equal(d[0].ln_g_k, d[1].ln_g_k)


def test_layout_choice_and_bad_input(monkeypatch):
    with pytest.raises(IsingNNError, match=r"layout must be one of 'auto', 'rows', 'records', got 'cols'"):
        choose_layout("cols", 10)
    with pytest.raises(IsingNNError, match="layout must be one of"):
        wang_landau(_net([3, 3]), layout="cols", progress=False)
    assert choose_layout("rows", 10) == "rows" and choose_layout("records", 10**12) == "records"
    monkeypatch.setattr(_layout, "_physical_memory", lambda: 64e9)
    # records (8 bytes per bond) within a quarter of memory: 2e9 bonds is 16 GB, exactly the limit
    assert choose_layout("auto", 2_000_000_000) == "records"
    assert choose_layout("auto", 2_000_000_001) == "rows"
