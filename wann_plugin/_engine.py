"""The compiled swing-up engine: network forward and physics of many episodes in one call.

:class:`~wann_plugin.tasks.swingup.SwingUpTask` hands this module a batch of compiled
networks; :func:`run_shared` runs every (network, weight, repetition) episode of the batch in
one ``numba`` call, with no Python per network or per step.

Layout
    All networks of a batch are concatenated into flat arrays (activation id and incoming
    connection range per node, local source index per connection) with per-network offsets.
    Nodes that cannot reach the output (``WannNetwork.required_nodes``) are dropped. One
    network's episodes run together: node values are an ``(n_nodes, n_episodes)`` array, so
    every inner loop runs over episodes, contiguous in memory.
Shared and per-connection weights
    One kernel serves both: with a shared weight the node input is ``w_e * sum(sources)`` (as
    :meth:`WannNetwork.activate`); with per-connection weights it is ``sum(w_ce * source)`` (as
    :meth:`WannNetwork.activate_weights`), same operation order, so the engine matches the
    numpy path bit for bit wherever numpy and the C library compute the same functions
    (numpy's own SIMD ``tanh`` and ``exp`` differ from libm by an ulp at times; the episodes
    are chaotic, so such an ulp can change a return by whole points).
Finished episodes
    An episode that ends (cart off the track, or a non-finite network output, which scores
    ``worst``) is swapped out of the active set; a network's loop stops when none is left.
Physics
    The kernel compiles the task's own formulas (``swingup._dynamics``, ``swingup._reward``):
    the physics exists once. numba's on-disk cache (``cache=True``) does not notice edits to
    those functions, because they live in another file: after changing the swing-up physics,
    delete ``wann_plugin/__pycache__/_engine.*.nbi`` and ``*.nbc`` (the engine-vs-numpy tests
    catch a stale cache).
Compile time
    The first call in a fresh environment compiles the kernel (about 4 s on one core of the
    development machine); the machine code is cached on disk next to this file, and later
    processes load it in about 0.5 s.
Speed (``benchmarks/bench_swingup.py``)
    About 3 M steps/s for networks under 50 connections, 0.3-0.5 M steps/s at 200-300, about
    0.7-0.9 M steps/s over the benchmark population (mean 150 connections). Roughly 60 % of
    the time is the scalar libm calls of the sin, cos, gaussian, tanh and sigmoid nodes
    (about 10 ns each); going much faster needs SIMD versions of those functions, which
    would no longer match numpy's results bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks import swingup as _sw

__all__ = ["pack_networks", "run_conn", "run_shared"]

N_OBS = 5  # x, x_dot, cos, sin, theta_dot
_TRACE_FIELDS = 6  # x, x_dot, theta, theta_dot (before the step), output, reward

_dynamics = numba.njit(cache=True)(_sw._dynamics)
_reward = numba.njit(cache=True)(_sw._reward)
_X_THRESHOLD = _sw.X_THRESHOLD
_FORCE_MAG = _sw.FORCE_MAG


class PackedNetworks:
    """A batch of networks as flat arrays (pruned to the nodes the output needs).

    Attributes
    ----------
    node_lo : ndarray of shape (n_nets,), int64
        First node of each network in the flat node arrays.
    n_nodes : ndarray of shape (n_nets,), int64
        Kept nodes per network (bias and inputs included; the output is the last one).
    acts : ndarray of shape (total_nodes,), int64
        Activation id per node.
    cin_lo, cin_hi : ndarray of shape (total_nodes,), int64
        Each node's incoming connections in the flat connection arrays.
    conn_src : ndarray of shape (total_conns,), int64
        Source of each connection, as a node index local to its network.
    conn_lo : ndarray of shape (n_nets + 1,), int64
        Each network's connection range.
    conn_index : ndarray of shape (total_conns,), int64
        The connection's index in its ``WannNetwork`` (to place per-connection weights).
    """

    def __init__(self, nets: Sequence[WannNetwork]):
        acts, cin_lo, cin_hi, src, index = [], [], [], [], []
        node_lo = np.zeros(len(nets), dtype=np.int64)
        n_nodes = np.zeros(len(nets), dtype=np.int64)
        conn_lo = np.zeros(len(nets) + 1, dtype=np.int64)
        n_total_nodes = n_total_conns = 0
        for k, net in enumerate(nets):
            if net.n_inputs != N_OBS or net.n_outputs != 1:
                raise ValueError(f"network {net.key!r} must have {N_OBS} inputs and 1 output")
            n_fixed = 1 + net.n_inputs
            keep = net.required_nodes()
            keep[:n_fixed] = True
            kept = np.flatnonzero(keep)
            local = np.full(net.n_nodes, -1, dtype=np.int64)
            local[kept] = np.arange(len(kept))
            # connections into kept computed nodes, in the network's CSR order
            ptr = net.in_ptr
            counts = np.zeros(len(kept), dtype=np.int64)
            counts[n_fixed:] = ptr[kept[n_fixed:] + 1] - ptr[kept[n_fixed:]]
            conn_ids = np.concatenate(
                [np.arange(ptr[i], ptr[i + 1]) for i in kept[n_fixed:]] or [np.zeros(0, int)]
            ).astype(np.int64)
            starts = n_total_conns + np.concatenate(([0], np.cumsum(counts)[:-1]))
            node_lo[k], n_nodes[k] = n_total_nodes, len(kept)
            conn_lo[k] = n_total_conns
            acts.append(net.activations[kept].astype(np.int64))
            cin_lo.append(starts)
            cin_hi.append(starts + counts)
            src.append(local[net.conn_src[conn_ids]])
            index.append(conn_ids)
            n_total_nodes += len(kept)
            n_total_conns += len(conn_ids)
        conn_lo[-1] = n_total_conns
        cat = lambda parts: np.ascontiguousarray(  # noqa: E731
            np.concatenate(parts) if parts else np.zeros(0, np.int64), dtype=np.int64)
        self.node_lo, self.n_nodes, self.conn_lo = node_lo, n_nodes, conn_lo
        self.acts, self.cin_lo, self.cin_hi = cat(acts), cat(cin_lo), cat(cin_hi)
        self.conn_src, self.conn_index = cat(src), cat(index)
        if np.any(self.conn_src < 0):  # a kept node never reads a dropped one
            raise RuntimeError("pruning dropped a node that a kept node reads")


def pack_networks(nets: Sequence[WannNetwork]) -> PackedNetworks:
    """Flatten a batch of 5-input, 1-output networks for the kernel."""
    return PackedNetworks(nets)


def run_shared(nets: Sequence[WannNetwork], weights: np.ndarray, init_states: np.ndarray, *,
               max_steps: int, worst: float,
               trace: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every network at every shared weight on every initial state.

    Parameters
    ----------
    nets : sequence of WannNetwork
        Built-in activations only (ids 1..11).
    weights : ndarray of shape (n_weights,)
    init_states : ndarray of shape (n_repeats, 4)
    max_steps : int
    worst : float
        Score of an episode whose network output is not finite.
    trace : ndarray of shape (n_nets, max_steps, n_weights * n_repeats, 6), optional
        Filled with ``[x, x_dot, theta, theta_dot, output, reward]`` per step (state before
        the step); rows after an episode's end are left untouched. For tests.

    Returns
    -------
    scores : ndarray of shape (n_nets, n_weights, n_repeats)
    steps : ndarray of shape (n_nets, n_weights, n_repeats), int64
    """
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    init = np.ascontiguousarray(init_states, dtype=np.float64)
    n_w, n_r = len(weights), len(init)
    packed = PackedNetworks(nets)
    ep_weight = np.repeat(weights, n_r)
    scores, steps = _run(packed, True, ep_weight, np.zeros((0, 0)), init, n_r, max_steps,
                         worst, trace)
    return scores.reshape(len(nets), n_w, n_r), steps.reshape(len(nets), n_w, n_r)


