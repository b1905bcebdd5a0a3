"""The fused classification pass: forward, log-softmax, cross-entropy and accuracy of a whole
batch of networks over (weights x images) in one compiled call.

:class:`~wann_plugin.tasks.classify.ClassifyTask` hands :func:`classify_scores` its networks
and one generation's images; per (network, weight, repetition) it gets back the fitness
(mean log-probability of the true class) and the accuracy, with no per-network numpy
temporaries.

Layout
    Networks are pruned to the nodes that reach an output and concatenated (a compiled
    packer). Images are columns: ``x_t`` is ``(1 + n_inputs, n_rows)`` with the bias as row 0,
    each repetition's batch padded to whole lane groups.
Equal nodes computed once
    The networks of a generation descend from a few parents and each differs from its parent
    by one mutation, so most of their computed nodes equal a node of another network: the
    same activation over the same sources (inputs, or equal nodes) in the same order. The
    batch's nodes are merged (:class:`SharedNodes`; a late digits or MNIST population of 960
    networks has 10 to 25 times fewer distinct nodes than nodes) and the pass runs over tiles
    of images: every distinct node's ``n_weights * tile`` values once (weight-major, the
    tile sized to keep them within ``_NODE_BUDGET``), then each network's outputs are scored
    from them.
Shared sums
    With one shared weight ``w`` a node's input is ``w * (sum of its sources)``. The sources
    that are the bias or inputs do not depend on ``w``: their sum is computed once per image
    and reused for every weight, and only the sources that are computed nodes are added per
    weight. Connections are sorted by source, so this is also the left-to-right order of
    :meth:`WannNetwork.activate`'s sum (which numpy may pair differently in long rows: the two
    agree to rounding). The initial networks of a classification search connect inputs to
    outputs only, so nearly all of their additions are done once for six weights.
Fused scores
    The node pass also keeps ``exp`` of each distinct output node. A network's (weight,
    image) then gets ``max``, the first argmax, a finiteness flag and the sum of its outputs'
    kept exps on SIMD lanes, and the log-probability of the label is ``z_y - log(sum)``;
    where that sum leaves [1e-300, 1e300] (outputs in the hundreds, or all very negative) it
    is the safe ``z_y - max - log(sum(exp(z - max)))`` of ``ClassifyTask``'s numpy path
    (under ``exact_math`` always). Per (weight, repetition) the log-probabilities are summed
    lane by lane across tiles (lane ``e`` holds images ``e, e + LANES, ...``), so a network
    scores the same bits in any batch. A (weight, repetition) with any non-finite output
    scores ``worst`` and accuracy 0; a sum that is not finite scores ``worst``.
Math
    Activations go through the one dispatch of :mod:`wann_plugin.compiled` (SIMD polynomials,
    1-2 ulp of numpy; libm under ``exact_math``), ``exp`` is its polynomial (libm under
    ``exact_math``) and ``log`` fdlibm's algorithm on lanes (:func:`apply_log`; libm under
    ``exact_math``). The fitness matches the numpy path to about 1e-12 on ordinary networks
    (tests hold it to 1e-9).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numba
import numpy as np

from wann_plugin.activations import BUILTIN_MAX_ID
from wann_plugin.compiled.dispatch import make_activate_node
from wann_plugin.compiled.lanes import (
    LANES,
    addr,
    int_at,
    keep_alive,
    vadd,
    vand,
    vany,
    vashr,
    vbits,
    vdiv,
    veq,
    vfloat,
    vge,
    vget,
    vgt,
    viadd,
    visub,
    vload_at,
    vmul,
    vor,
    vsel,
    vset,
    vsplat,
    vstore_at,
    vsub,
)
from wann_plugin.compiled.layout import required_nodes_compiled
from wann_plugin.compiled.simd_math import vexp
from wann_plugin.network import WannNetwork

__all__ = ["classify_scores", "classify_scores_conn", "column_batch"]

#: Doubles of node values one tile of the per-connection pass may hold
#: (``n_computed * n_weights * tile``): 512 KiB, so a tile's values stay in the L2 cache.
_TILE_BUDGET = 65536
#: Doubles of image values (``(1 + n_inputs) * block``) a column block of the per-connection
#: pass holds: 256 KiB, so a block stays in the L2 cache while every group of weight sets
#: reads it.
_BLOCK_BUDGET = 32768
#: Doubles of distinct node values one tile of the search's pass aims at
#: (``n_nodes * n_weights * tile``, at least one lane group of images): 4 MiB. Larger tiles
#: spread the per-node work over more images; on a late digits and MNIST generation 1 MiB
#: was 14-24 % slower, 8 MiB 1-6 % faster.
_NODE_BUDGET = 524288
#: Doubles of distinct node values (``n_nodes * n_weights * LANES``, one lane group of images)
#: above which a batch is scored in halves: 128 MiB (a late MNIST generation of 960 networks
#: holds about 2,000 distinct nodes, 0.7 MiB; 350,000 would reach it).
_MAX_NODE_DOUBLES = 1 << 24


class PackedClassifiers:
    """A batch of networks as flat arrays, pruned to the nodes an output needs.

    Attributes
    ----------
    comp_lo : ndarray of shape (n_nets + 1,), int64
        Each network's computed (hidden and output) nodes in the flat node arrays; the last
        ``n_outputs`` of a network are its outputs, in order.
    acts : ndarray of shape (total_computed,), int64
        Activation id per computed node.
    cin_lo, cin_mid, cin_hi : ndarray of shape (total_computed,), int64
        A node's connections: ``cin_lo:cin_mid`` come from the bias or an input (``src`` is
        then the row of ``x_t``: 0 = bias, ``1 + j`` = input ``j``), ``cin_mid:cin_hi`` from
        computed nodes (``src`` is then the node's index among its network's computed nodes).
    src : ndarray of shape (total_connections,), int64
    conn_index : ndarray of shape (total_connections,), int64
        Each kept connection's index in its network's connection order (``net.conn_src``),
        where a per-connection weight vector holds its weight.
    """

    def __init__(self, nets: Sequence[WannNetwork]):
        n_in, n_out = (nets[0].n_inputs, nets[0].n_outputs) if nets else (0, 1)
        for net in nets:
            if (net.n_inputs, net.n_outputs) != (n_in, n_out):
                raise ValueError(f"network {net.key!r} has {net.n_inputs} inputs and "
                                 f"{net.n_outputs} outputs; the batch has {n_in} and {n_out}")
        node_off = _offsets([net.n_nodes for net in nets])
        conn_off = _offsets([net.n_connections for net in nets])
        self.n_inputs, self.n_outputs = int(n_in), int(n_out)
        #: Connections of the networks before pruning (all of them together).
        self.n_connections = int(conn_off[-1])
        (self.comp_lo, self.acts, self.cin_lo, self.cin_mid, self.cin_hi,
         self.src, self.conn_index) = _pack(node_off, conn_off, 1 + n_in, n_out,
                           _cat([n.activations for n in nets]), _cat([n.in_ptr for n in nets]),
                           _cat([n.conn_src for n in nets]))
        self._shared: SharedNodes | None = None

    @property
    def shared(self) -> SharedNodes:
        """The batch's computed nodes with equal ones merged (:class:`SharedNodes`; built on
        first use)."""
        if self._shared is None:
            self._shared = self.nodes(merge=True)
        return self._shared

    def part(self, lo: int, hi: int) -> PackedClassifiers:
        """Networks ``lo .. hi - 1`` of the batch as a batch of their own."""
        out = object.__new__(PackedClassifiers)
        out.n_inputs, out.n_outputs = self.n_inputs, self.n_outputs
        n0, n1 = self.comp_lo[lo], self.comp_lo[hi]
        c0 = self.cin_lo[n0] if n1 > n0 else 0
        c1 = self.cin_hi[n1 - 1] if n1 > n0 else 0
        out.comp_lo = self.comp_lo[lo:hi + 1] - n0
        out.acts = self.acts[n0:n1]
        out.cin_lo, out.cin_mid, out.cin_hi = (a[n0:n1] - c0 for a in
                                               (self.cin_lo, self.cin_mid, self.cin_hi))
        out.src, out.conn_index = self.src[c0:c1], self.conn_index[c0:c1]
        out.n_connections = None  # the networks' unpruned connections are not known here
        out._shared = None
        return out

    def nodes(self, merge: bool = True) -> SharedNodes:
        """The batch's computed nodes as :class:`SharedNodes`: equal ones merged, or with
        ``merge=False`` every network's own (the plain layout the merge is tested and
        benchmarked against)."""
        return SharedNodes(*_share(self.comp_lo, self.acts, self.cin_lo, self.cin_mid,
                                   self.cin_hi, self.src, self.n_outputs, merge))


class SharedNodes:
    """The computed nodes of a :class:`PackedClassifiers` batch with equal nodes merged.

    Two computed nodes are equal when they have the same activation and the same sources in
    the same order (the bias and inputs by row, computed sources by their merged node): with
    a shared weight they compute the same value, in the same operation order, for every
    weight and image. Networks of one generation descend from a few parents and differ from
    them by one mutation, so most of their nodes are equal to another network's: a late
    digits or MNIST population of 960 networks has about 10 to 25 times fewer distinct
    computed nodes than computed nodes.

    Attributes
    ----------
    acts, cin_lo, cin_mid, cin_hi, src
        As in :class:`PackedClassifiers`, over the distinct nodes (in an order where a node's
        sources come before it); computed sources are distinct node indices.
    out_rows : ndarray of shape (n_nets * n_outputs,), int64
        The distinct node of each network's outputs, network after network.
    exp_row : ndarray of shape (n_nodes,), int64
        Each node's row among the distinct output nodes (whose ``exp`` the kernel keeps), -1
        for nodes that are no network's output.
    out_exp : ndarray of shape (n_nets * n_outputs,), int64
        ``exp_row[out_rows]``.
    """

    def __init__(self, acts, cin_lo, cin_mid, cin_hi, src, out_rows, exp_row, out_exp):
        self.acts, self.cin_lo, self.cin_mid, self.cin_hi = acts, cin_lo, cin_mid, cin_hi
        self.src, self.out_rows, self.exp_row, self.out_exp = src, out_rows, exp_row, out_exp

    @property
    def n_nodes(self) -> int:
        return len(self.acts)


def _offsets(sizes: list) -> np.ndarray:
    """``[0, s0, s0 + s1, ...]`` as int64."""
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def _cat(parts: list) -> np.ndarray:
    """The arrays ``parts`` end to end, as int64 (one conversion, not one per array)."""
    if not parts:
        return np.zeros(0, np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def builtin_only(nets: Sequence[WannNetwork]) -> np.ndarray:
    """Per network, whether every computed node has a built-in activation (ids 1..11):
    :attr:`WannNetwork.uses_builtin_activations` of each, from one pass over all of them.
    The networks have one input count."""
    if not nets:
        return np.zeros(0, dtype=bool)
    n_fixed = 1 + nets[0].n_inputs
    off = _offsets([net.n_nodes for net in nets])
    custom = np.concatenate([net.activations for net in nets]) > BUILTIN_MAX_ID
    custom[(off[:-1, None] + np.arange(n_fixed)).ravel()] = False  # the bias and inputs
    return ~np.logical_or.reduceat(custom, off[:-1])


@numba.njit(cache=True, nogil=True)
def _pack(node_off, conn_off, n_fixed, n_out, acts_all, ptr_all, src_all):
    """Prune and concatenate networks given as concatenated ``activations``, ``in_ptr`` (one
    longer per network) and ``conn_src`` arrays; see :class:`PackedClassifiers`."""
    n_nets = node_off.shape[0] - 1
    n_total = node_off[n_nets] - n_nets * n_fixed  # computed nodes, before pruning
    comp_lo = np.zeros(n_nets + 1, dtype=np.int64)
    acts = np.empty(n_total, dtype=np.int64)
    cin_lo = np.empty(n_total, dtype=np.int64)
    cin_mid = np.empty(n_total, dtype=np.int64)
    cin_hi = np.empty(n_total, dtype=np.int64)
    src = np.empty(conn_off[n_nets], dtype=np.int64)
    conn_index = np.empty(conn_off[n_nets], dtype=np.int64)
    max_n = 0
    for k in range(n_nets):
        max_n = max(max_n, node_off[k + 1] - node_off[k])
    local = np.zeros(max_n, dtype=np.int64)
    n_kept = 0
    n_conns = 0
    for k in range(n_nets):
        n = node_off[k + 1] - node_off[k]
        a0 = node_off[k]
        p0 = node_off[k] + k  # in_ptr has n + 1 entries
        s0 = conn_off[k]
        need = required_nodes_compiled(n_out, ptr_all[p0:p0 + n + 1],
                                       src_all[s0:conn_off[k + 1]])
        comp_lo[k] = n_kept
        cnt = 0
        for i in range(n_fixed, n):
            if not need[i]:
                continue
            local[i] = cnt
            g = n_kept + cnt
            acts[g] = acts_all[a0 + i]
            cin_lo[g] = n_conns
            mid = -1
            for c in range(ptr_all[p0 + i], ptr_all[p0 + i + 1]):  # sorted by source
                s = src_all[s0 + c]
                conn_index[n_conns] = c
                if s < n_fixed:
                    src[n_conns] = s
                else:
                    if mid < 0:
                        mid = n_conns
                    src[n_conns] = local[s]
                n_conns += 1
            cin_hi[g] = n_conns
            cin_mid[g] = n_conns if mid < 0 else mid
            cnt += 1
        n_kept += cnt
    comp_lo[n_nets] = n_kept
    return (comp_lo, acts[:n_kept].copy(), cin_lo[:n_kept].copy(), cin_mid[:n_kept].copy(),
            cin_hi[:n_kept].copy(), src[:n_conns].copy(), conn_index[:n_conns].copy())


@numba.njit(cache=True, nogil=True)
def _share(comp_lo, acts, cin_lo, cin_mid, cin_hi, src, n_out, merge):
    """Merge the equal computed nodes of packed networks (see :class:`SharedNodes`): one pass
    in the networks' order, each node looked up in an open-addressing table by its
    activation and mapped sources (compared in full on a hash match). Without ``merge``
    every node is kept (the same layout, one node per network's node)."""
    n_nets = comp_lo.shape[0] - 1
    total = comp_lo[n_nets]
    cap = 16
    while cap < 2 * total:
        cap *= 2
    table = np.full(cap, -1, dtype=np.int64)
    u_acts = np.zeros(total, dtype=np.int64)
    u_lo = np.zeros(total, dtype=np.int64)
    u_mid = np.zeros(total, dtype=np.int64)
    u_hi = np.zeros(total, dtype=np.int64)
    u_src = np.zeros(src.shape[0], dtype=np.int64)
    out_rows = np.zeros(n_nets * n_out, dtype=np.int64)
    max_n = 1
    for k in range(n_nets):
        max_n = max(max_n, comp_lo[k + 1] - comp_lo[k])
    local = np.zeros(max_n, dtype=np.int64)  # a network's computed node -> merged node
    n_u = 0
    n_c = 0
    for k in range(n_nets):
        c0 = comp_lo[k]
        nc = comp_lo[k + 1] - c0
        for i in range(nc):
            g = c0 + i
            lo = cin_lo[g]
            mid = cin_mid[g]
            hi = cin_hi[g]
            # the candidate's sources, written where a new node would keep them
            h = np.uint64(acts[g]) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(mid - lo)
            for c in range(lo, hi):
                s = src[c] if c < mid else local[src[c]]
                u_src[n_c + c - lo] = s
                h = (h ^ np.uint64(s)) * np.uint64(0x100000001B3)
                h ^= h >> np.uint64(29)
            slot = np.int64(h & np.uint64(cap - 1))
            while True:
                u = table[slot] if merge else -1
                if u < 0:  # a new node
                    table[slot] = n_u
                    u_acts[n_u] = acts[g]
                    u_lo[n_u] = n_c
                    u_mid[n_u] = n_c + mid - lo
                    u_hi[n_u] = n_c + hi - lo
                    n_c += hi - lo
                    u = n_u
                    n_u += 1
                    break
                if (u_acts[u] == acts[g] and u_mid[u] - u_lo[u] == mid - lo
                        and u_hi[u] - u_lo[u] == hi - lo):
                    same = True
                    for c in range(hi - lo):
                        if u_src[u_lo[u] + c] != u_src[n_c + c]:
                            same = False
                            break
                    if same:
                        break
                slot = (slot + 1) & (cap - 1)
            local[i] = u
        for o in range(n_out):
            out_rows[k * n_out + o] = local[nc - n_out + o]
    # the distinct output nodes, numbered in order of first use
    exp_row = np.full(n_u, -1, dtype=np.int64)
    out_exp = np.zeros(n_nets * n_out, dtype=np.int64)
    n_e = 0
    for q in range(n_nets * n_out):
        u = out_rows[q]
        if exp_row[u] < 0:
            exp_row[u] = n_e
            n_e += 1
        out_exp[q] = exp_row[u]
    return (u_acts[:n_u].copy(), u_lo[:n_u].copy(), u_mid[:n_u].copy(), u_hi[:n_u].copy(),
            u_src[:n_c].copy(), out_rows, exp_row, out_exp)


def column_batch(X: np.ndarray, y: np.ndarray, idx: np.ndarray, *,
                 scratch: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """The rows ``idx`` of ``(X, y)`` as the kernel's columns.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_inputs)
    y : ndarray of shape (n_samples,), int
    idx : ndarray of shape (n_repeats, batch), int
        Each repetition's samples.
    scratch : bool, default=False
        Write ``x_t`` into this thread's scratch buffer, kept from call to call, instead of
        fresh memory (whose first touch costs more than the gather: about 40 ms for the
        32 MB of 15 MNIST batches here). The next ``scratch`` call on the same thread
        overwrites it: for callers that are done with ``x_t`` before they call again.

    Returns
    -------
    x_t : ndarray of shape (1 + n_inputs, n_repeats * padded)
        Row 0 is the bias (1); repetition ``r`` holds columns ``r * padded`` onwards, its
        last ``padded - batch`` columns zero (``padded``: ``batch`` rounded up to whole lane
        groups).
    labels : ndarray of shape (n_repeats * padded,), int64
    padded : int
    """
    idx = np.asarray(idx, dtype=np.int64)
    n_rep, batch = idx.shape
    padded = -(-batch // LANES) * LANES
    X = np.ascontiguousarray(X, dtype=np.float64)
    if idx.size and not (0 <= idx.min() and idx.max() < len(X)):
        raise IndexError(f"sample indices {idx.min()}..{idx.max()} outside 0..{len(X) - 1}")
    shape = (1 + X.shape[1], n_rep * padded)
    x_t = _scratch(shape[0] * shape[1]).reshape(shape) if scratch else np.empty(shape)
    labels = np.zeros((n_rep, padded), dtype=np.int64)
    labels[:, :batch] = np.asarray(y)[idx]
    _gather_columns(X, idx, padded, x_t)
    return x_t, labels.reshape(-1), padded


_SCRATCH = threading.local()


def _scratch(n: int) -> np.ndarray:
    """The first ``n`` doubles of this thread's scratch buffer (grown as needed)."""
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < n:
        buf = _SCRATCH.buf = np.empty(n)
    return buf[:n]


@numba.njit(cache=True, nogil=True)
def _gather_columns(X, idx, padded, x_t):
    """``x_t[0] = 1``; ``x_t[1 + i, r * padded + t] = X[idx[r, t], i]``, zero in the padding.

    Eight images at a time: their rows of ``X`` stay in the L1 cache while each input's eight
    values are written as one run of ``x_t`` (no transposed copy of ``X``, no scattered
    writes)."""
    n_rep, batch = idx.shape
    n_in = X.shape[1]
    x_t[0, :] = 1.0
    for r in range(n_rep):
        c0 = r * padded
        for t0 in range(0, padded, 8):
            t1 = min(t0 + 8, batch)
            for i in range(n_in):
                for t in range(t0, t1):
                    x_t[1 + i, c0 + t] = X[idx[r, t], i]
                for t in range(max(t0, t1), min(t0 + 8, padded)):
                    x_t[1 + i, c0 + t] = 0.0


def classify_scores(nets: Sequence[WannNetwork] | PackedClassifiers, weights: np.ndarray,
                    x_t: np.ndarray, labels: np.ndarray, n_repeats: int, batch: int, *,
                    worst: float, exact_math: bool = False,
                    merge: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Fitness and accuracy of every network at every shared weight on every batch.

    Parameters
    ----------
    nets : sequence of WannNetwork or PackedClassifiers
        Built-in activations only (ids 1..11), one input and output count.
    weights : ndarray of shape (n_weights,)
    x_t, labels
        From :func:`column_batch` (``n_repeats`` repetitions of ``batch`` images).
    worst : float
        Fitness of a (weight, repetition) with a non-finite output or a non-finite mean.
    exact_math : bool, default=False
        Activations and the softmax's ``exp`` with libm instead of SIMD polynomials.
    merge : bool, default=True
        Compute equal nodes of different networks once (:class:`SharedNodes`); ``False``
        computes every network's nodes (the same scores, bit for bit; for tests and
        benchmarks).

    Returns
    -------
    fitness : ndarray of shape (n_nets, n_weights, n_repeats)
        Mean over the batch of ``log_softmax(outputs)[label]``.
    accuracy : ndarray of shape (n_nets, n_weights, n_repeats)
        Share of the batch whose first largest output is the label (0 where not finite).
    """
    packed = nets if isinstance(nets, PackedClassifiers) else PackedClassifiers(nets)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    n_nets = len(packed.comp_lo) - 1
    padded = _check_columns(packed, x_t, n_repeats, batch)
    fitness = np.empty((n_nets, len(w), n_repeats))
    accuracy = np.empty((n_nets, len(w), n_repeats))
    if not (n_nets and len(w)):
        return fitness, accuracy
    sh = packed.shared if merge else packed.nodes(merge=False)
    if sh.n_nodes * len(w) * LANES > _MAX_NODE_DOUBLES and n_nets > 1:
        # even one lane group of images per node would not fit: the two halves one after the
        # other (a network's scores do not depend on its batch)
        half = n_nets // 2
        for lo, hi in ((0, half), (half, n_nets)):
            fitness[lo:hi], accuracy[lo:hi] = classify_scores(
                packed.part(lo, hi), w, x_t, labels, n_repeats, batch, worst=worst,
                exact_math=exact_math, merge=merge)
        return fitness, accuracy
    _kernel(sh.acts, sh.cin_lo, sh.cin_mid, sh.cin_hi, sh.src, sh.out_rows, sh.exp_row,
            sh.out_exp, packed.n_outputs, w, np.ascontiguousarray(x_t, dtype=np.float64),
            np.ascontiguousarray(labels, dtype=np.int64), int(n_repeats), int(batch),
            int(padded), float(worst), bool(exact_math), fitness, accuracy)
    return fitness, accuracy


def _check_columns(packed: PackedClassifiers, x_t: np.ndarray, n_repeats: int,
                   batch: int) -> int:
    """The padded batch width of ``x_t`` (:func:`column_batch`), after checking that it holds
    ``n_repeats`` padded batches of ``batch`` images of the networks' inputs (any inputs when
    the pack is empty)."""
    padded = x_t.shape[1] // max(1, n_repeats)
    if x_t.shape[1] != n_repeats * padded or padded % LANES or not 0 < batch <= padded:
        raise ValueError(f"x_t of shape {x_t.shape} does not hold {n_repeats} padded batches "
                         f"of {batch}")
    if x_t.shape[0] != 1 + packed.n_inputs and len(packed.comp_lo) > 1:
        raise ValueError(f"x_t has {x_t.shape[0] - 1} inputs, the networks {packed.n_inputs}")
    return padded


# ============================================================================ log
# fdlibm's __ieee754_log: log(x) = k ln2 + log(1 + f), x = 2**k (1 + f), sqrt(2)/2 <= 1 + f <
# sqrt(2), log(1 + f) = f - s (f - R(s^2)) with s = f / (2 + f); under 1 ulp.
_LG1, _LG2 = 6.666666666666735130e-01, 3.999999999940941908e-01
_LG3, _LG4 = 2.857142874366239149e-01, 2.222219843214978396e-01
_LG5, _LG6 = 1.818357216161805012e-01, 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_SHIFT = 6755399441055744.0  # 1.5 * 2**52
_SHIFT_BITS = 0x4338000000000000
_MANT_MASK = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000


@numba.njit(error_model="numpy")
def _vlog(x):
    """log(x) of positive normal finite doubles (the softmax's sums lie in [1, n_outputs]);
    other lanes give unspecified values."""
    bits = vbits(x)
    k = visub(vashr(bits, 52), 1023)
    m = vfloat(vor(vand(bits, _MANT_MASK), _ONE_BITS))  # in [1, 2)
    kd = vsub(vfloat(viadd(k, _SHIFT_BITS)), _SHIFT)  # k as a double
    big = vgt(m, _SQRT2)
    m = vsel(big, vmul(m, 0.5), m)
    kd = vsel(big, vadd(kd, 1.0), kd)
    f = vsub(m, 1.0)
    s = vdiv(f, vadd(f, 2.0))
    z = vmul(s, s)
    w = vmul(z, z)
    t1 = vmul(w, vadd(_LG2, vmul(w, vadd(_LG4, vmul(w, _LG6)))))
    t2 = vmul(z, vadd(_LG1, vmul(w, vadd(_LG3, vmul(w, vadd(_LG5, vmul(w, _LG7)))))))
    r = vadd(t2, t1)
    hfsq = vmul(vmul(0.5, f), f)
    return vsub(vmul(kd, _LN2_HI),
                 vsub(vsub(hfsq, vadd(vmul(s, vadd(hfsq, r)), vmul(kd, _LN2_LO))), f))


def apply_log(x: np.ndarray) -> np.ndarray:
    """The kernel's ``log`` applied to a 1-D array of positive normal doubles (for tests)."""
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    buf = np.ones(-(-len(x) // LANES) * LANES)
    buf[:len(x)] = x
    _log_kernel(buf)
    return buf[:len(x)].copy()


@numba.njit(cache=True, error_model="numpy")
def _log_kernel(buf):
    at = addr(buf)
    for o in range(0, buf.shape[0], LANES):
        vstore_at(at, o, _vlog(vload_at(at, o)))


# ============================================================================ the kernel
@numba.njit(error_model="numpy")
def _float_at(addr, i):
    return vget(vload_at(addr, i), 0)


@numba.njit(error_model="numpy")
def _label_columns(labels, n_rep, padded, batch):
    """The labels as doubles, -1 in each repetition's padding columns (never a class)."""
    lab = np.empty(labels.shape[0])
    for r in range(n_rep):
        for t in range(padded):
            c = r * padded + t
            lab[c] = labels[c] if t < batch else -1.0
    return lab


@numba.njit(error_model="numpy")
def _finish(ll_sum, n_right, fin_sum, batch, worst, fitness, accuracy):
    """One repetition's fitness and accuracy per weight column from the tiles' sums: ``worst``
    and 0 where an output was not finite (or the mean is not)."""
    for j in range(ll_sum.shape[0]):
        f = ll_sum[j] / batch
        ok = fin_sum[j] == 0.0
        fitness[j] = f if ok and np.isfinite(f) else worst
        accuracy[j] = n_right[j] / batch if ok else 0.0


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _kernel(acts, cin_lo, cin_mid, cin_hi, src, out_rows, exp_row, out_exp, n_out, weights,
            x_t, labels, n_rep, batch, padded, worst, exact, fitness, accuracy):
    """Every network on every repetition's batch, over the merged nodes of
    :class:`SharedNodes`: the batch goes through in tiles of images whose values of every
    merged node (``n_nodes * n_weights * tile`` doubles, at most ``_NODE_BUDGET`` where whole
    lane groups allow) are computed once, then each network's outputs are scored from them."""
    n_nets = fitness.shape[0]
    n_u = acts.shape[0]
    n_w = weights.shape[0]
    stride = x_t.shape[1]  # columns of x_t
    tile = min(padded, max(LANES, (_NODE_BUDGET // max(1, n_u * n_w)) // LANES * LANES))
    vals = np.zeros(n_u * n_w * tile + LANES)
    n_e = 0 if exact else exp_row.max() + 1  # distinct output nodes (exact keeps no exps)
    evals = np.zeros(n_e * n_w * tile + LANES)  # exp of the output nodes' values
    fsum = np.zeros(tile)
    # labels as doubles, -1 in the padding columns
    lab = _label_columns(labels, n_rep, padded, batch)
    ll_sum = np.zeros((n_nets, n_w))
    n_right = np.zeros((n_nets, n_w))
    fin_sum = np.zeros((n_nets, n_w))
    acc = np.zeros(n_nets * n_w * 3 * LANES)  # per network and weight, see _score_tile
    ptrs = np.array([addr(vals), addr(x_t), addr(fsum), addr(src), addr(lab),
                     addr(out_rows), addr(evals), addr(out_exp), addr(acc)])
    per_net = n_w * 3 * LANES
    for r in range(n_rep):
        ll_sum[:] = 0.0
        n_right[:] = 0.0
        fin_sum[:] = 0.0
        acc[:] = 0.0
        for t0 in range(0, batch, tile):
            tl = min(tile, padded - t0)  # images computed (whole lane groups)
            col0 = r * padded + t0
            _nodes_tile(ptrs, acts, cin_lo, cin_mid, cin_hi, exp_row, weights, stride, col0,
                        tl, exact)
            for k in range(n_nets):
                _score_tile(ptrs[0], ptrs[4], ptrs[5] + 8 * k * n_out, ptrs[6],
                            ptrs[7] + 8 * k * n_out, ptrs[8] + 8 * k * per_net, n_w * tl, n_w,
                            tl, min(tile, batch - t0), n_out, col0, exact)
        for k in range(n_nets):
            _add_acc(acc[k * per_net:(k + 1) * per_net], ll_sum[k], n_right[k], fin_sum[k])
            _finish(ll_sum[k], n_right[k], fin_sum[k], batch, worst, fitness[k, :, r],
                    accuracy[k, :, r])
    # the tiles reach these through their addresses only (ptrs): keep them until here
    keep_alive(vals)
    keep_alive(evals)
    keep_alive(fsum)
    keep_alive(lab)
    keep_alive(out_rows)
    keep_alive(out_exp)
    keep_alive(acc)


@numba.njit(error_model="numpy")
def _tile_input(o, args):
    """A node's input for lane group ``o`` of weight column ``col`` (``j * tile``): ``w``
    times (the sum of its bias and input sources, computed once for every weight, at
    ``fsum_at``, then its computed sources ``src[mid:hi]`` left to right);
    ``args = (vals_at, fsum_at, src_at, lo, mid, hi, col, row_len, w)``."""
    vals_at, fsum_at, src_at, lo, mid, hi, col, row_len, w = args
    if mid > lo:
        x = vload_at(fsum_at, o)
        c1 = mid
    elif hi > mid:
        x = vload_at(vals_at, int_at(src_at, mid) * row_len + col + o)
        c1 = mid + 1
    else:
        x = vsplat(0.0)
        c1 = hi
    for c in range(c1, hi):
        x = vadd(x, vload_at(vals_at, int_at(src_at, c) * row_len + col + o))
    return vmul(x, w)


#: The one activation dispatch of :mod:`wann_plugin.compiled`, over :func:`_tile_input`.
_activate_tile = make_activate_node(_tile_input)


@numba.njit(error_model="numpy")
def _nodes_tile(ptrs, acts, cin_lo, cin_mid, cin_hi, exp_row, weights, stride, col0, tl,
                exact):
    """The values of every node (in order) on the ``tl`` columns from ``col0`` (whole lane
    groups): node ``i``'s row of ``n_weights * tl`` doubles, weight column ``j`` at
    ``j * tl``; and (without ``exact``) the ``exp`` of each output node's values in its row
    ``exp_row[i]`` of the exp buffer."""
    vals_at, xt_at, fsum_at, src_at, ev_at = ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[6]
    n_w = weights.shape[0]
    row_len = n_w * tl  # doubles per node
    for i in range(acts.shape[0]):
        lo = cin_lo[i]
        mid = cin_mid[i]
        hi = cin_hi[i]
        a = acts[i]
        # the bias and input sources, summed once for every weight
        if mid > lo:
            for o in range(0, tl, LANES):
                x = vload_at(xt_at, int_at(src_at, lo) * stride + col0 + o)
                for c in range(lo + 1, mid):
                    x = vadd(x, vload_at(xt_at, int_at(src_at, c) * stride + col0 + o))
                vstore_at(fsum_at, o, x)
        for j in range(n_w):
            _activate_tile(a, exact, vals_at, i * row_len + j * tl, tl,
                           (vals_at, fsum_at, src_at, lo, mid, hi, j * tl, row_len, weights[j]))
        e = exp_row[i]
        if e >= 0 and not exact:
            for o in range(0, row_len, LANES):
                vstore_at(ev_at, e * row_len + o, vexp(vload_at(vals_at, i * row_len + o)))


@numba.njit(error_model="numpy", inline="always")
def _score_tile(vals_at, lab_at, rows_at, ev_at, erows_at, acc_at, row_len, n_w, tl, n_valid,
                n_out, col0, exact):
    """The scores of one tile whose outputs are the nodes ``rows_at[0 .. n_out - 1]`` (int64
    node indices; rows of ``row_len`` doubles, weight column ``j`` at ``j * tl``), added lane
    by lane to the accumulators at ``acc_at``: per weight ``j``, ``3 * LANES`` doubles from
    ``3 * LANES * j`` (log-probabilities, right answers, finiteness). Lane ``e`` sums the
    images ``e``, ``e + LANES``, ... in order, whatever the tiles.

    With ``ev_at`` (not 0; never under ``exact``) the outputs' ``exp`` are read from the rows
    ``erows_at[0 .. n_out - 1]`` of that buffer, and the log-probability is
    ``z_y - log(sum(exp(z)))`` where that sum lies in [1e-300, 1e300]; elsewhere (a large,
    very negative or non-finite output) it is the safe ``z_y - max - log(sum(exp(z - max)))``.
    """
    # scores on lanes: max, first argmax, the label's output and a finiteness flag, then
    # sum(exp(z - max)) and the log-probability of the label
    for j in range(n_w):
        base = j * tl
        a0 = 3 * LANES * j
        acc_ll = vload_at(acc_at, a0)
        acc_right = vload_at(acc_at, a0 + LANES)
        acc_fin = vload_at(acc_at, a0 + 2 * LANES)
        for o in range(0, n_valid, LANES):
            y = vload_at(lab_at, col0 + o)
            z = vload_at(vals_at, int_at(rows_at, 0) * row_len + base + o)
            m = z
            arg = vsplat(0.0)
            zy = vsel(veq(y, 0.0), z, 0.0)
            fin = vmul(z, 0.0)  # nan where any output is inf or nan
            for q in range(1, n_out):
                z = vload_at(vals_at, int_at(rows_at, q) * row_len + base + o)
                gt = vgt(z, m)
                m = vsel(gt, z, m)
                arg = vsel(gt, float(q), arg)
                zy = vsel(veq(y, float(q)), z, zy)
                fin = vadd(fin, vmul(z, 0.0))
            if exact:
                lg = vsplat(0.0)
                for e in range(LANES):
                    me = vget(m, e)
                    t = 0.0
                    for q in range(n_out):
                        zq = _float_at(vals_at, int_at(rows_at, q) * row_len + base + o + e)
                        t += np.exp(zq - me)
                    lg = vset(lg, e, np.log(t))
                ll = vsub(vsub(zy, m), lg)
            else:
                ok = vsplat(0.0)
                if ev_at != 0:
                    s = vload_at(ev_at, int_at(erows_at, 0) * row_len + base + o)
                    for q in range(1, n_out):
                        s = vadd(s, vload_at(ev_at, int_at(erows_at, q) * row_len + base + o))
                    ok = vsel(vge(s, 1e-300), vsel(vge(1e300, s), 1.0, 0.0), 0.0)
                    ll = vsub(zy, _vlog(s))
                if vany(veq(ok, 0.0)):
                    s = vsplat(0.0)
                    for q in range(n_out):
                        zq = vload_at(vals_at, int_at(rows_at, q) * row_len + base + o)
                        s = vadd(s, vexp(vsub(zq, m)))
                    safe = vsub(vsub(zy, m), _vlog(s))
                    ll = safe if ev_at == 0 else vsel(veq(ok, 1.0), ll, safe)
            valid = vge(y, 0.0)  # padding columns hold the label -1
            acc_ll = vadd(acc_ll, vsel(valid, ll, 0.0))
            acc_fin = vadd(acc_fin, vsel(valid, fin, 0.0))
            acc_right = vadd(acc_right, vsel(veq(arg, y), 1.0, 0.0))
        vstore_at(acc_at, a0, acc_ll)
        vstore_at(acc_at, a0 + LANES, acc_right)
        vstore_at(acc_at, a0 + 2 * LANES, acc_fin)


@numba.njit(error_model="numpy")
def _add_acc(acc, ll_sum, n_right, fin_sum):
    """Add the lane accumulators ``acc`` (per weight: ``3 * LANES`` doubles, see
    :func:`_score_tile`) into ``ll_sum``, ``n_right`` and ``fin_sum`` (lanes in order)."""
    for j in range(ll_sum.shape[0]):
        a0 = 3 * LANES * j
        t_ll = 0.0
        t_right = 0.0
        t_fin = 0.0
        for e in range(LANES):
            t_ll += acc[a0 + e]
            t_right += acc[a0 + LANES + e]
            t_fin += acc[a0 + 2 * LANES + e]
        ll_sum[j] += t_ll
        n_right[j] += t_right
        fin_sum[j] += t_fin


# ============================================================== per-connection weights
def classify_scores_conn(packed: PackedClassifiers, conn_weights: np.ndarray, x_t: np.ndarray,
                         labels: np.ndarray, n_repeats: int, batch: int, *, worst: float,
                         exact_math: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fitness and accuracy of one network under many per-connection weight vectors.

    The pass of :func:`classify_scores` (tiles in cache, scores fused on lanes) with weight
    column ``j`` computing each node as ``act(sum_c conn_weights[j, c] * source_c)``, the
    sum left to right in the packed (source) order, as :meth:`WannNetwork.activate_weights`
    up to rounding. Tuning (CMA-ES, PEPG, ...) scores its samples with it.

    Parameters
    ----------
    packed : PackedClassifiers
        One network (built-in activations only).
    conn_weights : ndarray of shape (n_sets, n_connections)
        In the network's connection order.
    x_t, labels, n_repeats, batch, worst, exact_math
        As in :func:`classify_scores`.

    Returns
    -------
    fitness, accuracy : ndarray of shape (n_sets, n_repeats)
    """
    if len(packed.comp_lo) != 2:
        raise ValueError(f"per-connection weights score one network; the pack holds "
                         f"{len(packed.comp_lo) - 1}")
    cw = np.asarray(conn_weights, dtype=np.float64)
    if cw.ndim != 2 or cw.shape[1] != packed.n_connections:
        raise ValueError(f"conn_weights must be (n_sets, {packed.n_connections}), got shape "
                         f"{cw.shape}")
    padded = _check_columns(packed, x_t, n_repeats, batch)
    n_sets = cw.shape[0]
    # the kept connections' weights in the packed order; LANES doubles of padding after the
    # last, which a lane load of the last weight reads
    wp = np.zeros((n_sets, len(packed.src) + LANES))
    wp[:, :len(packed.src)] = cw[:, packed.conn_index]
    fitness = np.empty((1, n_sets, n_repeats))
    accuracy = np.empty((1, n_sets, n_repeats))
    if n_sets:
        _kernel_conn(packed.comp_lo, packed.acts, packed.cin_lo, packed.cin_mid, packed.cin_hi,
                     packed.src, packed.n_outputs, wp, np.ascontiguousarray(x_t, dtype=np.float64),
                     np.ascontiguousarray(labels, dtype=np.int64), int(n_repeats), int(batch),
                     int(padded), float(worst), bool(exact_math), fitness, accuracy)
    return fitness[0], accuracy[0]


@numba.njit(error_model="numpy")
def _tile_input_conn(o, args):
    """A node's input for lane group ``o`` of weight column ``col`` (``j * tile``): the sum of
    its sources, each times its weight in weight set ``j`` (at ``cw_at + wo``), bias and
    inputs read from ``x_t`` (column ``xcol``), computed nodes from the tile;
    ``args = (vals_at, xt_at, src_at, cw_at, lo, mid, hi, col, row_len, stride, xcol, wo)``."""
    vals_at, xt_at, src_at, cw_at, lo, mid, hi, col, row_len, stride, xcol, wo = args
    if hi == lo:
        return vsplat(0.0)
    if mid > lo:
        x = vmul(vload_at(xt_at, int_at(src_at, lo) * stride + xcol + o),
                 _float_at(cw_at, wo + lo))
    else:
        x = vmul(vload_at(vals_at, int_at(src_at, lo) * row_len + col + o),
                 _float_at(cw_at, wo + lo))
    for c in range(lo + 1, mid):
        x = vadd(x, vmul(vload_at(xt_at, int_at(src_at, c) * stride + xcol + o),
                         _float_at(cw_at, wo + c)))
    for c in range(max(mid, lo + 1), hi):
        x = vadd(x, vmul(vload_at(vals_at, int_at(src_at, c) * row_len + col + o),
                         _float_at(cw_at, wo + c)))
    return x


#: The activation dispatch over :func:`_tile_input_conn`.
_activate_tile_conn = make_activate_node(_tile_input_conn)


@numba.njit(error_model="numpy")
def _net_tile_conn(ptrs, nc, acts, cin_lo, cin_mid, cin_hi, n_out, s0, n_w, wstride, stride,
                   col0, tl, n_valid, exact, acc, ll_sum, n_right, fin_sum):
    """The network under weight sets ``s0 .. s0 + n_w - 1`` on the ``tl`` columns from
    ``col0``: node values, then the scores added to ``ll_sum`` ... (per weight set, from
    index 0)."""
    vals_at, xt_at, cw_at, src_at, lab_at = ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4]
    row_len = n_w * tl
    for i in range(nc):
        lo = cin_lo[i]
        mid = cin_mid[i]
        hi = cin_hi[i]
        a = acts[i]
        for j in range(n_w):
            _activate_tile_conn(a, exact, vals_at, i * row_len + j * tl, tl,
                                (vals_at, xt_at, src_at, cw_at, lo, mid, hi, j * tl, row_len,
                                 stride, col0, (s0 + j) * wstride))
    acc_at = ptrs[6]
    for q in range(0, 3 * LANES * n_w, LANES):
        vstore_at(acc_at, q, vsplat(0.0))
    _score_tile(vals_at, lab_at, ptrs[5], 0, 0, acc_at, row_len, n_w, tl, n_valid, n_out, col0,
                exact)
    _add_acc(acc, ll_sum, n_right, fin_sum)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _kernel_conn(comp_lo, acts, cin_lo, cin_mid, cin_hi, src, n_out, wp, x_t, labels, n_rep,
                 batch, padded, worst, exact, fitness, accuracy):
    """One network under every weight set on every repetition's batch: column blocks of
    ``_BLOCK_BUDGET / n_rows`` images, each through groups of weight sets whose node values
    fill a tile of at most ``_TILE_BUDGET`` doubles."""
    n_sets = wp.shape[0]
    wstride = wp.shape[1]
    stride = x_t.shape[1]
    nc = comp_lo[1] - comp_lo[0]
    block = min(padded, max(LANES, _BLOCK_BUDGET // x_t.shape[0] // LANES * LANES))
    # weight sets per group: a whole block of images for each within the tile budget
    group = max(1, min(n_sets, _TILE_BUDGET // max(1, nc * block)))
    tile = max(LANES, (_TILE_BUDGET // max(1, nc * group)) // LANES * LANES)
    vals = np.zeros(max(_TILE_BUDGET, nc * group * tile) + LANES)
    lab = _label_columns(labels, n_rep, padded, batch)
    ll_sum = np.zeros(n_sets)
    n_right = np.zeros(n_sets)
    fin_sum = np.zeros(n_sets)
    out_rows = np.arange(nc - n_out, nc)  # the outputs: the network's last nodes
    acc = np.zeros(group * 3 * LANES)  # a tile's lane accumulators, see _score_tile
    ptrs = np.array([addr(vals), addr(x_t), addr(wp), addr(src), addr(lab), addr(out_rows),
                     addr(acc)])
    for r in range(n_rep):
        ll_sum[:] = 0.0
        n_right[:] = 0.0
        fin_sum[:] = 0.0
        for b0 in range(0, batch, block):
            b1 = min(b0 + block, batch)  # images scored
            b1p = min(b0 + block, padded)  # images computed (whole lane groups)
            for s0 in range(0, n_sets, group):
                n_w = min(group, n_sets - s0)
                for t0 in range(b0, b1, tile):
                    _net_tile_conn(ptrs, nc, acts, cin_lo, cin_mid, cin_hi, n_out, s0, n_w,
                                   wstride, stride, r * padded + t0, min(tile, b1p - t0),
                                   min(tile, b1 - t0), exact, acc, ll_sum[s0:s0 + n_w],
                                   n_right[s0:s0 + n_w], fin_sum[s0:s0 + n_w])
        _finish(ll_sum, n_right, fin_sum, batch, worst, fitness[0, :, r], accuracy[0, :, r])
    keep_alive(vals)
    keep_alive(lab)
    keep_alive(wp)
    keep_alive(out_rows)
    keep_alive(acc)
