"""Compile each genome once: networks kept from one generation to the next.

:class:`NetworkCache` gives the same :class:`~wann_plugin.WannNetwork` as
``WannNetwork.from_genome`` (tests hold them equal, array for array), but

- a genome whose genes did not change since the last generation (an elite) gets its network
  back without compiling;
- a child (a copy of a parent plus one operator) gets its parent's network *patched*: its
  gene mappings record which keys they touched since the copy
  (:attr:`~wann_plugin._genes.ConnectionGenes.touched`), so the cache reads only those genes
  and edits the parent's arrays (an activation, a connection added or removed, a node
  inserted into the evaluation order) instead of reading every gene and sorting again
  (:func:`patch_network`).

Whether genes changed is known without looking at them: a genome's
:class:`~wann_plugin._genes.ConnectionGenes` counts every write and every gene it hands
out (``version``), and a copy records the ``(serial, version)`` it was copied from. Node genes
are named the same way (:class:`~wann_plugin._genes.NodeGenes` has its own ``version``,
``serial``, ``origin`` and ``touched``). Children that are not such copies (crossover, genes
replaced by hand) are compiled; plain-dict nodes are compared by value (key and activation);
genomes whose ``connections`` is a plain dict are compiled every time.
"""

from __future__ import annotations

import dataclasses
from operator import itemgetter

import numpy as np

from wann_plugin._genes import ConnectionGenes, NodeGenes, read_genes
from wann_plugin.activations import activation_by_name
from wann_plugin.compiled import edits
from wann_plugin.compiled.edits import descendants, edit_connections, split_node
from wann_plugin.network import BIAS_NODE, WannNetwork, _fixed_layout, _lexicographic_order

__all__ = ["NetworkCache"]


def _node_signature(genome) -> tuple:
    """What names the genome's node genes: ``(serial, version)`` of a
    :class:`~wann_plugin._genes.NodeGenes` (no walk over the nodes), else their values."""
    nodes = genome.nodes
    if isinstance(nodes, NodeGenes):
        return (nodes.serial, nodes.version)
    return tuple((k, n.activation) for k, n in read_genes(nodes).items())


def _nodes_unchanged_since(genome, signature) -> bool:
    """Whether ``genome``'s node genes are an untouched copy of the node genes named by
    ``signature`` (a parent's :func:`_node_signature`)."""
    nodes = genome.nodes
    return isinstance(nodes, NodeGenes) and nodes.version == 0 and nodes.origin == signature


def _delta_known(genome, node_signature) -> bool:
    """Whether ``genome``'s genes name every change since they were copied from a parent whose
    node genes are named by ``node_signature`` (both mappings are copies that record the keys
    they touched)."""
    nodes = genome.nodes
    return (genome.connections.touched is not None and isinstance(nodes, NodeGenes)
            and nodes.touched is not None and nodes.origin == node_signature)


class NetworkCache:
    """Compiled networks of the last population, by connection-gene set.

    Call :meth:`compile` for every genome of a generation, then :meth:`advance`: what the
    new generation compiled becomes the cache (the rest is dropped), so memory stays at
    one population's networks.
    """

    def __init__(self) -> None:
        edits.load()  # once per process: not in the first generation that patches
        self._previous: dict = {}
        self._current: dict = {}
        #: Counts of the last generation: ``{"reused", "patched", "relabelled", "extended",
        #: "compiled"}``.
        self.counts = {"reused": 0, "patched": 0, "relabelled": 0, "extended": 0, "compiled": 0}

    def compile(self, genome, genome_config) -> WannNetwork:
        """The network of ``genome`` (as ``WannNetwork.from_genome`` would build it)."""
        conns = genome.connections
        if not isinstance(conns, ConnectionGenes):
            self.counts["compiled"] += 1
            return WannNetwork.from_genome(genome, genome_config)
        nodes = _node_signature(genome)
        key = getattr(genome, "key", None)
        net, how = None, "compiled"
        hit = self._previous.get(conns.serial) or self._current.get(conns.serial)
        if hit is not None and hit[0] == conns.version and hit[1] is genome_config:
            if hit[2] == nodes and hit[3].key == key:
                net, how = hit[3], "reused"
            else:
                net, how = _relabel(hit[3], genome, genome_config, key), "relabelled"
        elif conns.origin is not None:
            parent = self._previous.get(conns.origin[0])
            if parent is not None and parent[0] == conns.origin[1] and \
                    parent[1] is genome_config:
                if _delta_known(genome, parent[2]):
                    net = patch_network(parent[3], genome, genome_config, key)
                    how = "patched"
                elif _nodes_unchanged_since(genome, parent[2]):
                    net = parent[3] if parent[3].key == key else \
                        dataclasses.replace(parent[3], key=key)
                    how = "relabelled"
                else:
                    net, how = _relabel(parent[3], genome, genome_config, key), "relabelled"
                if how == "relabelled" and net is not None and conns.version != 0:
                    net, how = _extend(net, conns.enabled_keys(), genome_config), "extended"
        if net is None:
            net, how = WannNetwork.from_genome(genome, genome_config), "compiled"
        self.counts[how] += 1
        self._current[conns.serial] = (conns.version, genome_config, nodes, net)
        return net

    def advance(self) -> None:
        """End of a generation: keep only the networks compiled or reused since the last call."""
        self._previous, self._current = self._current, {}
        self.counts = dict.fromkeys(self.counts, 0)

    def clear(self) -> None:
        """Forget every network."""
        self._previous, self._current = {}, {}


