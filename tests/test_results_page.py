"""docs/results.rst is exactly what experiments/make_results_page.py writes from results/."""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_results_page_is_generated_from_the_results_files(tmp_path, monkeypatch):
    out = tmp_path / "results.rst"
    monkeypatch.setattr(sys, "argv", ["make_results_page.py", "--out", str(out)])
    try:
        runpy.run_path(str(ROOT / "experiments" / "make_results_page.py"), run_name="__main__")
    except SystemExit as exc:
        assert exc.code == 0
    assert out.read_text() == (ROOT / "docs" / "results.rst").read_text(), (
        "docs/results.rst is stale: run python experiments/make_results_page.py")
    text = out.read_text()
    if (ROOT / "results" / "swingup" / "summary.json").is_file():
        assert "mean ± sd over seeds" in text and "paper (WANN)" in text
