"""``wann sweep``: one search per seed (resumable), the summary over seeds, the plot."""

import json
from pathlib import Path

import numpy as np
import pytest

from wann_plugin.cli import main
from wann_plugin.sweep import parse_seeds, read_stats, run_sweep, seed_folder

ROOT = Path(__file__).resolve().parents[1]


def small_config(tmp_path: Path) -> Path:
    text = (ROOT / "wann_plugin" / "configs" / "swingup_quick.cfg").read_text()
    text = text.replace("pop_size               = 128", "pop_size               = 16")
    text = text.replace("name = swingup", "name = swingup\nmax_steps = 100")
    path = tmp_path / "small.cfg"
    path.write_text(text)
    return path


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("3, 0-1,3") == [3, 0, 1]
    for bad in ("4-2", "a", "1-", ""):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)


def test_run_sweep_skips_finished_seeds_and_equals_single_runs(tmp_path):
    cfg = small_config(tmp_path)
    status = run_sweep(cfg, [0, 1], tmp_path / "sw", generations=3, stream=None,
                       champion_episodes=2)
    assert status == {0: "ran", 1: "ran"}
    again = run_sweep(cfg, [0, 1, 2], tmp_path / "sw", generations=3, stream=None,
                      champion_episodes=2)
    assert again == {0: "done", 1: "done", 2: "ran"}
    from wann_plugin.config import load_config
    from wann_plugin.runner import run_search

    run_search(load_config(cfg), 3, out_dir=tmp_path / "single", seed=1, stream=None,
               champion_episodes=2)
    a = read_stats(seed_folder(tmp_path / "sw", 1) / "stats.csv")
    b = read_stats(tmp_path / "single" / "stats.csv")
    np.testing.assert_array_equal(a["best_mean"], b["best_mean"])
    c0 = read_stats(seed_folder(tmp_path / "sw", 0) / "stats.csv")
    assert not np.array_equal(a["best_mean"], c0["best_mean"])  # seeds differ


