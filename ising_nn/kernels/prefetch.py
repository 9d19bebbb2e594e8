"""``prefetch(a, i)``: a software prefetch of ``a[i]`` (LLVM ``llvm.prefetch``) callable from numba kernels.

The samplers read one or two short rows of couplings (1.5 to 12 KiB) per accepted flip at random places in
memory, so each flip would start with a memory latency before the hardware prefetcher ramps up. The
Wang-Landau kernel applies an accepted flip one accepted flip late and prefetches its rows piece by piece
over the attempts in between (:mod:`ising_nn.wanglandau.kernels`); the quench kernels prefetch the next spin's
rows. A prefetch never faults and never changes results.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch"]


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to load the cache line of ``arr[idx]`` (read, high locality)."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty, _ = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
