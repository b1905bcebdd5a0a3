"""WannReproduction and WannSpeciesSet: counts, tournaments, config, real neat-python runs."""

from __future__ import annotations

import gzip
import pickle

import neat
import numpy as np
import pytest
from neat.reporting import BaseReporter

from wann_plugin.genome import WannGenome
from wann_plugin.network import WannNetwork
from wann_plugin.ranking import SIZE_OBJECTIVES, Objectives
from wann_plugin.reproduction import (
    SelectionCounts,
    WannReproduction,
    WannSpeciesSet,
    selection_counts,
    tournament_parents,
)
from wann_plugin.validation import ConfigError, UnknownConfigKeyError

CONFIG = """
[NEAT]
pop_size = {pop_size}
fitness_criterion = max
fitness_threshold = 1e9
reset_on_extinction = false
no_fitness_termination = true
seed = {seed}

[WannGenome]
num_inputs = 2
num_outputs = 1
{genome}

[WannReproduction]
{repro}

[WannSpeciesSet]
{species}

[DefaultStagnation]
{stagnation}
"""


def make_config(tmp_path, pop_size=30, seed=1, genome="", repro="", species="",
                stagnation="", name="run.ini"):
    """A fresh neat.Config (never reuse one: it holds the run-wide node counter)."""
    path = tmp_path / name
    path.write_text(CONFIG.format(pop_size=pop_size, seed=seed, genome=genome, repro=repro,
                                  species=species, stagnation=stagnation))
    return neat.Config(WannGenome, WannReproduction, WannSpeciesSet, neat.DefaultStagnation,
                       str(path))


X = np.random.default_rng(0).uniform(-1.0, 1.0, size=(32, 2))
Y = np.abs(X[:, 0]) + np.abs(X[:, 1])
Y_CENTRED = Y - Y.mean()
WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


def evaluate(genomes, config):
    """Toy task: |correlation| of the output with Y at every shared weight (scale and sign
    do not matter, so the topology decides); writes fitness and objectives."""
    for _, g in genomes:
        net = WannNetwork.from_genome(g, config.genome_config)
        out = net.activate(X[None], WEIGHTS[:, None])[..., 0]  # (n_weights, n_samples)
        with np.errstate(all="ignore"):
            dev = out - out.mean(axis=1, keepdims=True)
            corr = (dev @ Y_CENTRED) / (np.linalg.norm(dev, axis=1) * np.linalg.norm(Y_CENTRED))
        per_weight = np.where(np.isfinite(corr), np.abs(corr), 0.0)
        g.objectives = Objectives(float(per_weight.mean()), float(per_weight.max()),
                                  net.n_connections, tuple(per_weight.tolist()))
        g.fitness = g.objectives.mean


def evaluate_flat(genomes, config):
    """Everyone scores 0: stagnation sets in at once."""
    for _, g in genomes:
        g.objectives = Objectives(0.0, 0.0, g.size()[1], ())
        g.fitness = 0.0


class Watch(BaseReporter):
    """Records what neat-python shows after each reproduction."""

    def __init__(self):
        self.sizes, self.n_species, self.best = [], [], []

    def post_evaluate(self, config, population, species, best_genome):
        self.best.append(best_genome.fitness)

    def end_generation(self, config, population, species_set):
        self.sizes.append(len(population))
        self.n_species.append(len(species_set.species))
        assert all(s.members for s in species_set.species.values())
        assert sum(len(s.members) for s in species_set.species.values()) == len(population)


def snapshot(population):
    return [
        (k, sorted((nk, n.activation) for nk, n in g.nodes.items()),
         sorted((ck, c.enabled, c.innovation) for ck, c in g.connections.items()))
        for k, g in sorted(population.items())
    ]


def run(config, n, fitness=evaluate):
    pop = neat.Population(config)
    watch = Watch()
    pop.add_reporter(watch)
    pop.run(fitness, n)
    return pop, watch


# ---------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize("pop, elite_ratio, expected", [
    (128, 0.2, (25, 103, 20, 108)),   # default_wan.json
    (64, 0.05, (12, 52, 2, 62)),      # laptop_swing.json
    (192, 0.2, (38, 154, 30, 162)),   # swingup.json
    (480, 0.2, (96, 384, 76, 404)),   # biped.json
    (960, 0.2, (192, 768, 153, 807)),  # mnist256.json
    (64, 0.2, (12, 52, 10, 54)),      # vaeRacer.json
])
def test_selection_counts_match_the_reference_table(pop, elite_ratio, expected):
    assert selection_counts(pop, pop, 0.2, elite_ratio) == SelectionCounts(*expected)


