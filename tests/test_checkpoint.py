"""Checkpoints: a resumed run equals an uninterrupted one; Ctrl-C writes a checkpoint;
unusable checkpoints and changed configs are refused before anything is written."""

from __future__ import annotations

import gzip
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import neat
import pytest
from _parallel_helpers import ToyTask, write_config
from conftest import default_sigint

from wann_plugin import cli
from wann_plugin.checkpoint import (
    CheckpointError,
    capture_state,
    checkpoint_path,
    config_differences,
    find_checkpoint,
    list_checkpoints,
    read_checkpoint,
    restore_population,
)
from wann_plugin.config import config_text, load_config
from wann_plugin.evaluation import WannEvaluator
from wann_plugin.runner import RunFolderError, run_search

REPO = Path(__file__).resolve().parents[1]


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _genomes(state):
    """Comparable form of a checkpointed population: keys, nodes, connections."""
    return {gid: (sorted((k, n.activation) for k, n in g.nodes.items()),
                  sorted((k, c.enabled, c.innovation) for k, c in g.connections.items()))
            for gid, g in state["population"].items()}


def _csv_without_seconds(path: Path) -> list[str]:
    return [line.rsplit(",", 1)[0] for line in path.read_text().splitlines()]


def _folder_snapshot(folder: Path) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path / "run.cfg", pop_size=20, generations=6, max_steps=100)


def _run(cfg, generations, **kw):
    kw.setdefault("stream", None)
    kw.setdefault("champion_episodes", 2)
    return run_search(load_config(cfg), generations, **kw)


# ----------------------------------------------------------------------------- equality
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, cfg):
    whole = _run(cfg, 6, out_dir=tmp_path / "whole", checkpoint_every=2)
    plain = _run(cfg, 6)  # writing checkpoints changes nothing
    assert _strip(whole.stats) == _strip(plain.stats)
    assert whole.champion.key == plain.champion.key and whole.summary == plain.summary
    assert [p.name for p in list_checkpoints(tmp_path / "whole")] == [
        "checkpoint-000002.wann", "checkpoint-000004.wann", "checkpoint-000006.wann"]
    resumed = _run(cfg, 6, out_dir=tmp_path / "resumed",
                   resume=tmp_path / "whole" / "checkpoint-000002.wann", checkpoint_every=2)
    assert _strip(resumed.stats) == _strip(whole.stats)
    assert resumed.champion.key == whole.champion.key and resumed.summary == whole.summary
    # the final states are the same: same genomes (keys, nodes, innovations), same counters
    a, _ = read_checkpoint(tmp_path / "whole" / "checkpoint-000006.wann").state()
    b, _ = read_checkpoint(tmp_path / "resumed" / "checkpoint-000006.wann").state()
    assert _genomes(a) == _genomes(b)
    for key in ("python_random", "generation"):
        assert a[key] == b[key]
    assert repr(a["config_state"]["genome_config"]["node_indexer"]) == repr(
        b["config_state"]["genome_config"]["node_indexer"])
    assert a["reproduction"]["innovation_tracker"].global_counter == \
        b["reproduction"]["innovation_tracker"].global_counter
    assert (tmp_path / "resumed" / "champion.json").read_text() == \
        (tmp_path / "whole" / "champion.json").read_text()


def test_a_finished_run_extends_like_a_longer_run(tmp_path, cfg):
    _run(cfg, 3, out_dir=tmp_path / "run", checkpoint_every=5)  # only the final checkpoint
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["checkpoint-000003.wann"]
    longer = _run(cfg, 5, resume=tmp_path / "run")
    direct = _run(cfg, 5)
    assert _strip(longer.stats) == _strip(direct.stats) and len(longer.stats) == 5
    assert longer.champion.key == direct.champion.key


def test_capturing_state_does_not_advance_neat_counters(cfg):
    config = load_config(cfg)
    population = neat.Population(config)
    population.run(WannEvaluator(ToyTask(n_inputs=5)), 2)
    gc = config.genome_config
    before = (repr(gc.node_indexer), repr(population.species.indexer),
              repr(population.reproduction.genome_indexer))
    state = pickle.loads(capture_state(population))
    assert (repr(gc.node_indexer), repr(population.species.indexer),
            repr(population.reproduction.genome_indexer)) == before
    assert repr(state["config_state"]["genome_config"]["node_indexer"]) == before[0]
    assert repr(state["species"].indexer) == before[1]
    assert state["species"].reporters.reporters == []  # reporters are not saved


