"""Layer-block heat bath: every even layer given the odd ones, then every odd layer given the even ones.

The chain of layers is bipartite, so the spins of all even layers are independent given the odd layers (and
vice versa): one half-sweep draws each of them exactly from its conditional distribution,
``P(s_i = +1) = (1 + tanh(beta h_i)) / 2`` with ``h_i`` its field from the two neighbouring layers. All
replicas move at once: the fields of a layer are one batched matrix product ``S_{l-1} J_{l-1} + S_{l+1}
J_l^T`` of shape ``(R, n_l)``. The same half-sweep gives the Rao-Blackwellised energy moments, since every
bond touches exactly one spin of the updated parity:

    E[E | other half]   = - sum_i h_i tanh(beta h_i)
    Var[E | other half] =   sum_i h_i^2 (1 - tanh^2(beta h_i))

and the energy of the new state, ``- sum_i s_i h_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ising_nn.model.couplings import Couplings

__all__ = ["LayerChains", "HalfSweep"]


@dataclass
class HalfSweep:
    """Per-replica sums of one half-sweep, shape ``(R,)`` float64 each.

    Attributes
    ----------
    E_r : energy of the state after the half-sweep
    m_r : Rao-Blackwellised conditional mean of E given the layers held fixed
    v_r : conditional variance of E given the layers held fixed
    """

    E_r: np.ndarray
    m_r: np.ndarray
    v_r: np.ndarray


class LayerChains:
    """``R`` replicas of a layered Ising model, spins stored per layer as ``(R, n_l)`` float32 tensors of +-1.

    Parameters
    ----------
    c : Couplings
    s_rn : ndarray, shape (R, N)
        Initial spins (+-1), one row per replica, layers concatenated.
    device : str
        Torch device (``"cpu"``, ``"cuda"``, ...).
    generator_seed : int
        Seed of the torch generator that draws every uniform number of the heat bath.
    """

    def __init__(self, c: Couplings, s_rn: np.ndarray, device: str = "cpu", generator_seed: int = 0):
        self.device = torch.device(device)
        self.sizes = c.layer_sizes
        self.J = [torch.from_numpy(j).to(self.device) for j in c.J]
        self.S: list[torch.Tensor] = []
        self.set_spins(s_rn)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(int(generator_seed))

    @property
    def n_replicas(self) -> int:
        return int(self.S[0].shape[0])

    def field(self, l: int) -> torch.Tensor:
        """Fields of layer ``l`` from its neighbours, shape ``(R, n_l)``."""
        h = None
        if l > 0:
            h = self.S[l - 1] @ self.J[l - 1]
        if l < len(self.J):
            h = self.S[l + 1] @ self.J[l].T if h is None else h.addmm_(self.S[l + 1], self.J[l].T)
        return h

    def half_sweep(self, parity: int, beta_r: torch.Tensor) -> HalfSweep:
        """Draw every layer of the given parity from its conditional distribution at inverse temperatures
        ``beta_r`` (shape ``(R, 1)``, on the chains' device)."""
        R = self.n_replicas
        E = torch.zeros(R, dtype=torch.float64, device=self.device)
        m = torch.zeros_like(E)
        v = torch.zeros_like(E)
        for l in range(parity, len(self.S), 2):
            h = self.field(l)
            t = torch.tanh(beta_r * h)
            u = torch.rand(h.shape, generator=self.gen, device=self.device, dtype=h.dtype)
            s = torch.where(u.mul_(2.0).sub_(1.0) < t, 1.0, -1.0)
            self.S[l] = s
            ht = h * t
            m -= ht.sum(1, dtype=torch.float64)
            v += (h * h - ht * ht).sum(1, dtype=torch.float64)
            E -= (s * h).sum(1, dtype=torch.float64)
        return HalfSweep(E.cpu().numpy(), m.cpu().numpy(), v.cpu().numpy())

    def energies(self) -> np.ndarray:
        """Energy of every replica recomputed from the spins, shape ``(R,)`` float64."""
        E = torch.zeros(self.n_replicas, dtype=torch.float64, device=self.device)
        for l, J in enumerate(self.J):
            E -= ((self.S[l] @ J) * self.S[l + 1]).sum(1, dtype=torch.float64)
        return E.cpu().numpy()

    def spins(self) -> np.ndarray:
        """All spins as int8, shape ``(R, N)``."""
        return torch.cat(self.S, dim=1).to(torch.int8).cpu().numpy()

    def set_spins(self, s_rn: np.ndarray) -> None:
        """Replace every replica's spins (shape ``(R', N)``; R' may differ from R)."""
        x = torch.from_numpy(np.ascontiguousarray(s_rn, dtype=np.float32)).to(self.device)
        self.S = list(torch.split(x, list(self.sizes), dim=1))
        self.S = [t.contiguous() for t in self.S]

    def generator_state(self) -> np.ndarray:
        return self.gen.get_state().cpu().numpy()

    def set_generator_state(self, state: np.ndarray) -> None:
        self.gen.set_state(torch.from_numpy(np.asarray(state, dtype=np.uint8)))
