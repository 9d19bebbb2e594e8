"""Sampler budgets of a figures run, in units of work (sweeps, restarts) so that the same budget gives the
same results on any machine; the notebooks take one by name: ``budget(smoke)``."""

from __future__ import annotations

from dataclasses import dataclass

from ising_nn.errors import IsingNNError

__all__ = ["Budget", "budget", "temperature_range", "REFERENCE_SCALE", "DEFAULT_BUDGET", "SMOKE_BUDGET",
           "DEFAULT_WL_SWEEPS", "DEFAULT_QUENCH_RESTARTS"]

#: Default Wang-Landau budget of one density of states: sweeps (N attempts) per window. Budgets count work,
#: not seconds, so that the same inputs give the same file on any machine.
DEFAULT_WL_SWEEPS = 10.0
#: Default restarts of one annealed ground-state search (each a fixed schedule of sweeps).
DEFAULT_QUENCH_RESTARTS = 64


@dataclass(frozen=True)
class Budget:
    """Sampler budgets of a figures run (the notebooks take one by name: ``budget(smoke)``).

    Attributes
    ----------
    wl_sweeps : float
        Wang-Landau sweeps per window of a whole model's DOS.
    wl_sweeps_blocks : float
        Wang-Landau sweeps per window of a DOS of the first k blocks (k below the full depth).
    bins : int or None
        Wang-Landau bins over the full energy range (None: the sampler's default).
    quench_method : str
        Method of :func:`ising_nn.quench.search.quench` for E_0.
    quench_restarts : int or None
        Its restarts (None: the method's default).
    blocks : tuple of int or None
        Depths k for the blocks figure (None: 1 .. L).
    seeds : tuple of int
        Independent Wang-Landau runs of the whole model (and, shuffled, independent shuffles); the first is
        the one plotted everywhere.
    canonical_sweeps : int or None
        Production sweeps of the canonical engine for a whole model's thermodynamics (:func:`cached_thermo`),
        whose equilibrium states start the Wang-Landau windows and whose MBAR ln g replaces Wang-Landau's where
        its chains are equilibrated (:func:`ising_nn.canonical.hybrid_dos`). None: Wang-Landau alone.
    canonical_sweeps_shuffled : int or None
        The same for a shuffled network (None: ``canonical_sweeps``; :meth:`sweeps_canonical`). Where the budget
        leaves a shuffle to the canonical engine alone (``pa_shuffled=False``), its certified C(T) reaches only as
        low as its hot and cold ladders agree, and that edge falls with the sweeps.
    canonical_tmin, canonical_tmax : float
        Temperature range of the canonical engine, in units of the couplings' scale sqrt(sum J^2 / N) relative
        to MiniLM's (:func:`temperature_range`): MiniLM runs exactly this range, a network whose couplings are
        a third of MiniLM's runs a third of it.
    canonical_bins : int or None
        Wang-Landau bins over the full range of a whole model joined with MBAR: fine enough that a bin is
        narrower than a third of the canonical energy spread down to ``canonical_tmin``.
    pa_population : int or None
        Replicas R of each population-annealing run of a whole model (:func:`~ising_nn.paper.population.
        cached_population`), which certifies C(T) below the canonical engine's range and locates T_c. None: no
        population annealing.
    pa_runs, pa_sweeps : int
        Its independent runs and heat-bath sweeps per temperature step. A check of ``pa_runs`` runs of
        ``pa_population // 4`` replicas runs beside it (the R against 4R test).
    pa_sweeps_hot : int or None
        Sweeps per step above ``canonical_tmax``, outside the range reported (None: ``pa_sweeps``). Fewer
        there raise the family statistic all the way down (2 instead of 5 on trained MiniLM: rho_t 33
        against 24 at T = 8, families criterion met to T = 5.16 against 4.33; ``bench/README.md``).
    pa_shuffled : bool
        Whether the shuffled network gets population annealing too; without it, its certified C(T) is the
        canonical engine's (where its hot and cold ladders agree).
    pa_tmin_trained, pa_tmin_shuffled : float
        Its lowest temperature, trained and shuffled, in the units of ``canonical_tmin``.
    precision : str
        The fields' precision of both canonical methods (:mod:`ising_nn.canonical.chain`), named, never
        ``"auto"``: a budget gives the same numbers on every machine. Cached results are reused only when
        their header's ``precision`` is this one.
    quality_smoke : bool
        The quality study's sizes (:func:`ising_nn.quality.report.cached_quality`): tiny models, quench and
        evaluations (the tests) instead of the notebooks' defaults.
    """

    wl_sweeps: float
    wl_sweeps_blocks: float
    bins: int | None
    quench_method: str
    quench_restarts: int | None
    blocks: tuple[int, ...] | None
    seeds: tuple[int, ...] = (0,)
    canonical_sweeps: int | None = None
    canonical_sweeps_shuffled: int | None = None
    canonical_tmin: float = 1.0
    canonical_tmax: float = 10.0
    canonical_bins: int | None = None
    pa_population: int | None = None
    pa_runs: int = 8
    pa_sweeps: int = 5
    pa_sweeps_hot: int | None = None
    pa_shuffled: bool = True
    pa_tmin_trained: float = 3.5
    pa_tmin_shuffled: float = 1.5
    precision: str = "float32"
    quality_smoke: bool = False

    def __post_init__(self) -> None:
        from ising_nn.canonical.chain import PRECISIONS

        if self.precision == "auto" or self.precision not in PRECISIONS:
            named = ", ".join(p for p in PRECISIONS if p != "auto")
            raise IsingNNError(f"a budget's precision must be one of {named}, got {self.precision!r}")
        from ising_nn import validate

        # the R / 4 check runs beside every population (population_annealing needs R >= 8), and errors need 2 runs
        validate.integer("a budget's pa_population", self.pa_population, 32, optional=True)
        validate.integer("a budget's pa_runs", self.pa_runs, 2)
        validate.integer("a budget's pa_sweeps", self.pa_sweeps, 1)
        validate.integer("a budget's pa_sweeps_hot", self.pa_sweeps_hot, 1, optional=True)
        validate.integer("a budget's canonical_sweeps_shuffled", self.canonical_sweeps_shuffled, 80, optional=True)

    def sweeps_canonical(self, shuffle: float) -> int | None:
        """Production sweeps of the canonical engine on a network shuffled by ``shuffle`` (0: trained); None
        where the budget has no canonical engine."""
        if self.canonical_sweeps is None or shuffle == 0.0 or self.canonical_sweeps_shuffled is None:
            return self.canonical_sweeps
        return self.canonical_sweeps_shuffled

    def anneals(self, shuffle: float) -> bool:
        """Whether this budget runs population annealing on a network shuffled by ``shuffle`` (0: trained)."""
        return self.pa_population is not None and (shuffle == 0.0 or self.pa_shuffled)


