"""SIMD lanes for numba: a vector of ``LANES`` doubles as a numba type, and its operations.

numba's loop vectoriser handles only innermost loops of unknown trip count (an 18-episode row
is then mostly scalar remainder) and numba leaves LLVM's SLP vectoriser off. So the kernels
compute on an explicit ``<LANES x double>`` type (a few ``@intrinsic`` operations: load,
store, arithmetic, fma, compare, select, bit casts): no aliasing doubt, no remainder loop, no
libm call. Eight doubles are one AVX-512 register (two AVX2 ones elsewhere); on the
development machine (AMD EPYC, 512-bit operations issued as two 256-bit halves) 8 lanes beat
4 by about 10 %: fewer instructions per node outweigh the padding.

Values are ``"f"`` lanes (doubles), ``"i"`` lanes (int64, for bit manipulation) or ``"m"``
lanes (booleans, compare results). Arithmetic accepts a plain float (or int) in any operand
and broadcasts it. Arrays are reached by address (:func:`addr`, then :func:`vload_at`,
:func:`vstore_at`, :func:`int_at`): helpers that take raw addresses instead of arrays can be
inlined into a kernel without numba counting references to the arrays at every call; the
caller keeps the arrays alive.

Every name here is usable only inside ``numba.njit`` functions.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

__all__ = [
    "LANES", "addr", "call_f64_at", "int_at", "keep_alive", "vadd", "vand", "vany", "vashr", "vbits", "vdiv",
    "veq", "vfloat", "vfma", "vge", "vget", "vgt", "viadd", "visub", "vload_at", "vlt", "vmul",
    "vneg", "vnonzero", "vor", "vsel", "vset", "vshl", "vsplat", "vstore_at", "vsub", "vxor",
]

LANES = 8  # doubles per SIMD group (one AVX-512 register, or two AVX2 ones)

_F64 = ir.DoubleType()
_I64 = ir.IntType(64)
_VEC = {"f": ir.VectorType(_F64, LANES), "i": ir.VectorType(_I64, LANES),
        "m": ir.VectorType(ir.IntType(1), LANES)}


class _Lanes(types.Type):
    def __init__(self, kind):
        self.kind = kind
        super().__init__(name=f"wann_lanes{LANES}{kind}")


_VF, _VI, _VM = _Lanes("f"), _Lanes("i"), _Lanes("m")


@register_model(_Lanes)
class _LanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC[fe_type.kind])


def _scalar(ty):
    return isinstance(ty, (types.Float, types.Integer)) and not isinstance(ty, types.Boolean)


def _broadcast(context, builder, ty, val, kind):
    """``val`` of numba type ``ty`` as a vector of ``kind`` ("f" or "i")."""
    if isinstance(ty, _Lanes):
        return val
    val = context.cast(builder, val, ty, types.float64 if kind == "f" else types.int64)
    vty = _VEC[kind]
    vec = builder.insert_element(ir.Constant(vty, ir.Undefined), val,
                                 ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(vec, ir.Constant(vty, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))


def _operands_ok(args, vec):
    return vec in args and all(a == vec or _scalar(a) for a in args)


def _binary(op, kind):
    vec = _VF if kind == "f" else _VI

    def typer(typingctx, a, b):
        if _operands_ok((a, b), vec):
            def codegen(context, builder, sig, args):
                x, y = (_broadcast(context, builder, t, v, kind) for t, v in zip(sig.args, args))
                return getattr(builder, op)(x, y)
            return vec(a, b), codegen
    return intrinsic(typer)


vadd = _binary("fadd", "f")
vsub = _binary("fsub", "f")
vmul = _binary("fmul", "f")
vdiv = _binary("fdiv", "f")
viadd = _binary("add", "i")
visub = _binary("sub", "i")
vand = _binary("and_", "i")
vor = _binary("or_", "i")
vxor = _binary("xor", "i")
vshl = _binary("shl", "i")
vashr = _binary("ashr", "i")


def _compare(op):
    def typer(typingctx, a, b):
        if _operands_ok((a, b), _VF):
            def codegen(context, builder, sig, args):
                x, y = (_broadcast(context, builder, t, v, "f") for t, v in zip(sig.args, args))
                return builder.fcmp_ordered(op, x, y)  # false when either is NaN
            return _VM(a, b), codegen
    return intrinsic(typer)


veq = _compare("==")
vlt = _compare("<")
vgt = _compare(">")
vge = _compare(">=")


@intrinsic
def vfma(typingctx, a, b, c):
    """``a * b + c`` rounded once (llvm.fma)."""
    if _operands_ok((a, b, c), _VF):
        def codegen(context, builder, sig, args):
            xs = [_broadcast(context, builder, t, v, "f") for t, v in zip(sig.args, args)]
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_VEC["f"], [_VEC["f"]] * 3),
                f"llvm.fma.v{LANES}f64")
            return builder.call(fn, xs)
        return _VF(a, b, c), codegen


@intrinsic
def vneg(typingctx, a):
    if a == _VF:
        def codegen(context, builder, sig, args):
            return builder.fneg(args[0])
        return _VF(a), codegen


@intrinsic
def vsel(typingctx, m, a, b):
    """Lane-wise ``a if m else b``."""
    kind = "i" if _VI in (a, b) else "f"
    vec = _VI if kind == "i" else _VF
    if m == _VM and all(t == vec or _scalar(t) for t in (a, b)):

        def codegen(context, builder, sig, args):
            x = _broadcast(context, builder, sig.args[1], args[1], kind)
            y = _broadcast(context, builder, sig.args[2], args[2], kind)
            return builder.select(args[0], x, y)
        return vec(m, a, b), codegen


@intrinsic
def vnonzero(typingctx, a):
    if a == _VI:
        def codegen(context, builder, sig, args):
            return builder.icmp_unsigned("!=", args[0], ir.Constant(_VEC["i"], 0))
        return _VM(a), codegen


@intrinsic
def vany(typingctx, m):
    if m == _VM:
        def codegen(context, builder, sig, args):
            bits = builder.bitcast(args[0], ir.IntType(LANES))
            return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(LANES), 0))
        return types.boolean(m), codegen


@intrinsic
def vbits(typingctx, a):
    if a == _VF:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], _VEC["i"])
        return _VI(a), codegen


@intrinsic
def vfloat(typingctx, a):
    if a == _VI:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], _VEC["f"])
        return _VF(a), codegen


@intrinsic
def vsplat(typingctx, a):
    if _scalar(a):
        def codegen(context, builder, sig, args):
            return _broadcast(context, builder, sig.args[0], args[0], "f")
        return _VF(a), codegen


@intrinsic
def vget(typingctx, a, j):
    if a == _VF and isinstance(j, types.Integer):
        def codegen(context, builder, sig, args):
            return builder.extract_element(args[0], args[1])
        return types.float64(a, j), codegen


@intrinsic
def vset(typingctx, a, j, x):
    if a == _VF and isinstance(j, types.Integer) and _scalar(x):
        def codegen(context, builder, sig, args):
            val = context.cast(builder, args[2], sig.args[2], types.float64)
            return builder.insert_element(args[0], val, args[1])
        return _VF(a, j, x), codegen


@intrinsic
def addr(typingctx, arr):
    """Address of ``arr``'s data, for the ``*_at`` accessors below. Helpers that take raw
    addresses instead of arrays can be inlined into the kernel without numba counting
    references to the arrays at every call.

    The caller keeps ``arr`` alive: numba frees an array allocated inside a kernel right after
    the last use of its *name*, and reading an address is no use. A kernel that allocates a
    buffer and then reaches it only through its address must end with
    :func:`keep_alive` of that buffer, or it reads freed memory."""
    if isinstance(arr, types.Array) and arr.layout == "C":
        def codegen(context, builder, sig, args):
            ary = context.make_array(sig.args[0])(context, builder, args[0])
            return builder.ptrtoint(ary.data, _I64)
        return types.int64(arr), codegen


@intrinsic
def keep_alive(typingctx, arr):
    """A use of ``arr`` that compiles to nothing: placed after a kernel's loops, it keeps an
    array whose data the loops reach through :func:`addr` from being freed before them."""
    if isinstance(arr, types.Array):
        def codegen(context, builder, sig, args):
            return context.get_dummy_value()
        return types.none(arr), codegen


@intrinsic
def vload_at(typingctx, addr, i):
    """The LANES doubles at ``addr`` + ``i`` doubles."""
    if isinstance(addr, types.Integer) and isinstance(i, types.Integer):
        def codegen(context, builder, sig, args):
            ptr = builder.gep(builder.inttoptr(args[0], _F64.as_pointer()), [args[1]])
            return builder.load(builder.bitcast(ptr, _VEC["f"].as_pointer()), align=8)
        return _VF(addr, i), codegen


@intrinsic
def vstore_at(typingctx, addr, i, x):
    if isinstance(addr, types.Integer) and isinstance(i, types.Integer) and x == _VF:
        def codegen(context, builder, sig, args):
            ptr = builder.gep(builder.inttoptr(args[0], _F64.as_pointer()), [args[1]])
            builder.store(args[2], builder.bitcast(ptr, _VEC["f"].as_pointer()), align=8)
            return context.get_dummy_value()
        return types.none(addr, i, x), codegen


@intrinsic
def int_at(typingctx, addr, i):
    """The int64 at ``addr`` + ``i`` int64s."""
    if isinstance(addr, types.Integer) and isinstance(i, types.Integer):
        def codegen(context, builder, sig, args):
            ptr = builder.gep(builder.inttoptr(args[0], _I64.as_pointer()), [args[1]])
            return builder.load(ptr, align=8)
        return types.int64(addr, i), codegen



@intrinsic
def call_f64_at(typingctx, fn, v):
    """Call the C function ``double f(double)`` at address ``fn`` (a ``numba.cfunc``'s
    ``address``) on the double ``v``: how kernels reach functions registered at run time
    without becoming uncacheable."""
    if isinstance(fn, types.Integer) and isinstance(v, types.Float):
        def codegen(context, builder, sig, args):
            fnty = ir.FunctionType(_F64, [_F64])
            ptr = builder.inttoptr(args[0], fnty.as_pointer())
            return builder.call(ptr, [context.cast(builder, args[1], sig.args[1],
                                                   types.float64)])
        return types.float64(fn, v), codegen
