"""End to end: the WANN search inside neat-python's Population on cart-pole swing-up."""

import io

import neat
import numpy as np
import pytest

from wann_plugin.config import load_config, make_evaluator
from wann_plugin.io import load_network
from wann_plugin.network import WannNetwork
from wann_plugin.runner import run_search


def test_same_config_and_seed_give_the_same_champion_twice(tmp_path):
    results = []
    for i in range(2):
        out = io.StringIO()
        res = run_search(load_config(), 6, out_dir=tmp_path / f"r{i}", seed=7, stream=out,
                         champion_episodes=4)
        results.append((res, out.getvalue(), (tmp_path / f"r{i}" / "stats.csv").read_text()))
    (a, out_a, stats_a), (b, out_b, stats_b) = results
    assert a.champion.key == b.champion.key
    assert a.summary == b.summary
    np.testing.assert_array_equal(a.network.conn_src, b.network.conn_src)
    drop_seconds = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # noqa: E731
    assert drop_seconds(stats_a) == drop_seconds(stats_b)
    assert len(stats_a.splitlines()) == 7  # header + 6 generations
    # a different seed gives a different run
    c = run_search(load_config(), 6, seed=8, stream=None, champion_episodes=4)
    assert [r["best_mean"] for r in c.stats] != [r["best_mean"] for r in a.stats]


@pytest.mark.slow
def test_a_short_real_search_improves_over_generation_zero(tmp_path):
    out = io.StringIO()
    res = run_search(load_config(), 25, out_dir=tmp_path, seed=3, stream=out, champion_episodes=8)
    best = [r["best_mean"] for r in res.stats]
    assert max(best[-5:]) > best[0] + 50, best
    # the progress lines and the final report were printed
    text = out.getvalue()
    assert text.count("gen ") == 25 and "champion: genome" in text and "saved to" in text
    # the saved champion reloads and scores as reported
    loaded = load_network(tmp_path / "champion.json")
    assert loaded.meta["summary"] == res.summary
    assert loaded.net.n_connections == res.network.n_connections
    assert loaded.genome is not None


def test_population_loop_with_plain_neat_python():
    """The documented Python usage: neat's own Population, reporters and our evaluator."""
    config = load_config()
    config.pop_size = 16
    evaluator = make_evaluator(config)
    population = neat.Population(config)
    population.add_reporter(evaluator)
    stats = neat.StatisticsReporter()
    population.add_reporter(stats)
    best = population.run(evaluator, 3)
    assert len(stats.most_fit_genomes) == 3
    assert best.fitness == pytest.approx(best.objectives.mean)
    assert len(best.objectives.per_weight) == 6
    net = WannNetwork.from_genome(best, config.genome_config)
    assert best.objectives.n_connections == net.n_connections
    assert evaluator.generation == 3
