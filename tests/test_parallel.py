"""wann_plugin.parallel and the evaluator on real engines: a process pool, a Dask LocalCluster
on loopback, and MPI (when mpi4py and an MPI library are installed).

The central property: a genome's scores, and so the whole run, do not depend on the engine,
the batching or the worker that ran it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from _parallel_helpers import ToyTask, loads_in_this_process, random_networks, write_config

from wann_plugin.activations import ACTIVATIONS, register_activation
from wann_plugin.config import load_config
from wann_plugin.evaluation import WannEvaluator
from wann_plugin.network import WannNetwork
from wann_plugin.parallel import (
    ProcessPool,
    SchedulerError,
    TaskRef,
    connect_dask,
    dask_executor,
    is_worker_lost,
    n_workers,
    run_batch,
    ship_task,
)
from wann_plugin.runner import run_search
from wann_plugin.transport import NetworkBatch

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def pool():
    with ProcessPool(2) as p:
        yield p


def _scores(executor, nets, task=None, **kw):
    ev = WannEvaluator(task or ToyTask(), n_repeats=2, executor=executor, **kw)
    scores, failures = ev.score({n.key: n for n in nets}, 1234)
    assert failures == {}
    return scores, ev


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- transport
def test_task_ref_token_depends_on_content_and_run_batch_reports_per_network():
    a, b = TaskRef.of(ToyTask()), TaskRef.of(ToyTask(n_samples=10))
    assert a.token == TaskRef.of(ToyTask()).token and a.token != b.token
    assert a.without_blob().blob is None and a.without_blob().token == a.token
    nets = random_networks(5)
    res = run_batch(TaskRef.of(ToyTask(fail_keys=[3])), NetworkBatch.pack(nets), WEIGHTS, 9, 2)
    assert res.scores.shape == (5, 6, 2)
    assert list(res.errors) == [2] and "ValueError: toy task cannot score network 3" in res.errors[2]
    assert np.all(res.scores[2] == ToyTask.worst_score)
    alone = run_batch(ToyTask(), NetworkBatch.pack(nets[:1]), WEIGHTS, 9, 2)
    np.testing.assert_array_equal(alone.scores[0], res.scores[0])


def test_is_worker_lost_sorts_engine_errors_from_task_errors():
    from concurrent.futures.process import BrokenProcessPool

    from distributed.scheduler import KilledWorker

    assert is_worker_lost(BrokenProcessPool("x"))
    assert is_worker_lost(KilledWorker("key", None, 3))
    assert not is_worker_lost(ValueError("task bug"))


def test_process_pool_validates_arguments():
    with pytest.raises(ValueError, match="n_workers == 0"):
        ProcessPool(0)
    with pytest.raises(ValueError, match="mp_context"):
        ProcessPool(2, mp_context="teleport")


# ----------------------------------------------------------------------------- engines agree
def test_process_pool_scores_equal_serial_and_task_is_built_once_per_worker(pool):
    nets = random_networks(40, seed=1)
    serial, _ = _scores(None, nets)
    parallel, ev = _scores(pool, nets)
    assert _same(serial, parallel)
    assert ev.last_stats["n_batches"] == 8  # 4 per worker
    loads = {pool.submit(loads_in_this_process).result() for _ in range(8)}
    assert all(n == 1 for _, n in loads), loads  # 8 batches, one unpickle per worker process


def test_process_pool_with_installed_task_sends_only_the_token():
    task = ToyTask()
    with ProcessPool(2, tasks=[task]) as p:
        ref = TaskRef.of(task)
        shipped = ship_task(p, ref)
        assert shipped.blob is None and shipped.token == ref.token
        nets = random_networks(10, seed=2)
        serial, _ = _scores(None, nets, task)
        parallel, _ = _scores(p, nets, task)
        assert _same(serial, parallel)


def test_each_worker_thread_builds_its_own_task_object():
    from concurrent.futures import ThreadPoolExecutor

    from wann_plugin import parallel

    with ThreadPoolExecutor(3) as ex:
        ev = WannEvaluator(ToyTask(sleep=0.01), executor=ex)
        ev.score({n.key: n for n in random_networks(24)}, 1)
    slots = [k for k in parallel._REGISTRY if k[0] == ev._task_ref.token]
    tasks = {id(parallel._REGISTRY[k]) for k in slots}
    assert len(slots) == len(tasks) >= 2  # no task object is shared between threads
    assert sum(parallel._REGISTRY[k].calls for k in slots) == 12


def test_plain_process_pool_executor_and_batch_size(pool):
    nets = random_networks(9, seed=4)
    serial, _ = _scores(None, nets)
    with ProcessPoolExecutor(2) as ex:
        assert n_workers(ex) == 2
        parallel, ev = _scores(ex, nets, batch_size=2)
        assert ev.last_stats["n_batches"] == 5
    assert _same(serial, parallel)


def test_dask_scores_equal_serial_and_task_is_scattered_once(dask_client):
    nets = random_networks(40, seed=1)
    serial, _ = _scores(None, nets)
    executor = dask_executor(dask_client)
    assert n_workers(executor) == 2
    parallel, ev = _scores(executor, nets)
    assert _same(serial, parallel)
    assert ev.last_stats["n_batches"] == 8
    loads = dask_client.run(loads_in_this_process)
    assert all(n == 1 for _, n in loads.values()), loads


def test_unreachable_scheduler_is_a_clear_error():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SchedulerError, match=f"cannot reach the Dask scheduler at 'tcp://127.0.0.1:{port}'"):
        connect_dask(f"tcp://127.0.0.1:{port}", timeout=1.5)
    with pytest.raises(SchedulerError, match="expected e.g. tcp://host:8786"):
        connect_dask("", timeout=1)


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.slow
def test_whole_run_is_the_same_serial_on_processes_and_on_dask(tmp_path, pool, dask_client):
    cfg = write_config(tmp_path / "run.cfg", pop_size=24, generations=4, max_steps=150)
    runs = {}
    for name, executor in (("serial", None), ("processes", pool),
                           ("dask", dask_executor(dask_client))):
        runs[name] = run_search(load_config(cfg), 4, executor=executor, stream=None,
                                champion_episodes=3)
    ref = runs["serial"]
    for name, res in runs.items():
        assert _strip(res.stats) == _strip(ref.stats), name
        assert res.champion.key == ref.champion.key, name
        assert res.summary == ref.summary, name
    assert len(ref.stats) == 4


# ----------------------------------------------------------------------------- MPI
def _mpi_command() -> list[str] | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        return None
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    extra = ["--oversubscribe"] if "Open MPI" in version or "OpenRTE" in version else []
    return [mpiexec, *extra]


MPI = _mpi_command()
needs_mpi = pytest.mark.skipif(MPI is None, reason="mpi4py or mpiexec is not installed (pip "
                               "install 'wann-plugin[mpi]' and an MPI, e.g. apt-get install "
                               "libopenmpi-dev openmpi-bin)")


def _mpi_env() -> dict:
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1",
               PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO),
                                           env.get("PYTHONPATH", "")]))
    return env


@needs_mpi
@pytest.mark.slow
def test_mpi_run_under_mpiexec_equals_serial_run(tmp_path):
    cfg = write_config(tmp_path / "run.cfg", pop_size=24, generations=3, max_steps=150)
    serial = run_search(load_config(cfg), 3, out_dir=tmp_path / "serial", stream=None,
                        champion_episodes=3)
    cmd = [*MPI, "-n", "3", sys.executable, "-m", "mpi4py.futures", "-m", "wann_plugin.cli",
           "run", str(cfg), "--mpi", "--out", str(tmp_path / "mpi"), "--champion-episodes", "3"]
    proc = subprocess.run(cmd, env=_mpi_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MPI (2 workers)" in proc.stdout
    serial_rows = (tmp_path / "serial" / "stats.csv").read_text().splitlines()
    mpi_rows = (tmp_path / "mpi" / "stats.csv").read_text().splitlines()
    cut = [",".join(r.split(",")[:-1]) for r in serial_rows], [",".join(r.split(",")[:-1])
                                                               for r in mpi_rows]
    assert cut[0] == cut[1]
    assert serial.champion.key == __import__("json").loads(
        (tmp_path / "mpi" / "champion.json").read_text())["key"]


@needs_mpi
def test_mpi_pool_executor_scores_equal_serial(tmp_path):
    script = tmp_path / "mpi_scores.py"
    script.write_text(
        "import numpy as np, sys\n"
        "from _parallel_helpers import ToyTask, random_networks\n"
        "from wann_plugin.evaluation import WannEvaluator\n"
        "from wann_plugin.parallel import mpi_executor, n_workers\n"
        "if __name__ == '__main__':\n"
        "    nets = {n.key: n for n in random_networks(20, seed=5)}\n"
        "    task = ToyTask()\n"
        "    s0, _ = WannEvaluator(task, n_repeats=2).score(nets, 77)\n"
        "    with mpi_executor(2, tasks=[task]) as ex:\n"
        "        ev = WannEvaluator(task, n_repeats=2, executor=ex)\n"
        "        s1, f1 = ev.score(nets, 77)\n"
        "        print('workers', n_workers(ex), 'batches', ev.last_stats['n_batches'])\n"
        "    assert not f1 and all(np.array_equal(s0[k], s1[k]) for k in s0)\n"
        "    print('MPI-OK')\n")
    proc = subprocess.run([sys.executable, str(script)], env=_mpi_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "workers 2 batches 7" in proc.stdout and "MPI-OK" in proc.stdout


def test_biped_scores_do_not_depend_on_the_batch():
    """Box2D envs keep their world across resets; GymTask gives each episode a fresh env, so a
    seed's return does not depend on what ran before it (the batch, the worker)."""
    from wann_plugin.tasks.biped import BipedTask

    nets = random_networks(4, n_inputs=24, n_outputs=4, seed=2)
    w = np.array([-1.0, 1.0])
    together = BipedTask(fall_penalty=False, max_steps=40).evaluate(nets, w, seed=3)
    alone = np.concatenate([BipedTask(fall_penalty=False, max_steps=40).evaluate([n], w, seed=3)
                            for n in nets])
    np.testing.assert_array_equal(together, alone)


