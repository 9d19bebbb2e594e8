"""Do two thermodynamic curves of the same network agree? The cross-validated range of two independent methods.

Each method certifies itself by its own test: replica exchange where its hot and cold starts agree, population
annealing where its families criterion holds (the header's ``T_equilibrated``). Both tests are necessary, not
sufficient: on an untuned full-size BERT the hot and cold starts of replica exchange still agree where
population annealing finds a lower U (``bench/CROSSCHECK.md``). Two independent methods that agree are
stronger evidence than either alone, so :func:`agreement` compares U and C of two curves at every temperature
both cover and reports

- ``T_agreed``: the lowest temperature above which the two agree at every compared temperature (from the
  hottest down; the first parting ends the stretch);
- ``T_cross_validated``: the lowest compared temperature at or above both ``T_agreed`` and
  ``min(T_equilibrated_a, T_equilibrated_b)``, where the two agree *and* at least one of them passes its own
  test. Two methods that both fail their own tests can agree by being stuck alike, so agreement alone is not
  taken as equilibrium;
- where, below, the two part, and which has the lower U there (in a glassy system the run that found the lower
  energies is usually the better equilibrated; not a proof).

"Agree" is the two-sided test of the difference over its combined error at family-wise level ``alpha``,
split between U and C, Bonferroni over the compared temperatures, with Student's t on the Welch-Satterthwaite
degrees of freedom: a curve averaged over M independent runs (a header with ``runs``) has M - 1, a bootstrap
error (replica exchange) is taken as exact. The sparser curve's temperatures are used and the denser curve is
interpolated linearly in ln T, so the interpolation error is the smaller one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Agreement", "agreement", "agree", "threshold", "interp_lnT", "ALPHA", "SAME_SYSTEM_KEYS"]

#: Family-wise false-alarm probability of an agreement test.
ALPHA = 0.01
#: Header keys that must match (where both headers have them) for two curves to describe the same system.
SAME_SYSTEM_KEYS = ("n_spins", "n_bonds", "model", "family", "blocks", "shuffle", "shuffle_seed", "per_layer")


def interp_lnT(T_new, T_old, y_old):
    """``y_old`` at ``T_new``, linear in ln T; NaN outside ``T_old``'s range."""
    T_old = np.asarray(T_old, float)
    order = np.argsort(T_old)
    return np.interp(np.log(np.asarray(T_new, float)), np.log(T_old[order]), np.asarray(y_old, float)[order],
                     left=np.nan, right=np.nan)


