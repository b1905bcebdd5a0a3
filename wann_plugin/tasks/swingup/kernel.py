"""The compiled swing-up kernel: network forward and physics of many episodes in one call.

:class:`~wann_plugin.tasks.swingup.SwingUpTask` hands this module a batch of networks;
:func:`run_shared` runs every (network, weight, repetition) episode of the batch in one
``numba`` call, with no Python per network or per step.

Layout
    The networks are packed into a :class:`~wann_plugin.compiled.KernelLayout` (pruned to
    the nodes the output needs). One network's episodes run together in *slots*: node
    values are a flat ``(n_nodes, n_slots)`` array, each node is computed for ``LANES`` (8)
    consecutive slots at a time by the shared activation dispatch
    (:mod:`wann_plugin.compiled.dispatch`: SIMD polynomials, or libm under ``exact_math``),
    and the physics runs slot by slot.
Operation order
    As :mod:`wann_plugin.compiled`: networks of linear, step, inverse, abs, relu and square
    nodes score exactly as on the numpy path. Where a polynomial differs from numpy in the
    last bit, the chaotic episodes can move one return by whole points a few hundred steps
    later; the tests check the kernel step by step against numpy instead (at 1e-9).
Finished episodes
    An episode that ends (cart off the track, or a non-finite network output, which scores
    ``worst``) is swapped out of the active slots (the last active slot moves into it and
    the freed slot is zeroed, so that padding lanes stay finite); only
    ``ceil(active / LANES)`` lane groups are computed per step, and a network's loop stops
    when no episode is left. A non-finite value stays in its own lane.
Physics
    The kernel compiles the task's own formulas (:func:`~wann_plugin.tasks.swingup.physics.dynamics`,
    :func:`~wann_plugin.tasks.swingup.physics.reward`) with libm's sin and cos: the physics
    exists once and matches the numpy path bit for bit. numba's on-disk cache
    (``cache=True``) does not notice edits to those functions, because they live in another
    file: after changing the swing-up physics or :mod:`wann_plugin.compiled`, delete
    ``wann_plugin/tasks/swingup/__pycache__/kernel.*.nbi`` and ``*.nbc`` (the kernel-vs-numpy
    tests catch a stale cache).
Compile time
    The first call in a fresh environment compiles the packer and the shared-weight kernel
    (10-30 s on one core of the development machine: the activation dispatch is inlined
    into the kernel; the per-connection kernel, for tuning, as long again on its first
    use); the machine code is cached on disk next to this file, and later processes load it
    in under half a second.
Speed (``benchmarks/bench_swingup.py``)
    4-5.5 M environment steps per second of one core over the benchmark population (mean
    150 connections; 1.4 M before the SIMD lanes), 11-15 M for networks under 50
    connections, 2-3 M at 250-300. The transcendental nodes take the largest share, then the
    fixed cost per node and step, then the physics (libm's sincos and cos, about 30 ns a
    step). When measuring changes here, time the code loaded from the on-disk cache: numba
    caches the kernel's whole linked module, and its machine code can differ from what a
    fresh compile runs in the same process (a helper split out for register pressure ran
    twice as slow from the cache).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from wann_plugin.compiled.dispatch import activate_conn, activate_shared, compiled_forms
from wann_plugin.compiled.lanes import LANES, addr, int_at, keep_alive
from wann_plugin.compiled.layout import KernelLayout
from wann_plugin.network import WannNetwork
from wann_plugin.tasks.swingup import physics

__all__ = ["N_OBS", "TRACE_FIELDS", "run_conn", "run_shared"]

N_OBS = 5  # x, x_dot, cos, sin, theta_dot
#: Per step and episode, a trace holds x, x_dot, theta, theta_dot (before the step), the
#: network output and the reward.
TRACE_FIELDS = 6

_dynamics = numba.njit(cache=True, error_model="numpy")(physics.dynamics)
_reward = numba.njit(cache=True, error_model="numpy")(physics.reward)
_X_THRESHOLD = physics.X_THRESHOLD
_FORCE_MAG = physics.FORCE_MAG


def _layout(nets: Sequence[WannNetwork]) -> KernelLayout:
    for net in nets:
        if net.n_inputs != N_OBS or net.n_outputs != 1:
            raise ValueError(f"network {net.key!r} must have {N_OBS} inputs and 1 output")
    return KernelLayout(nets)


def run_shared(nets: Sequence[WannNetwork], weights: np.ndarray, init_states: np.ndarray, *,
               max_steps: int, worst: float, trace: np.ndarray | None = None,
               exact_math: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Every network at every shared weight on every initial state.

    Parameters
    ----------
    nets : sequence of WannNetwork
        Every activation compiled (:attr:`WannNetwork.uses_compiled_activations`).
    weights : ndarray of shape (n_weights,)
    init_states : ndarray of shape (n_repeats, 4)
    max_steps : int
    worst : float
        Score of an episode whose network output is not finite.
    trace : ndarray of shape (n_nets, max_steps, n_weights * n_repeats, 6), optional
        Filled with ``[x, x_dot, theta, theta_dot, output, reward]`` per step (state before
        the step); rows after an episode's end are left untouched. For tests.
    exact_math : bool, default=False
        Compute sin, cos, gaussian, tanh and sigmoid nodes with libm (slower) instead of the
        SIMD polynomials (see the module notes).

    Returns
    -------
    scores : ndarray of shape (n_nets, n_weights, n_repeats)
    steps : ndarray of shape (n_nets, n_weights, n_repeats), int64
    """
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    init = np.ascontiguousarray(init_states, dtype=np.float64)
    n_w, n_r = len(weights), len(init)
    packed = _layout(nets)
    ep_weight = np.repeat(weights, n_r)
    scores, steps = _run(packed, True, ep_weight, np.zeros((0, 0)), init, n_r, max_steps,
                         worst, trace, exact_math)
    return scores.reshape(len(nets), n_w, n_r), steps.reshape(len(nets), n_w, n_r)