def test_a_snapshot_leaves_no_reference_cycles_and_keeps_every_counter(cfg):
    """Taking a snapshot makes no cyclic garbage (the collector may be paused while it runs,
    see runner._FreezeHeap), and the counters it copies restart where they were."""
    import gc as collector
    import itertools

    from wann_plugin.checkpoint import Snapshot, _count_args

    for counter in (itertools.count(5), itertools.count(-3, 2), itertools.count(0.5, 0.25),
                    itertools.count(10**30)):
        assert repr(itertools.count(*_count_args(counter))) == repr(counter)
    config = load_config(cfg)
    population = neat.Population(config)
    population.run(WannEvaluator(ToyTask(n_inputs=5)), 1)
    collector.collect()
    collector.disable()
    collector.set_debug(collector.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            Snapshot(population)
        collector.collect()
        # other threads of the test process (an event loop) may leave garbage of their own
        ours = [f.__qualname__ for f in collector.garbage if type(f).__name__ == "function"
                and f.__module__.split(".")[0] in ("ast", "wann_plugin", "neat")]
    finally:
        collector.set_debug(0)
        collector.garbage.clear()
        collector.enable()
    assert ours == []


def test_interrupted_generation_keeps_finished_results_and_resumes_equal(tmp_path, cfg):
    # 20 genomes in batches of 4: 5 calls per generation; call 8 is generation 1, batch 3
    ev = WannEvaluator(ToyTask(n_inputs=5, interrupt_after=8), batch_size=4)
    with pytest.raises(KeyboardInterrupt):
        _run(cfg, 4, out_dir=tmp_path / "run", evaluator=ev)
    ckpt = find_checkpoint(tmp_path / "run")
    assert ckpt.path.name == "checkpoint-000001.wann" and ckpt.reason == "interrupted"
    assert ckpt.header["n_partial_results"] == 8
    kept = set(ckpt.state()[1]["results"])
    # re-evaluating with a task that raises for exactly the kept genomes proves they are reused
    config = load_config(cfg)
    state, partial = ckpt.state()
    population = restore_population(state, config)
    reuse = WannEvaluator(ToyTask(n_inputs=5, fail_keys=kept), batch_size=4,
                          generation=population.generation)
    reuse.restore_partial_results(partial)
    reuse(list(population.population.items()), config)
    assert reuse.last_stats["reused"] == 8 and not reuse.last_failures
    resumed = _run(cfg, 4, resume=tmp_path / "run",
                   evaluator=WannEvaluator(ToyTask(n_inputs=5), batch_size=4))
    direct = _run(cfg, 4, evaluator=WannEvaluator(ToyTask(n_inputs=5)))
    assert _strip(resumed.stats) == _strip(direct.stats)
    assert resumed.champion.key == direct.champion.key


def test_a_task_error_writes_a_checkpoint_that_resumes_with_on_error_worst(tmp_path, cfg):
    config = load_config(cfg)
    bad = 7
    with pytest.raises(Exception, match=f"raised for genome {bad}"):
        run_search(config, 3, out_dir=tmp_path / "run", stream=None, champion_episodes=2,
                   evaluator=WannEvaluator(ToyTask(n_inputs=5, fail_keys=[bad])))
    ckpt = find_checkpoint(tmp_path / "run")
    assert ckpt.reason == "error" and ckpt.generation == 0
    assert ckpt.header["n_partial_results"] == 19  # every result but the failed genome's
    # on_error may change on resume (it changes no result of a healthy genome)
    text = cfg.read_text().replace("n_repeats = 1", "n_repeats = 1\non_error = worst")
    (tmp_path / "run" / "config.cfg").write_text(text)
    with pytest.warns(UserWarning, match=f"raised for genome {bad}"):
        res = _run(tmp_path / "run" / "config.cfg", 3, resume=tmp_path / "run",
                   evaluator=WannEvaluator(ToyTask(n_inputs=5, fail_keys=[bad]),
                                           on_error="worst"))
    assert len(res.stats) == 3


# ----------------------------------------------------------------------------- refusals
def test_corrupt_truncated_and_foreign_checkpoints_are_refused(tmp_path, cfg):
    _run(cfg, 4, out_dir=tmp_path / "run", checkpoint_every=2)
    good = tmp_path / "run" / "checkpoint-000004.wann"
    data = good.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    cases = {
        "flipped.wann": (data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:],
                         "corrupt checkpoint: the header or the body does not match its SHA-256"),
        "short.wann": (data[: len(data) // 2], r"truncated checkpoint: \d+ of \d+ body bytes"),
        "header.wann": (data[:30], "truncated checkpoint: the file ends inside the header"),
        "text.wann": (b"hello\n", "not a wann_plugin checkpoint"),
        "neat.wann": (gzip.compress(pickle.dumps((1, 2))), "neat-python Checkpointer file"),
        "json.wann": (b"WANN-CHECKPOINT\n{not json\n", "corrupt checkpoint header"),
    }
    for name, (content, message) in cases.items():
        (bad / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=message) as info:
            read_checkpoint(bad / name)
        assert str(bad / name) in str(info.value)
    with pytest.raises(CheckpointError, match="no checkpoint in this folder"):
        find_checkpoint(bad)
    with pytest.raises(CheckpointError, match="no such run folder"):
        find_checkpoint(tmp_path / "nowhere")
    # a truncated newest checkpoint: refused, older ones named, nothing written
    good.write_bytes(data[:-10])
    before = _folder_snapshot(tmp_path / "run")
    with pytest.raises(CheckpointError, match="older checkpoints in .*checkpoint-000002.wann"):
        _run(cfg, 6, resume=tmp_path / "run")
    assert cli.main(["run", "--resume", str(tmp_path / "run")]) == 2
    assert _folder_snapshot(tmp_path / "run") == before
    older = _run(cfg, 4, out_dir=tmp_path / "other",
                 resume=tmp_path / "run" / "checkpoint-000002.wann")
    assert len(older.stats) == 4


def test_a_changed_config_is_refused_and_nothing_is_overwritten(tmp_path, cfg, capsys):
    _run(cfg, 2, out_dir=tmp_path / "run", checkpoint_every=1)
    before = _folder_snapshot(tmp_path / "run")
    changed = tmp_path / "changed.cfg"
    changed.write_text(cfg.read_text().replace("prob_add_node           = 0.25",
                                               "prob_add_node           = 0.3"))
    with pytest.raises(CheckpointError, match=r"\[WannGenome\] prob_add_node: '0.25' -> '0.3'"):
        _run(changed, 4, resume=tmp_path / "run")
    assert cli.main(["run", str(changed), "--resume", str(tmp_path / "run")]) == 2
    assert "prob_add_node" in capsys.readouterr().err
    # a different seed is a different run too
    assert cli.main(["run", "--resume", str(tmp_path / "run"), "--seed", "99"]) == 2
    assert "[NEAT] seed: '3' -> '99'" in capsys.readouterr().err
    # the run folder's own config.cfg edited after the checkpoint
    (tmp_path / "run" / "config.cfg").write_text(changed.read_text())
    before["config.cfg"] = (changed.read_bytes(),
                            (tmp_path / "run" / "config.cfg").stat().st_mtime_ns)
    assert cli.main(["run", "--resume", str(tmp_path / "run")]) == 2
    assert _folder_snapshot(tmp_path / "run") == before
    # asking for fewer generations than the checkpoint holds
    (tmp_path / "run" / "config.cfg").write_text(cfg.read_text())
    with pytest.raises(CheckpointError, match="is at generation 2; cannot resume to 1"):
        _run(cfg, 1, resume=tmp_path / "run")


def test_a_fresh_run_into_a_folder_with_checkpoints_is_refused(tmp_path, cfg):
    _run(cfg, 2, out_dir=tmp_path / "run", checkpoint_every=1)
    before = _folder_snapshot(tmp_path / "run")
    with pytest.raises(RunFolderError, match=r"already holds a run \(.*checkpoint-000002.wann"):
        _run(cfg, 2, out_dir=tmp_path / "run")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "run")]) == 2
    assert _folder_snapshot(tmp_path / "run") == before


