"""Pinned searches: every generation's population structure and scores, for fixed seeds.

The pins in ``tests/pins/search_fingerprints.json`` were recorded from the code before the
genome's storage, the compile cache and the snapshots were made cheap (main at 9fe6885). The
same seeds must give the same populations: the structure of every genome of every generation
(keys, node activations, every connection gene with its innovation and enabled flag, dormant
initial connections included) is hashed exactly, and the scores are compared to 1e-9 (the
classification forward may change its arithmetic order).

Settings (kept small for CI): swing-up population 64, episodes of 100 steps, 200
generations; digits population 240 (tournament 32, initial connection probability 0.05, the
reference's MNIST hyperparameters on the 8x8 digits), 20 generations.

Regenerate (only when a change of results is intended and explained):
``PYTHONPATH=$PWD python tests/test_search_fingerprints.py``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import neat
import numpy as np
import pytest
from neat.reporting import BaseReporter

from wann_plugin.config import load_config, make_evaluator

REPO = Path(__file__).resolve().parents[1]
PINS = Path(__file__).resolve().parent / "pins" / "search_fingerprints.json"

CASES = {
    "swingup": {"config": "examples/swingup/config.cfg", "pop_size": 64, "generations": 200,
                "seed": 11, "task": {"max_steps": "100", "exact_math": "true"}, "genome": {},
                "reproduction": {}},
    "digits": {"config": "examples/digits/config.cfg", "pop_size": 240, "generations": 20,
               "seed": 5, "task": {}, "genome": {"initial_connection_prob": 0.05},
               "reproduction": {"tournament_size": 32}},
}


def genome_structure(genome) -> list:
    """Every gene of ``genome`` in a canonical order (all connection genes, enabled or not)."""
    conns = genome.connections
    items = conns.all_items() if hasattr(conns, "all_items") else conns.items()
    return [genome.key,
            sorted((int(k), n.activation) for k, n in genome.nodes.items()),
            sorted((int(a), int(b), int(c.innovation), bool(c.enabled))
                   for (a, b), c in items)]


class _Recorder(BaseReporter):
    def __init__(self):
        self.rows: list[dict] = []

    def post_evaluate(self, config, population, species, best_genome):
        h = hashlib.sha256()
        for gid in sorted(population):
            h.update(json.dumps(genome_structure(population[gid])).encode())
        fits = np.array([population[gid].fitness for gid in sorted(population)])
        self.rows.append({"structure": h.hexdigest()[:16], "fitness_sum": float(fits.sum()),
                          "fitness_max": float(fits.max()),
                          "fitness_sq": float(np.square(fits).sum())})


def run_case(name: str) -> list[dict]:
    case = CASES[name]
    config = load_config(REPO / case["config"])
    config.pop_size = case["pop_size"]
    config.seed = case["seed"]
    for k, v in case["genome"].items():
        setattr(config.genome_config, k, v)
    for k, v in case["reproduction"].items():
        setattr(config.reproduction_config, k, v)
    config.wann.task_options.update(case["task"])
    evaluator = make_evaluator(config)
    population = neat.Population(config)
    population.add_reporter(evaluator)
    recorder = _Recorder()
    population.add_reporter(recorder)
    population.run(evaluator, case["generations"])
    return recorder.rows


def _compare(name: str, rows: list[dict], pins: list[dict]) -> None:
    assert len(rows) == len(pins)
    for gen, (got, want) in enumerate(zip(rows, pins, strict=True)):
        assert got["structure"] == want["structure"], f"{name}: generation {gen} differs"
        for key in ("fitness_sum", "fitness_max", "fitness_sq"):
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), (name, gen, key)


def test_swingup_200_generations_match_the_pins():
    _compare("swingup", run_case("swingup"), json.loads(PINS.read_text())["swingup"])


def test_digits_20_generations_match_the_pins():
    _compare("digits", run_case("digits"), json.loads(PINS.read_text())["digits"])


if __name__ == "__main__":  # regenerate the pins
    names = sys.argv[1:] or list(CASES)
    data = json.loads(PINS.read_text()) if PINS.exists() else {}
    for case_name in names:
        data[case_name] = run_case(case_name)
    PINS.write_text(json.dumps(data, indent=1) + "\n")
