"""Write ``docs/results.rst`` from the small result files under ``results/``.

Usage (from the repository root)::

    python experiments/make_results_page.py            # writes docs/results.rst

Reads, when present:

* ``results/swingup/summary.json``: ``wann sweep`` over the seeds of the paper's settings;
* ``results/swingup/baseline/report.json``: the fixed-topology row (``wann report``);
* ``results/swingup/swing-out/tune.json``: ``wann tune --json`` on the reference champion;
* ``results/swingup/swing-out/reference-weights.json``: the reference's own tuned weights;
* ``results/swingup/swing-out/conditions.json`` and ``results/biped/conditions.json``:
  ``experiments/reference_conditions.py`` (a reference champion's four conditions);
* ``results/<task>/classification.json``: ``experiments/classification_table.py``;

Every time shown is one a run recorded itself (``stats.csv``, a report's ``seconds``).

Nothing is recomputed: the docs build only reads these files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wann_plugin.analysis import PAPER_RESULTS
from wann_plugin.sweep import read_stats

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
CONDITIONS = ("random_weights", "random_shared_weight", "tuned_shared_weight", "tuned_weights")
LABELS = ("Random weights", "Random shared weight", "Tuned shared weight", "Tuned weights")


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _cell(c: dict | None, digits: int = 0) -> str:
    if c is None or c.get("mean") is None:
        return "-"
    std = c.get("std")
    return f"{c['mean']:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def _row(label: str, n_connections, conditions: dict) -> list[str]:
    """One table row: label, connections (blank for a summary row), the four conditions."""
    return [label, "" if n_connections is None else str(n_connections)] + [
        _cell(conditions.get(c)) for c in CONDITIONS]


def _reference_row(doc: dict) -> list[str]:
    """The row of ``experiments/reference_conditions.py``'s report."""
    row = doc["rows"][0]
    return _row(f"reference champion {row['label']} (its tuned weights)", row["n_connections"],
                row["conditions"])


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        for j, cell in enumerate(row):
            out.append(("   * - " if j == 0 else "     - ") + (cell or " "))
    return out + [""]


def swingup_section() -> list[str]:
    summary = _load(RESULTS / "swingup" / "summary.json")
    if summary is None:
        return []
    lines = ["Swing-up", "--------", ""]
    n = len(summary["seeds"])
    lines += [
        f"{n} searches with the paper's settings (``examples/swingup/config.cfg``: population "
        "192, 1024 generations), seeds " + ", ".join(str(s["seed"]) for s in summary["seeds"])
        + f". Every champion is judged over {summary['n_episodes']} test episodes (seeds "
        f"0..{summary['n_episodes'] - 1}, never used in the search or the tuning) under the "
        "paper's four conditions; mean ± standard deviation over the episodes, then over the "
        "seeds. The tuned weights come from ``wann tune``'s defaults ("
        + ", ".join(f"{k}={v}" for k, v in summary["settings"].items()
                    if k in ("method", "preset", "pop_size", "generations", "n_repeats"))
        + ").", ""]
    rows = []
    for s in summary["seeds"]:
        best = " (best)" if s["seed"] == summary["best_seed"] else ""
        rows.append(_row(f"seed {s['seed']}{best}", s["n_connections"], s["conditions"]))
    rows.append(_row("mean ± sd over seeds", None, summary["over_seeds"]))
    paper = (summary.get("paper") or {}).get("WANN")
    if paper:
        rows.append(_row("paper (WANN)", None, paper))
    ref_cond = _load(RESULTS / "swingup" / "swing-out" / "conditions.json")
    if ref_cond is not None:
        rows.append(_reference_row(ref_cond))
    base = _load(RESULTS / "swingup" / "baseline" / "report.json")
    if base is not None:
        row = base["rows"][-1]
        rows.append(_row(f"ours: {row['label']}", row["n_connections"], row["conditions"]))
        fixed = (base.get("paper") or {}).get("Fixed topology")
        if fixed:
            rows.append(_row("paper (fixed topology)", None, fixed))
    lines += _table(["Network", "Connections", *LABELS], rows)
    lines += [".. image:: ../results/swingup/learning_curves.png",
              "   :alt: best mean score per generation of each seed, mean and band", ""]
    tune = _load(RESULTS / "swingup" / "swing-out" / "tune.json")
    ref = _load(RESULTS / "swingup" / "swing-out" / "reference-weights.json")
    if tune is not None:
        t = tune["test"]
        lines += [
            "The reference champion ``swing.out`` tuned with ``wann tune``'s defaults (no "
            f"options) scores **{t['mean']:.1f} ± {t['std']:.1f}** over 100 test episodes "
            f"(start: validation {tune['start_validation_score']:.1f}; "
            f"{tune['training_episodes']} training episodes, {tune['seconds']:.0f} s)"
            + ("" if ref is None else
               f"; the reference's own tuned weights score {ref['mean']:.1f} ± {ref['std']:.1f}")
            + ".", ""]
    lines += _times(summary, base)
    return lines


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _times(summary: dict, base: dict | None) -> list[str]:
    """Per-seed search and tuning times as the runs recorded them (``stats.csv``'s seconds
    per generation, the seed report's ``seconds``), and the baseline's."""
    seeds = summary["seeds"]
    search = [(s["seed"], s.get("search_seconds")) for s in seeds]
    tuning = [(s["seed"], s.get("tuning_seconds")) for s in seeds]
    out = []
    if all(t is not None for _, t in search):
        out.append("* searches (wall clock of the generations, as ``stats.csv`` records them): "
                   + ", ".join(f"seed {k} {_minutes(t)}" for k, t in search))
    if all(t is not None for _, t in tuning):
        out.append("* the four conditions per champion, tuning included: "
                   + ", ".join(f"seed {k} {_minutes(t)}" for k, t in tuning))
    if base is not None and base.get("seconds") is not None:
        out.append(f"* the fixed topology's report, its tuning included: "
                   f"{_minutes(base['seconds'])}")
    return (["Times (wall clock on the shared 2-core machine, other jobs running):", "", *out,
             ""]) if out else []