# ----------------------------------------------------------------------------- custom activations
# (last: its task counts as an unpickled ToyTask on the shared pool and cluster workers)
def test_custom_activations_score_the_same_in_process_on_a_pool_and_on_dask(pool, dask_client):
    """Activations travel by name: the parent registered a custom activation before the
    ones the workers register (so the same name has another id there), and a network using
    them scores identically in-process, on a 2-worker ProcessPool and on a Dask LocalCluster."""
    if "transport_pad" not in ACTIVATIONS:
        register_activation("transport_pad", lambda x: np.asarray(x, dtype=float) + 1.0)
    import _custom_activations as ca

    task = ca.CustomActivationTask()
    parent = ca.activation_ids()
    on_pool = pool.submit(ca.activation_ids).result()
    on_dask = list(dask_client.run(ca.activation_ids).values())
    assert on_pool == {"transport_cube": 32, "transport_halve": 33}
    assert all(ids == on_pool for ids in on_dask)
    assert parent != on_pool  # the same names are other ids in the parent
    rng = np.random.default_rng(11)
    cube, halve = parent["transport_cube"], parent["transport_halve"]
    nets = []
    for key in range(1, 9):  # 3 inputs, 3 hidden nodes, 1 output
        acts = [1] * 4 + [int(a) for a in rng.choice([cube, halve, 5, 9], 3)] + [cube]
        edges = [(s, d) for d in range(4, 8) for s in range(min(d, 7)) if rng.random() < 0.6]
        nets.append(WannNetwork.from_edges(3, 1, acts, sorted(set(edges) | {(6, 7)}), key=key))
    serial, _ = _scores(None, nets, task=task)
    on_processes, _ = _scores(pool, nets, task=task, batch_size=3)
    on_cluster, _ = _scores(dask_executor(dask_client), nets, task=task, batch_size=3)
    assert _same(serial, on_processes) and _same(serial, on_cluster)
    # a network scores differently with its activations swapped: a mix-up would show
    swapped = WannNetwork.from_edges(3, 1, [1] * 4 + [halve], [(1, 4), (2, 4)], key=1)
    plain = WannNetwork.from_edges(3, 1, [1] * 4 + [cube], [(1, 4), (2, 4)], key=1)
    a, _ = _scores(None, [swapped], task=task)
    b, _ = _scores(pool, [plain], task=task)
    assert not _same(a, b)
