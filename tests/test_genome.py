"""WannGenome: config parsing, initial genomes, the four structural operators, crossover."""

from __future__ import annotations

import configparser
import copy
import pickle
import random

import neat
import networkx as nx
import numpy as np
import pytest

from wann_plugin.activations import (
    ACTIVATIONS,
    BUILTIN_MAX_ID,
    WANN_HIDDEN_ACTIVATIONS,
    register_activation,
)
from wann_plugin.genome import (
    GENOME_KEYS,
    MUTATION_OPERATORS,
    WannGenome,
    choose_operator,
)
from wann_plugin.network import WannNetwork
from wann_plugin.reproduction import WannReproduction, WannSpeciesSet
from wann_plugin.validation import ConfigError, UnknownConfigKeyError


def make_config(**overrides):
    params = {"num_inputs": "3", "num_outputs": "2"}
    params.update({k: str(v) for k, v in overrides.items()})
    cfg = WannGenome.parse_config(params)
    cfg.innovation_tracker = neat.InnovationTracker()
    return cfg


def new_genome(cfg, key=1, seed=0):
    g = WannGenome(key)
    g.configure_new(cfg, rng=np.random.default_rng(seed))
    return g


def evolved(cfg, n_steps, seed, key=1):
    """A genome after ``n_steps`` random mutations."""
    rng = np.random.default_rng(seed)
    g = new_genome(cfg, key, seed)
    for _ in range(n_steps):
        g.mutate(cfg, rng=rng)
    return g


def gene_graph(g):
    graph = nx.DiGraph()
    graph.add_edges_from(g.connections)
    return graph


NEAT_FILE = """
[NEAT]
pop_size = 10
fitness_criterion = max
fitness_threshold = 1.0
reset_on_extinction = false
no_fitness_termination = true
seed = 1

[WannGenome]
{genome}

[WannReproduction]
{repro}

[WannSpeciesSet]

[DefaultStagnation]
"""


def neat_config(tmp_path, genome="num_inputs = 2\nnum_outputs = 1", repro="", name="c.ini"):
    path = tmp_path / name
    path.write_text(NEAT_FILE.format(genome=genome, repro=repro))
    return neat.Config(WannGenome, WannReproduction, WannSpeciesSet, neat.DefaultStagnation,
                       str(path))


# ---------------------------------------------------------------------- config
def test_defaults_and_node_keys():
    cfg = make_config()
    assert cfg.num_inputs == 3 and cfg.num_outputs == 2
    assert cfg.input_keys == [-1, -2, -3, -4]
    assert cfg.bias_key == -4
    assert cfg.output_keys == [0, 1]
    assert cfg.initial_connection_prob == 0.5
    assert cfg.activation_options == WANN_HIDDEN_ACTIVATIONS
    assert cfg.output_activation == "linear"
    np.testing.assert_allclose(cfg.operator_probs, [0.20, 0.25, 0.05, 0.50])
    # neat-python's own keys are set, typed, not demanded
    assert cfg.single_structural_mutation is True
    assert cfg.feed_forward is True
    assert cfg.weight_init_mean == 1.0
    assert cfg.weight_mutate_rate == cfg.weight_replace_rate == 0.0
    assert (cfg.bias_init_mean, cfg.response_init_mean) == (0.0, 1.0)
    assert cfg.aggregation_options == ["sum"]


def test_wann_activations_replace_neats_formulas():
    cfg = make_config()
    for name, act in ACTIVATIONS.items():
        if act.id > BUILTIN_MAX_ID:
            continue
        f = cfg.activation_defs.get(name)
        for z in (-1.3, 0.0, 0.4, 2.0):
            assert f(z) == pytest.approx(float(act.func(np.array(z))))
    # neat's sigmoid is sigmoid(5z); the WANN one is 1 / (1 + e^-z)
    assert cfg.activation_defs.get("sigmoid")(1.0) == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert cfg.activation_defs.get("sin")(0.5) == pytest.approx(1.0)


def _softsign(x):
    return x / (1.0 + np.abs(x))


