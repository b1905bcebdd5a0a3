"""The compiled code every task shares (numba).

Modules, bottom up:

:mod:`~wann_plugin.compiled.lanes`
    A SIMD vector of ``LANES`` doubles as a numba type, and its operations.
:mod:`~wann_plugin.compiled.simd_math`
    Branch-free sin, cos, exp and tanh on lanes (1-2 ulp of numpy).
:mod:`~wann_plugin.compiled.dispatch`
    :func:`~wann_plugin.compiled.dispatch.make_activate_node`, the one activation
    dispatch: every kernel computes a node's
    activation through it, with the SIMD polynomials by default or libm under
    ``exact_math``, so the math is the same in every task.
:mod:`~wann_plugin.compiled.layout`
    :class:`KernelLayout`, networks as the flat arrays kernels walk, pruned with
    :meth:`WannNetwork.required_nodes <wann_plugin.network.WannNetwork.required_nodes>`.
:mod:`~wann_plugin.compiled.forward`
    :class:`BatchedForward`, the generic compiled forward of one network over many rows
    (gym and classification tasks).
:mod:`~wann_plugin.compiled.edits`
    The connection-array edits the compile cache patches a child's network with (one
    compiled call instead of a dozen small numpy ones).

A task-specific kernel lives beside its task (``wann_plugin/tasks/swingup/kernel.py``) and
imports from here, never the other way round.

Operation order
    With a shared weight a node's input is ``w * (v_0 + v_1 + ...)`` (as
    :meth:`WannNetwork.activate`), with per-connection weights ``v_0 w_0 + v_1 w_1 + ...``
    (as :meth:`WannNetwork.activate_weights`), sums left to right, no fused multiply-adds
    outside the polynomials: networks of linear, step, inverse, abs, relu and square nodes
    compute exactly what the numpy path computes.
Compile time
    The first call in a fresh environment compiles each kernel (several seconds); the machine
    code is cached on disk next to the modules (``cache=True``), and later processes load it
    in under half a second. numba's cache does not notice edits to a jitted function that a
    cached kernel calls from another file: after editing this package, delete its
    ``__pycache__/*.nbi`` and ``*.nbc`` files and those of the kernels that import it.
"""

from wann_plugin.compiled.dispatch import (
    TRANSCENDENTAL_IDS,
    activate_array,
    activate_conn,
    activate_shared,
    compiled_forms,
    make_activate_node,
)
from wann_plugin.compiled.forward import BLOCK, ENGINES, BatchedForward
from wann_plugin.compiled.lanes import LANES
from wann_plugin.compiled.layout import KernelLayout

__all__ = ["BLOCK", "ENGINES", "LANES", "TRANSCENDENTAL_IDS", "BatchedForward", "KernelLayout",
           "activate_array", "activate_conn", "activate_shared", "compiled_forms",
           "make_activate_node"]
