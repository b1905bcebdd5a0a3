"""WannEvaluator: validation, batching, write-back, generation seeds, reuse of finished
results (engine faults are in test_faults.py, engines in test_parallel.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import neat
import numpy as np
import pytest
from _parallel_helpers import ToyTask, random_networks, write_config

from wann_plugin._rng import generation_seed
from wann_plugin.config import load_config
from wann_plugin.evaluation import (
    DEFAULT_WEIGHTS,
    EvaluationError,
    WannEvaluator,
)
from wann_plugin.network import WannNetwork
from wann_plugin.ranking import Objectives
from wann_plugin.tasks.base import TaskError


@pytest.fixture
def population(tmp_path):
    config = load_config(write_config(tmp_path / "pop.cfg", pop_size=16, seed=11))
    return config, list(neat.Population(config).population.items())


@pytest.mark.parametrize("kwargs, message", [
    ({"weights": []}, "weights must be a non-empty sequence of finite numbers"),
    ({"weights": [1.0, np.nan]}, "weights must be a non-empty sequence of finite numbers"),
    ({"n_repeats": 0}, r"\[WannEvaluator\] n_repeats == 0, must be >= 1\."),
    ({"n_repeats": True}, r"\[WannEvaluator\] n_repeats == True, must be a whole number >= 1"),
    ({"batch_size": 0}, r"\[WannEvaluator\] batch_size == 0, must be >= 1\."),
    ({"on_error": "ignore"}, r"on_error == 'ignore', must be one of fail, worst\."),
    ({"max_retries": -1}, r"\[WannEvaluator\] max_retries == -1, must be >= 0\."),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WannEvaluator(ToyTask(), **kwargs)


def test_bad_task_and_executor_types():
    with pytest.raises(TypeError, match="task must be a wann_plugin Task, got str"):
        WannEvaluator("swingup")
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        WannEvaluator(ToyTask(), executor=5)
    task = ToyTask()
    task.worst_score = float("-inf")
    with pytest.raises(ValueError, match="task 'toy' has worst_score == -inf"):
        WannEvaluator(task)


def test_write_back_sets_fitness_and_objectives(population):
    config, genomes = population
    ev = WannEvaluator(ToyTask(n_inputs=5), n_repeats=3)
    ev(genomes, config)
    for _, g in genomes:
        assert isinstance(g.fitness, float) and isinstance(g.objectives, Objectives)
        assert g.fitness == g.objectives.mean == pytest.approx(np.mean(g.objectives.per_weight))
        assert g.objectives.max == max(g.objectives.per_weight)
        assert len(g.objectives.per_weight) == len(DEFAULT_WEIGHTS)
    assert ev.generation == 1 and ev.last_seconds > 0


def test_generation_seed_comes_from_run_seed_and_generation(population):
    config, genomes = population
    ev = WannEvaluator(ToyTask(n_inputs=5))
    ev.start_generation(7)  # neat-python's reporter hook, also after a restore
    assert ev.seed_for(config, 7) == generation_seed(11, 7)
    ev(genomes, config)
    assert ev.partial_results()["seed"] == generation_seed(11, 7) and ev.generation == 8
    assert WannEvaluator(ToyTask(), seed=5).seed_for(config, 7) == generation_seed(5, 7)


def test_batches_keep_every_worker_busy():
    nets = {n.key: n for n in random_networks(24)}
    serial = WannEvaluator(ToyTask())
    assert len(serial._batches(list(nets))) == 1
    assert [len(b) for b in WannEvaluator(ToyTask(), batch_size=10)._batches(list(nets))] == \
        [10, 10, 4]
    with ThreadPoolExecutor(3) as ex:
        threaded = WannEvaluator(ToyTask(), executor=ex)
        assert len(threaded._batches(list(nets))) == 12  # 4 per worker
        scores, _ = threaded.score(nets, 3)
    ref, _ = serial.score(nets, 3)
    assert all(np.array_equal(scores[k], ref[k]) for k in nets)


def test_executor_factory_is_built_on_first_use_and_closed():
    built = []

    def factory():
        built.append(ThreadPoolExecutor(2))
        return built[-1]

    ev = WannEvaluator(ToyTask(), executor=factory)
    assert built == []
    ev.score({n.key: n for n in random_networks(4)}, 1)
    assert len(built) == 1 and ev.executor is built[0]
    ev.close()
    assert built[0]._shutdown
    with pytest.raises(TypeError, match="executor factory returned int"):
        _ = WannEvaluator(ToyTask(), executor=lambda: 3).executor


def test_finished_results_of_a_generation_are_reused_only_for_the_same_network(population):
    config, genomes = population
    ev = WannEvaluator(ToyTask(n_inputs=5), batch_size=4)
    ev(genomes, config)
    fitness = {gid: g.fitness for gid, g in genomes}
    ev.restore_partial_results(ev.partial_results())
    ev.generation = 0  # the same generation again: nothing is scored twice
    ev(genomes, config)
    assert ev.last_stats["reused"] == len(genomes) and ev.last_stats["n_batches"] == 0
    assert {gid: g.fitness for gid, g in genomes} == fitness
    # a genome whose network changed is scored again
    gid, g = genomes[0]
    g.connections = {k: c for k, c in list(g.connections.items())[:-1]}
    ev.generation = 0
    ev(genomes, config)
    assert ev.last_stats["reused"] == len(genomes) - 1
    # another generation: nothing is reused
    ev(genomes, config)
    assert ev.last_stats["reused"] == 0


class _Recording(ToyTask):
    """ToyTask that records the keys of the networks it scores."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scored = []

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        self.scored += [net.key for net in nets]
        return super().evaluate(nets, weights, seed=seed, n_repeats=n_repeats)


