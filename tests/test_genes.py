"""Dormant initial connections, copy-on-write genes and the compile cache, each held against
the plain path (every gene an object, every network compiled from scratch)."""

from __future__ import annotations

import copy
import pickle

import neat
import networkx as nx
import numpy as np
import pytest

from wann_plugin._compile_cache import NetworkCache
from wann_plugin._genes import ConnectionGenes, copy_gene
from wann_plugin.genome import WannGenome
from wann_plugin.io import genome_from_dict, genome_to_dict
from wann_plugin.network import WannNetwork, _lexicographic_order


def make_config(n_in=6, n_out=3, p=0.2, **extra):
    params = {"num_inputs": str(n_in), "num_outputs": str(n_out),
              "initial_connection_prob": str(p), **{k: str(v) for k, v in extra.items()}}
    cfg = WannGenome.parse_config(params)
    cfg.innovation_tracker = neat.InnovationTracker()
    return cfg


def structure(g) -> list:
    """Every gene, dormant ones included, canonically (read without changing ``g``)."""
    items = g.connections.all_items() if hasattr(g.connections, "all_items") \
        else g.connections.items()
    return [sorted((k, n.activation) for k, n in g.nodes.items()),
            sorted((k, c.innovation, c.enabled, c.weight) for k, c in items)]


def plain(g) -> WannGenome:
    """The same genome with every gene an object and no dormant genes (the plain path)."""
    p = WannGenome(g.key)
    p.nodes = {k: copy_gene(n) for k, n in g.nodes.items()}
    p.connections = ConnectionGenes({k: copy_gene(c) for k, c in g.connections.all_items()})
    return p


def test_a_fresh_genome_stores_only_its_enabled_genes():
    cfg = make_config(n_in=256, n_out=10, p=0.05)
    g = WannGenome(1)
    g.configure_new(cfg, rng=np.random.default_rng(0))
    conns = g.connections
    n_enabled = len(conns.enabled_keys())
    assert len(conns) == 257 * 10                       # every initial gene is present
    assert len(conns.explicit) == n_enabled            # but only enabled ones are objects
    assert 70 < n_enabled < 200 and conns.n_dormant() == 2570 - n_enabled
    assert sum(c.enabled for _, c in conns.all_items()) == n_enabled
    assert set(conns) == {(i, o) for i in cfg.input_keys for o in cfg.output_keys}


def test_dormant_genes_read_as_disabled_and_a_write_adopts_them():
    cfg = make_config()
    g = WannGenome(1)
    g.configure_new(cfg, rng=np.random.default_rng(1))
    conns = g.connections
    key = conns.dormant_keys()[0]
    gene = conns[key]
    assert not gene.enabled and gene.weight == 1.0 and gene.key == key
    assert gene.innovation == conns.initial.innovation_of[key]
    assert conns[key] is gene                          # the same object while it is held
    assert key not in conns.explicit                   # reading stored nothing
    gene.enabled = True
    assert conns.explicit[key] is gene and conns[key].enabled
    assert type(gene) is neat.DefaultConnectionGene    # an ordinary gene from now on
    assert key not in conns.dormant_keys()
    del conns[key]
    assert key not in conns and len(conns) == len(list(conns))
    conns[key] = WannGenome.make_connection(cfg, key, 99, 1.0, False)
    assert conns[key].innovation == 99 and key in conns


def test_copies_share_genes_until_written():
    cfg = make_config()
    parent = WannGenome(1)
    parent.configure_new(cfg, rng=np.random.default_rng(2))
    child = WannGenome(2)
    child.configure_copy(parent)
    before = structure(parent)
    key = parent.connections.enabled_keys()[0]
    child.connections[key].enabled = False             # written on the child only
    assert structure(parent) == before
    assert not child.connections[key].enabled and parent.connections[key].enabled
    parent.connections[key].weight = 1.0               # and the other way round
    assert not child.connections[key].enabled


@pytest.mark.parametrize("seed", range(4))
def test_operators_match_the_plain_genome_step_by_step(seed):
    """The same draws on a genome with dormant genes and on its all-objects twin give the same
    genome after every mutation and copy (add-connection, enable and the rest)."""
    cfg = make_config(n_in=5, n_out=2, p=0.3, prob_enable=0.3, prob_add_connection=0.3)
    g = WannGenome(1)
    g.configure_new(cfg, rng=np.random.default_rng(seed))
    twin = plain(g)
    rng_a, rng_b = np.random.default_rng(100 + seed), np.random.default_rng(100 + seed)
    ops = set()
    for step in range(150):
        indexer = copy.copy(cfg.node_indexer) if cfg.node_indexer is not None else None
        ops.add(g.mutate(cfg, rng=rng_a))
        cfg.node_indexer = indexer  # the twin gets the same new node keys
        assert twin.mutate(cfg, rng=rng_b) in ops
        assert structure(g) == structure(twin), step
        if step % 10 == 9:
            child, twin_child = WannGenome(step), WannGenome(step)
            child.configure_copy(g)
            twin_child.configure_copy(twin)
            g, twin = child, twin_child
    assert ops == {"add_connection", "add_node", "enable", "change_activation"}
    assert g.size() == twin.size()