def test_config_differences_ignores_only_resumable_keys(cfg):
    text = config_text(load_config(cfg))
    same = text.replace("on_error = fail", "on_error = worst").replace(
        "generations = 6", "generations = 60")
    assert config_differences(text, same) == []
    assert config_differences(text, text.replace("pop_size = 20", "pop_size = 21")) == [
        "[NEAT] pop_size: '20' -> '21'"]


def test_checkpoint_files_are_written_atomically(tmp_path, cfg):
    _run(cfg, 2, out_dir=tmp_path / "run", checkpoint_every=1)
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert not [n for n in names if n.endswith(".tmp")]  # no temporary file left behind
    path = checkpoint_path(tmp_path / "run", 2)
    ckpt = read_checkpoint(path)
    assert ckpt.generation == 2 and ckpt.generations == 2 and ckpt.reason == "final"
    assert ckpt.config_text == config_text(load_config(tmp_path / "run" / "config.cfg"))


# ----------------------------------------------------------------------------- Ctrl-C
@pytest.mark.slow
@pytest.mark.parametrize("where", [["--workers", "2"], ["--threads", "2"]])
def test_sigint_writes_a_checkpoint_and_the_resumed_run_equals_the_uninterrupted(tmp_path, where):
    cfg = write_config(tmp_path / "run.cfg", pop_size=24, generations=100000, max_steps=100)
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "wann_plugin.cli", "run", str(cfg), "--out", str(out),
           *where, "--champion-episodes", "2"]
    # a new session: SIGINT goes to the whole process group, workers too, like Ctrl-C in a
    # terminal (the workers ignore it; the parent writes the checkpoint)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=default_sigint)
    stats = out / "stats.csv"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if stats.exists() and len(stats.read_text().splitlines()) >= 4:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-2000:]
    assert "checkpoint written to" in err and "wann run --resume" in err
    ckpt = find_checkpoint(out)
    # stats.csv had 3 rows: generations 0-2 were evaluated; generation 2 may not have bred yet
    assert ckpt.reason == "interrupted" and ckpt.generation >= 2
    assert not (out / "champion.json").exists()
    total = ckpt.generation + 2
    assert cli.main(["run", "--resume", str(out), "--generations", str(total),
                     "--champion-episodes", "2"]) == 0
    direct = _run(cfg, total, out_dir=tmp_path / "direct")
    assert len(direct.stats) == total
    assert _csv_without_seconds(out / "stats.csv") == \
        _csv_without_seconds(tmp_path / "direct" / "stats.csv")
    assert (out / "champion.json").read_text() == \
        (tmp_path / "direct" / "champion.json").read_text()