class _FailsOn(ToyTask):
    """Raises for any network that computes what ``bad`` computes (a deterministic task)."""

    def __init__(self, bad, **kwargs):
        super().__init__(**kwargs)
        self.bad = bad

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        if any(net.fingerprint == self.bad for net in nets):
            raise ValueError("cannot score this network")
        return super().evaluate(nets, weights, seed=seed, n_repeats=n_repeats)


def _with_copies(genomes, n_copies=(3, 1, 2)):
    """``genomes`` plus copies (new ids, equal genes) of the first ones: ``{original: ids}``."""
    out, copies = list(genomes), {}
    next_id = max(gid for gid, _ in genomes) + 1
    for (gid, g), n in zip(genomes, n_copies):
        for _ in range(n):
            out.append((next_id, type(g).copy_of(next_id, g)))
            copies.setdefault(gid, []).append(next_id)
            next_id += 1
    return out, copies


def test_equal_networks_are_scored_once_with_the_same_results(population):
    config, genomes = population
    everything, copies = _with_copies(genomes)
    nets = {gid: WannNetwork.from_genome(g, config.genome_config) for gid, g in everything}
    n_distinct = len({net.fingerprint for net in nets.values()})
    assert n_distinct <= len(genomes) < len(everything)
    task = _Recording(n_inputs=5)
    ev = WannEvaluator(task, n_repeats=2, batch_size=3)
    ev(everything, config)
    assert len(task.scored) == len(set(task.scored)) == n_distinct
    assert not {c for cs in copies.values() for c in cs} & set(task.scored)
    assert ev.last_stats["duplicates"] == len(everything) - n_distinct
    shared = {gid: g.objectives for gid, g in everything}
    # every genome scored on its own gives exactly the same objectives
    alone = _Recording(n_inputs=5)
    alone.deterministic = False
    ev_alone = WannEvaluator(alone, n_repeats=2, batch_size=3)
    ev_alone(everything, config)
    assert sorted(alone.scored) == sorted(gid for gid, _ in everything)
    assert ev_alone.last_stats["duplicates"] == 0
    assert {gid: g.objectives for gid, g in everything} == shared
    for gid, ids in copies.items():
        assert all(shared[c] == shared[gid] for c in ids)
    # a checkpoint of the generation keeps every genome's result, copies included
    assert set(ev.partial_results()["results"]) == {gid for gid, _ in everything}


def test_a_failing_network_fails_every_genome_that_has_it(population):
    config, genomes = population
    everything, copies = _with_copies(genomes)
    first = genomes[0][0]
    bad = WannNetwork.from_genome(genomes[0][1], config.genome_config).fingerprint
    ev = WannEvaluator(_FailsOn(bad, n_inputs=5), on_error="worst")
    with pytest.warns(UserWarning, match=f"raised for genome {first} "):
        ev(everything, config)
    assert set(ev.last_failures) >= {first, *copies[first]}
    assert {gid for gid, g in everything if g.fitness == -1e6} == set(ev.last_failures)
    with pytest.raises(EvaluationError) as info:
        WannEvaluator(_FailsOn(bad, n_inputs=5))(everything, config)
    assert set(info.value.genome_ids) >= {first, *copies[first]}


def test_network_task_mismatch_is_a_task_error(population):
    config, genomes = population
    with pytest.raises(TaskError, match="task 'toy' takes networks with 3 inputs"):
        WannEvaluator(ToyTask(n_inputs=3))(genomes, config)


def test_wrong_score_shape_is_reported_per_genome():
    class BadShape(ToyTask):
        def evaluate(self, nets, weights, *, seed, n_repeats=1):
            return np.zeros((len(nets), 2))

    _, failures = WannEvaluator(BadShape()).score({n.key: n for n in random_networks(2)}, 0)
    assert set(failures) == {1, 2}
    assert "returned scores of shape (1, 2), expected (n_nets, n_weights, n_repeats)" in failures[1]


def test_write_back_all_equals_write_back_genome_by_genome():
    from types import SimpleNamespace

    from wann_plugin.evaluation import WannEvaluator as Ev

    rng = np.random.default_rng(3)
    scores = [rng.normal(size=(6, 3)) * 10.0 ** rng.integers(-3, 4) for _ in range(50)]
    nets = [SimpleNamespace(n_connections=int(rng.integers(0, 99))) for _ in scores]
    one = [SimpleNamespace() for _ in scores]
    many = [SimpleNamespace() for _ in scores]
    for g, n, s in zip(one, nets, scores):
        Ev.write_back(g, n, s)
    ev = Ev.__new__(Ev)
    ev.write_back_all(many, nets, scores)
    for a, b in zip(one, many):
        assert a.objectives == b.objectives and a.fitness == b.fitness
        assert type(b.objectives.mean) is float and type(b.objectives.per_weight[0]) is float
        # built without the dataclass __init__: the same type, fields in the same order
        assert type(b.objectives) is type(a.objectives)
        assert list(vars(b.objectives)) == list(vars(a.objectives))
        assert hash(a.objectives) == hash(b.objectives)
