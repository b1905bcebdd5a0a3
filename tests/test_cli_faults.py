"""Fault injection against ``wann run``: real processes, real signals, a real full filesystem
(a small tmpfs, mounted when the tests run as root) and workers killed between generations.
Each test names the fault of issue 12 it injects; nothing may be lost or mixed."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _parallel_helpers import write_config
from conftest import default_sigint

from wann_plugin.cli import main
from wann_plugin.config import load_config
from wann_plugin.evaluation import WannEvaluator
from wann_plugin.parallel import ProcessPool
from wann_plugin.runner import run_search

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _snapshot(folder: Path) -> dict:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path / "run.cfg", pop_size=8, generations=3, max_steps=20)


def _run(argv):
    return main(["run", *argv, "--champion-episodes", "1"])


def test_second_run_into_the_same_folder_changes_nothing(tmp_path, cfg, capsys):
    out = tmp_path / "out"
    assert _run([str(cfg), "--out", str(out)]) == 0
    before = _snapshot(out)
    assert _run([str(cfg), "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert _snapshot(out) == before
    # a config that fails after start-up does not touch config.cfg either
    bad = write_config(tmp_path / "bad.cfg", pop_size=8, generations=3, max_steps=20)
    bad.write_text(bad.read_text().replace("pop_size               = 8", "pop_size = 0"))
    assert _run([str(bad), "--out", str(out), "--overwrite"]) == 2
    assert _snapshot(out) == before
    # asked for: --overwrite replaces the whole run
    assert _run([str(cfg), "--out", str(out), "--overwrite", "--seed", "7"]) == 0
    assert json.loads((out / "champion.json").read_text())["meta"]["seed"] == 7


def test_resume_into_another_runs_folder_is_refused(tmp_path, cfg, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _run([str(cfg), "--out", str(a), "--checkpoint-every", "1", "--generations", "2"]) == 0
    assert _run([str(cfg), "--out", str(b)]) == 0
    before = _snapshot(b)
    assert _run(["--resume", str(a), "--out", str(b), "--generations", "3"]) == 2
    assert "already holds another run" in capsys.readouterr().err
    assert _snapshot(b) == before


def test_bad_champion_episodes_is_refused_before_the_search(tmp_path, cfg, capsys):
    for value in ("0", "-3"):
        with pytest.raises(SystemExit) as exc:
            main(["run", str(cfg), "--out", str(tmp_path / "x"), "--champion-episodes", value])
        assert exc.value.code == 2
        assert f"--champion-episodes == {value}, must be >= 1." in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@contextlib.contextmanager
def _tmpfs(path: Path, size: str, *options: str):
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]),
                           "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); the ENOSPC path is "
                    "covered by test_full_disk_at_the_final_checkpoint_simulated")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_or_read_only_out_is_one_line_before_the_search(tmp_path, cfg, capsys):
    with _tmpfs(tmp_path / "full", "64k") as full:
        with contextlib.suppress(OSError):
            with open(full / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
        assert _run([str(cfg), "--out", str(full / "run")]) == 2
        err = capsys.readouterr().err
        assert "cannot write there" in err and "No space left" in err and len(err.splitlines()) == 1
    with _tmpfs(tmp_path / "ro", "64k", "ro") as ro:
        assert _run([str(cfg), "--out", str(ro / "run")]) == 2
        err = capsys.readouterr().err
        assert "Read-only file system" in err and len(err.splitlines()) == 1
    (tmp_path / "file").write_text("x")
    assert _run([str(cfg), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


class _FillDisk:
    """A neat-python reporter that fills the filesystem after the last generation's evaluation,
    leaving ``keep`` bytes free: enough for champion.json, not for a checkpoint."""

    def __init__(self, folder: Path, last: int, keep: int):
        self.folder, self.last, self.keep = folder, last, keep

    def post_evaluate(self, config, population, species, best_genome):
        if best_genome is None:
            return
        self.generation = getattr(self, "generation", -1) + 1
        if self.generation != self.last:
            return
        with contextlib.suppress(OSError):
            with open(self.folder / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 1024)
                    f.flush()
        os.truncate(self.folder / "filler", max(0, os.path.getsize(self.folder / "filler")
                                                - self.keep))

    def __getattr__(self, name):  # the other reporter hooks do nothing
        if name.startswith("_") or name in ("folder", "last", "keep", "generation"):
            raise AttributeError(name)
        return lambda *a, **k: None


def test_full_disk_at_the_final_checkpoint_still_saves_the_champion(tmp_path, cfg, capsys):
    with _tmpfs(tmp_path / "disk", "4m") as disk:
        out = disk / "run"
        res = run_search(load_config(cfg), 3, out_dir=out, champion_episodes=1,
                         checkpoint_every=10, stream=None,
                         reporters=[_FillDisk(disk, last=2, keep=8 * 1024)])
        err = capsys.readouterr().err
        assert "could not write the final checkpoint (No space left on device)" in err
        doc = json.loads((out / "champion.json").read_text())
        assert doc["key"] == res.champion.key and doc["meta"]["generations"] == 3


def test_a_resumed_run_keeps_checkpoint_every_after_sigint(tmp_path):
    cfg = write_config(tmp_path / "run.cfg", pop_size=8, generations=40, max_steps=400)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "wann_plugin.cli", "run", str(cfg), "--out",
                             str(out), "--checkpoint-every", "3", "--champion-episodes", "1"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint-000003.wann").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "continue with: wann run --resume" in err
    assert "Traceback" not in err
    # the run may have gone on for a few generations before the signal landed
    stopped = int(re.search(r"interrupted at generation (\d+)", err).group(1))
    target = stopped + 7
    done = subprocess.run([sys.executable, "-m", "wann_plugin.cli", "run", "--resume", str(out),
                           "--generations", str(target), "--champion-episodes", "1"], env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    names = {p.name for p in out.glob("checkpoint-*.wann")}
    want = {f"checkpoint-{g:06d}.wann" for g in range(stopped + 1, target + 1) if g % 3 == 0}
    assert len(want) >= 2 and want <= names, (want, names)


class _KillAWorker:
    """Kills one worker process (SIGKILL) after generation ``at`` and waits until the pool
    noticed, so the next generation's submit meets a broken pool."""

    def __init__(self, pool: ProcessPool, at: int):
        self.pool, self.at, self.generation, self.killed = pool, at, 0, None

    def start_generation(self, generation):
        self.generation = generation

    def end_generation(self, config, population, species):
        if self.generation != self.at:
            return
        pid = self.pool.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        self.killed = pid
        inner = self.pool._pool  # noqa: SLF001 - wait for the real pool to mark itself broken
        deadline = time.monotonic() + 30
        while not getattr(inner, "_broken", False) and time.monotonic() < deadline:
            time.sleep(0.02)

    def __getattr__(self, name):
        if name.startswith("_") or name in ("pool", "at", "generation", "killed"):
            raise AttributeError(name)
        return lambda *a, **k: None


def test_a_worker_killed_between_generations_does_not_abort_the_run(tmp_path, cfg):
    serial = run_search(load_config(cfg), 4, out_dir=tmp_path / "serial", champion_episodes=1,
                        stream=None)
    with ProcessPool(2) as pool:
        config = load_config(cfg)
        killer = _KillAWorker(pool, at=1)
        evaluator = WannEvaluator(config.wann.make_task(), config.wann.weights,
                                  config.wann.n_repeats, executor=pool, batch_size=2)
        res = run_search(config, 4, out_dir=tmp_path / "pool", evaluator=evaluator,
                         champion_episodes=1, stream=None, reporters=[killer])
        assert killer.killed is not None and pool.restarts >= 1
    assert [r["best_mean"] for r in res.stats] == [r["best_mean"] for r in serial.stats]
    assert res.champion.key == serial.champion.key
