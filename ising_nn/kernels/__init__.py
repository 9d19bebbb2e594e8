"""Numba primitives every sampler shares: local fields and energies of a layered chain (``fields``), the
memory layouts the flips read (``layout``), the counter-based random streams (``rng``), bfloat16 rounding and
the prefetch intrinsic; the fused heat-bath pass (``heatbath``) and the sums of one parity's exact marginal
(``marginal``). Arrays in, preallocated outputs; no Python objects."""

from ising_nn.kernels.fields import energy_direct, init_fields, layer_index
from ising_nn.kernels.rng import seed_states

__all__ = ["energy_direct", "init_fields", "layer_index", "seed_states"]