def test_custom_activations_are_registered_when_named():
    name = "genome_test_softsign"
    if name not in ACTIVATIONS:
        register_activation(name, _softsign)
    cfg = make_config(activation_options=f"tanh {name}")
    assert cfg.activation_defs.get(name)(1.0) == pytest.approx(0.5)
    assert pickle.loads(pickle.dumps(cfg)).activation_defs.get(name)(3.0) == pytest.approx(0.75)
    assert not make_config().activation_defs.is_valid(name)


def test_round_trip_through_neat_config(tmp_path):
    genome = """num_inputs = 4
num_outputs = 2
initial_connection_prob = 0.25
activation_options = tanh relu cos
output_activation = tanh
prob_add_connection = 0.3
prob_add_node = 0.3
prob_enable = 0.1
prob_change_activation = 0.3
compatibility_weight_coefficient = 0.7"""
    repro = "tournament_size = 4\nelite_ratio = 0.05\nspeciation = true"
    cfg = neat_config(tmp_path, genome, repro)
    cfg.save(str(tmp_path / "saved.ini"))
    again = neat.Config(WannGenome, WannReproduction, WannSpeciesSet, neat.DefaultStagnation,
                        str(tmp_path / "saved.ini"))
    assert again.genome_config.values() == cfg.genome_config.values()
    assert cfg.genome_config.activation_options == ("tanh", "relu", "cos")
    assert again.reproduction_config.values() == cfg.reproduction_config.values()
    assert again.reproduction_config.speciation is True
    assert again.species_set_config.values() == cfg.species_set_config.values()
    parser = configparser.ConfigParser()
    parser.read(tmp_path / "saved.ini")
    assert set(parser["WannGenome"]) == {k.name for k in GENOME_KEYS}


def test_unknown_key_names_section_key_and_close_match():
    with pytest.raises(UnknownConfigKeyError) as err:
        make_config(prob_add_conection=0.2)
    msg = str(err.value)
    assert "[WannGenome]" in msg and "'prob_add_conection'" in msg
    assert "did you mean 'prob_add_connection'" in msg
    assert isinstance(err.value, neat.config.UnknownConfigItemError)


def test_unknown_key_raised_through_neat_config(tmp_path):
    with pytest.raises(UnknownConfigKeyError, match=r"\[WannGenome\] unknown key 'num_output'"):
        neat_config(tmp_path, "num_inputs = 2\nnum_output = 1")


@pytest.mark.parametrize("key, hint", [
    ("weight_init_mean", "fixes it internally"),
    ("conn_add_prob", "'prob_add_connection'"),
    ("initial_connection", "'initial_connection_prob'"),
    ("single_structural_mutation", "fixes it internally"),
])
def test_neat_genome_keys_are_refused_with_advice(key, hint):
    with pytest.raises(UnknownConfigKeyError, match=hint):
        make_config(**{key: "1.0"})


@pytest.mark.parametrize("key, value, message", [
    ("prob_enable", "1.5", r"\[WannGenome\] prob_enable == 1.5, must be in \[0, 1\]"),
    ("initial_connection_prob", "-0.1", r"initial_connection_prob == -0.1, must be in \[0, 1\]"),
    ("num_outputs", "0", r"\[WannGenome\] num_outputs == 0, must be >= 1"),
    ("num_inputs", "2.5", r"\[WannGenome\] num_inputs == '2.5', must be a whole number >= 1"),
    ("prob_add_node", "lots", r"\[WannGenome\] prob_add_node == 'lots', must be a finite number in \[0, 1\]"),
    ("prob_add_node", "nan", r"prob_add_node == nan, must be a finite number"),
    ("activation_options", "linear sigmoidd", r"activation_options: .*did you mean 'sigmoid'"),
    ("output_activation", "tanhh", r"\[WannGenome\] output_activation: .*'tanhh'"),
    ("activation_options", "tanh relu tanh", r"lists \['tanh'\] more than once"),
])
def test_bad_values_name_key_value_and_range(key, value, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**{key: value})


def test_missing_required_key_and_all_zero_operators():
    with pytest.raises(ConfigError,
                       match=r"\[WannGenome\] num_outputs is missing, must be a whole number >= 1"):
        WannGenome.parse_config({"num_inputs": "2"})
    with pytest.raises(ConfigError, match="all 0"):
        make_config(prob_add_connection=0, prob_add_node=0, prob_enable=0,
                    prob_change_activation=0)