def test_crossover_and_distance_match_the_plain_genomes():
    cfg = make_config(n_in=4, n_out=2, p=0.4, compatibility_disjoint_coefficient=1.0)
    rng = np.random.default_rng(5)
    a, b = WannGenome(1), WannGenome(2)
    a.configure_new(cfg, rng=rng)
    b.configure_new(cfg, rng=rng)
    for _ in range(20):
        a.mutate(cfg, rng=rng)
        b.mutate(cfg, rng=rng)
    pa, pb = plain(a), plain(b)
    assert a.distance(b, cfg) == pytest.approx(pa.distance(pb, cfg))
    for seed in range(5):
        c, pc = WannGenome(3), WannGenome(3)
        c.configure_crossover(a, b, cfg, rng=np.random.default_rng(seed), first_is_fitter=True)
        pc.configure_crossover(pa, pb, cfg, rng=np.random.default_rng(seed),
                               first_is_fitter=True)
        assert structure(c) == structure(pc)
        assert len(c.connections.explicit) < len(pc.connections)  # dormant genes stay dormant


def test_pickle_deepcopy_and_json_keep_every_gene():
    cfg = make_config(n_in=8, n_out=2, p=0.25)
    g = WannGenome(4)
    g.configure_new(cfg, rng=np.random.default_rng(3))
    for _ in range(10):
        g.mutate(cfg, rng=np.random.default_rng(7))
    for clone in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
        assert structure(clone) == structure(g)
        assert clone.connections.initial is not None
    data = genome_to_dict(g)
    assert len(data["connections"]) == len(g.connections)  # the saved file lists them all
    back = genome_from_dict(data, cfg)
    assert structure(back) == structure(g)


def test_network_cache_equals_compiling_from_scratch():
    cfg = make_config(n_in=7, n_out=3, p=0.3)
    rng = np.random.default_rng(11)
    pop = []
    for i in range(30):
        g = WannGenome(i)
        g.configure_new(cfg, rng=rng)
        pop.append(g)
    cache = NetworkCache()
    seen = {"reused": 0, "patched": 0, "relabelled": 0, "extended": 0, "compiled": 0}
    key = 100
    for _ in range(25):
        for g in pop:
            got, want = cache.compile(g, cfg), WannNetwork.from_genome(g, cfg)
            for name in ("activations", "conn_src", "conn_dst", "in_ptr"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
            assert (got.node_keys, got.conn_keys, got.key) == \
                   (want.node_keys, want.conn_keys, want.key)
        for k, v in cache.counts.items():
            seen[k] += v
        cache.advance()
        elites = pop[:6]
        children = []
        for _ in range(24):
            child = WannGenome(key)
            key += 1
            child.configure_copy(pop[int(rng.integers(len(pop)))])
            child.mutate(cfg, rng=rng)
            children.append(child)
        pop = elites + children
        # a change made behind the operators' back is seen too
        pop[0].nodes[cfg.output_keys[0]].activation = "tanh" if _ % 2 else "linear"
    assert seen["reused"] > 100 and seen["patched"] > 300 and seen["compiled"] > 20, seen


def test_lexicographic_order_equals_networkx():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        nodes = sorted(rng.choice(100, size=n, replace=False).tolist())
        order = rng.permutation(nodes).tolist()
        edges = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)
                 if rng.random() < 0.3]
        g = nx.DiGraph()
        g.add_nodes_from(nodes)
        g.add_edges_from(edges)
        assert _lexicographic_order(nodes, edges) == list(nx.lexicographical_topological_sort(g))
    assert _lexicographic_order([1, 2], [(1, 2), (2, 1)]) is None


def test_node_genes_are_copy_on_write():
    cfg = make_config()
    parent = WannGenome(1)
    parent.configure_new(cfg, rng=np.random.default_rng(0))
    parent.mutate_add_node(cfg, rng=np.random.default_rng(1))
    child = WannGenome(2)
    child.configure_copy(parent)
    hidden = parent.hidden_keys(cfg)[0]
    assert child.nodes.explicit[hidden] is parent.nodes.explicit[hidden]  # shared until written
    child.nodes[hidden].activation = "abs" if parent.nodes[hidden].activation != "abs" else "sin"
    assert child.nodes[hidden].activation != parent.nodes[hidden].activation
    assert child.nodes.explicit[hidden] is not parent.nodes.explicit[hidden]
    clone = pickle.loads(pickle.dumps(child))
    assert structure(clone) == structure(child)


