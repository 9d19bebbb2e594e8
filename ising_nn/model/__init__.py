"""The network as couplings: ``Couplings`` (J_l per layer), loading a checkpoint by name, path or hub id
(Hugging Face families and the authors' folder), the transforms (first k blocks, shuffles) and the couplings'
file formats (``.npz``, the authors' text files)."""

from ising_nn.model.couplings import Couplings, Provenance, WeightStats
from ising_nn.model.files import load_authors_folder, load_npz, save_authors_folder, save_npz
from ising_nn.model.load import DEFAULT_MODEL, ModelInfo, describe, load_couplings
from ising_nn.model.transforms import first_blocks, shuffle

__all__ = ["Couplings", "Provenance", "WeightStats", "load_couplings", "describe", "ModelInfo", "DEFAULT_MODEL",
           "load_npz", "save_npz", "load_authors_folder", "save_authors_folder", "first_blocks", "shuffle"]