def test_config_pickles_with_activations():
    cfg = make_config()
    new_genome(cfg).mutate_add_node(cfg, rng=np.random.default_rng(1))
    back = pickle.loads(pickle.dumps(cfg))
    assert back.activation_defs.get("gaussian")(1.0) == pytest.approx(np.exp(-0.5))
    assert back.values() == cfg.values()


# ---------------------------------------------------------------------- initial genomes
def test_initial_genomes_have_every_gene_and_enable_with_probability():
    cfg = make_config(initial_connection_prob=0.3)
    rng = np.random.default_rng(7)
    pairs = {(i, o) for i in cfg.input_keys for o in cfg.output_keys}
    n_enabled = n_genes = 0
    innovations = {}
    for key in range(1, 401):
        g = WannGenome(key)
        g.configure_new(cfg, rng=rng)
        assert set(g.connections) == pairs  # disabled genes exist too
        assert sorted(g.nodes) == [0, 1]
        for node in g.nodes.values():
            assert (node.activation, node.bias, node.response, node.aggregation) == (
                "linear", 0.0, 1.0, "sum")
        for k, cg in g.connections.items():
            assert cg.weight == 1.0
            assert innovations.setdefault(k, cg.innovation) == cg.innovation
            n_enabled += cg.enabled
            n_genes += 1
    assert n_genes == 3200
    assert n_enabled / n_genes == pytest.approx(0.3, abs=0.03)
    assert sorted(innovations.values()) == list(range(1, 9))


def test_output_activation_and_extreme_probabilities():
    cfg = make_config(initial_connection_prob=0.0, output_activation="tanh")
    g = new_genome(cfg)
    assert not any(cg.enabled for cg in g.connections.values())
    assert {n.activation for n in g.nodes.values()} == {"tanh"}
    cfg = make_config(initial_connection_prob=1.0)
    assert all(cg.enabled for cg in new_genome(cfg).connections.values())


def test_missing_tracker_is_a_clear_error():
    cfg = WannGenome.parse_config({"num_inputs": "1", "num_outputs": "1"})
    with pytest.raises(RuntimeError, match="innovation_tracker is not set"):
        WannGenome(1).configure_new(cfg, rng=np.random.default_rng(0))


# ---------------------------------------------------------------------- operator choice
def test_operator_frequencies_match_configured_probabilities():
    cfg = make_config()
    rng = np.random.default_rng(42)
    draws = [choose_operator(cfg, rng) for _ in range(20000)]
    freq = [draws.count(name) / len(draws) for name in MUTATION_OPERATORS]
    np.testing.assert_allclose(freq, [0.20, 0.25, 0.05, 0.50], atol=0.012)


def test_operator_weights_are_normalised_and_zero_never_chosen():
    cfg = make_config(prob_add_connection=1.0, prob_add_node=1.0, prob_enable=0.0,
                      prob_change_activation=0.0)
    rng = np.random.default_rng(3)
    draws = [choose_operator(cfg, rng) for _ in range(4000)]
    assert set(draws) == {"add_connection", "add_node"}
    assert draws.count("add_node") / 4000 == pytest.approx(0.5, abs=0.03)


def test_mutate_reports_the_operator_it_drew():
    cfg = make_config()
    for seed in range(60):
        g = new_genome(cfg)
        # the roulette draw is the first draw of a mutate call
        assert g.mutate(cfg, rng=np.random.default_rng(seed)) == choose_operator(
            cfg, np.random.default_rng(seed))


def _diff(before, after):
    added_nodes = set(after.nodes) - set(before.nodes)
    added_conns = set(after.connections) - set(before.connections)
    flipped = {k for k in before.connections
               if before.connections[k].enabled != after.connections[k].enabled}
    changed_act = {k for k in before.nodes
                   if before.nodes[k].activation != after.nodes[k].activation}
    return added_nodes, added_conns, flipped, changed_act


