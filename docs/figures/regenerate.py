"""Regenerate the cached results the docs' figures and the quickstart's output are made from.

    PYTHONPATH=. python docs/figures/regenerate.py        # from the repository root; ~5 min

It runs, as a user would, the quick swing-up search of the quickstart (``wann run``, the
packaged config, seed 1, 100 generations) and ``wann evaluate`` on its champion, and keeps in
``docs/figures/data/``: the champion (``champion.json``), the per-generation statistics
(``stats.csv``) and the two commands' printed output (``*.txt``, the repository path replaced
by ``.``; ``quickstart_run_excerpt.txt`` keeps the first and last generations, and lines
wider than the docs' 88-character code box are wrapped at a space).
``docs/figures/build.py`` (run by ``conf.py`` on every docs build) draws from these files,
so the docs build never runs a search. It also measures the performance page's benchmarks
(``benchmarks/bench_swingup.py``, ``bench_episode.py`` and ``bench_search.py``, a few
minutes together) into ``bench_*.json``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = HERE / "data"


def wann(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "wann_plugin.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return proc.stdout.replace(str(ROOT), ".")


def wann_script(script: str, *args: str) -> str:
    """The standard output of one of the repository's scripts."""
    return subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def wrap(text: str, width: int = 88) -> str:
    """Wrap lines wider than ``width`` at spaces, continuing with a 4-space indent."""
    out = []
    for line in text.splitlines():
        indent = " " * (len(line) - len(line.lstrip()))
        out.extend(textwrap.wrap(line, width, subsequent_indent=indent + "    ",
                                 break_long_words=False, break_on_hyphens=False) or [""])
    return "\n".join(out) + "\n"


def excerpt(run: str, head: int = 5, tail: int = 3) -> str:
    """The run's output with only the first ``head`` and last ``tail`` generation lines."""
    lines = run.splitlines()
    gens = [i for i, line in enumerate(lines) if line.startswith("gen ")]
    left_out = gens[head:len(gens) - tail]
    if not left_out:
        return run
    keep = lines[:left_out[0]] + [f"   [generations {head} to {len(gens) - tail - 1} "
                                  "left out here]"] + lines[left_out[-1] + 1:]
    return "\n".join(keep) + "\n"


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "wann-out"
        run = wann("run", "--out", str(out))
        run = run.replace(str(out), "wann-out")
        (DATA / "quickstart_run.txt").write_text("$ wann run\n" + run)
        (DATA / "quickstart_run_excerpt.txt").write_text(wrap("$ wann run\n" + excerpt(run)))
        shutil.copy(out / "champion.json", DATA / "champion.json")
        shutil.copy(out / "stats.csv", DATA / "stats.csv")
    evaluate = wann("evaluate", "docs/figures/data/champion.json", "--task", "swingup",
                    "--episodes", "100")
    evaluate = evaluate.replace("docs/figures/data/", "wann-out/")
    (DATA / "quickstart_evaluate.txt").write_text(wrap(
        "$ wann evaluate wann-out/champion.json --task swingup --episodes 100\n" + evaluate))
    # the performance page's measurements
    (DATA / "bench_swingup.json").write_text(wann_script("benchmarks/bench_swingup.py",
                                                         "--json"))
    (DATA / "bench_episode.json").write_text(wann_script("benchmarks/bench_episode.py",
                                                         "--json"))
    (DATA / "bench_search.json").write_text(wann_script(
        "benchmarks/bench_search.py", "--tasks", "swingup", "digits", "--generations", "2",
        "--json"))
    print(f"wrote {', '.join(sorted(p.name for p in DATA.iterdir()))} to {DATA}")


if __name__ == "__main__":
    main()