def _extend(net: WannNetwork, enabled: list, genome_config) -> WannNetwork | None:
    """``net`` with the enabled connections ``enabled`` when they are ``net``'s plus at most
    one new connection that keeps ``net``'s node order (its source already comes before its
    destination), else None.

    The node order is the smallest topological order in key order; adding an edge that the
    order already respects leaves it the smallest, so the compiled order stays valid.
    """
    n_old = net.n_connections
    if len(enabled) == n_old:
        return net if set(enabled) == set(net.conn_keys) else None
    if len(enabled) != n_old + 1:
        return None
    old = set(net.conn_keys)
    new = [k for k in enabled if k not in old]
    if len(new) != 1:
        return None
    a, b = new[0]
    n_fixed = 1 + net.n_inputs
    bias_key = getattr(genome_config, "bias_key", None)
    first_out = net.n_nodes - net.n_outputs
    node_keys = net.node_keys
    if b == bias_key or b in node_keys[1:n_fixed]:
        return None
    src = 0 if a == bias_key else _index(node_keys, a)
    dst = _index(node_keys, b, n_fixed)
    if src is None or dst is None or src >= dst or src >= first_out:
        return None
    flat = net.conn_dst.astype(np.int64) * net.n_nodes + net.conn_src
    at = int(np.searchsorted(flat, dst * net.n_nodes + src))
    in_ptr = net.in_ptr.copy()
    in_ptr[dst + 1:] += 1
    return dataclasses.replace(
        net, conn_src=np.insert(net.conn_src, at, src), conn_dst=np.insert(net.conn_dst, at, dst),
        in_ptr=in_ptr, conn_keys=net.conn_keys[:at] + ((a, b),) + net.conn_keys[at:])


def _index(keys: tuple, key, start: int = 1) -> int | None:
    try:
        return keys.index(key, start)
    except ValueError:
        return None


def _relabel(net: WannNetwork, genome, genome_config, key) -> WannNetwork | None:
    """``net``'s topology with ``genome``'s node activations and key, or None when the
    genome's nodes are not ``net``'s (then it must be compiled)."""
    outputs = set(genome_config.output_keys)
    n_fixed = 1 + net.n_inputs
    keys = net.node_keys[n_fixed:]
    nodes = read_genes(genome.nodes)
    if len(nodes) != len(keys) or any(k not in nodes for k in keys):
        return None
    if any(k not in outputs for k in keys[len(keys) - net.n_outputs:]):
        return None
    acts = net.activations.copy()
    for pos, k in enumerate(keys, start=n_fixed):
        acts[pos] = activation_by_name(nodes[k].activation).id
    if np.array_equal(acts, net.activations) and net.key == key:
        return net
    return dataclasses.replace(net, activations=acts, key=key)