def test_each_mutation_is_exactly_one_structural_change_or_none():
    cfg = make_config(num_inputs=2, num_outputs=1)
    rng = np.random.default_rng(11)
    acted = dict.fromkeys(MUTATION_OPERATORS, 0)
    for key in range(5):
        g = new_genome(cfg, key, seed=key)
        for _ in range(120):
            before = copy.deepcopy(g)
            name = g.mutate(cfg, rng=rng)
            nodes, conns, flipped, changed = _diff(before, g)
            if not (nodes or conns or flipped or changed):
                continue  # the operator could not act: unchanged child
            acted[name] += 1
            if name == "add_connection":
                assert (len(nodes), len(conns), flipped, changed) == (0, 1, set(), set())
                (src, dst), = conns
                assert g.connections[(src, dst)].enabled
            elif name == "add_node":
                (new,), (split,) = nodes, flipped
                assert conns == {(split[0], new), (new, split[1])}
                assert not g.connections[split].enabled and before.connections[split].enabled
                assert g.connections[(split[0], new)].weight == 1.0
                assert g.connections[(new, split[1])].weight == before.connections[split].weight
                assert g.nodes[new].activation in cfg.activation_options
                assert (g.nodes[new].bias, g.nodes[new].response) == (0.0, 1.0)
            elif name == "enable":
                (k,) = flipped
                assert (nodes, conns, changed) == (set(), set(), set())
                assert g.connections[k].enabled and not before.connections[k].enabled
            else:
                (k,) = changed
                assert (nodes, conns, flipped) == (set(), set(), set())
                assert k not in cfg.output_keys
    assert all(n > 0 for n in acted.values()), acted


# ---------------------------------------------------------------------- operators
def test_random_walks_stay_feed_forward_and_compile():
    cfg = make_config(num_inputs=3, num_outputs=2)
    rng = np.random.default_rng(5)
    inputs, outputs = set(cfg.input_keys), set(cfg.output_keys)
    for key in range(4):
        g = new_genome(cfg, key, seed=key)
        for step in range(250):
            g.mutate(cfg, rng=rng)
            if step % 10 == 0:
                net = WannNetwork.from_genome(g, cfg)  # raises on any cycle
                assert net.n_connections == g.size()[1]
        assert nx.is_directed_acyclic_graph(gene_graph(g))  # disabled genes included
        for a, b in g.connections:
            assert b not in inputs and a not in outputs
            assert a in inputs or a in g.nodes
        assert g.nodes.keys() >= outputs
        WannNetwork.from_genome(g, cfg)


def test_add_connection_follows_layers_and_never_duplicates():
    cfg = make_config(num_inputs=1, num_outputs=1, initial_connection_prob=0.0)
    g = new_genome(cfg)
    rng = np.random.default_rng(0)
    # only the bias and the input can reach the output, and both genes exist (disabled)
    assert g.mutate_add_connection(cfg, rng=rng) is False
    assert len(g.connections) == 2 and not any(c.enabled for c in g.connections.values())
    g.connections[(-1, 0)].enabled = True
    assert g.mutate_add_node(cfg, rng=rng) is True
    hidden = g.hidden_keys(cfg)[0]
    assert g.node_layers(cfg) == {-1: 0, -2: 0, hidden: 1, 0: 2}
    assert g.mutate_add_connection(cfg, rng=rng) is True
    assert (-2, hidden) in g.connections
    assert g.connections[(-2, hidden)].innovation == cfg.innovation_tracker.global_counter
    assert g.mutate_add_connection(cfg, rng=rng) is False


def test_hidden_nodes_in_one_layer_are_not_linked():
    cfg = make_config(num_inputs=1, num_outputs=1, initial_connection_prob=1.0)
    g = new_genome(cfg)
    rng = np.random.default_rng(2)
    g.connections[(-1, 0)].enabled = False
    g.mutate_add_node(cfg, rng=rng)  # splits the only enabled gene, bias -> output
    for k in g.connections:
        g.connections[k].enabled = k == (-1, 0)
    g.mutate_add_node(cfg, rng=rng)  # splits input -> output
    h1, h2 = g.hidden_keys(cfg)
    assert g.node_layers(cfg) == {-1: 0, -2: 0, h1: 1, h2: 1, 0: 2}
    for _ in range(30):
        g.mutate_add_connection(cfg, rng=rng)
    assert (h1, h2) not in g.connections and (h2, h1) not in g.connections
    assert {(-1, h1), (-2, h2), (h1, 0), (h2, 0), (-1, 0), (-2, 0)} <= g.connections.keys()
    assert g.mutate_add_connection(cfg, rng=rng) is False