def test_node_genes_name_their_version_and_origin():
    cfg = make_config()
    g = WannGenome(1)
    g.configure_new(cfg, rng=np.random.default_rng(0))
    nodes = g.nodes
    dup = nodes.copy()
    assert dup.version == 0 and dup.origin == (nodes.serial, nodes.version)
    assert dup.serial != nodes.serial
    out = cfg.output_keys[0]
    _ = dup.explicit[out]                        # reading through explicit changes nothing
    assert dup.version == 0
    dup[out].activation = "tanh"                 # a node handed out may be written
    assert dup.version == 1 and nodes[out].activation == "linear"
    dup[99] = WannGenome.make_node(cfg, 99, "sin")
    del dup[99]
    assert dup.version == 3
    back = pickle.loads(pickle.dumps(dup))
    assert (back.version, back.origin) == (0, None) and back.serial != dup.serial
    assert back.explicit[out].activation == "tanh"


def test_a_child_with_untouched_nodes_takes_its_parents_activations_unread():
    cfg = make_config(n_in=4, n_out=2, p=0.6)
    rng = np.random.default_rng(3)
    parent = WannGenome(1)
    parent.configure_new(cfg, rng=rng)
    for _ in range(6):
        parent.mutate_add_node(cfg, rng=rng)
    cache = NetworkCache()
    parent_net = cache.compile(parent, cfg)
    cache.advance()
    child, changed = WannGenome(2), WannGenome(3)
    child.configure_copy(parent)
    changed.configure_copy(parent)
    assert changed.mutate_change_activation(cfg, rng=rng)
    got, got_changed = cache.compile(child, cfg), cache.compile(changed, cfg)
    assert cache.counts["patched"] == 2
    assert got.activations is parent_net.activations and got.key == 2
    for genome, net in ((child, got), (changed, got_changed)):
        want = WannNetwork.from_genome(genome, cfg)
        np.testing.assert_array_equal(net.activations, want.activations)
        assert (net.node_keys, net.conn_keys, net.key) == (want.node_keys, want.conn_keys, 3
                                                           if genome is changed else 2)


@pytest.mark.parametrize("seed", range(6))
def test_disabled_keys_list_every_disabled_gene_in_sorted_order(seed):
    """``disabled_keys``' ``key_at`` (bisection over stored and dormant keys) gives the sorted
    disabled keys of the plain listing, with genes split, enabled, adopted and deleted."""
    cfg = make_config(n_in=7, n_out=3, p=0.3, prob_enable=0.3, prob_add_connection=0.3)
    rng = np.random.default_rng(seed)
    g = WannGenome(1)
    g.configure_new(cfg, rng=rng)
    for step in range(60):
        g.mutate(cfg, rng=rng)
        conns = g.connections
        if step % 7 == 3:  # delete an initial connection (dormant or stored)
            keys = sorted(conns.initial.innovation_of)
            key = keys[int(rng.integers(len(keys)))]
            if key in conns:
                del conns[key]
        if step % 11 == 5 and conns.dormant_keys():  # adopt a dormant gene, disabled
            conns[conns.dormant_keys()[0]].weight = 1.0
        n, key_at = conns.disabled_keys()
        expected = sorted(k for k, c in conns.all_items() if not c.enabled)
        assert n == len(expected)
        assert [key_at(i) for i in range(n)] == expected, step


def test_copies_share_the_gene_dict_until_either_side_writes():
    """A copy holds its parent's gene dict itself (no per-gene work) until a write, on either
    side, gives the writer its own dict; pickled together they stay independent."""
    cfg = make_config(n_in=5, n_out=2, p=0.6)
    parent = WannGenome(1)
    parent.configure_new(cfg, rng=np.random.default_rng(3))
    parent.mutate_add_node(cfg, rng=np.random.default_rng(4))
    kids = []
    for key in (2, 3):
        kid = WannGenome(key)
        kid.configure_copy(parent)
        kids.append(kid)
    assert kids[0].connections.explicit is parent.connections.explicit
    assert kids[0].nodes.explicit is parent.nodes.explicit
    before = structure(parent)
    kids[0].mutate_add_connection(cfg, rng=np.random.default_rng(5))  # writes connections
    kids[0].mutate_change_activation(cfg, rng=np.random.default_rng(6))  # writes a node
    assert kids[0].connections.explicit is not parent.connections.explicit
    assert kids[0].nodes.explicit is not parent.nodes.explicit
    assert structure(parent) == before == structure(kids[1])
    assert structure(kids[0]) != before
    key = parent.connections.enabled_keys()[0]
    parent.connections[key].enabled = False                          # the parent writes
    assert kids[1].connections[key].enabled and structure(kids[1]) == before
    third = WannGenome(4)
    third.configure_copy(kids[1])
    again = pickle.loads(pickle.dumps([kids[1], third]))
    assert again[0].connections.explicit is again[1].connections.explicit
    again[1].connections[key].enabled = False
    del again[0].connections[key]
    assert again[1].connections.explicit is not again[0].connections.explicit
    assert key in again[1].connections and not again[1].connections[key].enabled
    assert key not in again[0].connections
    assert structure(third) == before
