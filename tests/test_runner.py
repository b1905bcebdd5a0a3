"""run_search, ProgressReporter, select_champion and ``wann run`` (local processes, a Dask
scheduler, checkpoints)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import socket

import neat
import pytest
from _parallel_helpers import ToyTask, write_config

from wann_plugin import cli
from wann_plugin.checkpoint import list_checkpoints
from wann_plugin.config import load_config, make_evaluator
from wann_plugin.evaluation import WannEvaluator
from wann_plugin.runner import STATS_FIELDS, ProgressReporter, run_search, select_champion


def _csv_without_seconds(path):
    return [line.rsplit(",", 1)[0] for line in path.read_text().splitlines()]


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path / "run.cfg", pop_size=16, generations=3, max_steps=100)


def test_run_search_writes_champion_stats_and_config(tmp_path, cfg):
    stream = io.StringIO()
    res = run_search(load_config(cfg), 3, out_dir=tmp_path / "out", stream=stream,
                     champion_episodes=2)
    assert set(res.paths) == {"champion", "stats", "config", "curves"}
    assert (tmp_path / "out" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "out" / "run.json").read_text())["champion_episodes"] == 2
    rows = list(csv.DictReader((tmp_path / "out" / "stats.csv").open()))
    assert [int(r["generation"]) for r in rows] == [0, 1, 2] and list(rows[0]) == list(STATS_FIELDS)
    doc = json.loads((tmp_path / "out" / "champion.json").read_text())
    assert doc["key"] == res.champion.key and doc["meta"]["generations"] == 3
    assert load_config(tmp_path / "out" / "config.cfg").pop_size == 16
    text = stream.getvalue()
    assert text.count("gen ") == 3 and f"champion: genome {res.champion.key}" in text
    # the re-evaluation is announced before it runs (on Box2D tasks it takes minutes)
    chosen = re.search(r"choosing the champion: (\d+) candidates, each on 2 fresh episodes", text)
    assert chosen and 1 <= int(chosen.group(1)) <= 16
    assert text.index("choosing the champion") < text.index("champion: genome")
    assert not list_checkpoints(tmp_path / "out")  # none unless asked (or interrupted)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


def test_run_search_validates_arguments(cfg):
    with pytest.raises(ValueError, match=r"\[run_search\] generations == 0, must be >= 1\."):
        run_search(load_config(cfg), 0, stream=None)
    with pytest.raises(ValueError, match=r"checkpoint_every == 0, must be >= 1\."):
        run_search(load_config(cfg), 2, checkpoint_every=0, stream=None)
    with pytest.raises(TypeError, match=r"generations == 2.5, must be a whole number >= 1"):
        run_search(load_config(cfg), 2.5, stream=None)
    with pytest.raises(ValueError, match=r"champion_episodes == 0, must be >= 1\."):
        run_search(load_config(cfg), 2, champion_episodes=0, stream=None)


def test_run_search_defaults_to_the_config_generations(cfg):
    res = run_search(load_config(cfg), stream=None, champion_episodes=1)
    assert len(res.stats) == 3


def test_progress_reporter_restores_rows_and_writes_them(tmp_path, cfg):
    config = load_config(cfg)
    population = neat.Population(config)
    ev = WannEvaluator(ToyTask(n_inputs=5))
    old = [{"generation": 0, "best_mean": 1.0, "best_max": 2.0, "mean_fitness": 0.5,
            "median_connections": 3.0, "best_connections": 2, "seconds": 0.1}]
    progress = ProgressReporter(None, tmp_path / "stats.csv", rows=old)
    population.add_reporter(ev)
    population.add_reporter(progress)
    population.run(ev, 1)
    assert len(progress.rows) == 2 and progress.rows[0] == old[0]
    assert len(progress.top) == 5 and progress.top[0].fitness == progress.rows[1]["best_mean"]
    assert len((tmp_path / "stats.csv").read_text().splitlines()) == 3


def test_stats_csv_formats_each_row_once_and_equals_the_plain_writer(tmp_path):
    def plain(rows) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=STATS_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
        return buf.getvalue()

    def row(g):
        return {"generation": g, "best_mean": -1.0 / (g + 3), "best_max": 2.5e-7 * g,
                "mean_fitness": float("nan") if g == 2 else -g * 1.234567891,
                "median_fitness": 0.0, "median_connections": 3.5, "best_connections": g,
                "seconds": 0.1 + g}

    path = tmp_path / "stats.csv"
    progress = ProgressReporter(None, path, rows=[row(0)])
    for g in range(1, 5):
        progress.rows.append(row(g))
        progress.write_stats(path)
        assert path.read_bytes().decode() == plain(progress.rows)
    assert all(kept is r for (kept, _), r in zip(progress._lines, progress.rows))
    progress.rows[2] = row(20)  # a replaced row is formatted again, and those after it
    progress.write_stats(path)
    assert path.read_bytes().decode() == plain(progress.rows)
    del progress.rows[3:]
    progress.write_stats(path)
    assert path.read_bytes().decode() == plain(progress.rows)
    assert len(list(csv.DictReader(path.open()))) == 3


def test_progress_reporter_keeps_copies_that_later_generations_cannot_change(cfg):
    config = load_config(cfg)
    population = neat.Population(config)
    ev = WannEvaluator(ToyTask(n_inputs=5))
    progress = ProgressReporter(None)
    population.add_reporter(ev)
    population.add_reporter(progress)
    population.run(ev, 1)
    kept = progress.top[0]
    original = next(g for g in population.population.values() if g.key == kept.key) \
        if kept.key in population.population else None
    before = (sorted((k, n.activation) for k, n in kept.nodes.items()),
              sorted(kept.connections.enabled_keys()), kept.fitness)
    population.run(ev, 3)  # the elites live on and are evaluated again
    if original is not None:
        original.nodes[config.genome_config.output_keys[0]].activation = "sin"
        original.connections[next(iter(original.connections.explicit))].enabled = False
    after = (sorted((k, n.activation) for k, n in kept.nodes.items()),
             sorted(kept.connections.enabled_keys()), kept.fitness)
    assert after == before


def test_run_search_freezes_the_heap_per_generation_and_releases_it(cfg):
    import gc

    from neat.reporting import BaseReporter

    seen = []

    class Watch(BaseReporter):
        def end_generation(self, config, population, species_set):
            seen.append(gc.get_freeze_count())

    run_search(load_config(cfg), generations=2, stream=None, reporters=[Watch()])
    assert len(seen) == 2 and min(seen) > 1000
    assert gc.get_freeze_count() == 0


def test_run_search_pauses_the_collector_from_evaluation_to_the_next_generation(cfg):
    """Reproduction and the reporters after the evaluation run with the cyclic collector
    paused; the evaluation with it on; after the run it is on again."""
    import gc

    from neat.reporting import BaseReporter

    seen = []

    class Watch(BaseReporter):  # added before run_search's freezer, so called before it
        def start_generation(self, generation):
            seen.append(("start", generation, gc.isenabled()))

        def post_evaluate(self, config, population, species, best_genome):
            seen.append(("evaluated", gc.isenabled()))

        def end_generation(self, config, population, species_set):
            seen.append(("end", gc.isenabled()))

    run_search(load_config(cfg), generations=2, stream=None, reporters=[Watch()])
    assert seen == [("start", 0, True), ("evaluated", True), ("end", False),
                    ("start", 1, False), ("evaluated", True), ("end", False)]
    assert gc.isenabled()


@pytest.mark.parametrize("ratio, freed", [(0.0, True), (float("inf"), False)])
def test_garbage_cycles_made_while_paused_are_collected_at_a_generation_start(
        cfg, monkeypatch, ratio, freed):
    """A cycle dropped after the evaluation (collector paused) is freed by the full collection
    at the next generation's start when one is due, and frozen with the heap when not."""
    import gc
    import weakref

    from neat.reporting import BaseReporter

    from wann_plugin.runner import _FreezeHeap

    monkeypatch.setattr(_FreezeHeap, "collect_ratio", ratio)

    class Cycle:
        def __init__(self):
            self.me = self

    made, alive = [], []

    class Watch(BaseReporter):
        def end_generation(self, config, population, species_set):
            made.append(weakref.ref(Cycle()))  # garbage at once, a cycle

        def post_evaluate(self, config, population, species, best_genome):
            alive.append([ref() is not None for ref in made])

    run_search(load_config(cfg), generations=3, stream=None, reporters=[Watch()])
    # the cycles made in generations 0 and 1, seen after generations 1 and 2 evaluated
    assert alive == [[], [not freed], [not freed, not freed]]
    gc.collect()  # the run released the heap: everything goes now
    assert not any(ref() is not None for ref in made)