def run_conn(net: WannNetwork, conn_weights: np.ndarray, init_states: np.ndarray, *,
             max_steps: int, worst: float,
             trace: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One network under per-connection weight vectors on every initial state.

    Parameters
    ----------
    conn_weights : ndarray of shape (n_sets, n_connections)
        In the network's connection order.
    init_states : ndarray of shape (n_repeats, 4)
    trace : ndarray of shape (1, max_steps, n_sets * n_repeats, 6), optional

    Returns
    -------
    scores, steps : ndarrays of shape (n_sets, n_repeats)
    """
    init = np.ascontiguousarray(init_states, dtype=np.float64)
    cw = np.asarray(conn_weights, dtype=np.float64)
    n_s, n_r = cw.shape[0], len(init)
    packed = PackedNetworks([net])
    # (kept connections, episodes): episode e = set * n_repeats + repeat
    ep_cw = np.ascontiguousarray(np.repeat(cw[:, packed.conn_index].T, n_r, axis=1))
    scores, steps = _run(packed, False, np.zeros(n_s * n_r), ep_cw, init, n_r, max_steps,
                         worst, trace)
    return scores.reshape(n_s, n_r), steps.reshape(n_s, n_r)


def _run(packed, shared, ep_weight, ep_cw, init, n_r, max_steps, worst, trace):
    n_nets = len(packed.node_lo)
    n_ep = len(ep_weight)
    scores = np.empty((n_nets, n_ep))
    steps = np.empty((n_nets, n_ep), dtype=np.int64)
    if trace is None:
        trace = np.zeros((0, 0, 0, _TRACE_FIELDS))
    elif trace.shape != (n_nets, max_steps, n_ep, _TRACE_FIELDS) or trace.dtype != np.float64:
        raise ValueError(f"trace must be float64 of shape {(n_nets, max_steps, n_ep, 6)}")
    if n_nets:
        _kernel(packed.node_lo, packed.n_nodes, packed.acts, packed.cin_lo, packed.cin_hi,
                packed.conn_src, packed.conn_lo, bool(shared), ep_weight, ep_cw, init,
                int(n_r), int(max_steps), float(worst), scores, steps, trace)
    return scores, steps


@numba.njit(cache=True)
def _activate_row(act_id, row, n):
    """Apply activation ``act_id`` to ``row[:n]`` in place, as ``activations.py`` does."""
    if act_id == 1:  # linear
        pass
    elif act_id == 2:  # unsigned step
        for e in range(n):
            row[e] = 1.0 if row[e] > 0.0 else 0.0
    elif act_id == 3:  # sin(pi x)
        for e in range(n):
            row[e] = np.sin(np.pi * row[e])
    elif act_id == 4:  # gaussian
        for e in range(n):
            v = row[e]
            row[e] = np.exp(-v * v / 2.0)
    elif act_id == 5:
        for e in range(n):
            row[e] = np.tanh(row[e])
    elif act_id == 6:  # sigmoid as (tanh(x/2)+1)/2
        for e in range(n):
            row[e] = (np.tanh(row[e] / 2.0) + 1.0) / 2.0
    elif act_id == 7:  # inverse
        for e in range(n):
            row[e] = -row[e]
    elif act_id == 8:
        for e in range(n):
            row[e] = abs(row[e])
    elif act_id == 9:  # relu as np.maximum(0, x): NaN propagates
        for e in range(n):
            v = row[e]
            row[e] = 0.0 if 0.0 >= v else v
    elif act_id == 10:  # cos(pi x)
        for e in range(n):
            row[e] = np.cos(np.pi * row[e])
    elif act_id == 11:  # square
        for e in range(n):
            v = row[e]
            row[e] = v * v
    else:
        raise ValueError("activation id outside 1..11 reached the compiled engine")


@numba.njit(cache=True)
def _kernel(node_lo, n_nodes, acts, cin_lo, cin_hi, conn_src, conn_lo, shared, ep_weight,
            ep_cw, init, n_r, max_steps, worst, scores, steps, trace):
    n_nets = node_lo.shape[0]
    n_ep = ep_weight.shape[0]
    record = trace.shape[0] > 0
    max_nodes = 0
    max_conns = 0
    for k in range(n_nets):
        max_nodes = max(max_nodes, n_nodes[k])
        max_conns = max(max_conns, conn_lo[k + 1] - conn_lo[k])
    vals = np.empty((max_nodes, n_ep))
    # per active slot: state, sin/cos of theta, return, weight, episode index
    xs = np.empty(n_ep)
    xds = np.empty(n_ep)
    ths = np.empty(n_ep)
    thds = np.empty(n_ep)
    sins = np.empty(n_ep)
    coss = np.empty(n_ep)
    rets = np.empty(n_ep)
    ws = np.empty(n_ep)
    ep = np.empty(n_ep, dtype=np.int64)
    done = np.empty(n_ep, dtype=np.bool_)
    cw = np.empty((0 if shared else max_conns, n_ep))

    for k in range(n_nets):
        base = node_lo[k]
        nn = n_nodes[k]
        c0 = conn_lo[k]
        for e in range(n_ep):
            r = e % n_r
            xs[e] = init[r, 0]
            xds[e] = init[r, 1]
            ths[e] = init[r, 2]
            thds[e] = init[r, 3]
            sins[e] = np.sin(ths[e])
            coss[e] = np.cos(ths[e])
            rets[e] = 0.0
            ws[e] = ep_weight[e]
            ep[e] = e
        if not shared:
            for c in range(conn_lo[k + 1] - c0):
                for e in range(n_ep):
                    cw[c, e] = ep_cw[c0 + c, e]
        n = n_ep
        t = 0
        while n > 0 and t < max_steps:
            # observation: bias, x, x_dot, cos th, sin th, th_dot
            for e in range(n):
                vals[0, e] = 1.0
                vals[1, e] = xs[e]
                vals[2, e] = xds[e]
                vals[3, e] = coss[e]
                vals[4, e] = sins[e]
                vals[5, e] = thds[e]
            for i in range(1 + N_OBS, nn):
                g = base + i
                lo = cin_lo[g]
                hi = cin_hi[g]
                row = vals[i]
                if hi == lo:  # no inputs: the activation of 0
                    for e in range(n):
                        row[e] = ws[e] * 0.0 if shared else 0.0
                elif shared:  # w * (v_0 + v_1 + ...), left to right
                    s0 = vals[conn_src[lo]]
                    for e in range(n):
                        row[e] = s0[e]
                    for c in range(lo + 1, hi):
                        sc = vals[conn_src[c]]
                        for e in range(n):
                            row[e] += sc[e]
                    for e in range(n):
                        row[e] = ws[e] * row[e]
                else:  # v_0 w_0 + v_1 w_1 + ..., left to right
                    s0 = vals[conn_src[lo]]
                    w0 = cw[lo - c0]
                    for e in range(n):
                        row[e] = s0[e] * w0[e]
                    for c in range(lo + 1, hi):
                        sc = vals[conn_src[c]]
                        wc = cw[c - c0]
                        for e in range(n):
                            row[e] += sc[e] * wc[e]
                _activate_row(acts[g], row, n)
            out = vals[nn - 1]
            for e in range(n):
                o = out[e]
                if record:
                    trace[k, t, ep[e], 0] = xs[e]
                    trace[k, t, ep[e], 1] = xds[e]
                    trace[k, t, ep[e], 2] = ths[e]
                    trace[k, t, ep[e], 3] = thds[e]
                    trace[k, t, ep[e], 4] = o
                if not np.isfinite(o):
                    rets[e] = worst
                    done[e] = True
                    continue
                force = min(max(o, -1.0), 1.0) * _FORCE_MAG
                x, xd, th, thd = _dynamics(xs[e], xds[e], ths[e], thds[e], force, sins[e],
                                           coss[e])
                s = np.sin(th)
                c = np.cos(th)
                rew = _reward(x, c)
                rets[e] += rew
                if record:
                    trace[k, t, ep[e], 5] = rew
                xs[e] = x
                xds[e] = xd
                ths[e] = th
                thds[e] = thd
                sins[e] = s
                coss[e] = c
                done[e] = x < -_X_THRESHOLD or x > _X_THRESHOLD
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
                        for c in range(conn_lo[k + 1] - c0):
                            cw[c, e] = cw[c, last]
                n -= 1
        for e in range(n):  # reached max_steps
            scores[k, ep[e]] = rets[e] if np.isfinite(rets[e]) else worst
            steps[k, ep[e]] = t