def test_add_node_uses_the_config_counter_and_tracker():
    cfg = make_config(initial_connection_prob=1.0)
    g1, g2 = new_genome(cfg, 1), new_genome(cfg, 2)
    before = cfg.innovation_tracker.global_counter
    g1.mutate_add_node(cfg, rng=np.random.default_rng(0))
    g2.mutate_add_node(cfg, rng=np.random.default_rng(0))
    assert g1.hidden_keys(cfg) == [2] and g2.hidden_keys(cfg) == [3]  # run-wide node keys
    new = sorted(cg.innovation for g in (g1, g2) for cg in g.connections.values()
                 if cg.innovation > before)
    assert new == [before + 1, before + 2, before + 3, before + 4]


def test_add_node_needs_an_enabled_connection():
    cfg = make_config(initial_connection_prob=0.0)
    g = new_genome(cfg)
    snapshot = copy.deepcopy(g)
    assert g.mutate_add_node(cfg, rng=np.random.default_rng(0)) is False
    assert g.connections.keys() == snapshot.connections.keys() and g.nodes.keys() == {0, 1}


def test_enable_picks_a_disabled_gene_uniformly():
    cfg = make_config(num_inputs=3, num_outputs=1, initial_connection_prob=0.0)
    counts = dict.fromkeys(new_genome(cfg).connections, 0)
    rng = np.random.default_rng(4)
    for _ in range(2000):
        g = new_genome(cfg)
        assert g.mutate_enable(cfg, rng=rng) is True
        (k,) = [k for k, c in g.connections.items() if c.enabled]
        counts[k] += 1
    assert all(abs(n / 2000 - 0.25) < 0.04 for n in counts.values()), counts
    full = new_genome(make_config(initial_connection_prob=1.0))
    assert full.mutate_enable(cfg, rng=rng) is False


def test_change_activation_touches_hidden_nodes_only():
    cfg = make_config(initial_connection_prob=1.0)
    rng = np.random.default_rng(6)
    g = new_genome(cfg)
    assert g.mutate_change_activation(cfg, rng=rng) is False  # no hidden node yet
    for _ in range(4):
        g.mutate_add_node(cfg, rng=rng)
    for _ in range(300):
        before = {k: n.activation for k, n in g.nodes.items()}
        assert g.mutate_change_activation(cfg, rng=rng) is True
        changed = [k for k, n in g.nodes.items() if n.activation != before[k]]
        assert len(changed) == 1 and changed[0] not in cfg.output_keys
        assert g.nodes[changed[0]].activation in cfg.activation_options
    assert all(g.nodes[k].activation == "linear" for k in cfg.output_keys)


def test_change_activation_with_a_single_option_cannot_act():
    cfg = make_config(initial_connection_prob=1.0, activation_options="tanh")
    g = new_genome(cfg)
    g.mutate_add_node(cfg, rng=np.random.default_rng(0))
    assert g.mutate_change_activation(cfg, rng=np.random.default_rng(0)) is False


def test_disabled_connections_stay_disabled_unless_enabled_by_the_operator():
    cfg = make_config(num_inputs=2, num_outputs=2)
    rng = np.random.default_rng(8)
    for key in range(3):
        g = new_genome(cfg, key, seed=key)
        for _ in range(200):
            disabled = {k for k, c in g.connections.items() if not c.enabled}
            name = g.mutate(cfg, rng=rng)
            revived = {k for k in disabled if g.connections[k].enabled}
            assert len(revived) <= (1 if name == "enable" else 0)


def test_innovation_numbers_within_a_generation_match():
    cfg = make_config(num_inputs=1, num_outputs=1, initial_connection_prob=1.0)
    tracker = cfg.innovation_tracker
    g1, g2 = new_genome(cfg, 1), new_genome(cfg, 2)
    # same split in both genomes: in-link innovations differ (fresh node keys), as in neat
    for g in (g1, g2):
        g.connections[(-2, 0)].enabled = False
        g.mutate_add_node(cfg, rng=np.random.default_rng(0))
    hidden1, hidden2 = g1.hidden_keys(cfg)[0], g2.hidden_keys(cfg)[0]
    assert hidden1 != hidden2
    # the same new connection in one generation shares its number; a later one does not
    g1.nodes[hidden2] = g1.make_node(cfg, hidden2, "tanh")
    g2.nodes[hidden1] = g2.make_node(cfg, hidden1, "tanh")
    a = tracker.get_innovation_number(-2, hidden1, "add_connection")
    assert tracker.get_innovation_number(-2, hidden1, "add_connection") == a
    tracker.reset_generation()
    assert tracker.get_innovation_number(-2, hidden1, "add_connection") == a + 1
    # every gene of every genome carries a number the tracker issued, unique per genome
    for g in (g1, g2):
        numbers = [c.innovation for c in g.connections.values()]
        assert len(set(numbers)) == len(numbers)
        assert max(numbers) <= tracker.global_counter


