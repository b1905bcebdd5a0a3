"""tune_weights(threads=N) and ``wann tune --threads N``: each generation's samples scored on
threads, with exactly the result of one thread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _parallel_helpers import ToyTask

from wann_plugin.cli import main
from wann_plugin.io import load_network
from wann_plugin.tasks import make_task
from wann_plugin.tuning import tune_weights
from wann_plugin.tuning.tune import _RowThreads

SWING = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "wann" / "swing.out"


def _swing():
    task = make_task("swingup", max_steps=200)
    return task, load_network(SWING, n_inputs=5, n_outputs=1).net


def test_rows_split_over_threads_score_as_in_one_call():
    task, net = _swing()
    w = np.random.default_rng(0).normal(-1.5, 1.0, (13, net.n_connections))
    pool = _RowThreads(task, 2)
    try:
        threaded = pool.evaluate_weights(net, w, seed=5, n_repeats=3)
        one_row = pool.evaluate_weights(net, w[:1], seed=5, n_repeats=3)
    finally:
        pool.close()
    alone = task.evaluate_weights(net, w, seed=5, n_repeats=3)
    assert threaded.shape == (13, 3) and np.array_equal(threaded, alone)
    assert np.array_equal(one_row, alone[:1])
    assert pool.name == "swingup" and pool.thread_safe  # the rest is the task's own


@pytest.mark.parametrize("method, options", [("cma", {"pop_size": 12}),
                                             ("pepg", {"pop_size": 12})])
def test_threads_give_the_tuning_of_one_thread(method, options):
    task, net = _swing()
    runs = [tune_weights(task, net, rng=np.random.default_rng(3), method=method,
                         options=options, generations=6, n_repeats=2, n_validation=8,
                         starts=2, probe_generations=2, threads=threads)
            for threads in (1, 2)]
    one, two = runs
    assert np.array_equal(one.conn_weights, two.conn_weights)
    assert one.validation_score == two.validation_score
    assert np.array_equal([r.best for r in one.history], [r.best for r in two.history],
                          equal_nan=True)
    assert one.n_episodes == two.n_episodes > 0


def test_classification_tuning_on_threads():
    task = make_task("digits")
    root = Path(__file__).resolve().parents[1]
    net = load_network(root / "results" / "digits" / "seed-0" / "champion.json").net
    runs = [tune_weights(task, net, rng=np.random.default_rng(1), start=0.5, generations=3,
                         n_repeats=1, n_validation=1, options={"pop_size": 8}, threads=t)
            for t in (1, 2)]
    assert np.array_equal(runs[0].conn_weights, runs[1].conn_weights)
    assert runs[0].validation_score == runs[1].validation_score
    # the per-connection forward pass releases the GIL, so the threads run it at once
    from wann_plugin.compiled.forward import _forward_kernel
    assert _forward_kernel.targetoptions["nogil"] is True


def test_threads_need_a_thread_safe_task():
    task, net = _swing()
    with pytest.raises(ValueError, match=r"threads=2: task 'toy' is not thread-safe "
                                         r"\(ToyTask\.thread_safe is False\); tune it on one "
                                         r"thread"):
        tune_weights(ToyTask(), net, rng=np.random.default_rng(0), threads=2)
    with pytest.raises(ValueError, match=r"\[tune_weights\] threads == 0, must be >= 1"):
        tune_weights(task, net, rng=np.random.default_rng(0), threads=0)


def test_wann_tune_threads(tmp_path, capsys):
    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}.json"
        assert main(["tune", str(SWING), "--task", "swingup", "--generations", "4",
                     "--weight-bias", "-1.5", "--pop-size", "8", "--test-episodes", "5",
                     "--threads", threads, "--out", str(out), "--json"]) == 0
        captured = capsys.readouterr()
        summary = json.loads(captured.out)
        assert summary["threads"] == int(threads)
        assert ("on 2 threads" in captured.err) == (threads == "2")
        outs.append((summary, load_network(out).conn_weights))
    (one, w1), (two, w2) = outs
    assert np.array_equal(w1, w2) and one["test"] == two["test"]
    assert one["validation_score"] == two["validation_score"]


def test_wann_tune_threads_refuses_a_gym_task(capsys):
    biped = SWING.with_name("biped.out")
    assert main(["tune", str(biped), "--task", "biped", "--threads", "2"]) == 2
    err = capsys.readouterr().err
    assert "--threads 2: task 'biped' is not thread-safe" in err
    assert "tune it without --threads" in err


def test_tuning_runs_blas_on_one_thread():
    """The optimisers' small matrices gain nothing from BLAS threads, whose idle ones spin:
    tuning limits BLAS to one thread and gives the setting back afterwards."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})

    before = blas_threads()
    seen = []
    task, net = _swing()
    tune_weights(task, net, rng=np.random.default_rng(0), start=-1.5, generations=2,
                 n_repeats=1, n_validation=2, options={"pop_size": 6},
                 callback=lambda rec: seen.append(blas_threads()))
    assert seen and all(s == [1] for s in seen if s)
    assert blas_threads() == before


def test_episode_start_states_are_remembered_not_shared():
    from wann_plugin.tasks.swingup.physics import swingup_initial_states

    task, _ = _swing()
    first = task._initial_states(7, 5)
    assert np.array_equal(first, swingup_initial_states(np.arange(7, 12)))
    first[:] = 0.0  # the caller's own copy
    assert np.array_equal(task._initial_states(7, 5), swingup_initial_states(np.arange(7, 12)))