def test_selection_counts_edges():
    assert selection_counts(1, 5, 0.9, 1.0) == SelectionCounts(0, 1, 1, 4)
    assert selection_counts(10, 3, 0.5, 1.0) == SelectionCounts(5, 5, 3, 0)
    assert selection_counts(100, 100, 0.29, 0.0).n_culled == 29  # not 28 from 28.999...
    with pytest.raises(ValueError, match="cannot breed from 0"):
        selection_counts(0, 5, 0.2, 0.2)


def test_tournaments_pick_the_better_of_two_winners():
    rng = np.random.default_rng(0)
    better, other = tournament_parents(10, 20000, 2, rng)
    assert better.shape == other.shape == (20000,)
    assert np.all(better <= other) and better.min() >= 0 and other.max() <= 9
    # better = the smallest of 2 x 2 draws: P(0) = 1 - 0.9^4
    assert np.mean(better == 0) == pytest.approx(1 - 0.9 ** 4, abs=0.012)
    assert np.mean(other == 0) == pytest.approx(0.19 ** 2, abs=0.006)  # both winners 0
    b, o = tournament_parents(1, 3, 8, rng)
    assert b.tolist() == o.tolist() == [0, 0, 0]
    assert tournament_parents(5, 0, 8, rng)[0].shape == (0,)


# ---------------------------------------------------------------------- config
def test_default_config(tmp_path):
    cfg = make_config(tmp_path).reproduction_config
    assert cfg.values() == {"cull_ratio": 0.2, "elite_ratio": 0.2, "tournament_size": 8,
                            "prob_crossover": 0.0, "prob_size_objective": 0.8,
                            "speciation": False}
    assert make_config(tmp_path).species_set_config.compatibility_threshold == 3.0


def test_config_round_trip(tmp_path):
    cfg = make_config(tmp_path, repro="cull_ratio = 0.1\ntournament_size = 3\n"
                                      "prob_crossover = 0.25\nspeciation = yes",
                      species="compatibility_threshold = 1.5")
    cfg.save(str(tmp_path / "saved.ini"))
    again = neat.Config(WannGenome, WannReproduction, WannSpeciesSet, neat.DefaultStagnation,
                        str(tmp_path / "saved.ini"))
    assert again.reproduction_config.values() == cfg.reproduction_config.values()
    assert again.reproduction_config.speciation is True
    assert again.species_set_config.compatibility_threshold == 1.5


def test_unknown_keys(tmp_path):
    with pytest.raises(UnknownConfigKeyError,
                       match=r"\[WannReproduction\] unknown key 'tournament_sise'; "
                             r"did you mean 'tournament_size'\?"):
        make_config(tmp_path, repro="tournament_sise = 4")
    with pytest.raises(UnknownConfigKeyError, match=r"\[WannSpeciesSet\] unknown key"):
        make_config(tmp_path, species="compatibility_treshold = 2")


@pytest.mark.parametrize("line, message", [
    ("tournament_size = 1", r"\[WannReproduction\] tournament_size == 1, must be >= 2\."),
    ("cull_ratio = 1.0", r"\[WannReproduction\] cull_ratio == 1, must be in \[0, 1\)\."),
    ("elite_ratio = -0.1", r"\[WannReproduction\] elite_ratio == -0.1, must be in \[0, 1\]\."),
    ("prob_crossover = 2", r"prob_crossover == 2, must be in \[0, 1\]"),
    ("prob_size_objective = often", r"prob_size_objective == 'often', must be a finite number"),
    ("speciation = maybe", r"\[WannReproduction\] speciation == 'maybe', must be true or false"),
])
def test_bad_values(tmp_path, line, message):
    with pytest.raises(ConfigError, match=message):
        make_config(tmp_path, repro=line)


def test_genome_type_is_checked():
    repro = WannReproduction(WannReproduction.parse_config({}), None, None)
    with pytest.raises(TypeError, match="needs a WannGenome"):
        repro.create_new(neat.DefaultGenome, None, 3)


# ---------------------------------------------------------------------- one generation
def test_create_new_sets_the_tracker(tmp_path):
    config = make_config(tmp_path, pop_size=12)
    pop = neat.Population(config)
    assert sorted(pop.population) == list(range(1, 13))
    assert config.genome_config.innovation_tracker is pop.reproduction.innovation_tracker
    for g in pop.population.values():
        assert sorted(c.innovation for c in g.connections.values()) == [1, 2, 3]
    assert pop.reproduction.ancestors[5] == ()