def test_select_champion_breaks_ties_by_smaller_key(cfg):
    config = load_config(cfg)
    population = neat.Population(config)
    genomes = sorted(population.population.values(), key=lambda g: g.key)
    twin = genomes[3].__class__(1000)
    twin.nodes, twin.connections = genomes[3].nodes, genomes[3].connections
    ev = make_evaluator(config)
    champion, net, summary = select_champion([twin, genomes[3]], config, ev, n_episodes=2)
    assert champion.key == genomes[3].key and set(summary) >= {"mean", "per_weight_mean"}
    with pytest.raises(ValueError, match="no candidate genome"):
        select_champion([None], config, ev)


# ----------------------------------------------------------------------------- wann run
def test_cli_workers_give_the_same_run_as_serial(tmp_path, cfg, capsys):
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "serial"),
                     "--champion-episodes", "2"]) == 0
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "procs"), "--workers", "2",
                     "--champion-episodes", "2", "--checkpoint-every", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 local processes" in out
    assert _csv_without_seconds(tmp_path / "serial" / "stats.csv") == \
        _csv_without_seconds(tmp_path / "procs" / "stats.csv")
    assert (tmp_path / "serial" / "champion.json").read_text() == \
        (tmp_path / "procs" / "champion.json").read_text()
    assert [p.name for p in list_checkpoints(tmp_path / "procs")] == [
        "checkpoint-000002.wann", "checkpoint-000003.wann"]