@pytest.mark.slow
def test_sweep_cli_summarises_the_seeds(tmp_path, capsys):
    cfg = small_config(tmp_path)
    out = tmp_path / "sweep"
    args = ["sweep", str(cfg), "--seeds", "0-1", "--out", str(out), "--generations", "3",
            "--champion-episodes", "2", "--episodes", "5", "--preset", "reference",
            "--tune-generations", "3", "--option", "pop_size=8", "--workers", "2"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| over seeds |" in text and "(best)" in text
    doc = json.loads((out / "summary.json").read_text())
    assert [s["seed"] for s in doc["seeds"]] == [0, 1]
    assert doc["best_seed"] in (0, 1)
    best = max(doc["seeds"], key=lambda s: s["conditions"]["tuned_shared_weight"]["mean"])
    assert best["seed"] == doc["best_seed"]
    means = [s["conditions"]["tuned_weights"]["mean"] for s in doc["seeds"]]
    assert doc["over_seeds"]["tuned_weights"]["mean"] == pytest.approx(np.mean(means))
    assert doc["settings"]["generations"] == 3 and doc["settings"]["pop_size"] == 8
    stats = read_stats(seed_folder(out, 0) / "stats.csv")
    assert doc["seeds"][0]["search_seconds"] == pytest.approx(stats["seconds"].sum(), abs=0.06)
    assert doc["seeds"][0]["tuning_seconds"] > 0
    assert (out / "learning_curves.png").stat().st_size > 0
    # a second summary reuses each seed's report
    before = (seed_folder(out, 0) / "report.json").stat().st_mtime_ns
    assert main([*args, "--summary-only"]) == 0
    assert (seed_folder(out, 0) / "report.json").stat().st_mtime_ns == before
    assert main(["sweep", str(cfg), "--seeds", "5", "--out", str(out), "--summary-only"]) == 2
    assert "seed 5 has no champion" in capsys.readouterr().err
    assert main(["sweep", str(cfg), "--seeds", "2-1", "--out", str(out)]) == 2
    assert "runs backwards" in capsys.readouterr().err


def test_parallel_seeds_run_whole_searches_on_a_process_pool(tmp_path):
    from wann_plugin.parallel import ProcessPool

    cfg = small_config(tmp_path)
    pool = ProcessPool(2)
    try:
        status = run_sweep(cfg, [0, 1], tmp_path / "par", generations=3, stream=None,
                           executor=pool, parallel_seeds=True, champion_episodes=2)
    finally:
        pool.shutdown()
    assert status == {0: "ran", 1: "ran"}
    run_sweep(cfg, [1], tmp_path / "seq", generations=3, stream=None, champion_episodes=2)
    a = read_stats(seed_folder(tmp_path / "par", 1) / "stats.csv")
    b = read_stats(seed_folder(tmp_path / "seq", 1) / "stats.csv")
    np.testing.assert_array_equal(a["best_mean"], b["best_mean"])
    assert (tmp_path / "par" / "seed-0.log").read_text().count("gen ") == 3


def test_a_seeds_cached_report_is_keyed_by_the_resolved_tuning_defaults(monkeypatch):
    from wann_plugin.sweep import _resolved_tuning
    from wann_plugin.tuning.registry import get_tuning_method

    base = _resolved_tuning({})
    assert base["method"] == "cma" and base["loop"]["generations"] >= 1
    cma = get_tuning_method("cma")
    monkeypatch.setitem(cma.presets, "default", {**cma.presets["default"], "pop_size": 7})
    changed = _resolved_tuning({})
    assert changed != base and changed["options"]["pop_size"] == 7
    assert _resolved_tuning({"generations": 5})["loop"]["generations"] == 5
    assert _resolved_tuning({"method": "pepg", "preset": "reference"})["options"]["sigma"] == 0.1


@pytest.mark.slow
def test_sweep_in_process_and_on_threads_give_the_same_summary(tmp_path, capsys):
    """Without --workers the searches run in this process (once a traceback: the sweep had
    no --threads to read); --threads 2 gives the same searches and the same tuning."""
    cfg = small_config(tmp_path)
    docs = []
    for name, extra in (("one", []), ("two", ["--threads", "2"])):
        out = tmp_path / name
        assert main(["sweep", str(cfg), "--seeds", "0-1", "--out", str(out), "--generations",
                     "3", "--champion-episodes", "2", "--episodes", "5", "--tune-generations",
                     "3", "--option", "pop_size=8", *extra]) == 0
        text = capsys.readouterr().out
        assert ("in-process on 2 threads" in text) == bool(extra)
        docs.append(json.loads((out / "summary.json").read_text()))
        for seed in (0, 1):
            docs[-1][f"stats{seed}"] = read_stats(seed_folder(out, seed) / "stats.csv")
    one, two = docs
    for seed in (0, 1):
        np.testing.assert_array_equal(one[f"stats{seed}"]["best_mean"],
                                      two[f"stats{seed}"]["best_mean"])
    assert [s["conditions"] for s in one["seeds"]] == [s["conditions"] for s in two["seeds"]]
    # a summary on threads reuses the reports made on one thread (the same results)
    report = seed_folder(tmp_path / "one", 0) / "report.json"
    before = report.stat().st_mtime_ns
    assert main(["sweep", str(cfg), "--seeds", "0-1", "--out", str(tmp_path / "one"),
                 "--episodes", "5", "--tune-generations", "3", "--option", "pop_size=8",
                 "--summary-only", "--threads", "2"]) == 0
    assert report.stat().st_mtime_ns == before


def test_sweep_threads_are_checked_before_any_search(tmp_path, capsys):
    cfg = small_config(tmp_path)
    out = tmp_path / "x"
    assert main(["sweep", str(cfg), "--out", str(out), "--threads", "2", "--workers", "2"]) == 2
    assert "--threads scores in-process; it excludes --workers" in capsys.readouterr().err
    assert main(["sweep", str(cfg), "--out", str(out), "--threads", "0"]) == 2
    assert "--threads 0: must be >= 1" in capsys.readouterr().err
    assert main(["sweep", str(cfg), "--out", str(out), "--threads", "2", "--task", "biped"]) == 2
    assert "--threads 2: task 'biped' is not thread-safe" in capsys.readouterr().err
    assert not out.exists()