# ---------------------------------------------------------------------- neat's network
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_neat_feed_forward_network_computes_the_wann_network(seed):
    cfg = make_config(num_inputs=3, num_outputs=2)

    class Holder:
        genome_config = cfg

    g = evolved(cfg, 60, seed)
    assert g.hidden_keys(cfg), "the walk should have grown hidden nodes"
    net = WannNetwork.from_genome(g, cfg)
    xs = np.random.default_rng(seed).uniform(-2, 2, size=(5, 3))
    for w in (-2.0, -0.5, 0.5, 1.0, 2.0):
        weighted = copy.deepcopy(g)
        for cg in weighted.connections.values():
            cg.weight = w
        ffn = neat.nn.FeedForwardNetwork.create(weighted, Holder)
        for x in xs:
            expected = net.activate(x, w)
            got = ffn.activate(list(x) + [1.0])  # the bias input is the last input key
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- randomness
def test_without_rng_python_random_drives_it_reproducibly():
    cfg1, cfg2 = make_config(), make_config()
    out = []
    for cfg in (cfg1, cfg2):
        random.seed(123)
        g = WannGenome(1)
        g.configure_new(cfg)
        names = [g.mutate(cfg) for _ in range(40)]
        out.append((names, sorted((k, c.enabled) for k, c in g.connections.items()),
                    sorted((k, n.activation) for k, n in g.nodes.items())))
    assert out[0] == out[1]


def test_rng_must_be_a_generator():
    cfg = make_config()
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        new_genome(cfg).mutate(cfg, rng=np.random.RandomState(0))


# ---------------------------------------------------------------------- crossover, distance
def test_crossover_takes_the_fitter_parents_genes_and_stays_acyclic():
    cfg = make_config(num_inputs=2, num_outputs=1)
    base = evolved(cfg, 20, 1)
    rng = np.random.default_rng(12)
    p1, p2 = copy.deepcopy(base), copy.deepcopy(base)
    p1.key, p2.key = 10, 11
    for _ in range(30):
        p1.mutate(cfg, rng=rng)
        p2.mutate(cfg, rng=rng)
    p1.fitness, p2.fitness = 1.0, 2.0
    child = WannGenome(12)
    child.configure_crossover(p1, p2, cfg, rng=rng)  # neat's rule: p2 is fitter
    assert child.connections.keys() == p2.connections.keys()
    assert child.nodes.keys() == p2.nodes.keys()
    assert nx.is_directed_acyclic_graph(gene_graph(child))
    WannNetwork.from_genome(child, cfg)
    ranked = WannGenome(13)
    ranked.configure_crossover(p1, p2, cfg, rng=rng, first_is_fitter=True)
    assert ranked.connections.keys() == p1.connections.keys()
    for k, cg in ranked.connections.items():
        assert cg.innovation == p1.connections[k].innovation
        assert cg.enabled in {p1.connections[k].enabled,
                              p2.connections[k].enabled if k in p2.connections else None}


def test_crossover_mixes_matching_genes_from_both_parents():
    cfg = make_config(num_inputs=3, num_outputs=1, initial_connection_prob=0.5)
    p1 = new_genome(cfg, 1)
    p2 = copy.deepcopy(p1)
    p2.key = 2
    for cg in p2.connections.values():
        cg.enabled = not cg.enabled
    rng = np.random.default_rng(0)
    from_p2 = 0
    for key in range(200):
        child = WannGenome(100 + key)
        child.configure_crossover(p1, p2, cfg, rng=rng, first_is_fitter=True)
        from_p2 += sum(child.connections[k].enabled == p2.connections[k].enabled
                       for k in child.connections)
    assert from_p2 / (200 * len(p1.connections)) == pytest.approx(0.5, abs=0.05)