def threshold(ea, nu_a, eb, nu_b, alpha: float, n: int):
    """The largest |z| that passes: Student's t at ``1 - alpha / (2 n)`` on the Welch-Satterthwaite degrees of
    freedom of the combined error (``nu_a``, ``nu_b``: each error's; ``math.inf`` for one taken as exact; both
    exact: the normal quantile)."""
    from scipy import stats

    ea, eb = np.asarray(ea, float), np.asarray(eb, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        nu = (ea**2 + eb**2) ** 2 / ((ea**4 / nu_a if math.isfinite(nu_a) else 0.0)
                                     + (eb**4 / nu_b if math.isfinite(nu_b) else 0.0))
    finite = np.isfinite(nu) & (nu > 0)
    q = 1.0 - alpha / (2.0 * max(int(n), 1))
    return np.where(finite, stats.t.ppf(q, np.where(finite, nu, 1.0)), stats.norm.ppf(q))


def _z_and_threshold(a, ea, nu_a, b, eb, nu_b, alpha: float):
    """|z| of ``a - b`` over its combined error and :func:`threshold` at level ``alpha`` shared (Bonferroni) by
    every finite comparison."""
    a, ea, b, eb = (np.asarray(x, float) for x in (a, ea, b, eb))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(a - b) / np.hypot(ea, eb)
    return z, threshold(ea, nu_a, eb, nu_b, alpha, int(np.isfinite(z).sum()))


def agree(a, ea, nu_a, b, eb, nu_b, alpha: float):
    """|z| of ``a - b`` over its combined error and whether each passes :func:`threshold`, the level ``alpha``
    shared (Bonferroni) by every finite comparison. NaN (not compared) fails.

    Returns
    -------
    z : ndarray
    ok : ndarray of bool
    """
    z, crit = _z_and_threshold(a, ea, nu_a, b, eb, nu_b, alpha)
    return z, z <= crit


@dataclass(frozen=True)
class Agreement:
    """Two curves compared at every temperature both cover (ascending ``T_t``).

    Attributes
    ----------
    T_t : ndarray, shape (n,)
        The compared temperatures: the sparser curve's, inside both ranges.
    U_a_t, U_a_err_t, U_b_t, U_b_err_t, C_a_t, C_a_err_t, C_b_t, C_b_err_t : ndarray, shape (n,)
        Each curve at ``T_t`` (the denser one interpolated in ln T).
    z_U_t, z_C_t : ndarray, shape (n,)
        |difference| over the combined error.
    z_crit_t : ndarray, shape (n,)
        The largest |z| of U that passes (:func:`threshold`): with few runs Student's t makes it large, and the
        test weak.
    agree_t : ndarray of bool, shape (n,)
        U and C both pass (module docstring).
    certified_a_t, certified_b_t : ndarray of bool, shape (n,)
        ``T_t`` at or above each curve's own ``T_equilibrated``.
    T_equilibrated_a, T_equilibrated_b : float
        Each method's own edge (inf: none).
    T_agreed : float
        The lowest temperature of the agreeing stretch from the hottest compared one down (inf: they part at
        the top, or nothing is compared).
    T_cross_validated : float
        The lowest compared temperature at or above ``T_agreed`` and at least one method's own edge (inf: none).
    n_parted : int
        Compared temperatures where the two fail the test.
    n_a_lower : int
        Of those, where curve a has the lower U.
    T_parted_hottest : float
        The hottest of them (NaN: none).
    dof_a, dof_b : float
        Degrees of freedom of each curve's errors (inf: taken as exact).
    alpha : float
    rule : str
        ``"family-wise"`` (Bonferroni at ``alpha``, Student's t) or ``"|z| <= Z"`` (``z_max``).
    """

    T_t: np.ndarray
    U_a_t: np.ndarray
    U_a_err_t: np.ndarray
    U_b_t: np.ndarray
    U_b_err_t: np.ndarray
    C_a_t: np.ndarray
    C_a_err_t: np.ndarray
    C_b_t: np.ndarray
    C_b_err_t: np.ndarray
    z_U_t: np.ndarray
    z_C_t: np.ndarray
    z_crit_t: np.ndarray
    agree_t: np.ndarray
    certified_a_t: np.ndarray
    certified_b_t: np.ndarray
    T_equilibrated_a: float
    T_equilibrated_b: float
    T_agreed: float
    T_cross_validated: float
    n_parted: int
    n_a_lower: int
    T_parted_hottest: float
    dof_a: float
    dof_b: float
    alpha: float
    rule: str = "family-wise"

    def summary(self, a: str = "a", b: str = "b") -> str:
        """One sentence per finding, with the numbers."""
        if not self.T_t.size:
            return f"{a} and {b} cover no common temperature."
        lo, hi = float(self.T_t[0]), float(self.T_t[-1])
        s = f"Compared at {self.T_t.size} temperatures from T = {lo:.4g} to {hi:.4g}. "
        if not math.isfinite(self.T_agreed):
            s += "They part already at the hottest compared temperature. "
        elif self.T_agreed == lo:
            s += "They agree at every one. "
        else:
            s += f"They agree at every one down to T = {self.T_agreed:.4g}. "
        crit = self.z_crit_t[np.isfinite(self.z_crit_t)]
        if crit.size:
            span = f"{crit.min():.2g}" + ("" if f"{crit.min():.2g}" == f"{crit.max():.2g}" else f" to {crit.max():.2g}")
            rule = f"alpha = {self.alpha:g} family-wise" if self.rule == "family-wise" else "per temperature"
            s += f"Passing |z| {span} ({rule}). "
        if self.n_parted:
            s += (f"They part at {self.n_parted}, the hottest T = {self.T_parted_hottest:.4g} (largest |z| "
                  f"{np.nanmax(np.fmax(self.z_U_t, self.z_C_t)[~self.agree_t]):.1f}); {a}'s U is the lower at "
                  f"{self.n_a_lower} of them. ")
        eq = f"{a} certifies itself down to {_t(self.T_equilibrated_a)}, {b} down to {_t(self.T_equilibrated_b)}"
        if math.isfinite(self.T_cross_validated):
            s += f"{eq}: cross-validated down to T = {self.T_cross_validated:.4g}."
        else:
            s += f"{eq}: cross-validated nowhere."
        return s

    def header(self) -> dict:
        """``# key: value`` fields for a results file."""
        crit = self.z_crit_t[np.isfinite(self.z_crit_t)]
        return dict(rule=self.rule, alpha=self.alpha, z_crit_min=_t(crit.min() if crit.size else math.nan),
                    z_crit_max=_t(crit.max() if crit.size else math.nan), dof_a=_t(self.dof_a), dof_b=_t(self.dof_b),
                    compared=int(self.T_t.size), T_equilibrated_a=_t(self.T_equilibrated_a),
                    T_equilibrated_b=_t(self.T_equilibrated_b), T_agreed=_t(self.T_agreed),
                    T_cross_validated=_t(self.T_cross_validated), parted=self.n_parted,
                    parted_a_lower=self.n_a_lower, T_parted_hottest=_t(self.T_parted_hottest))

    def table(self) -> np.ndarray:
        """Columns ``T U_a U_a_err U_b U_b_err z_U C_a C_a_err C_b C_b_err z_C z_crit agree certified_a
        certified_b`` (:data:`COLUMNS`), shape (n, 15)."""
        return np.column_stack([self.T_t, self.U_a_t, self.U_a_err_t, self.U_b_t, self.U_b_err_t, self.z_U_t,
                                self.C_a_t, self.C_a_err_t, self.C_b_t, self.C_b_err_t, self.z_C_t,
                                self.z_crit_t, self.agree_t, self.certified_a_t, self.certified_b_t])


COLUMNS = ("T", "U_a", "U_a_err", "U_b", "U_b_err", "z_U", "C_a", "C_a_err", "C_b", "C_b_err", "z_C", "z_crit", "agree",
           "certified_a", "certified_b")


def _t(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.4f}")


def _unpack(r):
    """(curve, header) from a result with ``.curve`` and ``.header`` or from ``read_thermo``'s pair."""
    if hasattr(r, "curve") and hasattr(r, "header"):
        return r.curve, dict(r.header)
    curve, header = r
    return curve, dict(header)


def dof(header) -> float:
    """Degrees of freedom of a curve's errors: runs - 1 for a weighted average of runs (population annealing),
    inf for a bootstrap (taken as exact)."""
    runs = header.get("runs")
    return float(int(runs) - 1) if runs not in (None, "") else math.inf


def agreement(a, b, alpha: float = ALPHA, z_max: float | None = None) -> Agreement:
    """Compare two thermodynamic curves of one network (module docstring).

    Parameters
    ----------
    a, b : CanonicalResult, PopulationResult, CachedThermo, or (ThermoCurve, header dict)
        Anything with ``.curve`` and ``.header``, or the pair :func:`ising_nn.results.thermo.read_thermo`
        returns. The header supplies ``T_equilibrated`` (absent: inf) and ``runs`` (:func:`dof`).
    alpha : float
        Family-wise false-alarm probability, split equally between U and C.
    z_max : float, optional
        A fixed per-temperature threshold instead (the benches use 3): stricter where the errors have many
        degrees of freedom, so chance excursions shorten the range (never lengthen it); with few runs it
        fails correct curves often (Student's t with 3 degrees of freedom exceeds 3 with probability 0.06).

    Returns
    -------
    Agreement

    Notes
    -----
    The callers check that the two headers describe the same system (:data:`SAME_SYSTEM_KEYS`).
    """
    (ca, ha), (cb, hb) = _unpack(a), _unpack(b)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    Ta, Tb = np.asarray(ca.T_t, float), np.asarray(cb.T_t, float)
    lo, hi = max(Ta.min(), Tb.min()), min(Ta.max(), Tb.max())
    eps = 1e-12
    ina, inb = Ta[(Ta >= lo * (1 - eps)) & (Ta <= hi * (1 + eps))], Tb[(Tb >= lo * (1 - eps)) & (Tb <= hi * (1 + eps))]
    T = np.sort(ina if ina.size <= inb.size else inb)
    T = np.clip(T, lo, hi)  # the tolerance above must not put an end point outside the other curve

    def at(c):
        return [interp_lnT(T, c.T_t, getattr(c, k)) for k in ("U_t", "U_err_t", "C_t", "C_err_t")]

    Ua, Uae, Ca, Cae = at(ca)
    Ub, Ube, Cb, Cbe = at(cb)
    nu_a, nu_b = dof(ha), dof(hb)
    zU, crit = _z_and_threshold(Ua, Uae, nu_a, Ub, Ube, nu_b, alpha / 2)
    zC, crit_C = _z_and_threshold(Ca, Cae, nu_a, Cb, Cbe, nu_b, alpha / 2)
    if z_max is not None:
        if not z_max > 0:
            raise ValueError(f"z_max must be positive, got {z_max}")
        crit = crit_C = np.full(T.shape, float(z_max))
    ok = (zU <= crit) & (zC <= crit_C)
    Teq_a, Teq_b = (float(h.get("T_equilibrated", "inf")) for h in (ha, hb))
    bad = np.flatnonzero(~ok)
    if not T.size:
        T_agreed = math.inf
    elif not bad.size:
        T_agreed = float(T[0])
    else:
        T_agreed = float(T[bad[-1] + 1]) if bad[-1] + 1 < T.size else math.inf
    cv = (T >= T_agreed) & ((T >= Teq_a) | (T >= Teq_b))
    T_cv = float(T[cv].min()) if cv.any() else math.inf
    lower_a = int((Ua[bad] < Ub[bad]).sum())
    return Agreement(T, Ua, Uae, Ub, Ube, Ca, Cae, Cb, Cbe, zU, zC, crit, ok, T >= Teq_a, T >= Teq_b, Teq_a, Teq_b,
                     T_agreed, T_cv, int(bad.size), lower_a, float(T[bad[-1]]) if bad.size else math.nan, nu_a, nu_b,
                     float(alpha), "family-wise" if z_max is None else f"|z| <= {z_max:g}")