def test_reproduce_keeps_elites_and_breeds_from_the_pool(tmp_path):
    config = make_config(tmp_path, pop_size=20, seed=4)
    pop = neat.Population(config)
    for key, g in pop.population.items():  # distinct means, equal size: rank = key order
        g.objectives = Objectives(-float(key), -float(key), 3, ())
        g.fitness = -float(key)
    old = dict(pop.population)
    tracker = pop.reproduction.innovation_tracker
    tracker.get_innovation_number(-1, 0, "initial_connection")  # would be reused if not reset
    new = pop.reproduction.reproduce(config, pop.species, 20, 0)
    # 20 -> culled 4, pool 16, elites 3, children 17
    assert len(new) == 20
    assert [k for k in new if k <= 20] == [1, 2, 3]
    assert all(new[k] is old[k] for k in (1, 2, 3))
    children = sorted(k for k in new if k > 20)
    assert children == list(range(21, 38))
    for k in children:
        (parent,) = pop.reproduction.ancestors[k]
        assert parent <= 16  # culled genomes 17..20 never breed
        child, mother = new[k], old[parent]
        assert child.fitness is None and child.objectives is None
        assert set(child.connections) >= set(mother.connections)  # WANN only adds genes
        assert len(child.nodes) - len(mother.nodes) in (0, 1)
    assert tracker.generation_innovations.get((-1, 0, "initial_connection")) is None
    assert list(pop.species.species) == [1]
    assert pop.species.species[1].members == {}
    pop.species.speciate(config, new, 1)
    assert len(pop.species.species[1].members) == 20


def test_equal_means_prefer_fewer_connections(tmp_path):
    config = make_config(tmp_path, pop_size=10,
                         repro="prob_size_objective = 1.0\ncull_ratio = 0.0\nelite_ratio = 0.5")
    pop = neat.Population(config)
    for key, g in pop.population.items():
        g.objectives = Objectives(0.0, float(key), key % 5, ())
        g.fitness = 0.0
    new = pop.reproduction.reproduce(config, pop.species, 10, 0)
    assert pop.reproduction.ranking_objectives == SIZE_OBJECTIVES
    # fewest connections: 0 (keys 5, 10), 1 (keys 1, 6), then 2 (key 2 wins the id tie-break)
    assert sorted(k for k in new if k <= 10) == [1, 2, 5, 6, 10]


# ---------------------------------------------------------------------- whole runs
def test_population_runs_many_generations_without_extinction(tmp_path):
    config = make_config(tmp_path, pop_size=30, stagnation="max_stagnation = 1")
    pop, watch = run(config, 12)
    assert watch.sizes == [30] * 12
    assert watch.n_species == [1] * 12
    # the best mean is on the first front with infinite crowding: always an elite
    assert all(b2 >= b1 for b1, b2 in zip(watch.best, watch.best[1:], strict=False))
    assert watch.best[-1] > watch.best[0] + 0.3  # hidden abs/square-like nodes were found
    tracker = pop.reproduction.innovation_tracker
    by_number = {}
    for g in pop.population.values():
        numbers = [c.innovation for c in g.connections.values()]
        assert len(set(numbers)) == len(numbers) and max(numbers) <= tracker.global_counter
        for c in g.connections.values():  # one innovation number, one connection
            assert by_number.setdefault(c.innovation, c.key) == c.key
        WannNetwork.from_genome(g, config.genome_config)
    assert any(g.hidden_keys(config.genome_config) for g in pop.population.values())


def test_flat_fitness_never_wipes_out_the_only_species(tmp_path):
    config = make_config(tmp_path, pop_size=16, stagnation="max_stagnation = 1")
    _, watch = run(config, 6, evaluate_flat)
    assert watch.sizes == [16] * 6
    config = make_config(tmp_path, pop_size=16, stagnation="max_stagnation = 1",
                         repro="speciation = true", species="compatibility_threshold = 0.2",
                         name="spec.ini")
    _, watch = run(config, 6, evaluate_flat)
    assert watch.sizes == [16] * 6 and min(watch.n_species) >= 1


def test_speciation_breeds_within_species(tmp_path):
    config = make_config(tmp_path, pop_size=40, seed=2,
                         repro="speciation = true\nelite_ratio = 0.1",
                         species="compatibility_threshold = 0.6",
                         stagnation="max_stagnation = 3")
    pop, watch = run(config, 8)
    assert watch.sizes == [40] * 8
    assert max(watch.n_species) > 1
    for s in pop.species.species.values():
        assert s.adjusted_fitness is None or 0.0 <= s.adjusted_fitness <= 1.0


def test_crossover_runs(tmp_path):
    config = make_config(tmp_path, pop_size=20, repro="prob_crossover = 0.5")
    pop, watch = run(config, 6)
    assert watch.sizes == [20] * 6
    pairs = [a for a in pop.reproduction.ancestors.values() if len(a) == 2]
    assert pairs