# ----------------------------------------------------------------------------- lazy snapshots
def _comparable(state):
    species = {sid: (sorted(s.members), s.representative.key if s.representative else None,
                     list(s.fitness_history), s.last_improved)
               for sid, s in state["species"].species.items()}
    fits = {gid: (g.fitness, g.objectives) for gid, g in state["population"].items()}
    repro = state["reproduction"]
    return (_genomes(state), fits, species, state["generation"], state["python_random"],
            repr(state["species"].indexer), dict(state["species"].genome_to_species),
            repr(repro["genome_indexer"]), dict(repro["ancestors"]),
            repro["innovation_tracker"].global_counter,
            dict(repro["innovation_tracker"].generation_innovations),
            repr(state["config_state"]["genome_config"]["node_indexer"]),
            state["best_genome"].key, state["best_genome"].fitness)


def test_a_snapshot_written_later_holds_the_state_it_was_taken_in(cfg):
    """Nothing is serialised when the snapshot is taken; written after the run evaluated
    and bred two more generations, it still holds the state of the moment it was taken."""
    from wann_plugin.checkpoint import Snapshot

    config = load_config(cfg)
    population = neat.Population(config)
    evaluator = WannEvaluator(ToyTask(n_inputs=5))
    population.add_reporter(evaluator)
    population.run(evaluator, 2)
    snap = Snapshot(population)
    eager = pickle.loads(capture_state(population))
    population.run(evaluator, 2)  # evaluates (new fitness on the elites), breeds, speciates
    now = {id(g): (g.fitness, g.objectives) for g in eager_genomes(snap)}
    late = pickle.loads(snap.to_bytes())
    assert _comparable(late) == _comparable(eager)
    assert population.generation == eager["generation"] + 2
    # the live genomes keep their current scores, some of which changed since the snapshot
    assert now == {id(g): (g.fitness, g.objectives) for g in eager_genomes(snap)}
    assert any(now[id(g)][0] != late["population"][k].fitness
               for k, g in snap.population.items())


