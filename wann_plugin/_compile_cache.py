"""Compile each genome once: networks kept from one generation to the next.

:class:`NetworkCache` gives the same :class:`~wann_plugin.WannNetwork` as
``WannNetwork.from_genome`` (a test holds them equal), but

- a genome whose genes did not change since the last generation (an elite) gets its network
  back without compiling;
- a child whose connection genes are still exactly its parent's (the change-activation
  operator, or an operator that found nothing to do) reuses the parent's compiled topology
  and only reads its node activations again.

Whether connection genes changed is known without looking at them: a genome's
:class:`~wann_plugin._genes.ConnectionGenes` counts every write and every gene it hands
out (``version``), and a copy records the ``(serial, version)`` it was copied from. Node genes
are named the same way (:class:`~wann_plugin._genes.NodeGenes` has its own ``version``,
``serial`` and ``origin``), so a child whose nodes are an untouched copy of its parent's takes
the parent's activations without reading them; plain-dict nodes are compared by value (key
and activation). Genomes whose ``connections`` is a plain dict are compiled every time.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from wann_plugin._genes import ConnectionGenes, NodeGenes, read_genes
from wann_plugin.activations import activation_by_name
from wann_plugin.network import WannNetwork

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


class NetworkCache:
    """Compiled networks of the last population, by connection-gene set.

    Call :meth:`compile` for every genome of a generation, then :meth:`advance`: what the
    new generation compiled becomes the cache (the rest is dropped), so memory stays at
    one population's networks.
    """

    def __init__(self) -> None:
        self._previous: dict = {}
        self._current: dict = {}
        #: Counts of the last generation: ``{"reused", "relabelled", "extended", "compiled"}``.
        self.counts = {"reused": 0, "relabelled": 0, "extended": 0, "compiled": 0}

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
                if _nodes_unchanged_since(genome, parent[2]):
                    net = parent[3] if parent[3].key == key else \
                        dataclasses.replace(parent[3], key=key)
                else:
                    net = _relabel(parent[3], genome, genome_config, key)
                how = "relabelled"
                if net is not None and conns.version != 0:
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