def test_same_seed_same_populations(tmp_path):
    a, _ = run(make_config(tmp_path, seed=7, name="a.ini"), 6)
    b, _ = run(make_config(tmp_path, seed=7, name="b.ini"), 6)
    c, _ = run(make_config(tmp_path, seed=8, name="c.ini"), 6)
    assert snapshot(a.population) == snapshot(b.population)
    assert snapshot(a.population) != snapshot(c.population)


def _canonical(population, genome_config):
    """Snapshot with hidden node keys replaced by their rank among all hidden keys.

    neat-python 2.0 pickles the run-wide node counter by calling ``next`` on it, so saving a
    checkpoint skips one node key in the running process; the structure is the same.
    """
    outputs = set(genome_config.output_keys)
    hidden = sorted({k for g in population.values() for k in g.nodes if k not in outputs})
    rank = {k: 1000 + i for i, k in enumerate(hidden)}
    rename = lambda k: rank.get(k, k)  # noqa: E731
    return [
        (k, sorted((rename(nk), n.activation) for nk, n in g.nodes.items()),
         sorted(((rename(a), rename(b)), c.enabled, c.innovation)
                for (a, b), c in g.connections.items()))
        for k, g in sorted(population.items())
    ]


def test_checkpoint_resume_continues_the_same_run(tmp_path):
    config = make_config(tmp_path, pop_size=20, seed=3)
    pop = neat.Population(config)
    prefix = str(tmp_path / "ck-")
    pop.add_reporter(neat.Checkpointer(3, filename_prefix=prefix))
    pop.run(evaluate, 6)
    with gzip.open(prefix + "3") as f:
        assert pickle.load(f)[0] == 3
    restored = neat.Checkpointer.restore_checkpoint(prefix + "3")
    restored.run(evaluate, 3)
    assert restored.generation == pop.generation == 6
    assert (_canonical(restored.population, restored.config.genome_config)
            == _canonical(pop.population, config.genome_config))


@pytest.mark.parametrize("speciation", ["false", "true"])
def test_works_with_neats_default_species_set(tmp_path, speciation):
    text = CONFIG.format(pop_size=24, seed=5, genome="", repro=f"speciation = {speciation}",
                         species="", stagnation="max_stagnation = 2")
    text = text.replace("[WannSpeciesSet]", "[DefaultSpeciesSet]\ncompatibility_threshold = 0.5")
    path = tmp_path / "default_species.ini"
    path.write_text(text)
    config = neat.Config(WannGenome, WannReproduction, neat.DefaultSpeciesSet,
                         neat.DefaultStagnation, str(path))
    _, watch = run(config, 6)
    assert watch.sizes == [24] * 6
    assert max(watch.n_species) > 1  # neat-python's species set splits the population


# ---------------------------------------------------------------------- the ancestor record
def test_reproduction_records_every_genome_in_an_ancestor_log(tmp_path):
    from wann_plugin._ancestors import AncestorLog

    config = make_config(tmp_path, pop_size=20, seed=3)
    pop, _ = run(config, 4)
    ancestors = pop.reproduction.ancestors
    assert isinstance(ancestors, AncestorLog)
    keys = list(ancestors)
    assert keys == list(range(1, len(keys) + 1))  # every key the counter gave, in order
    assert len(keys) > 20 * 3
    assert all(ancestors[k] == () for k in range(1, 21))
    for k in keys[20:]:
        assert len(ancestors[k]) == 1 and ancestors[k][0] < k
    assert set(pop.population) <= set(keys)
    assert not ancestors._extra  # all of it in the arrays


def test_a_checkpoint_holding_a_plain_ancestor_dict_restores_into_an_ancestor_log(tmp_path):
    from wann_plugin._ancestors import AncestorLog
    from wann_plugin.checkpoint import Snapshot, restore_population

    config = make_config(tmp_path, pop_size=20, seed=3)
    pop, _ = run(config, 2)
    state = Snapshot(pop).state()
    record = dict(pop.reproduction.ancestors)
    state["reproduction"]["ancestors"] = dict(record)  # as checkpoints were written before
    restored = restore_population(pickle.loads(pickle.dumps(state)),
                                  make_config(tmp_path, pop_size=20, seed=3))
    assert isinstance(restored.reproduction.ancestors, AncestorLog)
    assert dict(restored.reproduction.ancestors) == record
    restored.reproduction.ancestors[max(record) + 1] = (1,)  # and it goes on recording
    assert len(restored.reproduction.ancestors) == len(record) + 1
