"""docs/tuning.rst: every ``.. code-block:: python`` runs, in order, in one namespace."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "tuning.rst"
REFERENCE = ROOT.parent / "shared" / "reference" / "wann"


def python_blocks(text: str) -> list[str]:
    blocks = []
    for match in re.finditer(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text, re.M):
        lines = match.group(1).rstrip("\n").split("\n")
        blocks.append("\n".join(line[3:] for line in lines))
    return blocks


def test_every_python_block_is_found():
    text = PAGE.read_text()
    assert len(python_blocks(text)) == text.count(".. code-block:: python") == 12


@pytest.mark.slow
def test_tuning_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = "\n\n".join(python_blocks(PAGE.read_text()))
    code = code.replace('Path("../shared/reference/wann")', f"Path({str(REFERENCE)!r})")
    namespace: dict = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "best shared weight +0.873: 722.1" in out
    assert "(41,) (41,)" in out and "3 (52,)" in out
    assert "| Paper: WANN |" in out
    assert namespace["report"].rows[0].conditions["tuned_weights"].mean == pytest.approx(931.96,
                                                                                       abs=0.01)
    for name in ("shared_weight.png", "network.png", "tuning.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert namespace["ensemble_accuracy"](namespace["clf"], namespace["x"], namespace["y"],
                                          namespace["weights"]) > 0.8
