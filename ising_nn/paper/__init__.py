"""The paper's figures: the cache of sampler results under ``dos/`` (``cache``, ``dos``, ``thermo``; one rule:
a file is reused when its header's inputs match), the budgets in units of work, the names of every file
(``paths``), the series the notebooks plot, the published data, plotting, the full-size checks (``checks``), and
``python -m ising_nn.paper.figures``."""

from ising_nn.paper.budget import Budget, budget
from ising_nn.paper.cache import cached_quench
from ising_nn.paper.dos import cached_dos
from ising_nn.paper.paths import (
    dos_path,
    model_key,
    model_slug,
    quench_path,
    quench_spins_path,
    thermo_path,
    wl_path,
)
from ising_nn.paper.thermo import CachedThermo, cached_thermo
from ising_nn.results.quench import QuenchSummary

__all__ = ["Budget", "budget", "cached_dos", "cached_quench", "cached_thermo", "CachedThermo", "QuenchSummary",
           "model_slug", "model_key", "dos_path", "quench_path", "quench_spins_path", "thermo_path", "wl_path"]
