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

On the CPU the element-wise part is one fused numba pass (:mod:`ising_nn.kernels.heatbath`) with a random
stream per replica; on other devices it is torch operations with one torch generator. The fields' precision:

``"float32"``
    float32 products.
``"split-bf16"``
    ``J = J_hi + J_lo`` (both bfloat16, so about 16 bits of every coupling), spins exact in bfloat16, on the
    CPU's bfloat16 matrix units (AMX). torch's CPU products of bfloat16 return bfloat16, so the field is
    taken in two products: ``h_hi = bf16(S J_hi)``, then ``h_lo = bf16(S J_hi + S J_lo - h_hi)`` (an
    ``addmm``, whose accumulator is float32: ``h_lo`` is the small remainder, rounded relative to itself),
    and ``h = h_hi + h_lo`` in the fused pass: each field to about 2^-16 of its size (a float32 product: 2^-24).
``"int8x3"``
    Every coupling a fixed-point number of three int8 digits on its matrix's step (about 23 bits over the matrix's
    largest coupling, :mod:`ising_nn.kernels.fixed`); spins are exact in int8, so the fields are three int8 products
    with int32 accumulation (the CPU's int8 matrix units: AMX, VNNI), exact and the same whatever the blocking or
    the number of threads, rounded once to float32. Without int8 dot products the same integers come from an exact
    float32 (or float64) product, so a run is the same bit for bit on every CPU. The chain samples the couplings so
    rounded, each within half a step (at most 4.8e-7 on MiniLM) of its float32 value. Sweeps that take no sums
    (``measure=False``) need only the top two digits' products: the third digit's is taken for the few sites whose
    draw its bound leaves undecided (0.2-0.9 % on MiniLM), the same draws bit for bit.
``"auto"``
    ``"int8x3"`` on a CPU with int8 dot-product instructions (x86 AMX-INT8, AVX512-VNNI or AVX-VNNI, from
    ``/proc/cpuinfo``), where three int8 products take less time than one float32 product; ``"float32"``
    elsewhere (GPUs included). Split bfloat16 costs three bfloat16 products and was no faster than float32
    where measured (``bench/SWEEP.md``), so it is used only when asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ising_nn.errors import IsingNNError
from ising_nn.kernels.fixed import FIXED_POINT, combine_digits, fixed_point_digits, layer_steps
from ising_nn.kernels.heatbath import draw_i8_two_digits, heat_bath_bf16, heat_bath_f32, heat_bath_i8
from ising_nn.kernels.marginal import marginal_sums
from ising_nn.kernels.rng import seed_states
from ising_nn.model.couplings import Couplings

__all__ = ["LayerChains", "HalfSweep", "PRECISIONS", "resolve_precision", "precision_fields"]

PRECISIONS = ("auto", "float32", "split-bf16", "int8x3")
#: Integers below this magnitude are exact in float32, and so is every sum of them that stays below it.
FLOAT32_EXACT = 2**24


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """The fields' precision a run uses: ``precision`` itself, or for ``"auto"`` the faster one here."""
    if precision not in PRECISIONS:
        raise IsingNNError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    cpu = torch.device(device).type == "cpu"
    if precision in ("split-bf16", "int8x3") and not cpu:
        raise IsingNNError(f"precision {precision!r} is implemented on the CPU only (use float32 on other devices)")
    if precision != "auto":
        return precision
    return "int8x3" if cpu and int8_dot_products() else "float32"


def precision_fields(precision: str) -> dict:
    """The header and checkpoint fields that name a run's arithmetic: ``precision``, and for ``int8x3`` its
    fixed-point scheme (:data:`ising_nn.kernels.fixed.FIXED_POINT`), so that no cache or checkpoint matches
    across a change of how the couplings are rounded."""
    return {"precision": precision, **({"fixed_point": FIXED_POINT} if precision == "int8x3" else {})}


def int8_dot_products() -> bool:
    """Whether this CPU reports int8 dot-product instructions (x86 Linux: ``amx_int8``, ``avx512_vnni`` or
    ``avx_vnni`` among the flags of ``/proc/cpuinfo``); False where that cannot be read."""
    global _INT8
    if _INT8 is None:
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
                flags = next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
        except OSError:
            flags = []
        _INT8 = bool({"amx_int8", "avx512_vnni", "avx_vnni"} & set(flags))
    return _INT8


_INT8: bool | None = None


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


def _u16(t: torch.Tensor) -> np.ndarray:
    """The bits of a CPU bfloat16 tensor as a uint16 array (no copy)."""
    return t.view(torch.int16).numpy().view(np.uint16)


class LayerChains:
    """``R`` replicas of a layered Ising model, spins stored per layer as ``(R, n_l)`` tensors of +-1.

    Parameters
    ----------
    c : Couplings
    s_rn : ndarray, shape (R, N)
        Initial spins (+-1), one row per replica, layers concatenated.
    device : str
        Torch device (``"cpu"``, ``"cuda"``, ...).
    generator_seed : int
        Seeds the random numbers of the heat bath (one stream per replica on the CPU).
    precision : str
        ``"auto"``, ``"float32"``, ``"split-bf16"`` or ``"int8x3"`` (module docstring); :attr:`precision` is
        the one used.
    """

    def __init__(self, c: Couplings, s_rn: np.ndarray, device: str = "cpu", generator_seed: int = 0,
                 precision: str = "auto"):
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.sizes = tuple(int(n) for n in c.layer_sizes)
        self.cpu = self.device.type == "cpu"
        self.J = [torch.from_numpy(j).to(self.device) for j in c.J]
        self.dtype = {"split-bf16": torch.bfloat16, "int8x3": torch.int8}.get(self.precision, torch.float32)
        if self.precision == "split-bf16":
            self._W = [self._split_weights(l) for l in range(len(self.sizes))]
        elif self.precision == "int8x3":
            delta, k_m, digits = fixed_point_digits(c.J)
            self._delta_l, self._mult = layer_steps(delta, k_m, len(self.sizes))
            self._W = [self._digit_weights(digits, l) for l in range(len(self.sizes))]
            self._W01 = [W[:, : 2 * n].contiguous() for W, n in zip(self._W, self.sizes)]
            self._D2 = [np.ascontiguousarray(W[:, 2 * n :].numpy().T) for W, n in zip(self._W, self.sizes)]
            # |P2| <= sum_k |d2_ik| |x_k|, and |x_k| is the neighbour's factor whatever the spins
            self._B = [self._delta_l[l] * (np.abs(D.astype(np.int64)) @ np.abs(self._multipliers(l)).astype(np.int64))
                       .astype(np.float64) for l, D in enumerate(self._D2)]
            self._Wf = self._W01f = None
            if self.cpu and not int8_dot_products():
                self._Wf = [W.to(self._exact_float(l, W)) for l, W in enumerate(self._W)]
                self._W01f = [W[:, : 2 * n].contiguous() for W, n in zip(self._Wf, self.sizes)]
        self.S: list[torch.Tensor] = []
        self.set_spins(s_rn)
        self._seed = int(generator_seed)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(self._seed)
        self._scratch: dict[str, torch.Tensor] = {}
        if self.cpu:
            self.streams = seed_states(self._seed, self.n_replicas)
            self._w = np.empty((self.n_replicas, max(self.sizes)), dtype=np.float32)
            self._a = np.empty((self.n_replicas, max(self.sizes)), dtype=np.int8)
            #: Sites per replica whose draw needed the third digit (``measure=False`` sweeps of ``int8x3``).
            self.exact_draws = np.zeros(self.n_replicas, dtype=np.int64)

    def _split_weights(self, l: int) -> torch.Tensor:
        """``[J_hi_{l-1}; J_hi_l^T; J_lo_{l-1}; J_lo_l^T]`` in bfloat16, shape ``(2 K_l, n_l)``."""
        parts = ([self.J[l - 1]] if l > 0 else []) + ([self.J[l].T] if l < len(self.J) else [])
        hi = [p.to(torch.bfloat16) for p in parts]
        lo = [(p - h.float()).to(torch.bfloat16) for p, h in zip(parts, hi)]
        return torch.cat(hi + lo, 0).contiguous()

    def _digit_weights(self, digits: list[np.ndarray], l: int) -> torch.Tensor:
        """``[D_{l-1}; D_l^T]`` with each side's three digits side by side, int8 of shape ``(K_l, 3 n_l)``."""
        parts = ([digits[l - 1]] if l > 0 else []) + ([digits[l].transpose(0, 2, 1)] if l < len(digits) else [])
        return torch.from_numpy(np.concatenate([np.concatenate(list(d), axis=1) for d in parts], axis=0)).contiguous()

    def _multipliers(self, l: int) -> np.ndarray:
        """int8x3: the factor of each of layer ``l``'s neighbouring spins (in the order of ``_neighbours``),
        shape ``(K_l,)``."""
        parts = ([np.full(self.sizes[l - 1], self._mult[l, 0])] if l > 0 else []) + \
            ([np.full(self.sizes[l + 1], self._mult[l, 1])] if l < len(self.J) else [])
        return np.concatenate(parts)

    def _scratch_tensor(self, name: str, shape: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
        """A contiguous ``shape`` view of the chains' reusable buffer ``name`` (grown when too small): the
        sweep's temporaries are written in place rather than allocated anew. Fresh allocations of this size
        cost page faults on every sweep where malloc returns freed memory to the system at once, as in Dask's
        workers (``MALLOC_TRIM_THRESHOLD_=65536``; ``make bench-worker``: ``bench/WORKER.md``)."""
        n = shape[0] * shape[1]
        buf = self._scratch.get(name)
        if buf is None or buf.numel() < n or buf.dtype != dtype:
            buf = self._scratch[name] = torch.empty(n, dtype=dtype, device=self.device)
        return buf[:n].view(shape)

    def _scaled_neighbours(self, l: int) -> torch.Tensor:
        """int8x3: layer ``l``'s neighbouring spins, each neighbour's times its factor (int8, ``(R, K_l)``;
        a scratch buffer, valid until the next call)."""
        parts = ([(self.S[l - 1], int(self._mult[l, 0]))] if l > 0 else []) + \
            ([(self.S[l + 1], int(self._mult[l, 1]))] if l < len(self.J) else [])
        if len(parts) == 1 and parts[0][1] == 1:
            return parts[0][0]
        X = self._scratch_tensor("neighbours", (self.n_replicas, sum(x.shape[1] for x, _ in parts)), torch.int8)
        col = 0
        for x, f in parts:
            block = X[:, col : col + x.shape[1]]
            if f == 1:
                block.copy_(x)
            else:
                torch.mul(x, f, out=block)
            col += x.shape[1]
        return X

    def _exact_float(self, l: int, W: torch.Tensor) -> torch.dtype:
        """The float type whose products with layer ``l``'s digits ``W`` are exact: every partial sum of
        ``sum_k x_k d_kj`` is an integer no larger than ``sum_k mult_k |d_kj|`` whatever the order of the sum,
        so float32 is exact where that bound is below 2^24 (:data:`FLOAT32_EXACT`), float64 elsewhere."""
        bound = np.abs(self._multipliers(l)).astype(np.int64) @ np.abs(W.numpy().astype(np.int64))
        return torch.float32 if int(bound.max(initial=0)) < FLOAT32_EXACT else torch.float64

    def _digit_products(self, l: int, digits: int = 3, X: torch.Tensor | None = None) -> torch.Tensor:
        """The int32 products of layer ``l``'s scaled neighbours ``X`` (default: :meth:`_scaled_neighbours`)
        with its digit weights, shape ``(R, 3 n_l)`` (the top ``digits``: ``(R, 2 n_l)`` with ``digits=2``);
        a scratch buffer, valid until the next call.

        On a CPU without int8 dot products torch's int8 product is a slow generic loop (``bench/SWEEP_avx2.md``);
        there the same integers come from a float product that is exact (:meth:`_exact_float`), so the chains
        are the same bit for bit on every CPU."""
        X = self._scaled_neighbours(l) if X is None else X
        if self._Wf is None:
            W = self._W[l] if digits == 3 else self._W01[l]
            out = self._scratch_tensor("products", (self.n_replicas, W.shape[1]), torch.int32)
            return torch._int_mm(X, W, out=out)
        W = self._Wf[l] if digits == 3 else self._W01f[l]
        Xf = self._scratch_tensor("neighbours_float", tuple(X.shape), W.dtype)
        Xf.copy_(X)
        Pf = self._scratch_tensor("products_float", (self.n_replicas, W.shape[1]), W.dtype)
        torch.mm(Xf, W, out=Pf)
        out = self._scratch_tensor("products", (self.n_replicas, W.shape[1]), torch.int32)
        return out.copy_(Pf)

    @property
    def n_replicas(self) -> int:
        return int(self.S[0].shape[0])

    def _neighbours(self, l: int) -> torch.Tensor:
        parts = ([self.S[l - 1]] if l > 0 else []) + ([self.S[l + 1]] if l < len(self.J) else [])
        return parts[0] if len(parts) == 1 else torch.cat(parts, 1)

    def field(self, l: int) -> torch.Tensor:
        """Fields of layer ``l`` from its neighbours, shape ``(R, n_l)``, float32."""
        if self.precision == "split-bf16":
            hi, lo = self._split_field(l)
            return hi.float().add_(lo.float())
        if self.precision == "int8x3":
            out = np.empty((self.n_replicas, self.sizes[l]), np.float32)
            combine_digits(self._digit_products(l).numpy(), self._delta_l[l], out)
            return torch.from_numpy(out)
        return self._float32_field(l, torch.empty((self.n_replicas, self.sizes[l]), device=self.device))

    def _float32_field(self, l: int, out: torch.Tensor) -> torch.Tensor:
        if l > 0:
            torch.mm(self.S[l - 1], self.J[l - 1], out=out)
        if l < len(self.J):
            out.addmm_(self.S[l + 1], self.J[l].T, beta=1 if l > 0 else 0)
        return out

    def _split_field(self, l: int) -> tuple[torch.Tensor, torch.Tensor]:
        X = self._neighbours(l)
        W = self._W[l]
        hi = X @ W[: X.shape[1]]
        lo = torch.addmm(hi, torch.cat([X, X], 1), W, alpha=1, beta=-1)
        return hi, lo

    def half_sweep(self, parity: int, beta_r, measure: bool = True) -> HalfSweep | None:
        """Draw every layer of the given parity from its conditional distribution at inverse temperatures
        ``beta_r`` (array-like, ``(R,)`` or ``(R, 1)``).

        ``measure=False`` skips the sums and returns None; with ``int8x3`` on the CPU the draws then come from
        the top two digits' products, the third digit's taken only for the sites those leave undecided
        (:func:`ising_nn.kernels.heatbath.draw_i8_two_digits`): the same spins and streams, bit for bit, for
        two thirds of the products.
        """
        if isinstance(beta_r, torch.Tensor):
            beta_r = beta_r.detach().cpu().numpy()
        beta = np.ascontiguousarray(np.asarray(beta_r, dtype=np.float32).reshape(-1))
        if beta.size == 1:
            beta = np.full(self.n_replicas, beta[0], dtype=np.float32)
        if not self.cpu:
            out = self._half_sweep_torch(parity, torch.as_tensor(beta, device=self.device)[:, None])
            return out if measure else None
        R = self.n_replicas
        E, m, v = np.zeros(R), np.zeros(R), np.zeros(R)
        for l in range(parity, len(self.S), 2):
            if self.precision == "split-bf16":
                hi, lo = self._split_field(l)
                heat_bath_bf16(_u16(hi), _u16(lo), beta, self.streams, self._w, _u16(self.S[l]), E, m, v)
            elif self.precision == "int8x3" and not measure:
                X = self._scaled_neighbours(l)
                P = self._digit_products(l, digits=2, X=X)
                draw_i8_two_digits(P.numpy(), X.numpy(), self._D2[l], self._B[l], self._delta_l[l], beta,
                                   self.streams, self._w, self._a, self.S[l].numpy(), self.exact_draws)
            elif self.precision == "int8x3":
                heat_bath_i8(self._digit_products(l).numpy(), self._delta_l[l], beta, self.streams, self._w,
                             self.S[l].numpy(), E, m, v)
            else:
                h = self._float32_field(l, self._scratch_tensor("fields", (R, self.sizes[l]), torch.float32))
                heat_bath_f32(h.numpy(), beta, self.streams, self._w, self.S[l].numpy(), E, m, v)
        return HalfSweep(E, m, v) if measure else None

    def _half_sweep_torch(self, parity: int, beta_r: torch.Tensor) -> HalfSweep:
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

    def marginal(self, beta_rj: np.ndarray, parity: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(L_rj, M_rj, V_rj)``, float64 ``(R, J)``: the exact marginal of the layers of the other parity at the
        inverse temperatures ``beta_rj`` (NaN: skipped), summed over the spins of the layers of ``parity``
        (0: the even layers, given the odd ones; 1: the odd, given the even; :mod:`ising_nn.kernels.marginal`):
        ``L = sum ln cosh(beta h)``, ``M = E[E | the other layers]``, ``V = Var[E | the other layers]``."""
        if parity not in (0, 1):
            raise ValueError(f"parity must be 0 or 1, got {parity!r}")
        beta_rj = np.ascontiguousarray(beta_rj, dtype=np.float64)
        L, M, V = (np.zeros(beta_rj.shape) for _ in range(3))
        for l in range(parity, len(self.S), 2):
            h = self.field(l)
            if self.cpu:
                marginal_sums(np.ascontiguousarray(h.numpy()), beta_rj, L, M, V)
                continue
            b = torch.as_tensor(beta_rj, device=self.device)[:, :, None]  # (R, J, 1)
            a = b * h.double()[:, None, :]
            t = torch.tanh(a)
            L += torch.nan_to_num(torch.logaddexp(a, -a) - math.log(2.0)).sum(2).cpu().numpy()
            M -= torch.nan_to_num(h.double()[:, None, :] * t).sum(2).cpu().numpy()
            V += torch.nan_to_num(h.double()[:, None, :] ** 2 * (1 - t * t)).sum(2).cpu().numpy()
        return L, M, V

    def greedy_layer(self, l: int) -> bool:
        """Align every spin of layer ``l`` with its field (a zero field keeps the spin); whether any changed."""
        h = self.field(l)
        old = self.S[l]
        s = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, old.float())).to(self.dtype)
        self.S[l] = s
        return bool((s != old).any())

    def energies(self) -> np.ndarray:
        """Energy of every replica recomputed from the spins with the float32 couplings, ``(R,)`` float64."""
        E = torch.zeros(self.n_replicas, dtype=torch.float64, device=self.device)
        for l, J in enumerate(self.J):
            E -= ((self.S[l].float() @ J) * self.S[l + 1].float()).sum(1, dtype=torch.float64)
        return E.cpu().numpy()

    def spins(self) -> np.ndarray:
        """All spins as int8, shape ``(R, N)``."""
        return torch.cat(self.S, dim=1).to(torch.int8).cpu().numpy()

    def set_spins(self, s_rn: np.ndarray) -> None:
        """Replace every replica's spins (shape ``(R, N)``, the same number of replicas)."""
        x = torch.from_numpy(np.ascontiguousarray(s_rn, dtype=np.float32)).to(self.device, self.dtype)
        if self.S and x.shape[0] != self.n_replicas:
            raise ValueError(f"set_spins: {x.shape[0]} replicas given, the chains hold {self.n_replicas}")
        self.S = [t.contiguous() for t in torch.split(x, list(self.sizes), dim=1)]

    def take(self, idx_r: np.ndarray) -> None:
        """Replica ``r`` becomes a copy of replica ``idx_r[r]`` (resampling); the random streams stay with
        their slots, so copies diverge from the next half-sweep on."""
        idx = torch.as_tensor(np.asarray(idx_r, dtype=np.int64), device=self.device)
        self.S = [t.index_select(0, idx) for t in self.S]

    def generator_state(self) -> np.ndarray:
        """The random state: the replicas' streams (CPU, uint64 ``(R, 4)``) or the torch generator's bytes."""
        if self.cpu:
            return self.streams.copy()
        return self.gen.get_state().cpu().numpy()

    def set_generator_state(self, state: np.ndarray) -> None:
        if self.cpu:
            state = np.asarray(state)
            if state.shape != self.streams.shape or state.dtype != np.uint64:
                raise ValueError(f"random state of shape {state.shape} for {self.n_replicas} CPU replicas")
            self.streams[...] = state
        else:
            self.gen.set_state(torch.from_numpy(np.asarray(state, dtype=np.uint8)))
