"""Pareto ranking: fronts, crowding distance, order, the per-generation objective draw."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wann_plugin.ranking import (
    PERFORMANCE_OBJECTIVES,
    SIZE_OBJECTIVES,
    Objectives,
    clean_objectives,
    crowding_distance,
    draw_ranking_objectives,
    genome_objectives,
    objective_matrix,
    pareto_fronts,
    pareto_order,
    pareto_rank,
    rank_genomes,
    signs_of,
    sort_genomes,
)


def brute_force_fronts(values):
    """Peel fronts by pairwise dominance (all objectives maximised)."""
    left = list(range(len(values)))
    fronts = []
    while left:
        front = [i for i in left
                 if not any(np.all(values[j] >= values[i]) and np.any(values[j] > values[i])
                            for j in left)]
        fronts.append(sorted(front))
        left = [i for i in left if i not in front]
    return fronts


def genome(key, mean, n_conn, mx=None, fitness=None):
    return SimpleNamespace(key=key, fitness=mean if fitness is None else fitness,
                           objectives=Objectives(mean, mean if mx is None else mx, n_conn))


def test_objectives_is_frozen():
    o = Objectives(1.0, 2.0, 3, (0.5, 1.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.mean = 2.0
    assert (o.mean, o.max, o.n_connections, o.per_weight) == (1.0, 2.0, 3, (0.5, 1.5))


def test_fronts_of_a_hand_made_example():
    # maximise both: (4,1) (3,3) (1,4) are non-dominated; (2,2) (1,1) and (0,0) follow
    pts = np.array([[1, 1], [4, 1], [2, 2], [3, 3], [1, 4], [0, 0], [2, 1]])
    fronts = [f.tolist() for f in pareto_fronts(pts)]
    assert fronts == [[1, 3, 4], [2], [6], [0], [5]]


def test_identical_points_share_a_front():
    pts = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [1.0, 2.0]])
    assert [f.tolist() for f in pareto_fronts(pts)] == [[0, 1, 3], [2]]


@pytest.mark.parametrize("seed, n_obj", [(0, 2), (1, 2), (2, 2), (3, 3), (4, 3), (5, 1)])
def test_fronts_match_brute_force(seed, n_obj):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, size=(60, n_obj)).astype(float)  # many ties
    assert [f.tolist() for f in pareto_fronts(values)] == brute_force_fronts(values)


def per_front_order(signed, ids=None):
    """pareto_order the plain way: front by front, each sorted by id, crowding, then id."""
    from wann_plugin.ranking import clean_objectives

    values = clean_objectives(signed)
    ids = np.arange(len(values)) if ids is None else np.asarray(ids)
    order = []
    for front in pareto_fronts(values):
        front = front[np.argsort(ids[front], kind="stable")]
        crowd = crowding_distance(values[front])
        order.extend(front[np.lexsort((ids[front], -crowd))].tolist())
    return order


@pytest.mark.parametrize("seed", range(10))
def test_pareto_order_equals_the_front_by_front_order(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    n_obj = (1, 2, 2, 3)[seed % 4]
    values = rng.integers(-3, 4, size=(n, n_obj)).astype(float) if seed % 2 else \
        rng.normal(size=(n, n_obj)).round(2)
    if n and seed % 3 == 0:
        values[rng.integers(n)] = np.nan
        values[rng.integers(n), 0] = np.inf
    ids = rng.permutation(10 * n + 1)[:n] if seed % 5 else None
    assert pareto_order(values, ids).tolist() == per_front_order(values, ids)


def test_fronts_refuse_nan():
    with pytest.raises(ValueError, match="clean_objectives"):
        pareto_fronts(np.array([[1.0, np.nan]]))


def test_crowding_distance_is_normalised_per_objective():
    front = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    np.testing.assert_allclose(crowding_distance(front), [np.inf, 1.5, 1.5, np.inf])
    # the scale of an objective does not matter (1 / (max - min), not the reference's quirk)
    scaled = front * np.array([1000.0, 0.001])
    np.testing.assert_allclose(crowding_distance(scaled), [np.inf, 1.5, 1.5, np.inf])
    uneven = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [3.5, 0.5], [4.0, 0.0]])
    np.testing.assert_allclose(crowding_distance(uneven), [np.inf, 1.5, 1.25, 0.5, np.inf])


def test_crowding_distance_small_and_flat_fronts():
    assert crowding_distance(np.zeros((0, 2))).shape == (0,)
    np.testing.assert_array_equal(crowding_distance(np.array([[1.0, 2.0]])), [np.inf])
    flat = np.array([[1.0, 5.0], [1.0, 4.0], [1.0, 3.0]])
    # a constant objective adds nothing; the other gives (5 - 3) / 2 = 1 to the middle row
    np.testing.assert_allclose(crowding_distance(flat), [np.inf, 1.0, np.inf])


def test_order_is_front_then_crowding_then_id():
    front = [[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [3.5, 0.5], [4.0, 0.0]]
    values = np.array(front + [[0.5, 0.5], [-1.0, -1.0]])
    ids = np.array([50, 40, 30, 20, 10, 5, 1])
    order = pareto_order(values, ids)
    # ends (inf) first by id: row 4 (id 10) before row 0 (id 50); then 1.5, 1.25, 0.5
    assert order.tolist() == [4, 0, 1, 2, 3, 5, 6]
    rank = pareto_rank(values, ids)
    assert rank[order].tolist() == list(range(7))


def test_ties_broken_by_genome_id_whatever_the_row_order():
    values = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    # rows go into crowding in id order (3, 5, 7): the ends (ids 3, 7) get inf, the middle 0
    assert pareto_order(values, [7, 3, 5, 1]).tolist() == [1, 0, 2, 3]
    rng = np.random.default_rng(0)
    values = rng.integers(0, 4, size=(40, 2)).astype(float)
    ids = rng.permutation(1000)[:40]
    expected = ids[pareto_order(values, ids)]
    perm = rng.permutation(40)
    assert ids[perm][pareto_order(values[perm], ids[perm])].tolist() == expected.tolist()


def test_nan_counts_as_worst():
    cleaned = clean_objectives(np.array([[1.0, 0.0], [np.nan, 0.0], [3.0, -np.inf], [-2.0, 1.0]]))
    assert np.all(np.isfinite(cleaned))
    assert cleaned[1, 0] < -2.0 and cleaned[2, 1] < 0.0
    # equal connections: NaN mean loses to any finite mean
    values = np.array([[np.nan, -3.0], [-50.0, -3.0], [np.nan, -3.0]])
    assert pareto_order(values).tolist() == [1, 0, 2]


def test_objective_matrix_and_signs():
    objs = [Objectives(1.0, 2.0, 3), Objectives(0.5, 4.0, 1)]
    np.testing.assert_array_equal(objective_matrix(objs, ("mean", "n_connections")),
                                  [[1.0, 3.0], [0.5, 1.0]])
    np.testing.assert_array_equal(signs_of(("mean", "max", "n_connections")), [1, 1, -1])
    with pytest.raises(ValueError, match="unknown objective"):
        objective_matrix(objs, ("mean", "size"))


def test_draw_frequency():
    rng = np.random.default_rng(1)
    draws = [draw_ranking_objectives(rng, 0.8) for _ in range(10000)]
    assert draws.count(SIZE_OBJECTIVES) / 10000 == pytest.approx(0.8, abs=0.015)
    assert set(draws) == {SIZE_OBJECTIVES, PERFORMANCE_OBJECTIVES}
    assert draw_ranking_objectives(rng, 1.0) == SIZE_OBJECTIVES
    assert draw_ranking_objectives(rng, 0.0) == PERFORMANCE_OBJECTIVES
    with pytest.raises(ValueError, match="prob_size_objective"):
        draw_ranking_objectives(rng, 1.5)


def test_fewer_connections_win_when_means_tie():
    genomes = [genome(1, 0.5, 9), genome(2, 0.5, 2), genome(3, 0.5, 5), genome(4, 0.1, 1)]
    ranked = sort_genomes(genomes, SIZE_OBJECTIVES)
    # 2 dominates 3 and 1; 4 (fewest connections) is on the first front too
    assert [g.key for g in ranked] == [2, 4, 3, 1]
    assert [g.key for g in genomes] == [1, 2, 3, 4]  # the input is left alone


def test_mean_and_max_ranking_ignores_size():
    genomes = [genome(1, 0.5, 9, mx=2.0), genome(2, 0.5, 2, mx=1.0), genome(3, 0.4, 1, mx=0.4)]
    assert [g.key for g in sort_genomes(genomes, PERFORMANCE_OBJECTIVES)] == [1, 2, 3]
    assert [g.key for g in rank_genomes(genomes, np.random.default_rng(0), 0.0)] == [1, 2, 3]
    assert [g.key for g in rank_genomes(genomes, np.random.default_rng(0), 1.0)] == [2, 3, 1]


def test_plain_fitness_genomes_get_stand_in_objectives():
    conns = {(-1, 0): SimpleNamespace(enabled=True), (-2, 0): SimpleNamespace(enabled=False)}
    g = SimpleNamespace(key=5, fitness=0.25, connections=conns)
    assert genome_objectives(g) == Objectives(0.25, 0.25, 1, ())
    with pytest.raises(ValueError, match="genome 6 has no objectives and no fitness"):
        genome_objectives(SimpleNamespace(key=6, fitness=None))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.integers(1, 3), st.integers(1, 4), st.data())
def test_pareto_fronts_are_deaps_fronts_of_its_own_individuals(n, n_obj, n_levels, data):
    """The fronts equal a plain ``sortLogNondominated`` on DEAP's own individuals (creator
    Fitness with maximising weights), on matrices with many ties."""
    from deap import base
    from deap.tools import sortLogNondominated

    levels = data.draw(st.lists(st.integers(-n_levels, n_levels), min_size=n * n_obj,
                                max_size=n * n_obj))
    values = np.array(levels, dtype=float).reshape(n, n_obj) / 2

    class Fitness(base.Fitness):
        weights = (1.0,) * n_obj

    class Individual(list):
        def __init__(self, i, row):
            super().__init__(row)
            self.i = i
            self.fitness = Fitness(tuple(row))

    if n_obj == 1:  # DEAP does not sort one objective: its fronts are the distinct values
        expected = [np.flatnonzero(values[:, 0] == v).tolist()
                    for v in np.unique(values[:, 0])[::-1]]
    else:
        people = [Individual(i, row) for i, row in enumerate(values.tolist())]
        expected = [sorted(p.i for p in front) for front in sortLogNondominated(people, n)]
    assert [f.tolist() for f in pareto_fronts(values)] == expected