def eager_genomes(snap):
    return list(snap.population.values())


def test_interrupt_inside_breeding_of_a_snapshot_free_generation_resumes_exactly(
        tmp_path, cfg, monkeypatch):
    """Checkpoints every 2 generations; generation 3 (no checkpoint written at its start) is
    interrupted after it bred: the checkpoint written then resumes to the same run."""
    from wann_plugin.reproduction import WannReproduction

    breed = WannReproduction.reproduce

    def interrupted(self, config, species, pop_size, generation):
        out = breed(self, config, species, pop_size, generation)
        if generation == 3:
            raise KeyboardInterrupt
        return out

    with monkeypatch.context() as m:
        m.setattr(WannReproduction, "reproduce", interrupted)
        with pytest.raises(KeyboardInterrupt):
            _run(cfg, 6, out_dir=tmp_path / "run", checkpoint_every=2)
    names = [p.name for p in list_checkpoints(tmp_path / "run")]
    assert names == ["checkpoint-000002.wann", "checkpoint-000003.wann"]
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoint-000003.wann")
    assert ckpt.reason == "interrupted" and ckpt.generation == 3
    resumed = _run(cfg, 6, out_dir=tmp_path / "resumed", resume=ckpt.path)
    whole = _run(cfg, 6, out_dir=tmp_path / "whole")
    assert _strip(resumed.stats) == _strip(whole.stats) and len(whole.stats) == 6
    assert (tmp_path / "resumed" / "champion.json").read_text() == \
        (tmp_path / "whole" / "champion.json").read_text()


# ----------------------------------------------------------------------------- hardening
def test_the_checksum_covers_the_header(tmp_path, cfg):
    _run(cfg, 2, out_dir=tmp_path / "run", checkpoint_every=2)
    good = tmp_path / "run" / "checkpoint-000002.wann"
    data = good.read_bytes()
    assert read_checkpoint(good).generation == 2
    for old, new in ((b'"generation": 2', b'"generation": 3'),
                     (b'"generations": 2', b'"generations": 9'),
                     (b"pop_size", b"pop_sizf")):
        assert data.count(old) == 1
        bad = tmp_path / "bad.wann"
        bad.write_bytes(data.replace(old, new))
        with pytest.raises(CheckpointError, match="header or the body does not match"):
            read_checkpoint(bad)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_honour_the_umask(tmp_path, cfg, umask):
    old = os.umask(umask)
    try:
        _run(cfg, 2, out_dir=tmp_path / "run", checkpoint_every=1)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").iterdir() if p.is_file()]
    assert any(p.suffix == ".wann" for p in files) and any(p.name == "stats.csv" for p in files)
    for p in files:
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p.name


def test_orphaned_temporary_checkpoint_files_are_removed(tmp_path, cfg):
    run = tmp_path / "run"
    run.mkdir()
    orphans = [run / ".checkpoint-000004.wann.k3j2_x.tmp", run / ".checkpoint-000001.wann.a.tmp"]
    keep = [run / ".stats.csv.q1.tmp", run / "notes.tmp", run / "checkpoint-000001.wann.tmp"]
    for p in orphans + keep:
        p.write_bytes(b"half a file")
    _run(cfg, 2, out_dir=run, checkpoint_every=5)  # writes only the final checkpoint
    assert not any(p.exists() for p in orphans)
    assert all(p.exists() for p in keep)
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-000002.wann"]


def test_format_1_checkpoints_still_load(tmp_path, cfg):
    import hashlib
    import json

    _run(cfg, 2, out_dir=tmp_path / "run", checkpoint_every=2)
    new = read_checkpoint(tmp_path / "run" / "checkpoint-000002.wann")
    header = {k: v for k, v in new.header.items()}
    header.update(format=1, body_sha256=hashlib.sha256(new.body).hexdigest())
    old = tmp_path / "old.wann"
    old.write_bytes(b"WANN-CHECKPOINT\n" + json.dumps(header).encode() + b"\n" + new.body)
    loaded = read_checkpoint(old)
    assert loaded.generation == 2 and loaded.state()[0]["generation"] == 2
    old.write_bytes(old.read_bytes()[:-5] + b"xxxxx")
    with pytest.raises(CheckpointError, match="does not match its SHA-256"):
        read_checkpoint(old)