def test_distance_and_size():
    cfg = make_config(num_inputs=2, num_outputs=1, initial_connection_prob=1.0)
    g = new_genome(cfg)
    h = copy.deepcopy(g)
    assert g.distance(h, cfg) == 0.0
    h.connections[(-1, 0)].enabled = False
    # one of three connection genes differs in its enabled flag: 0.5 * 1 / 3
    assert g.distance(h, cfg) == pytest.approx(0.5 / 3)
    assert h.distance(g, cfg) == g.distance(h, cfg)
    assert g.size() == (1, 3) and h.size() == (1, 2)


@pytest.mark.parametrize("seed", range(5))
def test_one_pass_free_pairs_equal_node_layers_and_free_pairs(seed):
    """add-connection's one-pass table equals the plain node_layers + _free_pairs path, with
    dormant, removed and split genes, and on all-objects (plain dict) genomes."""
    from wann_plugin._genes import copy_gene
    from wann_plugin.genome import _free_pairs, _free_pairs_fast

    params = {"num_inputs": str(3 + seed), "num_outputs": str(1 + seed % 3),
              "initial_connection_prob": "0.3", "prob_add_node": "0.5",
              "prob_add_connection": "0.4"}
    cfg = WannGenome.parse_config(params)
    cfg.innovation_tracker = neat.InnovationTracker()
    rng = np.random.default_rng(seed)
    g = WannGenome(1)
    g.configure_new(cfg, rng=rng)
    checked = 0
    for step in range(120):
        g.mutate(cfg, rng=rng)
        if step % 17 == 5 and g.connections.dormant_keys():
            del g.connections[g.connections.dormant_keys()[0]]
        plain = WannGenome(2)
        plain.nodes = dict(g.nodes.explicit)
        plain.connections = {k: copy_gene(c) for k, c in g.connections.all_items()}
        hidden = g.hidden_keys(cfg)
        want = _free_pairs(g.connections, cfg, hidden, g.node_layers(cfg))
        np.testing.assert_array_equal(_free_pairs_fast(g.connections, cfg, hidden), want)
        np.testing.assert_array_equal(
            _free_pairs_fast(plain.connections, cfg, hidden),
            _free_pairs(plain.connections, cfg, hidden, plain.node_layers(cfg)))
        checked += bool(hidden)
    assert checked > 50 and g.connections.removed_keys()


def test_add_connection_names_a_cycle_among_hidden_nodes():
    cfg = WannGenome.parse_config({"num_inputs": "2", "num_outputs": "1"})
    cfg.innovation_tracker = neat.InnovationTracker()
    g = WannGenome(7)
    g.configure_new(cfg, rng=np.random.default_rng(0))
    for k in (5, 6):
        g.nodes[k] = WannGenome.make_node(cfg, k, "tanh")
    for i, key in enumerate(((5, 6), (6, 5))):
        g.connections[key] = WannGenome.make_connection(cfg, key, 100 + i)
    with pytest.raises(ValueError, match=r"genome 7: connection genes form a cycle among \[5, 6\]"):
        g.mutate_add_connection(cfg, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"genome 7: connection genes form a cycle among \[5, 6\]"):
        g.node_layers(cfg)


