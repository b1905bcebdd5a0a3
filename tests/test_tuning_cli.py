"""`wann tune` and `wann report` end to end on swing.out (short budgets)."""

import json
from pathlib import Path

import numpy as np
import pytest

from wann_plugin.cli import main
from wann_plugin.io import load_network

SWING = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "wann" / "swing.out"


def test_tune_saves_a_network_that_evaluate_reads(tmp_path, capsys):
    out = tmp_path / "tuned.json"
    code = main(["tune", str(SWING), "--task", "swingup", "--method", "cma",
                 "--generations", "4", "--weight-bias", "-1.5", "--pop-size", "8",
                 "--test-episodes", "10", "--out", str(out), "--json"])
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "gen    4" in captured.err and "start: validation" in captured.err
    assert summary["method"] == "cma" and summary["start"] == -1.5
    assert summary["validation_score"] >= summary["start_validation_score"]
    loaded = load_network(out)
    assert loaded.conn_weights.shape == (52,)
    assert loaded.meta["tuning"]["method"] == "cma" and len(loaded.meta["tuning"]["history"]) == 5
    assert main(["evaluate", str(out), "--task", "swingup", "--episodes", "10", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["mean"] == pytest.approx(summary["test"]["mean"])


def test_tune_ga_methods_and_plain_output(tmp_path, capsys):
    out = tmp_path / "sm.json"
    code = main(["tune", str(SWING), "--task", "swingup", "--task-option", "max_steps=200",
                 "--method", "sm-r", "--generations", "2", "--pop-size", "6", "--seed", "3",
                 "--test-episodes", "0", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "start from the best shared weight" in text and f"saved {out}" in text
    assert load_network(out).meta["tuning"]["task_options"] == {"max_steps": "200"}


def test_cli_errors_are_one_line(capsys):
    assert main(["tune", str(SWING), "--task", "swingup", "--pop-size", "7",
                 "--method", "pepg"]) == 2
    assert "pop_size == 7, must be even" in capsys.readouterr().err
    assert main(["tune", str(SWING), "--task", "swingup", "--task-option", "oops"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.slow
def test_report_writes_tables_and_plots(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["report", str(SWING), "--task", "swingup", "--generations", "3",
                 "--episodes", "5", "--hidden", "4", "--pop-size", "8", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "| Paper: WANN |" in text
    for name in ("report.md", "report.json", "shared_weight.png", "network.png",
                 "network_tuned.png", "tuning.png"):
        assert (out / name).stat().st_size > 0, name
    doc = json.loads((out / "report.json").read_text())
    assert [r["label"] for r in doc["rows"]] == ["swing (WANN)", "Fixed topology (4 tanh)"]
    assert np.isfinite(doc["rows"][1]["conditions"]["tuned_weights"]["mean"])


def test_tune_says_when_it_found_nothing_better(tmp_path, capsys):
    out = tmp_path / "same.json"
    code = main(["tune", str(SWING), "--task", "swingup", "--task-option", "max_steps=100",
                 "--generations", "0", "--weight-bias", "0.9", "--test-episodes", "0",
                 "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "found nothing better than the start" in text and "kept the start's weights" in text
    np.testing.assert_array_equal(load_network(out).conn_weights, np.full(52, 0.9))
