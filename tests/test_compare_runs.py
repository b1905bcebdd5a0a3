"""benchmarks/compare_runs.py: the same search on two trees, time by generation range."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_runs.py"
_spec = importlib.util.spec_from_file_location("compare_runs", _PATH)
compare_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_runs)

HEAD = "generation,best_mean,best_max,mean_fitness,median_fitness,median_connections," \
       "best_connections,seconds\n"


def _run(folder: Path, seconds: list[float], best=None) -> Path:
    folder.mkdir()
    rows = [f"{g},{best[g] if best else 10.0 + g},20,5,4,3,2,{s}\n"
            for g, s in enumerate(seconds)]
    (folder / "stats.csv").write_text(HEAD + "".join(rows))
    return folder


def test_sums_by_range_without_generation_zero(tmp_path):
    before = _run(tmp_path / "b", [30.0] + [1.0] * 9)
    after = _run(tmp_path / "a", [60.0] + [0.5] * 4 + [1.0] * 5)
    out = compare_runs.compare(before, after, [1, 5])
    assert out["same_search"] and out["generations"] == 10
    assert [r["generations"] for r in out["ranges"]] == [[1, 4], [5, 9]]
    assert [(r["before_s"], r["after_s"], r["ratio"]) for r in out["ranges"]] == \
        [(4.0, 2.0, 0.5), (5.0, 5.0, 1.0)]
    assert out["total"] == {"generations": [1, 9], "before_s": 9.0, "after_s": 7.0,
                            "ratio": round(7 / 9, 4)}


def test_a_different_search_is_reported(tmp_path, capsys):
    before = _run(tmp_path / "b", [1.0] * 4)
    after = _run(tmp_path / "a", [1.0] * 4, best=[10.0, 11.0, 12.5, 13.0])
    out = compare_runs.compare(before, after, [1])
    assert not out["same_search"] and out["first_difference"] == 2
    assert compare_runs.compare(before, before, [1])["first_difference"] is None
    assert compare_runs.main([str(before), str(after)]) == 0
    assert "same search (every column but seconds): False (first differing row: generation " \
        "2)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        compare_runs.main([str(before), str(tmp_path)])
    assert "has no stats.csv" in capsys.readouterr().err
