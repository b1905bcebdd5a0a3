"""The ``wann`` workflow: init, run configured on the command line, a network's own task as
the default of evaluate/tune, the follow-up command tune prints, progress and metrics."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _parallel_helpers import write_config

from wann_plugin.cli import main
from wann_plugin.config import load_config
from wann_plugin.io import load_network, save_network
from wann_plugin.network import WannNetwork
from wann_plugin.runner import ProgressReporter, run_search

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    root = tmp_path_factory.mktemp("wf")
    cfg = write_config(root / "run.cfg", pop_size=8, generations=2, max_steps=50)
    assert main(["run", str(cfg), "--out", str(root / "run"), "--champion-episodes", "1"]) == 0
    return root / "run" / "champion.json"


def test_init_writes_a_commented_config_that_runs(tmp_path, capsys):
    out = tmp_path / "pend.cfg"
    assert main(["init", "Pendulum-v1", "--task-option", "scale_actions=true",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "# genomes per generation\npop_size" in text
    assert "env_id = Pendulum-v1" in text and "scale_actions = true" in text
    config = load_config(out)
    assert (config.genome_config.num_outputs, len(config.genome_config.input_keys) - 1) == (1, 3)
    capsys.readouterr()
    assert main(["init", "Pendulum-v1", "--out", str(out)]) == 2  # never replaced unasked
    assert "exists" in capsys.readouterr().err and out.read_text() == text
    assert main(["init", "digits", "--out", str(tmp_path / "d.cfg")]) == 0
    assert load_config(tmp_path / "d.cfg").genome_config.num_outputs == 10


def test_run_from_the_command_line_with_task_and_set(tmp_path, capsys):
    out = tmp_path / "digits"
    assert main(["run", "--task", "digits", "--task-option", "batch_size=200",
                 "--set", "NEAT.pop_size=8", "--set", "WannRun.generations=2",
                 "--champion-episodes", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ensemble accuracy (held-out):" in text and "done in " in text
    config = load_config(out / "config.cfg")
    assert config.pop_size == 8 and config.wann.task_name == "digits"
    assert config.genome_config.num_outputs == 10
    meta = json.loads((out / "champion.json").read_text())["meta"]
    assert meta["task"] == "digits" and meta["task_options"] == {"batch_size": "200"}
    assert "ensemble_accuracy" in meta["summary"]
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "run.json").read_text())["command"].startswith("wann run --task")
    assert main(["run", "--set", "NEAT.pop_size=0", "--out", str(tmp_path / "x")]) == 2
    assert "(from --set NEAT.pop_size=0)" in capsys.readouterr().err


def test_evaluate_defaults_to_the_networks_task_and_names_mismatches(champion, capsys):
    assert main(["evaluate", str(champion), "--episodes", "2", "--json"]) == 0
    captured = capsys.readouterr()
    own = json.loads(captured.out)
    assert own["task"] == "swingup" and captured.err == ""
    # the recorded option (max_steps=50) is the default; overriding it is named
    assert main(["evaluate", str(champion), "--episodes", "2", "--json", "--task-option",
                 "max_steps=50"]) == 0
    assert json.loads(capsys.readouterr().out)["mean"] == own["mean"]
    assert main(["evaluate", str(champion), "--episodes", "2", "--json", "--task-option",
                 "max_steps=80"]) == 0
    captured = capsys.readouterr()
    assert "was found with max_steps=50; using max_steps=80" in captured.err
    assert json.loads(captured.out)["mean"] != own["mean"]
    assert main(["evaluate", str(champion), "--episodes", "2", "--task", "swingup_hard"]) == 0
    assert "was found on task 'swingup' with max_steps=50; scoring it on 'swingup_hard'" \
        in capsys.readouterr().err


def test_a_file_without_a_task_needs_task(tmp_path, champion, capsys):
    loaded = load_network(champion)
    bare = tmp_path / "bare.json"
    save_network(bare, loaded.net)
    assert main(["evaluate", str(bare)]) == 2
    assert "records no task; give --task" in capsys.readouterr().err


def test_tune_writes_beside_the_network_and_its_follow_up_works(champion, tmp_path):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "wann_plugin.cli", "tune", str(champion), "--method", "pepg",
           "--generations", "1", "--test-episodes", "2", "--validation-episodes", "2",
           "--repeats", "1", "--pop-size", "4"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    tuned = champion.with_name("champion.pepg.json")
    assert tuned.is_file() and not list(tmp_path.glob("*.json"))
    follow = proc.stdout.strip().splitlines()[-1]
    printed = follow.split("score it with: ", 1)[1].rstrip(")")
    argv = shlex.split(printed)
    assert argv[:2] == ["wann", "evaluate"]
    again = subprocess.run([sys.executable, "-m", "wann_plugin.cli", *argv[1:], "--episodes",
                            "2"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                           env=env)
    assert again.returncode == 0, again.stderr
    assert "tuned weights: mean" in again.stdout
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                             env=env)
    assert refused.returncode == 2 and "exists" in refused.stderr


def test_tune_without_method_on_a_differentiable_task_points_to_adam(tmp_path, capsys):
    rng = np.random.default_rng(0)
    edges = [(int(s), 65 + h) for h in range(4) for s in rng.choice(np.arange(1, 65), 5,
                                                                     replace=False)]
    edges += [(65 + h, 69 + o) for h in range(4) for o in range(10)]
    net = WannNetwork.from_edges(64, 10, [1] * 65 + [5] * 4 + [1] * 10, edges)
    path = save_network(tmp_path / "clf.json", net, meta={"task": "digits"})
    budget = ["--generations", "1", "--test-episodes", "1", "--validation-episodes", "1",
              "--repeats", "1", "--pop-size", "4"]
    assert main(["tune", str(path), *budget]) == 0
    out = capsys.readouterr().out
    assert "method cma" in out
    assert "note: task 'digits' has exact gradients: --method adam trains these weights" in out
    for method in ("cma", "pepg"):  # a method given on purpose: no note
        assert main(["tune", str(path), "--method", method, "--overwrite", *budget]) == 0
        out = capsys.readouterr().out
        assert f"method {method}" in out and "note:" not in out
    assert main(["tune", str(path), "--method", "adam", "--overwrite", "--generations", "1",
                 "--test-episodes", "1", "--validation-episodes", "1"]) == 0
    out = capsys.readouterr().out
    assert "method adam" in out and "note:" not in out


def test_tune_without_method_on_swingup_has_no_note(champion, tmp_path, capsys):
    assert main(["tune", str(champion), "--generations", "1", "--test-episodes", "1",
                 "--validation-episodes", "1", "--repeats", "1", "--pop-size", "4",
                 "--out", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert "method cma" in out and "note:" not in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(tmp_path):
    cfg = write_config(tmp_path / "run.cfg", pop_size=8, generations=3, max_steps=20)
    term = _Terminal()
    run_search(load_config(cfg), 3, stream=term, champion_episodes=1)
    text = term.getvalue()
    assert "wann run" in text and "3/3" in text and "gen " not in text.split("champion")[0]
    plain = io.StringIO()
    run_search(load_config(cfg), 3, stream=plain, champion_episodes=1)
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("gen    0") and "left)" in lines[0]
    assert lines[-1].startswith("done in ")
    assert ProgressReporter(stream=_Terminal(), total=None)._tty is False


def test_the_workflow_example_script_runs(tmp_path):
    script = ROOT / "examples" / "cli" / "workflow.sh"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "WANN": f"{sys.executable} -m wann_plugin.cli", "OUT": str(tmp_path / "p"),
           "GENERATIONS": "2", "POP": "8", "TUNE_GENERATIONS": "1"}
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "p" / "champion.cma.json").is_file()
    assert proc.stdout.count("mean over weights") == 1 and "tuned weights: mean" in proc.stdout