def test_cli_resume_continues_in_the_run_folder(tmp_path, cfg):
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "a"), "--generations", "2",
                     "--checkpoint-every", "1", "--champion-episodes", "2"]) == 0
    assert cli.main(["run", "--resume", str(tmp_path / "a"), "--generations", "4",
                     "--champion-episodes", "2"]) == 0
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "b"), "--generations", "4",
                     "--champion-episodes", "2"]) == 0
    assert _csv_without_seconds(tmp_path / "a" / "stats.csv") == \
        _csv_without_seconds(tmp_path / "b" / "stats.csv")


@pytest.mark.parametrize("argv, message", [
    (["--workers", "-1"], "--workers == -1, must be >= 1."),
    (["--checkpoint-every", "0"], "--checkpoint-every == 0, must be >= 1."),
    (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "exclude each other"),
    (["--scheduler-timeout", "0"], "--scheduler-timeout == 0, must be > 0."),
    (["--champion-episodes", "0"], "--champion-episodes == 0, must be >= 1."),
])
def test_cli_run_argument_errors(tmp_path, cfg, capsys, argv, message):
    with pytest.raises(SystemExit) if argv[0] != "--scheduler" else contextlib.nullcontext():
        assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_unreachable_scheduler_fails_clearly_and_writes_nothing(tmp_path, cfg, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "--scheduler", address,
                     "--scheduler-timeout", "1.5"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at '{address}' within 1.5 s" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_on_a_dask_scheduler_gives_the_same_run(tmp_path, cfg, capsys):
    from distributed import LocalCluster

    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "serial"),
                     "--champion-episodes", "2"]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        assert cli.main(["run", str(cfg), "--out", str(tmp_path / "dask"), "--scheduler",
                         cluster.scheduler_address, "--champion-episodes", "2"]) == 0
    assert f"Dask scheduler {cluster.scheduler_address} (2 threads)" in capsys.readouterr().out
    assert _csv_without_seconds(tmp_path / "serial" / "stats.csv") == \
        _csv_without_seconds(tmp_path / "dask" / "stats.csv")
    assert (tmp_path / "serial" / "champion.json").read_text() == \
        (tmp_path / "dask" / "champion.json").read_text()
