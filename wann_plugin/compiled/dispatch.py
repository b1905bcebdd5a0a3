"""The one activation dispatch of every compiled kernel, and its lane-wise activations.

:func:`make_activate_node` holds the dispatch: the function it builds computes one node over
a row of slots, from a function that computes the node's input for one lane group (shared or
per-connection weights, or a kernel's own layout), and applies activation ``act_id`` with the
fast SIMD polynomials of :mod:`~wann_plugin.compiled.simd_math`, or with libm when ``exact``.
The swing-up kernel, the generic batched forward (:mod:`~wann_plugin.compiled.forward`) and
:func:`activate_array` (what the tests measure) all run it, so every task computes an
activation with the same math.

The formulas are those of :mod:`wann_plugin.activations` (ids 1..11), in numpy's operation
order: linear, step, inverse, abs, relu and square give numpy's values bit for bit; sin, cos,
gaussian, tanh and sigmoid agree with numpy to 1-2 ulp (see
:mod:`~wann_plugin.compiled.simd_math`), and with ``exact`` equal libm's (numpy's own where
numpy calls libm).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types

from wann_plugin.activations import ACTIVATIONS, BUILTIN_MAX_ID, activation_by_id
from wann_plugin.compiled.lanes import (
    LANES,
    addr,
    call_f64_at,
    int_at,
    vadd,
    veq,
    vge,
    vget,
    vgt,
    vload_at,
    vmul,
    vneg,
    vsel,
    vset,
    vsplat,
    vstore_at,
)
from wann_plugin.compiled.simd_math import vabs, vexp, vsincos, vtanh

__all__ = ["TRANSCENDENTAL_IDS", "activate_array", "activate_conn", "activate_shared",
           "compiled_forms", "conn_input", "libm_activation", "make_activate_node",
           "shared_input"]

#: Activation ids computed by polynomials by default and by libm under ``exact_math``.
TRANSCENDENTAL_IDS = (3, 4, 5, 6, 10)


# ------------------------------------------------------------------------- lane-wise forms
@numba.njit(error_model="numpy")
def vstep(x):  # unsigned step
    return vsel(vgt(x, 0.0), 1.0, 0.0)


@numba.njit(error_model="numpy")
def vsinpi(x):  # sin(pi x); sin(-0) = -0 (the polynomial gives +0)
    return vsel(veq(x, 0.0), x, vsincos(vmul(x, np.pi), 0))


@numba.njit(error_model="numpy")
def vgaussian(x):  # exp(-x * x / 2), in numpy's operation order
    return vexp(vmul(vmul(vneg(x), x), 0.5))


@numba.njit(error_model="numpy")
def vsigmoid(x):  # (tanh(x / 2) + 1) / 2
    return vmul(vadd(vtanh(vmul(x, 0.5)), 1.0), 0.5)


@numba.njit(error_model="numpy")
def vrelu(x):  # as np.maximum(0, x): NaN propagates
    return vsel(vge(0.0, x), 0.0, x)


@numba.njit(error_model="numpy")
def vcospi(x):  # cos(pi x)
    return vsincos(vmul(x, np.pi), 1)


@numba.njit(error_model="numpy")
def libm_activation(act_id, v):
    """Transcendental activation ``act_id`` of one double with libm, as
    :mod:`wann_plugin.activations` writes it (the ``exact_math`` path)."""
    if act_id == 3:
        return np.sin(np.pi * v)
    if act_id == 4:
        return np.exp(-v * v / 2.0)
    if act_id == 5:
        return np.tanh(v)
    if act_id == 6:
        return (np.tanh(v / 2.0) + 1.0) / 2.0
    return np.cos(np.pi * v)  # 10


@numba.njit(error_model="numpy")
def _vlibm(act_id, x):
    res = x
    for j in range(LANES):
        res = vset(res, j, libm_activation(act_id, vget(x, j)))
    return res


# ------------------------------------------------------------------------- the dispatch
def make_activate_node(node_input):
    """The one activation dispatch, compiled for one way of computing node inputs.

    Parameters
    ----------
    node_input : numba function
        ``node_input(o, args)`` -> the node's input for slots ``o .. o + LANES - 1``
        (:func:`shared_input`, :func:`conn_input`, or a kernel's own).

    Returns
    -------
    numba function ``activate_node(act_id, exact, vals_at, d, m, args, table_at=0)``
        Computes one node over ``m`` slots (a multiple of ``LANES``):
        ``vals[d + o : d + o + LANES] = act(node_input(o, args))`` for ``o`` in
        ``0, LANES, ..., m - LANES``, where ``vals_at`` is the address of the node-value
        buffer (:func:`~wann_plugin.compiled.lanes.addr`) and ``d`` the node's row offset in
        doubles. Built-in ids 1..11 are SIMD code here; ``exact`` computes the
        transcendental ones (:data:`TRANSCENDENTAL_IDS`) with libm. Any other id calls the
        activation's registered ``compiled`` form lane by lane, found in the table at
        ``table_at`` (the address of :func:`compiled_forms`; 0 or a missing entry raises
        ``ValueError``). One loop per activation: a branch per node, none per lane group.

    Notes
    -----
    ``node_input`` is bound at compile time (a closure) rather than passed as an argument:
    numba passes a function argument that LLVM does not inline as a pointer to a Python
    object, which makes the calling kernel uncacheable. ``activate_node`` and the node
    inputs are inlined by numba (``inline="always"``): a call per node costs as much as a
    small node's work (the swing-up kernel ran 10 % slower as a call).
    """

    @numba.njit(error_model="numpy", inline="always")
    def activate_node(act_id, exact, vals_at, d, m, args, table_at=0):
        if exact and (act_id == 3 or act_id == 4 or act_id == 5 or act_id == 6
                      or act_id == 10):
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, _vlibm(act_id, node_input(o, args)))
        elif act_id == 1:  # linear
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, node_input(o, args))
        elif act_id == 2:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vstep(node_input(o, args)))
        elif act_id == 3:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vsinpi(node_input(o, args)))
        elif act_id == 4:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vgaussian(node_input(o, args)))
        elif act_id == 5:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vtanh(node_input(o, args)))
        elif act_id == 6:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vsigmoid(node_input(o, args)))
        elif act_id == 7:  # inverse
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vneg(node_input(o, args)))
        elif act_id == 8:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vabs(node_input(o, args)))
        elif act_id == 9:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vrelu(node_input(o, args)))
        elif act_id == 10:
            for o in range(0, m, LANES):
                vstore_at(vals_at, d + o, vcospi(node_input(o, args)))
        elif act_id == 11:  # square
            for o in range(0, m, LANES):
                x = node_input(o, args)
                vstore_at(vals_at, d + o, vmul(x, x))
        else:
            fn = int_at(table_at, act_id) if table_at != 0 else 0
            if fn == 0:
                raise ValueError("an activation without a compiled form reached a compiled "
                                 "kernel")
            for o in range(0, m, LANES):
                x = node_input(o, args)
                res = x
                for j in range(LANES):
                    res = vset(res, j, call_f64_at(fn, vget(x, j)))
                vstore_at(vals_at, d + o, res)

    return activate_node


# ------------------------------------------------------------------------- registered forms
_CFUNCS: dict[str, tuple] = {}  # name -> (compiled form, its numba.cfunc), kept alive
_NO_FORMS = np.zeros(1, dtype=np.int64)


def compiled_forms(act_ids=None) -> np.ndarray:
    """Addresses of the registered activations' ``compiled`` forms, by activation id.

    Each form is compiled once per process (``numba.cfunc``, ``double(double)``) on first
    use; the kernels call it through :func:`~wann_plugin.compiled.lanes.call_f64_at`, so a
    kernel's cached machine code does not depend on what is registered.

    Parameters
    ----------
    act_ids : iterable of int, optional
        The activations a batch uses (default: every registered one).

    Returns
    -------
    ndarray of shape (max_id + 1,), int64
        0 for ids without a compiled form (and for the built-ins, computed as SIMD code).

    Raises
    ------
    TypeError
        If numba cannot compile a form that is needed, naming the activation.
    """
    if act_ids is not None:
        ids = np.unique(np.asarray(act_ids))
        if ids.size == 0 or ids[-1] <= BUILTIN_MAX_ID:
            return _NO_FORMS  # built-ins only: the kernels never read the table
    table = np.zeros(max(a.id for a in ACTIVATIONS.values()) + 1, dtype=np.int64)
    wanted = (ACTIVATIONS.values() if act_ids is None
              else [activation_by_id(int(a)) for a in ids])
    for act in wanted:
        if act.compiled is None:
            continue
        entry = _CFUNCS.get(act.name)
        if entry is None or entry[0] is not act.compiled:
            try:
                cf = numba.cfunc(types.float64(types.float64),
                                 error_model="numpy")(act.compiled)
            except Exception as exc:  # numba's typing and lowering errors
                raise TypeError(f"activation {act.name!r}: numba cannot compile its compiled "
                                f"form {act.compiled!r}: {exc}") from exc
            entry = _CFUNCS[act.name] = (act.compiled, cf)
        table[act.id] = entry[1].address
    return table


# ------------------------------------------------------------------------- node inputs
# The two ``node_input`` functions of the kernels whose node values are rows of ``L`` slots
# (node i of slot e at ``vals[i * L + e]``). In numpy's operation order: ``w * (v0 + v1 + ...)``
# with a shared weight (as WannNetwork.activate), ``v0 w0 + v1 w1 + ...`` with per-connection
# weights (as WannNetwork.activate_weights), sums left to right, no fused multiply-adds.
@numba.njit(error_model="numpy", inline="always")
def shared_input(o, args):
    """Input of a node for slots ``o .. o + LANES - 1`` with the shared weight of each slot
    at ``ws_at``; ``src_at`` holds the offsets (``src * L``) of the connections' source rows,
    the node's connections are ``lo:hi``; ``args = (vals_at, src_at, lo, hi, ws_at)``."""
    vals_at, src_at, lo, hi, ws_at = args
    w = vload_at(ws_at, o)
    if hi == lo:
        return vmul(w, 0.0)
    x = vload_at(vals_at, int_at(src_at, lo) + o)
    for c in range(lo + 1, hi):
        x = vadd(x, vload_at(vals_at, int_at(src_at, c) + o))
    return vmul(w, x)


@numba.njit(error_model="numpy", inline="always")
def conn_input(o, args):
    """As :func:`shared_input` with per-connection weights: connection ``c``'s weight for slot
    ``e`` at ``cw_at`` + ``c * L + e``; ``args = (vals_at, src_at, lo, hi, cw_at, L)``."""
    vals_at, src_at, lo, hi, cw_at, L = args
    if hi == lo:
        return vsplat(0.0)
    x = vmul(vload_at(vals_at, int_at(src_at, lo) + o), vload_at(cw_at, lo * L + o))
    for c in range(lo + 1, hi):
        x = vadd(x, vmul(vload_at(vals_at, int_at(src_at, c) + o),
                         vload_at(cw_at, c * L + o)))
    return x


#: :func:`make_activate_node` for nodes of rows of slots, with a shared weight per slot
#: (``args = (vals_at, src_at, lo, hi, ws_at)``) ...
activate_shared = make_activate_node(shared_input)
#: ... or with per-connection weights (``args = (vals_at, src_at, lo, hi, cw_at, L)``).
activate_conn = make_activate_node(conn_input)


# ------------------------------------------------------------------------- for tests
@numba.njit(error_model="numpy")
def _load_input(o, args):
    return vload_at(args[0], o)


_activate_loaded = make_activate_node(_load_input)


@numba.njit(cache=True, error_model="numpy")
def _activate_kernel(act_id, exact, src, dst, table):
    _activate_loaded(act_id, exact, addr(dst), 0, dst.shape[0], (addr(src),), addr(table))


def activate_array(act_id: int, x: np.ndarray, *, exact_math: bool = False) -> np.ndarray:
    """Activation ``act_id`` of a 1-D array through :func:`make_activate_node`, the dispatch
    every kernel runs (built-ins, and registered activations with a ``compiled`` form).

    Examples
    --------
    >>> activate_array(9, np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    n = len(x)
    size = -(-n // LANES) * LANES
    src = np.zeros(size)
    src[:n] = x
    dst = np.empty(size)
    _activate_kernel(int(act_id), bool(exact_math), src, dst, compiled_forms([act_id]))
    return dst[:n].copy()