def run_conn(net: WannNetwork, conn_weights: np.ndarray, init_states: np.ndarray, *,
             max_steps: int, worst: float, trace: np.ndarray | None = None,
             exact_math: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One network under per-connection weight vectors on every initial state.

    Parameters
    ----------
    conn_weights : ndarray of shape (n_sets, n_connections)
        In the network's connection order.
    init_states : ndarray of shape (n_repeats, 4)
    trace : ndarray of shape (1, max_steps, n_sets * n_repeats, 6), optional
    exact_math : bool, default=False
        As in :func:`run_shared`.

    Returns
    -------
    scores, steps : ndarrays of shape (n_sets, n_repeats)
    """
    init = np.ascontiguousarray(init_states, dtype=np.float64)
    cw = np.asarray(conn_weights, dtype=np.float64)
    n_s, n_r = cw.shape[0], len(init)
    packed = _layout([net])
    # (kept connections, episodes): episode e = set * n_repeats + repeat
    ep_cw = np.ascontiguousarray(np.repeat(cw[:, packed.conn_index].T, n_r, axis=1))
    scores, steps = _run(packed, False, np.zeros(n_s * n_r), ep_cw, init, n_r, max_steps,
                         worst, trace, exact_math)
    return scores.reshape(n_s, n_r), steps.reshape(n_s, n_r)


def _run(packed, shared, ep_weight, ep_cw, init, n_r, max_steps, worst, trace, exact_math):
    n_nets = len(packed.node_lo)
    n_ep = len(ep_weight)
    scores = np.empty((n_nets, n_ep))
    steps = np.empty((n_nets, n_ep), dtype=np.int64)
    if trace is None:
        trace = np.zeros((0, 0, 0, TRACE_FIELDS))
    elif trace.shape != (n_nets, max_steps, n_ep, TRACE_FIELDS) or trace.dtype != np.float64:
        raise ValueError(f"trace must be float64 of shape {(n_nets, max_steps, n_ep, 6)}")
    if n_nets:
        kernel = _kernel_shared if shared else _kernel_conn
        kernel(packed.node_lo, packed.n_nodes, packed.acts, packed.cin_lo, packed.cin_hi,
               packed.conn_src, packed.conn_lo, bool(exact_math), ep_weight, ep_cw, init,
               int(n_r), int(max_steps), float(worst), scores, steps, trace,
               compiled_forms(packed.acts))
    return scores, steps


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _kernel_shared(node_lo, n_nodes, acts, cin_lo, cin_hi, conn_src, conn_lo, exact, ep_weight,
                   ep_cw, init, n_r, max_steps, worst, scores, steps, trace, forms):
    _episodes(node_lo, n_nodes, acts, cin_lo, cin_hi, conn_src, conn_lo, True, exact, ep_weight,
              ep_cw, init, n_r, max_steps, worst, scores, steps, trace, forms)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _kernel_conn(node_lo, n_nodes, acts, cin_lo, cin_hi, conn_src, conn_lo, exact, ep_weight,
                 ep_cw, init, n_r, max_steps, worst, scores, steps, trace, forms):
    _episodes(node_lo, n_nodes, acts, cin_lo, cin_hi, conn_src, conn_lo, False, exact,
              ep_weight, ep_cw, init, n_r, max_steps, worst, scores, steps, trace, forms)


@numba.njit(error_model="numpy")
def _episodes(node_lo, n_nodes, acts, cin_lo, cin_hi, conn_src, conn_lo, shared, exact,
              ep_weight, ep_cw, init, n_r, max_steps, worst, scores, steps, trace, forms):
    """Every episode of every network; ``shared`` is a constant in each caller, so each
    kernel is compiled for one weight mode."""
    n_nets = node_lo.shape[0]
    n_ep = ep_weight.shape[0]
    record = trace.shape[0] > 0
    L = (n_ep + LANES - 1) // LANES * LANES  # slots: whole lane groups
    max_nodes = 0
    max_conns = 0
    for k in range(n_nets):
        max_nodes = max(max_nodes, n_nodes[k])
        max_conns = max(max_conns, conn_lo[k + 1] - conn_lo[k])
    # node i of slot e at vals[i * L + e]; rows start on 64-byte boundaries (L is a
    # multiple of LANES) so that no lane group straddles two cache lines
    buf = np.zeros(max_nodes * L + 8)
    skip = (-addr(buf) % 64) // 8
    vals = buf[skip:skip + max_nodes * L]
    # per slot: state, sin/cos of theta, return, weight, episode index
    xs = np.zeros(L)
    xds = np.zeros(L)
    ths = np.zeros(L)
    thds = np.zeros(L)
    sins = np.zeros(L)
    coss = np.zeros(L)
    rets = np.zeros(L)
    ws = np.zeros(L)
    ep = np.zeros(L, dtype=np.int64)
    done = np.zeros(L, dtype=np.bool_)
    cw = np.zeros((0 if shared else max_conns) * L)  # connection c of slot e at c * L + e
    src_row = conn_src * L  # offset of each connection's source row in vals
    vals_at = addr(vals)
    ws_at = addr(ws)
    acts_at = addr(acts)
    lo_at = addr(cin_lo)
    hi_at = addr(cin_hi)
    forms_at = addr(forms)  # compiled forms of registered activations, by id

    for k in range(n_nets):
        base = node_lo[k]
        nn = n_nodes[k]
        c0 = conn_lo[k]
        nc = conn_lo[k + 1] - c0
        src_at = addr(src_row) + 8 * c0  # the network's connections
        cw_at = addr(cw)
        for e in range(L):
            if e < n_ep:
                r = e % n_r
                xs[e] = init[r, 0]
                xds[e] = init[r, 1]
                ths[e] = init[r, 2]
                thds[e] = init[r, 3]
                sins[e] = np.sin(ths[e])
                coss[e] = np.cos(ths[e])
                ws[e] = ep_weight[e]
            else:  # padding slots compute on zeros
                xs[e] = xds[e] = ths[e] = thds[e] = sins[e] = coss[e] = ws[e] = 0.0
            rets[e] = 0.0
            ep[e] = e
            done[e] = False
            vals[e] = 1.0  # bias
        if not shared:
            for c in range(nc):
                for e in range(L):
                    cw[c * L + e] = ep_cw[c0 + c, e] if e < n_ep else 0.0
        n = n_ep
        t = 0
        while n > 0 and t < max_steps:
            m = (n + LANES - 1) // LANES * LANES
            # observation: bias, x, x_dot, cos th, sin th, th_dot
            for e in range(m):
                vals[L + e] = xs[e]
                vals[2 * L + e] = xds[e]
                vals[3 * L + e] = coss[e]
                vals[4 * L + e] = sins[e]
                vals[5 * L + e] = thds[e]
            for i in range(1 + N_OBS, nn):
                g = base + i
                lo = int_at(lo_at, g) - c0
                hi = int_at(hi_at, g) - c0
                a = int_at(acts_at, g)
                d = i * L
                if shared:
                    activate_shared(a, exact, vals_at, d, m, (vals_at, src_at, lo, hi, ws_at),
                                    forms_at)
                else:
                    activate_conn(a, exact, vals_at, d, m, (vals_at, src_at, lo, hi, cw_at, L),
                                  forms_at)
            out = (nn - 1) * L
            for e in range(n):  # the physics, slot by slot
                action = vals[out + e]
                if record:
                    trace[k, t, ep[e], 0] = xs[e]
                    trace[k, t, ep[e], 1] = xds[e]
                    trace[k, t, ep[e], 2] = ths[e]
                    trace[k, t, ep[e], 3] = thds[e]
                    trace[k, t, ep[e], 4] = action
                if not np.isfinite(action):
                    rets[e] = worst
                    done[e] = True
                    continue
                force = min(max(action, -1.0), 1.0) * _FORCE_MAG
                xn, xdn, thn, thdn = _dynamics(xs[e], xds[e], ths[e], thds[e], force, sins[e],
                                               coss[e])
                sn = np.sin(thn)
                cn = np.cos(thn)
                rew = _reward(xn, cn)
                rets[e] += rew
                if record:
                    trace[k, t, ep[e], 5] = rew
                xs[e] = xn
                xds[e] = xdn
                ths[e] = thn
                thds[e] = thdn
                sins[e] = sn
                coss[e] = cn
                done[e] = xn < -_X_THRESHOLD or xn > _X_THRESHOLD
            t += 1
            # retire finished episodes: move the last active slot into each freed one
            for e in range(n - 1, -1, -1):
                if not done[e]:
                    continue
                j = ep[e]
                scores[k, j] = rets[e] if np.isfinite(rets[e]) else worst
                steps[k, j] = t
                last = n - 1
                if e != last:
                    xs[e] = xs[last]
                    xds[e] = xds[last]
                    ths[e] = ths[last]
                    thds[e] = thds[last]
                    sins[e] = sins[last]
                    coss[e] = coss[last]
                    rets[e] = rets[last]
                    ws[e] = ws[last]
                    ep[e] = ep[last]
                    done[e] = done[last]
                    if not shared:
                        for c in range(nc):
                            cw[c * L + e] = cw[c * L + last]
                # the freed slot becomes padding: zeros keep its lanes finite and cheap
                xs[last] = xds[last] = ths[last] = thds[last] = 0.0
                sins[last] = coss[last] = ws[last] = 0.0
                done[last] = False
                if not shared:
                    for c in range(nc):
                        cw[c * L + last] = 0.0
                n -= 1
        for e in range(n):  # reached max_steps
            scores[k, ep[e]] = rets[e] if np.isfinite(rets[e]) else worst
            steps[k, ep[e]] = t
    # the loops reach these through their addresses only: keep them until here
    keep_alive(buf)
    keep_alive(vals)
    keep_alive(ws)
    keep_alive(cw)
    keep_alive(src_row)