def test_tables_are_shared_by_genomes_whose_genes_name_the_same_content():
    """The memo of add-connection's table and of the hidden keys is shared by genomes with the
    same key sets (also a copy of a copy whose activation changed, generations later); add-node's
    enabled and enable's disabled keys only by untouched copies. Each equals the plain table."""
    from wann_plugin.genome import _free_pairs_fast, _free_pairs_of, _memo

    cfg = make_config(num_inputs=4, initial_connection_prob=0.5)
    parent = new_genome(cfg, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(8):
        parent.mutate_add_node(cfg, rng=rng)

    def enabled(g):
        return _memo("enabled", g, cfg, lambda: sorted(g.connections.enabled_keys()))

    kids = []
    for key in (2, 3):
        kid = WannGenome(key)
        kid.configure_copy(parent)
        kids.append(kid)
    hidden = parent.hidden_keys(cfg)
    (a, has_a), (b, _) = (_free_pairs_of(k, cfg, hidden) for k in kids)
    assert a is b and not a.flags.writeable
    np.testing.assert_array_equal(a, _free_pairs_fast(parent.connections, cfg, hidden))
    assert has_a == a.any(axis=1).tolist()
    assert enabled(kids[0]) is enabled(kids[1])
    handed = WannGenome(4)
    handed.configure_copy(parent)
    key = sorted(handed.connections.enabled_keys())[0]
    handed.connections[key].enabled = False   # a written gene: the same keys, other content
    assert _free_pairs_of(handed, cfg, hidden)[0] is a
    assert enabled(handed) is not enabled(kids[0]) and key not in enabled(handed)
    # a copy whose activation changed, and its copy a generation later: same key sets
    kids[1].mutate_change_activation(cfg, rng=rng)
    grandchild = WannGenome(5)
    grandchild.configure_copy(kids[1])
    assert _free_pairs_of(grandchild, cfg, grandchild.hidden_keys(cfg))[0] is a
    assert enabled(grandchild) is enabled(kids[0])   # its connections are its grandparent's
    parent.mutate_add_connection(cfg, rng=rng)   # the parent moves on; later copies see it
    late = WannGenome(6)
    late.configure_copy(parent)
    got = _free_pairs_of(late, cfg, hidden)[0]
    np.testing.assert_array_equal(got, _free_pairs_fast(parent.connections, cfg, hidden))
    assert not np.array_equal(got, a)
    assert enabled(late) == sorted(parent.connections.enabled_keys()) != enabled(kids[0])
    for kid in kids:                              # the operators on the shared lists
        assert kid.mutate_add_node(cfg, rng=rng) and kid.mutate_enable(cfg, rng=rng)
    assert kids[0].connections.enabled_keys() != parent.connections.enabled_keys()


def test_made_genes_equal_the_general_path_attribute_for_attribute():
    """make_node / make_connection copy a prototype for neat-python's gene classes: the same
    attributes, values and attribute order as building each gene attribute by attribute."""
    cfg = WannGenome.parse_config({"num_inputs": "2", "num_outputs": "1"})
    node = WannGenome.make_node(cfg, 7, "tanh")
    want = neat.DefaultNodeGene(7)
    fixed = {"activation": "tanh", "aggregation": "sum", "bias": 0.0, "response": 1.0,
             "time_constant": 1.0}
    for attr in want._gene_attributes:
        setattr(want, attr.name, fixed[attr.name])
    assert list(vars(node).items()) == list(vars(want).items())
    for weight, enabled in ((1.0, True), (0.5, False)):
        conn = WannGenome.make_connection(cfg, (-1, 7), 12, weight, enabled)
        want = neat.DefaultConnectionGene((-1, 7), innovation=12)
        want.weight, want.enabled = weight, enabled
        assert list(vars(conn).items()) == list(vars(want).items())
        assert type(conn.innovation) is int and type(conn.weight) is float
    assert WannGenome.make_node(cfg, 8, "sin") is not WannGenome.make_node(cfg, 8, "sin")


def test_copy_of_equals_a_made_genome_after_configure_copy_also_for_subclasses():
    cfg = make_config(num_inputs=4, initial_connection_prob=0.5)
    parent = new_genome(cfg, seed=3)
    parent.mutate_add_node(cfg, rng=np.random.default_rng(4))
    parent.fitness = 2.0

    def same(a, b):
        return (a.key == b.key and a.fitness is None and b.fitness is None
                and a.objectives is None and b.objectives is None
                and sorted((k, n.activation) for k, n in a.nodes.items())
                == sorted((k, n.activation) for k, n in b.nodes.items())
                and sorted((k, c.innovation, c.enabled) for k, c in a.connections.all_items())
                == sorted((k, c.innovation, c.enabled) for k, c in b.connections.all_items()))

    made = WannGenome(7)
    made.configure_copy(parent)
    assert same(WannGenome.copy_of(7, parent), made)

    class Tagged(WannGenome):
        def __init__(self, key):
            super().__init__(key)
            self.tag = "made by __init__"

    child = Tagged.copy_of(8, parent)
    assert type(child) is Tagged and child.tag == "made by __init__"
    expected = Tagged(8)
    expected.configure_copy(parent)
    assert same(child, expected)
