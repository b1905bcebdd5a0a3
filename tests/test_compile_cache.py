"""NetworkCache's patched networks equal compiling from scratch (WannNetwork.from_genome).

A child is its parent plus one operator; the cache builds its network from the parent's by
patching the genes the child's mappings touched. Every patched (and reused, relabelled,
extended) network must equal ``from_genome``'s exactly: the same arrays with the same dtypes,
node order, connection order and key.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_genes import make_config

from wann_plugin._compile_cache import NetworkCache, patch_network
from wann_plugin.genome import WannGenome
from wann_plugin.network import WannNetwork

FIELDS = ("activations", "conn_src", "conn_dst", "in_ptr")


def assert_same(got: WannNetwork, want: WannNetwork) -> None:
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert (got.n_inputs, got.n_outputs, got.node_keys, got.conn_keys, got.key) == \
           (want.n_inputs, want.n_outputs, want.node_keys, want.conn_keys, want.key)
    assert got.fingerprint == want.fingerprint


def evolve(cfg, seed, generations=30, pop_size=40, n_elites=6, p_cross=0.0, check=True):
    """A small search loop (copy or crossover, one operator each) whose every network is held
    against from_genome; returns the summed cache counts and the operators seen."""
    rng = np.random.default_rng(seed)
    pop = []
    for i in range(pop_size):
        g = WannGenome(i)
        g.configure_new(cfg, rng=rng)
        pop.append(g)
    cache = NetworkCache()
    seen = dict.fromkeys(cache.counts, 0)
    ops = {}
    key = pop_size
    for _ in range(generations):
        for g in pop:
            got = cache.compile(g, cfg)
            if check:
                assert_same(got, WannNetwork.from_genome(g, cfg))
        for k, v in cache.counts.items():
            seen[k] += v
        cache.advance()
        children = []
        for _ in range(pop_size - n_elites):
            child = WannGenome(key)
            key += 1
            a, b = (pop[int(i)] for i in rng.integers(len(pop), size=2))
            if rng.random() < p_cross:
                child.configure_crossover(a, b, cfg, rng=rng, first_is_fitter=True)
            else:
                child.configure_copy(a)
            op = child.mutate(cfg, rng=rng)
            ops[op] = ops.get(op, 0) + 1
            children.append(child)
        pop = pop[:n_elites] + children
    return seen, ops


@pytest.mark.parametrize("seed", range(6))
def test_every_operator_over_chained_generations_equals_from_genome(seed):
    cfg = make_config(n_in=5 + seed, n_out=1 + seed % 3, p=0.1 + 0.1 * seed,
                      prob_enable=0.2, prob_add_connection=0.3, prob_add_node=0.25 + 0.1 * seed,
                      prob_change_activation=0.25)
    seen, ops = evolve(cfg, seed, p_cross=0.2 if seed % 2 else 0.0)
    assert set(ops) == {"add_connection", "add_node", "enable", "change_activation"}
    assert seen["patched"] > seen["compiled"] > 0, seen


def test_the_paper_settings_patch_most_children():
    cfg = make_config(n_in=16, n_out=4, p=0.05)
    seen, _ = evolve(cfg, 7, generations=40, pop_size=60)
    assert seen["patched"] > 2 * seen["compiled"], seen


def child_of(parent, key=2):
    child = WannGenome(key)
    child.configure_copy(parent)
    return child


def grown(cfg, seed, n_nodes=5):
    rng = np.random.default_rng(seed)
    g = WannGenome(1)
    g.configure_new(cfg, rng=rng)
    for _ in range(n_nodes):
        g.mutate_add_node(cfg, rng=rng)
    for _ in range(n_nodes):
        g.mutate_add_connection(cfg, rng=rng)
    return g


def patched(parent, child, cfg):
    return patch_network(WannNetwork.from_genome(parent, cfg), child, cfg, child.key)


def split(parent, cfg, key, activation="sin"):
    """A child of ``parent`` with ``key`` split by a new node (what mutate_add_node does)."""
    child = child_of(parent)
    new = cfg.get_new_node_key(child.nodes)
    child.nodes[new] = WannGenome.make_node(cfg, new, activation)
    child.connections[key].enabled = False
    for k in ((key[0], new), (new, key[1])):
        child.connections[k] = WannGenome.make_connection(cfg, k, 1000 + new)
    return child, new


@pytest.mark.parametrize("seed", range(5))
def test_splitting_every_connection_of_deep_genomes_is_patched_exactly(seed):
    cfg = make_config(n_in=4, n_out=2, p=0.6)
    parent = grown(cfg, seed, n_nodes=8 + 2 * seed)
    hidden = set(parent.hidden_keys(cfg))
    kinds = set()
    for key in sorted(parent.connections.enabled_keys()):
        child, new = split(parent, cfg, key)
        net = patched(parent, child, cfg)
        assert net is not None, key
        assert_same(net, WannNetwork.from_genome(child, cfg))
        kinds.add((key[0] in hidden, key[1] in hidden))
        if key[1] not in hidden:                               # into an output: last hidden
            assert net.node_keys[-cfg.num_outputs - 1] == new
    assert (True, True) in kinds and (False, True) in kinds and (True, False) in kinds


def test_connections_against_the_order_deleted_nodes_and_two_new_nodes_are_compiled():
    cfg = make_config(n_in=4, n_out=2, p=0.6)
    parent = grown(cfg, 2, n_nodes=6)
    net = WannNetwork.from_genome(parent, cfg)
    hidden_order = [k for k in net.node_keys if k in set(parent.hidden_keys(cfg))]
    late, early = hidden_order[-1], hidden_order[0]
    if (late, early) in parent.connections:
        pytest.skip("layout without a free backward pair")
    child = child_of(parent)
    child.connections[(late, early)] = WannGenome.make_connection(cfg, (late, early), 999)
    assert patch_network(net, child, cfg, 2) is None       # would reorder the hidden nodes
    child = child_of(parent)
    del child.nodes[early]
    assert patch_network(net, child, cfg, 2) is None       # a deleted node
    child = child_of(parent)
    for k in (500, 501):
        child.nodes[k] = WannGenome.make_node(cfg, k, "tanh")
    assert patch_network(net, child, cfg, 2) is None       # two new nodes
    child = child_of(parent)
    child.nodes[early] = WannGenome.make_node(cfg, early, "abs")  # rewritten, same key
    child.nodes[700] = WannGenome.make_node(cfg, 700, "abs")
    del child.nodes[700]                                          # added and gone again
    assert_same(patch_network(net, child, cfg, 2), WannNetwork.from_genome(child, cfg))


def test_removing_connections_and_changes_through_handed_out_genes_are_seen():
    cfg = make_config(n_in=5, n_out=2, p=0.7)
    parent = grown(cfg, 3)
    net = WannNetwork.from_genome(parent, cfg)
    child = child_of(parent)
    genes = [child.connections[k] for k in sorted(child.connections.enabled_keys())[:3]]
    for gene in genes:          # written after being handed out: the cache still sees it
        if not (gene.key[0] in child.nodes and gene.key[1] in child.nodes
                and gene.key[1] not in cfg.output_keys):
            gene.enabled = False
    want = WannNetwork.from_genome(child, cfg)
    got = patch_network(net, child, cfg, 2)
    assert got is not None and want.n_connections < net.n_connections
    assert_same(got, want)
    dormant = child.connections.dormant_keys()[0]
    child.connections[dormant].enabled = True   # a dormant gene adopted by a write
    assert_same(patch_network(net, child, cfg, 2), WannNetwork.from_genome(child, cfg))


def test_untouched_child_reuses_arrays_and_a_recopied_parent_is_not_trusted():
    cfg = make_config(n_in=4, n_out=2, p=0.5)
    parent = grown(cfg, 4)
    cache = NetworkCache()
    parent_net = cache.compile(parent, cfg)
    cache.advance()
    child = child_of(parent, key=9)
    assert child.mutate_change_activation(cfg, rng=np.random.default_rng(0))
    grandchild = child_of(child, key=10)      # the child is copied before it is compiled
    net = cache.compile(grandchild, cfg)      # its origin is the child: not in the cache
    assert cache.counts["compiled"] == 1
    assert_same(net, WannNetwork.from_genome(grandchild, cfg))
    assert_same(cache.compile(child, cfg), WannNetwork.from_genome(child, cfg))
    assert cache.counts["patched"] == 1
    untouched = child_of(parent, key=11)
    assert cache.compile(untouched, cfg).conn_src is parent_net.conn_src


@pytest.mark.parametrize("seed", range(4))
def test_connection_index_finds_exactly_the_networks_connections(seed):
    """The patch's lookup of a touched connection through its ends (one CSR row) agrees with
    the plain lookup in ``conn_keys``: the index of every compiled connection, -1 for every
    other pair of node keys (disabled genes, pairs with no gene, unknown nodes)."""
    from wann_plugin._compile_cache import _connection_index, _fixed_positions

    cfg = make_config(n_in=4 + seed, n_out=2, p=0.3, prob_add_node=0.5,
                      prob_add_connection=0.3, prob_enable=0.1, prob_change_activation=0.1)
    rng = np.random.default_rng(seed)
    g = WannGenome(0)
    g.configure_new(cfg, rng=rng)
    for _ in range(25):
        g.mutate(cfg, rng=rng)
    net = WannNetwork.from_genome(g, cfg)
    fixed, n_fixed = _fixed_positions(cfg), 1 + net.n_inputs
    sources = [cfg.bias_key] if getattr(cfg, "bias_key", None) is not None else []
    sources += list(cfg.input_keys) + list(net.node_keys[n_fixed:]) + [10 ** 6]
    dests = list(net.node_keys[n_fixed:]) + list(cfg.input_keys) + [10 ** 6]
    assert net.n_connections > 5 and net.n_hidden > 2
    for a in sources:
        for b in dests:
            want = net.conn_keys.index((a, b)) if (a, b) in net.conn_keys else -1
            assert _connection_index(net, (a, b), fixed, n_fixed) == want, (a, b)


def test_the_patch_builds_networks_as_the_dataclass_does():
    """``_network`` fills the instance dict directly: the same fields in the same order as
    ``WannNetwork(...)`` (the fields listed here are all of them), so pickles, fingerprints
    and ``dataclasses.replace`` see the same object."""
    import dataclasses
    import pickle

    from wann_plugin._compile_cache import _network

    cfg = make_config(n_in=3, n_out=2, p=0.5)
    g = WannGenome(7)
    g.configure_new(cfg, rng=np.random.default_rng(0))
    net = WannNetwork.from_genome(g, cfg)
    acts = net.activations.copy()
    fast = _network(net, acts, net.conn_src, net.conn_dst, net.in_ptr, net.node_keys,
                    net.conn_keys, 9)
    plain = WannNetwork(net.n_inputs, net.n_outputs, acts, net.conn_src, net.conn_dst,
                        net.in_ptr, net.node_keys, net.conn_keys, 9)
    assert type(fast) is WannNetwork
    assert list(fast.__dict__) == list(plain.__dict__) == \
        [f.name for f in dataclasses.fields(WannNetwork)]
    assert all(fast.__dict__[k] is plain.__dict__[k] for k in plain.__dict__)
    assert fast.fingerprint == plain.fingerprint
    assert_same(pickle.loads(pickle.dumps(fast)), plain)
    assert dataclasses.replace(fast, key=3).key == 3