#: The default run of ``make figures`` (its wall time is in bench/README.md).
DEFAULT_BUDGET = Budget(DEFAULT_WL_SWEEPS, 40.0, None, "anneal", DEFAULT_QUENCH_RESTARTS, None, (0,),
                        canonical_sweeps=1000, canonical_sweeps_shuffled=16000, canonical_bins=8000,
                        pa_population=1024, pa_shuffled=False,
                        precision="int8x3")
#: Tiny budgets for the notebook tests: a fraction of a sweep per window, two depths plus the whole model, one seed.
SMOKE_BUDGET = Budget(0.5, 1.0, 100, "layer", None, (1, 2), (0,), canonical_sweeps=80, canonical_tmin=8.0,
                      canonical_tmax=40.0, canonical_bins=400, pa_population=32, pa_runs=2,
                      pa_sweeps=1, pa_tmin_trained=10.0, pa_tmin_shuffled=10.0, quality_smoke=True)


def budget(smoke: bool = False) -> Budget:
    """The smoke-test budget or the default one."""
    return SMOKE_BUDGET if smoke else DEFAULT_BUDGET


#: sqrt(sum J^2 / N) of the embedded trained MiniLM (1.5714035...): the unit of a budget's temperatures.
REFERENCE_SCALE = 1.5714


def temperature_range(b: Budget, scale: float) -> tuple[float, float]:
    """The canonical engine's range for couplings of scale ``scale`` = sqrt(sum J^2 / N): ``b``'s range times
    ``scale / REFERENCE_SCALE``, to 4 significant digits.

    Couplings lambda J at temperature lambda T have exactly the thermodynamics of J at T, so a fixed range in
    these units looks at every network in the same place relative to its own energy scale. MiniLM, trained or
    shuffled (a shuffle keeps sum J^2), runs ``b``'s range itself."""
    f = scale / REFERENCE_SCALE
    return float(f"{b.canonical_tmin * f:.4g}"), float(f"{b.canonical_tmax * f:.4g}")
