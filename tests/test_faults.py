"""Faults against the real engines, none mocked: worker processes killed with SIGKILL in the
middle of a generation (a process pool and a Dask LocalCluster on loopback), a task raising
for one genome, non-finite scores and outputs."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import neat
import numpy as np
import pytest
from _parallel_helpers import ToyTask, random_networks, write_config

from wann_plugin.config import load_config
from wann_plugin.evaluation import EvaluationError, EvaluationWarning, WannEvaluator
from wann_plugin.network import WannNetwork
from wann_plugin.parallel import ProcessPool, dask_executor
from wann_plugin.runner import run_search
from wann_plugin.tasks.swingup import SwingUpTask


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def _nets(n=24, seed=1):
    return {net.key: net for net in random_networks(n, seed=seed)}


def _reference(nets, seed=55):
    scores, failures = WannEvaluator(ToyTask(), n_repeats=2).score(nets, seed)
    assert not failures
    return scores


def _same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- killed workers
def test_worker_killed_mid_generation_batch_rerun_on_rebuilt_pool(tmp_path):
    nets = _nets()
    marker = tmp_path / "killed"
    with ProcessPool(2) as pool:
        ev = WannEvaluator(ToyTask(kill_marker=str(marker), sleep=0.02), n_repeats=2,
                           executor=pool)
        scores, failures = ev.score(nets, 55)
        assert marker.exists()  # a worker really SIGKILLed itself
        assert pool.restarts == 1 and ev.last_stats["retries"] == 1
        assert ev.last_stats["lost_batches"] >= 1
    assert not failures and _same(scores, _reference(nets))


def test_worker_killed_from_outside_during_a_generation():
    nets = _nets(32)
    with ProcessPool(2) as pool:
        pids = pool.worker_pids()
        assert len(pids) == 2
        ev = WannEvaluator(ToyTask(sleep=0.25), n_repeats=2, executor=pool)

        def kill_one():
            time.sleep(0.55)  # 8 batches of 0.25 s on 2 workers: the generation is running
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        scores, failures = ev.score(nets, 55)
        killer.join()
        assert pool.restarts == 1 and ev.last_stats["retries"] == 1
        assert 0 < ev.last_stats["lost_batches"] < ev.last_stats["n_batches"]  # finished kept
        assert pids[0] not in pool.worker_pids()
    assert not failures and _same(scores, _reference(nets))


def test_whole_run_with_a_killed_worker_equals_the_run_without(tmp_path):
    cfg = write_config(tmp_path / "run.cfg", pop_size=20, generations=3)
    clean = run_search(load_config(cfg), 3, stream=None, champion_episodes=2,
                       evaluator=WannEvaluator(ToyTask(n_inputs=5), n_repeats=1))
    marker = tmp_path / "killed"
    with ProcessPool(2) as pool:
        faulty = run_search(load_config(cfg), 3, stream=None, champion_episodes=2,
                            evaluator=WannEvaluator(ToyTask(n_inputs=5, kill_marker=str(marker)),
                                                    n_repeats=1, executor=pool))
        assert marker.exists() and pool.restarts == 1
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(faulty.stats) == strip(clean.stats)
    assert faulty.champion.key == clean.champion.key and faulty.summary == clean.summary


def test_executor_factory_is_rebuilt_but_a_plain_broken_pool_is_a_clear_error(tmp_path):
    nets = _nets(12)
    marker = tmp_path / "killed"
    built = []

    def factory():
        built.append(ProcessPoolExecutor(2))
        return built[-1]

    with WannEvaluator(ToyTask(kill_marker=str(marker)), n_repeats=2, executor=factory) as ev:
        scores, _ = ev.score(nets, 55)
    assert len(built) == 2 and _same(scores, _reference(nets))
    marker.unlink()
    with ProcessPoolExecutor(2) as ex:
        ev = WannEvaluator(ToyTask(kill_marker=str(marker)), n_repeats=2, executor=ex)
        with pytest.raises(EvaluationError, match="cannot be rebuilt: pass a wann_plugin"
                                                  ".ProcessPool or a factory") as info:
            ev.score(nets, 55)
    assert info.value.task_name == "toy" and info.value.genome_ids


def test_batches_that_keep_killing_workers_give_up_after_max_retries():
    with ProcessPool(2) as pool:
        ev = WannEvaluator(ToyTask(kill_always=True), n_repeats=1, executor=pool, max_retries=1)
        with pytest.raises(EvaluationError, match=r"workers were lost 2 times while running "
                                                  r"task 'toy' on genomes \[1, 2, 3, 4\]"):
            ev.score(_nets(4), 55)


def test_dask_worker_killed_mid_generation_same_result(tmp_path, dask_client):
    nets = _nets()
    marker = tmp_path / "killed"
    ev = WannEvaluator(ToyTask(kill_marker=str(marker), sleep=0.02), n_repeats=2,
                       executor=dask_executor(dask_client))
    scores, failures = ev.score(nets, 55)
    assert marker.exists() and not failures
    assert _same(scores, _reference(nets))
    dask_client.wait_for_workers(2, timeout=30)  # the nanny restarted the killed worker


# ----------------------------------------------------------------------------- task errors
def _population(tmp_path, pop_size=12):
    config = load_config(write_config(tmp_path / "pop.cfg", pop_size=pop_size))
    population = neat.Population(config)
    return config, list(population.population.items())


@pytest.mark.parametrize("engine", ["serial", "processes", "dask"])
def test_task_raising_for_one_genome_names_it_and_keeps_the_others(tmp_path, engine, request):
    config, genomes = _population(tmp_path)
    bad = genomes[5][0]
    executor = {"serial": lambda: None, "processes": lambda: ProcessPool(2),
                "dask": lambda: dask_executor(request.getfixturevalue("dask_client"))}[engine]()
    clean = WannEvaluator(ToyTask(n_inputs=5), n_repeats=2)
    clean(genomes, config)
    expected = {gid: g.fitness for gid, g in genomes}
    for _, g in genomes:
        g.fitness = None
    ev = WannEvaluator(ToyTask(n_inputs=5, fail_keys=[bad]), n_repeats=2, executor=executor)
    try:
        with pytest.raises(EvaluationError) as info:
            ev(genomes, config)
    finally:
        if isinstance(executor, ProcessPool):
            executor.shutdown()
    msg = str(info.value)
    assert f"task 'toy' raised for genome {bad} at generation 0" in msg
    assert f"ValueError: toy task cannot score network {bad}" in msg
    assert "on_error = worst" in msg
    assert info.value.genome_ids == [bad] and info.value.task_name == "toy"
    for gid, g in genomes:  # every other result of the generation is kept
        if gid == bad:
            assert g.fitness == ToyTask.worst_score
        else:
            assert g.fitness == expected[gid]
    kept = ev.partial_results()
    assert kept["generation"] == 0 and set(kept["results"]) == set(expected) - {bad}


def test_on_error_worst_scores_the_failed_genome_worst_and_goes_on(tmp_path):
    config, genomes = _population(tmp_path)
    bad = genomes[2][0]
    ev = WannEvaluator(ToyTask(n_inputs=5, fail_keys=[bad]), n_repeats=1, on_error="worst")
    with pytest.warns(EvaluationWarning, match=f"raised for genome {bad}"):
        ev(genomes, config)
    assert dict(genomes)[bad].fitness == ToyTask.worst_score
    assert dict(genomes)[bad].objectives.per_weight == (ToyTask.worst_score,) * 6
    assert list(ev.last_failures) == [bad]
    assert all(g.fitness > ToyTask.worst_score for gid, g in genomes if gid != bad)
    assert ev.generation == 1


def test_non_finite_scores_are_the_worst_value(tmp_path):
    config, genomes = _population(tmp_path)
    nan_key = genomes[0][0]
    ev = WannEvaluator(ToyTask(n_inputs=5, nan_keys=[nan_key]), n_repeats=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev(genomes, config)
    assert dict(genomes)[nan_key].fitness == ToyTask.worst_score
    assert np.isfinite([g.fitness for _, g in genomes]).all()


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_non_finite_network_outputs_score_worst_on_the_real_task(engine):
    task = SwingUpTask(max_steps=50, engine=engine)
    # bias -> hidden -> output, all linear: the output is w * w, inf for w = 1e200
    net = WannNetwork.from_edges(5, 1, [1] * 8, [(0, 6), (6, 7), (1, 7)], key=1)
    with np.errstate(over="ignore"):
        assert not np.isfinite(net.activate(np.zeros((1, 5)), 1e200)).any()
    ev = WannEvaluator(task, weights=(1e200, 1.0), n_repeats=2)
    scores, failures = ev.score({1: net}, 7)
    assert not failures
    assert np.all(scores[1][0] == task.worst_score)
    assert np.all(np.isfinite(scores[1][1])) and np.all(scores[1][1] > task.worst_score)


def test_messages_name_a_few_genomes_and_count_the_rest():
    from wann_plugin.evaluation import _some, _sorted_keys

    keys = _sorted_keys([100, 2, 10, *range(11, 99), 1, "x"])
    assert keys[:4] == [1, 2, 10, 11] and keys[-1] == "x"
    assert _some([1, 2, 3, 4]) == "[1, 2, 3, 4]"
    text = _some(_sorted_keys(range(960, 0, -1)))
    assert text == "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10] and 950 more"
