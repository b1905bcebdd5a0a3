"""benchmarks/bench_search.py --detail: every step of a child is counted where it happens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_detail_counts_each_step_of_every_child():
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_search.py"), "--one", "swingup",
         "--generations", "2", "--warmup", "1", "--detail"],
        env=env, capture_output=True, text=True, check=True, timeout=600)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    steps = row["steps"]
    calls = {label: v["calls_per_generation"] for label, v in steps.items()}
    # population 192, cull 0.2 and elite 0.2: 154 in the pool, 30 elites, 162 children
    assert row["pop_size"] == 192
    assert calls["copy"] == calls["choose operator"] == calls["ancestry"] == 162
    assert calls["add connection"] + calls["add node"] + calls["enable"] + \
        calls["change activation"] == 162
    assert calls["compile (all)"] == 192  # every genome, elites included
    assert calls["compile: patch"] <= 162  # children only, those the cache can patch
    assert calls["equal networks"] == calls["write back"] == 1
    for v in steps.values():
        assert v["ms_per_generation"] > 0
        assert v["us_per_call"] == pytest.approx(
            1e3 * v["ms_per_generation"] / v["calls_per_generation"])
    assert set(row["parts"]) == {"evaluation", "compile", "reproduction", "ranking",
                                 "bookkeeping"}


@pytest.mark.slow
def test_outside_floor_measures_without_changing_the_search():
    import neat
    from neat.reporting import BaseReporter

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_search import task_config
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from wann_plugin.config import make_evaluator

    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_outside_floor.py"), "--one",
         "swingup", "--warmup", "1", "--generations", "2", "--repeats", "2"],
        env=env, capture_output=True, text=True, check=True, timeout=600)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert [r["generation"] for r in row["rows"]] == [1, 2]
    for r in row["rows"]:
        assert r["n_children"] == 162  # population 192 less 30 elites
        assert 1 <= r["distinct rows"] <= 192
        for step in ("deap sort", "deap sort, distinct rows", "children", "bare objects",
                     "neat loop"):
            assert r[step] > 0
        assert r["bare objects"] < r["children"]  # a child with genes costs more than none
        assert 0 < r["evaluation"] < r["whole"]

    # the same search without the measuring: the same best score every generation
    config = task_config("swingup")
    evaluator = make_evaluator(config)
    best = []

    class Best(BaseReporter):
        def post_evaluate(self, config, population, species, genome):
            best.append(genome.fitness)

    population = neat.Population(config)
    population.add_reporter(Best())
    population.run(evaluator, 3)
    evaluator.close()
    assert [r["best"] for r in row["rows"]] == best[1:]
