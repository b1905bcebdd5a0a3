"""WannEvaluator(threads=N) and ``wann run --threads N``: a generation's networks scored in
chunks on threads (the compiled kernels release the GIL), with the results of one thread."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import neat
import numpy as np
import pytest
from _parallel_helpers import ToyTask, write_config

from wann_plugin.cli import main
from wann_plugin.config import load_config, make_evaluator
from wann_plugin.evaluation import WannEvaluator, _cost_chunks
from wann_plugin.network import WannNetwork
from wann_plugin.tasks import make_task
from wann_plugin.tasks.swingup.task import SwingUpTask

ROOT = Path(__file__).resolve().parents[1]


def test_cost_chunks_keep_order_and_even_out_the_cost():
    rng = np.random.default_rng(0)
    keys = list(range(100))
    costs = rng.integers(5, 500, size=100).tolist()
    chunks = _cost_chunks(keys, costs, 6)
    assert [k for c in chunks for k in c] == keys and 4 <= len(chunks) <= 6
    totals = [sum(costs[k] for k in c) for c in chunks]
    assert max(totals) <= sum(costs) / len(chunks) + max(costs)
    assert _cost_chunks([], [], 4) == []
    assert _cost_chunks([7], [3], 4) == [[7]]
    assert _cost_chunks(["a", "b"], [1, 1], 8) == [["a"], ["b"]]


def _search(config, generations: int, **kwargs):
    population = neat.Population(config)
    evaluator = make_evaluator(config, **kwargs)
    population.add_reporter(evaluator)
    population.run(evaluator, generations)
    evaluator.close()
    return {gid: g.objectives for gid, g in population.population.items()}, evaluator


@pytest.mark.parametrize("config_path, overrides", [
    (None, None),  # swing-up (the toy config below)
    (ROOT / "examples" / "digits" / "config.cfg", {"NEAT": {"pop_size": "48"}}),
])
def test_threads_give_the_results_of_one_thread(tmp_path, config_path, overrides):
    path = config_path or write_config(tmp_path / "swing.cfg", pop_size=32, max_steps=60)
    config = load_config(path, overrides=overrides)
    alone, _ = _search(config, 4)
    config = load_config(path, overrides=overrides)
    threaded, ev = _search(config, 4, threads=3)
    assert threaded == alone
    assert ev.last_stats["n_batches"] == 6 and ev._thread_pool is None  # closed
    config = load_config(path, overrides=overrides)
    in_batches, ev = _search(config, 4, threads=2, batch_size=5)
    assert in_batches == alone and ev.last_stats["n_batches"] > 2


def test_threads_need_a_thread_safe_task_and_no_executor():
    with pytest.raises(ValueError, match=r"task 'toy' is not thread-safe \(ToyTask\.thread_safe"):
        WannEvaluator(ToyTask(), threads=2)
    with pytest.raises(ValueError, match="threads=2 with an executor"):
        WannEvaluator(make_task("swingup"), threads=2, executor=ThreadPoolExecutor(1))
    with pytest.raises(ValueError, match=r"\[WannEvaluator\] threads == 0, must be >= 1\."):
        WannEvaluator(make_task("swingup"), threads=0)
    assert make_task("swingup").thread_safe and make_task("digits").thread_safe
    assert not ToyTask().thread_safe


class _FailsOn(SwingUpTask):
    """A thread-safe task that raises for networks computing what ``bad`` computes."""

    def __init__(self, bad: str):
        super().__init__(max_steps=30)
        self.bad = bad

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        if any(net.fingerprint == self.bad for net in nets):
            raise ValueError("cannot score this network")
        return super().evaluate(nets, weights, seed=seed, n_repeats=n_repeats)


def test_a_failure_in_one_chunk_costs_only_its_genome(tmp_path):
    config = load_config(write_config(tmp_path / "swing.cfg", pop_size=24))
    genomes = list(neat.Population(config).population.items())
    nets = {gid: WannNetwork.from_genome(g, config.genome_config) for gid, g in genomes}
    bad_id = genomes[5][0]
    owners = {gid for gid, net in nets.items() if net.fingerprint == nets[bad_id].fingerprint}
    ev = WannEvaluator(_FailsOn(nets[bad_id].fingerprint), threads=2, on_error="worst")
    with pytest.warns(UserWarning, match="raised for genome"):
        ev(genomes, config)
    ev.close()
    assert set(ev.last_failures) == owners
    plain = WannEvaluator(SwingUpTask(max_steps=30))
    expected = {gid: g.objectives for gid, g in genomes}
    fresh = list(neat.Population(config).population.items())
    plain(fresh, config)
    for gid, g in fresh:
        if gid not in owners:
            assert g.objectives == expected[gid]


def _stats(folder: Path) -> list[list[str]]:
    with open(folder / "stats.csv", newline="") as f:
        return [row[:-1] for row in csv.reader(f)]  # every column but seconds


def test_wann_run_threads(tmp_path, capsys):
    cfg = write_config(tmp_path / "run.cfg", pop_size=16, generations=3, max_steps=40)
    assert main(["run", str(cfg), "--out", str(tmp_path / "one"), "--champion-episodes",
                 "1"]) == 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "two"), "--champion-episodes", "1",
                 "--threads", "2"]) == 0
    assert "in-process on 2 threads" in capsys.readouterr().out
    assert _stats(tmp_path / "two") == _stats(tmp_path / "one")
    assert main(["run", str(cfg), "--out", str(tmp_path / "x"), "--threads", "2",
                 "--workers", "2"]) == 2
    assert "--threads scores in-process; it excludes --workers" in capsys.readouterr().err
    biped = ROOT / "examples" / "biped" / "config.cfg"
    assert main(["run", str(biped), "--out", str(tmp_path / "y"), "--threads", "2"]) == 2
    err = capsys.readouterr().err
    assert "task 'biped' is not thread-safe" in err and "--workers 2" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