def patch_network(net: WannNetwork, genome, genome_config, key) -> WannNetwork | None:
    """The network of ``genome``, built from ``net`` (its parent's network) and the gene keys
    the genome's mappings touched since the copy; None when the change is not one this
    patches exactly (then the genome must be compiled).

    The hidden nodes of a compiled network are in the smallest topological order in key
    order (:func:`~wann_plugin.network._lexicographic_order`); a patch keeps exactly that:

    - activations of existing nodes change in place;
    - an enabled connection added whose source comes before its destination leaves the order
      as it is (every step of the order still takes the smallest ready node), and so does
      one removed that does not join two hidden nodes;
    - a new hidden node whose key is above every hidden key and that feeds no hidden node
      comes last among the hidden nodes (it is ready only when nothing else is);
    - the split of a connection ``a -> b`` between ``a`` and a hidden ``b`` by a new node
      ``n`` (the add-node operator): the nodes that are not ``b`` or below it keep their
      order (they never wait for those), ``n`` comes next (the largest key, ready after
      ``a``), then ``b`` and its descendants in their own smallest order.

    Everything else (a deleted node, two new nodes, a connection against the order, a removed
    connection between hidden nodes) returns None.
    """
    conns, nodes = genome.connections, genome.nodes
    node_keys, acts = net.node_keys, net.activations
    n_fixed = 1 + net.n_inputs
    n_nodes = len(node_keys)
    first_out = n_nodes - net.n_outputs
    node_genes = nodes.explicit
    new_key = new_gene = None
    for k in nodes.touched:
        gene = node_genes.get(k)
        pos = _index(node_keys, k, n_fixed)
        if pos is None:
            if gene is None:
                continue  # added and deleted again
            if new_gene is not None:
                return None
            new_key, new_gene = k, gene
        elif gene is None:
            return None  # a deleted node
        else:
            aid = activation_by_name(gene.activation).id
            if aid != acts.item(pos):  # a Python int: no numpy scalar comparison
                if acts is net.activations:
                    acts = acts.copy()
                acts[pos] = aid
    conn_genes, conn_keys = conns.explicit, net.conn_keys
    added, removed, drop = [], [], []
    fixed = _fixed_positions(genome_config)
    if conns.touched:
        # whether the parent's network has a touched connection, and where: found through its
        # ends (the connections into a node are one CSR row), not a set of every key
        for k in conns.touched:
            gene = conn_genes.get(k)
            if new_gene is not None and (k[0] == new_key or k[1] == new_key):
                at = -1  # an end is the new node: not in the parent's network
            else:
                at = _connection_index(net, k, fixed, n_fixed)
            if (gene is not None and gene.enabled) != (at >= 0):
                if at >= 0:
                    removed.append(k)
                    drop.append(at)
                else:
                    added.append(k)
    if new_gene is None and not added and not removed:
        if acts is net.activations and net.key == key:
            return net
        return _network(net, acts, net.conn_src, net.conn_dst, net.in_ptr, net.node_keys,
                        net.conn_keys, key)
    bias_key = getattr(genome_config, "bias_key", None)
    src, dst = net.conn_src, net.conn_dst
    if new_gene is not None:
        if new_key == BIAS_NODE or new_key in fixed:
            return None
        hidden = node_keys[n_fixed:first_out]
        try:
            if hidden and not new_key > max(hidden):
                return None
        except TypeError:
            return None
        new_act = activation_by_name(new_gene.activation).id
        split = _split_of(net, new_key, added, removed, bias_key)
        if split is not None:
            return _split_hidden(net, acts, new_key, new_act, split, key, drop[0])
    if removed:
        drop.sort()
        if any(n_fixed <= src.item(i) and dst.item(i) < first_out for i in drop):
            return None  # joined two hidden nodes: the order may change
    node_at = -1
    if new_gene is not None:  # the new node goes last among the hidden nodes
        node_at = first_out
        node_keys = node_keys[:first_out] + (new_key,) + node_keys[first_out:]
        acts = _insert(acts, first_out, new_act)
        first_out += 1
        n_nodes += 1
    add_src, add_dst = [], []
    for a, b in added:
        s = _position(node_keys, a, fixed, n_fixed)
        d = _index(node_keys, b, n_fixed)
        if s is None or d is None or s >= d or s >= first_out:
            return None
        add_src.append(s)
        add_dst.append(d)
    src, dst, in_ptr, where = edit_connections(
        src, dst, _int64s(drop), node_at, _int64s(add_src), _int64s(add_dst), n_nodes)
    if not removed and len(added) == 1:  # one connection added (add-connection, enable)
        at = where.item(0)
        conn_keys = conn_keys[:at] + (added[0],) + conn_keys[at:]
    elif removed or added:
        conn_list = list(conn_keys)
        for i in reversed(drop):
            del conn_list[i]
        for at, k in sorted(zip(where.tolist(), added)):
            conn_list.insert(at, k)
        conn_keys = tuple(conn_list)
    return _network(net, acts, src, dst, in_ptr, node_keys, conn_keys, key)


def _fixed_positions(genome_config) -> dict:
    """``{bias or input key: node position}`` of networks compiled with ``genome_config``
    (the shared layout of :func:`~wann_plugin.network._fixed_layout`, looked up once per
    config object)."""
    cached = _FIXED_POSITIONS.get(id(genome_config))
    if cached is not None and cached[0] is genome_config and cached[1] is \
            genome_config.input_keys:
        return cached[2]
    positions = _fixed_layout(genome_config)[3]
    if len(_FIXED_POSITIONS) > 16:
        _FIXED_POSITIONS.clear()
    _FIXED_POSITIONS[id(genome_config)] = (genome_config, genome_config.input_keys, positions)
    return positions


_FIXED_POSITIONS: dict = {}


def _position(node_keys: tuple, key, fixed: dict, n_fixed: int) -> int | None:
    """Position of a connection's source ``key``: the bias or an input (from ``fixed``), else
    a hidden node or an output."""
    pos = fixed.get(key)
    return pos if pos is not None else _index(node_keys, key, n_fixed)


