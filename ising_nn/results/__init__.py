"""Result files, one module per format, all text with a ``# key: value`` header and written atomically:
densities of states (``dos``), spins (``spins``), canonical thermodynamics (``thermo``), ground-state
summaries (``quench``) and the heat figure's table (``heat``)."""

from ising_nn.results.dos import DOS, read_dos, write_dos
from ising_nn.results.spins import SavedSpins, load_spins, save_spins
from ising_nn.results.textfile import atomic_path, format_header, read_header
from ising_nn.results.thermo import read_thermo, write_thermo

__all__ = ["DOS", "read_dos", "write_dos", "SavedSpins", "load_spins", "save_spins", "read_thermo",
           "write_thermo", "atomic_path", "format_header", "read_header"]