def biped_section() -> list[str]:
    cond = _load(RESULTS / "biped" / "conditions.json")
    if cond is None:
        return []
    paper = (cond.get("paper") or {}).get("WANN")
    if paper is None and "biped" in PAPER_RESULTS:  # a report made before the table knew it
        paper = {c: {"mean": m, "std": sd} for c, (m, sd) in PAPER_RESULTS["biped"]["WANN"].items()}
    rows = [_reference_row(cond)]
    if paper:
        rows.append(_row("paper (WANN)", None, paper))
    return ["BipedalWalker", "-------------", "",
            f"The reference champion under the four conditions, {cond['n_episodes']} test "
            "episodes each (seeds 0..99); the tuned weights are the reference's own "
            f"(weight bias {cond['weight_bias']}), the tuned shared weight comes from a sweep "
            f"with {cond['shared_repeats']} episodes per weight "
            f"(``experiments/reference_conditions.py``, {_minutes(cond['seconds'])}).", "",
            *_table(["Network", "Connections", *LABELS], rows)]


def classification_section() -> list[str]:
    lines = []
    for path in sorted(RESULTS.glob("*/classification.json")):
        doc = _load(path)
        task = doc["task"]
        if not lines:
            lines += ["Classification", "--------------", ""]
        lines += [f"``{task}``: a champion with {doc['n_connections']} connections, "
                  f"{doc['n_train']} training and {doc['n_test']} held-out images "
                  "(accuracy in % on the held-out images).", ""]
        rows = []
        for key, label in (("random_weight", "Random weight"), ("ensemble", "Ensemble weights"),
                           ("tuned_weight", "Tuned weight"),
                           ("trained_weights", "Trained weights")):
            rows.append([label, _cell(doc["rows"][key], 1), _cell(doc["paper"][key], 1)])
        lines += _table(["Condition", "Ours", "Paper (MNIST 16x16)"], rows)
        lines += _classification_times(path.parent, doc)
        lines += [""]
    return lines


def _classification_times(folder: Path, doc: dict) -> list[str]:
    """The search's time as its ``stats.csv`` recorded it, and the table's own times."""
    out = []
    stats = folder / "seed-0" / "stats.csv"
    if stats.is_file():
        seconds = read_stats(stats)["seconds"]
        out.append(f"* search: {len(seconds)} generations in {_minutes(seconds.sum())} (wall "
                   "clock of the generations, ``seed-0/stats.csv``)")
    sec = doc.get("seconds") or {}
    if sec:
        out.append(f"* the conditions {_minutes(sec.get('conditions', 0))}, gradient training "
                   f"{_minutes(sec.get('training', 0))}")
    return out


def main(argv: list[str] | None = None) -> int:
    global RESULTS
    p = argparse.ArgumentParser(description="Write docs/results.rst from results/.")
    p.add_argument("--results", default=str(RESULTS), help="results folder (default results/)")
    p.add_argument("--out", default=str(ROOT / "docs" / "results.rst"), help="page to write")
    args = p.parse_args(argv)
    RESULTS = Path(args.results)
    notes = (RESULTS / "NOTES.rst").read_text() if (RESULTS / "NOTES.rst").is_file() else ""
    lines = [
        "Results: the paper's tables from our own searches",
        "=================================================",
        "",
        ".. This page is generated by experiments/make_results_page.py from results/; "
        "do not edit.",
        "",
        "Every number below comes from the small files under ``results/`` (stats, champions, "
        "reports), written by the commands in ``results/README.md``; the docs build reads "
        "them and reruns nothing.",
        "",
    ]
    lines += swingup_section()
    lines += classification_section()
    lines += biped_section()
    if notes:
        lines += [notes.rstrip(), ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