def _connection_index(net: WannNetwork, conn_key, fixed: dict, n_fixed: int) -> int:
    """Index of the connection ``conn_key`` in ``net`` (its position in ``conn_keys``), or -1
    when ``net`` does not have it."""
    a, b = conn_key
    d = _index(net.node_keys, b, n_fixed)
    if d is None:
        return -1
    s = _position(net.node_keys, a, fixed, n_fixed)
    if s is None:
        return -1
    in_ptr = net.in_ptr
    lo, hi = in_ptr.item(d), in_ptr.item(d + 1)
    if lo == hi:
        return -1
    row = net.conn_src[lo:hi].tolist()
    try:
        return lo + row.index(s)
    except ValueError:
        return -1


_NO_INT64S = np.zeros(0, dtype=np.int64)  # length 0: shared, nothing can be written to it


def _int64s(values: list) -> np.ndarray:
    """``np.array(values, dtype=np.int64)``; the empty list's is one shared array."""
    return np.array(values, dtype=np.int64) if values else _NO_INT64S


def _insert(arr: np.ndarray, at: int, value) -> np.ndarray:
    """``np.insert(arr, at, value)`` for a 1-d array, without its generic machinery."""
    out = np.empty(len(arr) + 1, dtype=arr.dtype)
    out[:at] = arr[:at]
    out[at] = value
    out[at + 1:] = arr[at:]
    return out


def _network(net, acts, src, dst, in_ptr, node_keys, conn_keys, key) -> WannNetwork:
    """``dataclasses.replace(net, ...)`` of every array field, without its field walk.

    The frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (about
    3 us a network); this fills the instance dict in one call, in the fields' order, so the
    object is the one ``__init__`` would make (WannNetwork has no ``__post_init__``; a test
    holds the two equal)."""
    out = _new_object(WannNetwork)
    out.__dict__.update(n_inputs=net.n_inputs, n_outputs=net.n_outputs, activations=acts,
                        conn_src=src, conn_dst=dst, in_ptr=in_ptr, node_keys=node_keys,
                        conn_keys=conn_keys, key=key)
    return out


_new_object = object.__new__


def _split_of(net: WannNetwork, new_key, added: list, removed: list, bias_key):
    """``(a, b)`` when the change is exactly the split of ``a -> b`` by ``new_key`` with ``b``
    a hidden node, else None."""
    if len(removed) != 1 or len(added) != 2:
        return None
    a, b = removed[0]
    if set(added) != {(a, new_key), (new_key, b)}:
        return None
    n_fixed = 1 + net.n_inputs
    first_out = net.n_nodes - net.n_outputs
    pb = _index(net.node_keys, b, n_fixed)
    if pb is None or pb >= first_out:
        return None
    return a, b


def _split_hidden(net: WannNetwork, acts: np.ndarray, new_key, new_act: int, split: tuple,
                  key, old_index: int) -> WannNetwork:
    """The network after the split of ``a -> b`` (``b`` hidden, the connection at position
    ``old_index``) by the new node ``new_key`` (see :func:`patch_network` for why this is the
    smallest order)."""
    a, b = split
    node_keys, in_ptr = net.node_keys, net.in_ptr
    n_fixed = 1 + net.n_inputs
    n_old = net.n_nodes
    first_out = n_old - net.n_outputs
    pb = node_keys.index(b, n_fixed)
    # b and its hidden descendants come after n, in their own smallest order
    below, edge_src, edge_dst = descendants(net.conn_src, net.conn_dst, in_ptr, pb, first_out)
    if not len(edge_src):  # b feeds no hidden node: n, then b, after the others
        tail_pos = [pb]
    else:
        at = {node_keys[p]: p for p in np.flatnonzero(below).tolist()}
        edges = [(node_keys[s], node_keys[d])
                 for s, d in zip(edge_src.tolist(), edge_dst.tolist())]
        tail_pos = [at[k] for k in _lexicographic_order(list(at), edges)]
    src, dst, in_ptr, new_acts, kept, taken = split_node(
        net.conn_src, net.conn_dst, acts, below, np.array(tail_pos, dtype=np.int64), n_fixed,
        first_out, old_index, new_act)
    new_keys = (node_keys[:n_fixed] + tuple([node_keys[p] for p in kept.tolist()]) + (new_key,)
                + tuple([node_keys[p] for p in tail_pos]) + node_keys[first_out:])
    conn_keys = list(net.conn_keys)
    del conn_keys[old_index]
    conn_keys += [(a, new_key), (new_key, b)]
    conn_keys = itemgetter(*taken.tolist())(conn_keys)  # a tuple: there are >= 2
    return _network(net, new_acts, src, dst, in_ptr, new_keys, conn_keys, key)
