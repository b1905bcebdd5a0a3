"""A genome compiled once into flat arrays, and every forward pass the library runs.

:class:`WannNetwork` is the only place a genome becomes numbers. Evaluation, tuning,
gradients, drawing and export all go through it.

Node order
    ``[bias, inputs..., hidden (topological)..., outputs...]``: the reference's expressed
    order (Gaier & Ha 2019, ``ind.py: getNodeOrder``). Node 0 is the bias, a constant 1 whose
    connections carry the shared weight like any other connection.
Connections
    Only enabled connections are compiled. They are stored grouped by destination (CSR):
    the connections into node ``i`` are ``in_ptr[i]:in_ptr[i + 1]``, sorted by source.

Forward pass (one synchronous sweep, no state between calls)::

    value[0] = 1;  value[1:1 + n_inputs] = x
    value[i] = act_i( sum_c w_c * value[src_c] )   for every later node i, in order

With a shared weight every ``w_c`` equals ``w``, so ``value[i] = act_i(w * sum_c value[src_c])``
and ``w`` becomes a batch dimension.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from wann_plugin.activations import (
    BUILTIN_MAX_ID,
    activation_by_id,
    activation_by_name,
)

__all__ = ["WannNetwork", "NetworkError", "reference_activate", "required_nodes"]

BIAS_NODE = "bias"


class NetworkError(ValueError):
    """A genome or weight matrix that does not describe a feed-forward WANN."""


def _enabled_keys(conns) -> list:
    """Keys of the enabled connection genes (without visiting dormant ones)."""
    fast = getattr(conns, "enabled_keys", None)
    if fast is not None:
        return fast()
    return [k for k, c in conns.items() if c.enabled]


_FIXED_LAYOUTS: dict = {}


def _fixed_layout(genome_config) -> tuple:
    """``(obs_keys, out_keys, out_set, fixed_pos, fixed_node_keys)`` of a genome config: the
    bias and input part every compiled network shares (cached by the keys themselves)."""
    bias_key = getattr(genome_config, "bias_key", None)
    sig = (bias_key, tuple(genome_config.input_keys), tuple(genome_config.output_keys))
    layout = _FIXED_LAYOUTS.get(sig)
    if layout is None:
        obs_keys = [k for k in sig[1] if k != bias_key]
        out_keys = list(sig[2])
        fixed = ([BIAS_NODE] if bias_key is None else [bias_key]) + obs_keys
        fixed_pos = {k: i for i, k in enumerate(fixed)}
        if bias_key is None:
            fixed_pos.pop(BIAS_NODE)
        fixed_node_keys = tuple(BIAS_NODE if k == bias_key else k for k in fixed)
        layout = (obs_keys, out_keys, set(out_keys), fixed_pos, fixed_node_keys)
        if len(_FIXED_LAYOUTS) > 64:
            _FIXED_LAYOUTS.clear()
        _FIXED_LAYOUTS[sig] = layout
    obs_keys, out_keys, out_set, fixed_pos, fixed_node_keys = layout
    return list(obs_keys), list(out_keys), out_set, fixed_pos, fixed_node_keys


def _lexicographic_order(nodes: list, edges: list) -> list | None:
    """Topological order of ``nodes`` that takes the smallest ready node first (networkx's
    ``lexicographical_topological_sort``, Kahn's algorithm with a heap); None on a cycle."""
    if not edges:
        return sorted(nodes)
    succs: dict = {n: [] for n in nodes}
    pending = dict.fromkeys(nodes, 0)
    for a, b in edges:
        succs[a].append(b)
        pending[b] += 1
    ready = [n for n in nodes if pending[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for s in succs[n]:
            pending[s] -= 1
            if pending[s] == 0:
                heapq.heappush(ready, s)
    return order if len(order) == len(nodes) else None


@dataclass(frozen=True, eq=False)
class WannNetwork:
    """A feed-forward network compiled to flat arrays.

    Build one with :meth:`from_genome` or :meth:`from_matrix`, not by hand.

    Attributes
    ----------
    n_inputs : int
        Task inputs (the bias is extra).
    n_outputs : int
        Outputs, the last ``n_outputs`` nodes.
    activations : ndarray of shape (n_nodes,), int
        Activation id per node (bias and inputs hold 1 and are never activated).
    conn_src, conn_dst : ndarray of shape (n_connections,), int
        Node positions of each enabled connection, grouped by destination.
    in_ptr : ndarray of shape (n_nodes + 1,), int
        CSR pointers: node ``i``'s incoming connections are ``in_ptr[i]:in_ptr[i+1]``.
    node_keys : tuple
        The genome's node key at each position (``"bias"`` at 0, input keys, ...).
    conn_keys : tuple
        The genome's connection key ``(in, out)`` of each compiled connection.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((4, 4)); W[0, 3] = W[1, 3] = W[2, 3] = 1.0   # bias, x1, x2 -> y
    >>> net = WannNetwork.from_matrix(W, [1, 1, 1, 1], n_inputs=2, n_outputs=1)
    >>> net.activate(np.array([[0.5, 2.0]]), weight=-1.0).tolist()
    [[-3.5]]
    """

    n_inputs: int
    n_outputs: int
    activations: np.ndarray
    conn_src: np.ndarray
    conn_dst: np.ndarray
    in_ptr: np.ndarray
    node_keys: tuple = ()
    conn_keys: tuple = ()
    key: Any = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_edges(
        cls,
        n_inputs: int,
        n_outputs: int,
        activations: Sequence[int],
        edges: Sequence[tuple[int, int]],
        *,
        node_keys: Sequence[Hashable] | None = None,
        conn_keys: Sequence[Hashable] | None = None,
        key: Any = None,
    ) -> WannNetwork:
        """Compile from node positions already in evaluation order.

        Parameters
        ----------
        n_inputs, n_outputs : int
            Task inputs and outputs; ``len(activations) >= 1 + n_inputs + n_outputs``.
        activations : sequence of int
            Activation id of every node, in order.
        edges : sequence of (src, dst)
            Enabled connections as node positions; every ``src < dst``, no edge into the bias
            or an input, none out of an output.
        """
        acts = np.asarray(activations, dtype=np.int16)
        n_nodes = len(acts)
        n_fixed = 1 + n_inputs
        if n_inputs < 0 or n_outputs < 1 or n_nodes < n_fixed + n_outputs:
            raise NetworkError(
                f"{n_nodes} nodes cannot hold a bias, {n_inputs} inputs and {n_outputs} outputs"
            )
        for a in np.unique(acts):
            activation_by_id(int(a))  # raises on unknown ids
        edges_arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        src, dst = edges_arr[:, 0], edges_arr[:, 1]
        first_out = n_nodes - n_outputs
        bad = (src >= dst) | (dst < n_fixed) | (src >= first_out) | (src < 0) | (dst >= n_nodes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NetworkError(
                f"connection {int(src[i])}->{int(dst[i])} is not feed-forward in node order "
                f"(nodes 0..{n_fixed - 1} are bias and inputs, {first_out}..{n_nodes - 1} outputs)"
            )
        order = np.lexsort((src, dst))
        src, dst = src[order], dst[order]
        if len(src) > 1 and np.any((np.diff(src) == 0) & (np.diff(dst) == 0)):
            raise NetworkError("duplicate connection in edge list")
        in_ptr = np.zeros(n_nodes + 1, dtype=np.int32)
        np.cumsum(np.bincount(dst, minlength=n_nodes), out=in_ptr[1:])
        ckeys = tuple(conn_keys[i] for i in order) if conn_keys is not None else tuple(
            (int(s), int(d)) for s, d in zip(src, dst)
        )
        nkeys = tuple(node_keys) if node_keys is not None else tuple(range(n_nodes))
        return cls(
            n_inputs=int(n_inputs),
            n_outputs=int(n_outputs),
            activations=acts,
            conn_src=src.astype(np.int32),
            conn_dst=dst.astype(np.int32),
            in_ptr=in_ptr,
            node_keys=nkeys,
            conn_keys=ckeys,
            key=key,
        )

    @classmethod
    def from_matrix(
        cls,
        matrix: np.ndarray,
        activations: Sequence[float],
        n_inputs: int,
        n_outputs: int,
        *,
        key: Any = None,
    ) -> WannNetwork:
        """Compile a reference-style weight matrix (rows = source, columns = destination).

        Entries that are 0 or NaN are absent or disabled; any other value is an enabled
        connection (its value is ignored, as in WANN evaluation).
        """
        W = np.asarray(matrix, dtype=float)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise NetworkError(f"weight matrix must be square, got shape {W.shape}")
        acts = np.asarray(activations, dtype=float)
        if acts.shape != (W.shape[0],):
            raise NetworkError(f"{W.shape[0]} nodes but {acts.shape} activation ids")
        if not np.all(acts == np.round(acts)):
            raise NetworkError("activation ids must be whole numbers")
        enabled = np.isfinite(W) & (W != 0)
        if np.any(np.tril(enabled)):
            s, d = np.argwhere(np.tril(enabled))[0]
            raise NetworkError(f"matrix is not strictly upper-triangular: entry [{s}, {d}] is set")
        src, dst = np.nonzero(enabled)  # row-major
        return cls.from_edges(
            n_inputs, n_outputs, acts.astype(int), list(zip(src, dst)), key=key
        )

    @classmethod
    def from_genome(cls, genome, genome_config) -> WannNetwork:
        """Compile a :class:`~wann_plugin.WannGenome` (or any DefaultGenome whose node genes
        carry WANN activation names).

        The bias is the input key ``genome_config.bias_key`` (fed a constant 1).

        Raises
        ------
        NetworkError
            If an enabled connection leaves an output, enters an input, refers to a missing
            node, or closes a cycle. The message names the genome.
        """
        gname = f"genome {getattr(genome, 'key', '?')}"
        obs_keys, out_keys, out_set, fixed_pos, fixed_node_keys = _fixed_layout(genome_config)
        fixed_set = fixed_pos
        hidden = sorted(k for k in genome.nodes if k not in out_set)
        hidden_set = set(hidden)
        conns = sorted(_enabled_keys(genome.connections))
        hidden_edges = []
        for a, b in conns:
            if a in out_set:
                raise NetworkError(f"{gname}: enabled connection {a}->{b} leaves an output node")
            if b in fixed_set:
                raise NetworkError(f"{gname}: enabled connection {a}->{b} enters an input node")
            if (a not in fixed_set and a not in hidden_set) or (b not in out_set and b not in hidden_set):
                raise NetworkError(f"{gname}: connection {a}->{b} refers to a node the genome lacks")
            if a in hidden_set and b in hidden_set:
                hidden_edges.append((a, b))
        hidden_order = _lexicographic_order(hidden, hidden_edges)
        if hidden_order is None:
            g = nx.DiGraph(hidden_edges)
            cycle = nx.find_cycle(g)
            raise NetworkError(f"{gname}: connections form a cycle {cycle}") from None
        computed = hidden_order + out_keys
        pos = {k: i for i, k in enumerate(computed, start=len(fixed_node_keys))}
        acts = [1] * len(fixed_node_keys)
        nodes = getattr(genome.nodes, "explicit", genome.nodes)  # read without copying
        for k in computed:
            acts.append(activation_by_name(nodes[k].activation).id)
        node_keys = fixed_node_keys + tuple(computed)
        edges = [(fixed_pos[a] if a in fixed_pos else pos[a], pos[b]) for a, b in conns]
        return cls.from_edges(
            len(obs_keys), len(out_keys), acts, edges,
            node_keys=node_keys, conn_keys=conns, key=getattr(genome, "key", None),
        )

    # ------------------------------------------------------------------ shape
    @property
    def n_nodes(self) -> int:
        """Number of nodes, bias and inputs included."""
        return len(self.activations)

    @property
    def n_hidden(self) -> int:
        """Number of hidden nodes."""
        return self.n_nodes - 1 - self.n_inputs - self.n_outputs

    @property
    def n_connections(self) -> int:
        """Number of enabled connections (the complexity objective)."""
        return len(self.conn_src)

    @property
    def uses_builtin_activations(self) -> bool:
        """True when every activation has a built-in id (1..11)."""
        return bool(np.all(self.activations[1 + self.n_inputs:] <= BUILTIN_MAX_ID))

    @property
    def uses_compiled_activations(self) -> bool:
        """True when the compiled kernels can compute every activation: built-ins, and
        custom activations registered with a ``compiled`` form."""
        return all(activation_by_id(int(a)).is_compiled
                   for a in np.unique(self.activations[1 + self.n_inputs:]))

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the network's content (shape, activation ids, connections), computed
        once: two networks with equal fingerprints compute the same function in this process
        (the evaluator reuses the scores of an interrupted generation by it)."""
        h = hashlib.sha1(np.array([self.n_inputs, self.n_outputs], dtype=np.int64).tobytes())
        for arr in (self.activations, self.conn_src, self.conn_dst):
            h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
        return h.hexdigest()

    def row_major_order(self) -> np.ndarray:
        """Connection indices sorted by (source, destination): the reference's parameter order.

        The i-th tuned parameter of a reference ``zoo/*.wann.json`` belongs to connection
        ``row_major_order()[i]``.
        """
        return np.lexsort((self.conn_dst, self.conn_src))

    def weight_matrix(self, weights: float | np.ndarray = 1.0) -> np.ndarray:
        """Dense ``(n_nodes, n_nodes)`` matrix, rows = source: one shared weight or a vector
        of per-connection weights (in this network's connection order)."""
        W = np.zeros((self.n_nodes, self.n_nodes))
        W[self.conn_src, self.conn_dst] = np.broadcast_to(weights, (self.n_connections,))
        return W

    def required_nodes(self) -> np.ndarray:
        """Boolean mask of the nodes that reach an output (the rest cannot change it)."""
        return required_nodes(self.n_outputs, self.in_ptr, self.conn_src)

    # ------------------------------------------------------------------ forward
    def activate(self, x: np.ndarray, weight: float | np.ndarray = 1.0) -> np.ndarray:
        """Outputs for inputs ``x`` with every connection at the shared ``weight``.

        Parameters
        ----------
        x : ndarray of shape (..., n_inputs)
            Inputs; leading dimensions are batch dimensions.
        weight : float or ndarray
            Shared weight, broadcast against ``x.shape[:-1]``: pass ``weights[:, None]``
            with ``x`` of shape ``(n_samples, n_inputs)`` to get every weight at once.

        Returns
        -------
        ndarray of shape (broadcast batch shape, n_outputs)
            Non-finite values propagate (callers score them as the worst value).
        """
        return self._forward(x, shared=weight)[..., self.n_nodes - self.n_outputs:]

    def activate_weights(self, x: np.ndarray, conn_weights: np.ndarray) -> np.ndarray:
        """Outputs with one weight per connection.

        Parameters
        ----------
        x : ndarray of shape (..., n_inputs)
        conn_weights : ndarray of shape (..., n_connections)
            In this network's connection order; leading dimensions broadcast against
            ``x.shape[:-1]`` (a population of weight vectors is a batch dimension).
        """
        cw = np.asarray(conn_weights, dtype=float)
        if cw.shape[-1:] != (self.n_connections,):
            raise ValueError(
                f"conn_weights has trailing size {cw.shape[-1:]}, network has "
                f"{self.n_connections} connections"
            )
        return self._forward(x, conn=cw)[..., self.n_nodes - self.n_outputs:]

    def node_values(self, x, weight=1.0, conn_weights=None):
        """Values and pre-activations of every node: two arrays ``(..., n_nodes)``."""
        pre = {}
        vals = self._forward(x, shared=weight if conn_weights is None else None,
                             conn=None if conn_weights is None else np.asarray(conn_weights, float),
                             pre_out=pre)
        return vals, pre["pre"]

    def _forward(self, x, shared=None, conn=None, pre_out=None):
        x = np.asarray(x, dtype=float)
        if x.shape[-1:] != (self.n_inputs,):
            raise ValueError(f"inputs have trailing size {x.shape[-1:]}, network takes {self.n_inputs}")
        if conn is not None:
            batch = np.broadcast_shapes(x.shape[:-1], conn.shape[:-1])
        else:
            shared = np.asarray(shared, dtype=float)
            batch = np.broadcast_shapes(x.shape[:-1], shared.shape)
        vals = np.zeros(batch + (self.n_nodes,))
        vals[..., 0] = 1.0
        vals[..., 1:1 + self.n_inputs] = x
        pre = np.zeros_like(vals) if pre_out is not None else None
        src, ptr, acts = self.conn_src, self.in_ptr, self.activations
        with np.errstate(all="ignore"):
            for i in range(1 + self.n_inputs, self.n_nodes):
                lo, hi = ptr[i], ptr[i + 1]
                if conn is None:
                    s = shared * vals[..., src[lo:hi]].sum(axis=-1)
                else:
                    s = (vals[..., src[lo:hi]] * conn[..., lo:hi]).sum(axis=-1)
                if pre is not None:
                    pre[..., i] = s
                vals[..., i] = activation_by_id(acts[i]).func(s)
        if pre_out is not None:
            pre_out["pre"] = pre
        return vals

    # ------------------------------------------------------------------ gradients
    def output_jacobian(self, x: np.ndarray, conn_weights: np.ndarray) -> np.ndarray:
        """Exact derivatives of the outputs with respect to each connection weight.

        Reverse mode over the topological order (one sweep back per batch of samples).

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_inputs)
        conn_weights : ndarray of shape (n_connections,)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs, n_connections)
            ``J[t, k, c] = d output_k(x_t) / d w_c``.
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        cw = np.asarray(conn_weights, dtype=float)
        if cw.shape != (self.n_connections,):
            raise ValueError(f"conn_weights must have shape ({self.n_connections},), got {cw.shape}")
        vals, pre = self.node_values(x, conn_weights=cw)
        n_s, n_k = x.shape[0], self.n_outputs
        adj = np.zeros((n_s, n_k, self.n_nodes))
        first_out = self.n_nodes - n_k
        adj[:, np.arange(n_k), first_out + np.arange(n_k)] = 1.0
        jac = np.zeros((n_s, n_k, self.n_connections))
        src, ptr, acts = self.conn_src, self.in_ptr, self.activations
        with np.errstate(all="ignore"):
            for i in range(self.n_nodes - 1, self.n_inputs, -1):
                lo, hi = ptr[i], ptr[i + 1]
                if lo == hi:
                    continue
                delta = adj[:, :, i] * activation_by_id(acts[i]).derivative(pre[:, i])[:, None]
                jac[:, :, lo:hi] = delta[:, :, None] * vals[:, None, src[lo:hi]]
                np.add.at(adj, (slice(None), slice(None), src[lo:hi]),
                          delta[:, :, None] * cw[lo:hi])
        return jac

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("fingerprint", None)  # of this process's activation ids
        # custom activation ids are handed out per process in registration order: travel by name
        custom = {int(a): activation_by_id(int(a)).name
                  for a in np.unique(self.activations) if a > BUILTIN_MAX_ID}
        state["_custom_activations"] = custom
        return state

    def __setstate__(self, state):
        state.pop("_cache", None)  # pickled by versions that had a (never read) cache
        custom = state.pop("_custom_activations", None) or {}
        if custom:
            acts = np.array(state["activations"], copy=True)
            for old_id, name in custom.items():
                try:
                    local = activation_by_name(name).id
                except ValueError:
                    raise NetworkError(
                        f"network {state.get('key')!r} uses the custom activation {name!r}, which "
                        "is not registered in this process: register it at module level in a "
                        "module the workers import (e.g. wann --import MODULE)"
                    ) from None
                acts[state["activations"] == old_id] = local
            state["activations"] = acts
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __repr__(self) -> str:
        return (
            f"WannNetwork(key={self.key!r}, inputs={self.n_inputs}, hidden={self.n_hidden}, "
            f"outputs={self.n_outputs}, connections={self.n_connections})"
        )


def required_nodes(n_outputs: int, in_ptr: np.ndarray, conn_src: np.ndarray) -> np.ndarray:
    """Boolean mask ``(n_nodes,)`` of the nodes that reach one of the last ``n_outputs``
    nodes of a network given by its CSR pointers ``in_ptr`` (``n_nodes + 1``) and
    connection sources: the pruning every compiled kernel applies
    (:meth:`WannNetwork.required_nodes`). Plain loops: the compiled packer compiles this very
    function (:mod:`wann_plugin.compiled.layout`)."""
    n_nodes = len(in_ptr) - 1
    need = np.zeros(n_nodes, dtype=np.bool_)
    need[n_nodes - n_outputs:] = True
    for i in range(n_nodes - 1, 0, -1):
        if need[i]:
            for c in range(in_ptr[i], in_ptr[i + 1]):
                need[conn_src[c]] = True
    return need


def reference_activate(net: WannNetwork, x: np.ndarray, weight: float = 1.0,
                       conn_weights: np.ndarray | None = None) -> np.ndarray:
    """The plain reference forward pass (``ind.py: act``), kept to test the fast paths.

    ``nodeAct[:, i] = act_i(nodeAct @ W[:, i])`` over a dense matrix, one node at a time.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_inputs)
    weight : float
        Shared weight (ignored when ``conn_weights`` is given).
    conn_weights : ndarray of shape (n_connections,), optional

    Returns
    -------
    ndarray of shape (n_samples, n_outputs)
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    W = net.weight_matrix(weight if conn_weights is None else conn_weights)
    node_act = np.zeros((x.shape[0], net.n_nodes))
    node_act[:, 0] = 1.0
    node_act[:, 1:net.n_inputs + 1] = x
    with np.errstate(all="ignore"):
        for i in range(net.n_inputs + 1, net.n_nodes):
            raw = node_act @ W[:, i]
            node_act[:, i] = activation_by_id(int(net.activations[i])).func(raw)
    return node_act[:, -net.n_outputs:]
