"""Two sets of searches (the same config and seeds on two trees): is one search worse?

When a change moves scores by rounding only, long searches can still part ways (two nearly
equal genomes swap places and the runs diverge); this compares what the searches reach. For
each set of ``wann run --out`` folders it prints, over the seeds, the mean and standard
deviation of the best mean score (``stats.csv``'s ``best_mean``) averaged over ranges of
generations, and of the champion's held-out mean score and ensemble accuracy (classification
champions' ``champion.json``, or a ``champion_meta.json`` holding its ``meta``), and the first
generation at which each pair of runs (same seed) differs.

    python experiments/search_quality.py --before B0 B1 ... --after A0 A1 ... [--json]
                                         [--ranges 0 50 100 200 300]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import compare_runs  # noqa: E402


def _best_mean(folder: Path) -> np.ndarray:
    with open(folder / "stats.csv", newline="") as f:
        return np.array([float(r["best_mean"]) for r in csv.DictReader(f)])


def _champion(folder: Path) -> dict:
    path = folder / "champion.json"
    if not path.is_file():  # a results folder keeps only the champion's key and meta
        path = folder / "champion_meta.json"
    summary = json.loads(path.read_text())["meta"].get("summary", {})
    return {"test_mean": float(np.mean(summary["per_weight_test_mean"]))
            if "per_weight_test_mean" in summary else None,
            "ensemble_accuracy": summary.get("ensemble_accuracy")}


def _stat(values: list) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "sd": None}
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1))
            if len(values) > 1 else 0.0}


def summarise(folders: list[Path], edges: list[int]) -> dict:
    curves = [_best_mean(f) for f in folders]
    n = min(len(c) for c in curves)
    bounds = sorted({e for e in edges if 0 <= e < n} | {n})
    ranges = [{"generations": [lo, hi - 1],
               "best_mean": _stat([float(c[lo:hi].mean()) for c in curves])}
              for lo, hi in zip(bounds, bounds[1:])]
    champions = [_champion(f) for f in folders]
    return {"runs": [str(f) for f in folders], "generations": n, "ranges": ranges,
            "final_best_mean": _stat([float(c[n - 1]) for c in curves]),
            "champion_test_mean": _stat([c["test_mean"] for c in champions]),
            "champion_ensemble_accuracy": _stat([c["ensemble_accuracy"] for c in champions])}


def first_differences(before: list[Path], after: list[Path]) -> list:
    """Per pair (same seed), the first generation whose ``stats.csv`` row differs in any
    column but ``seconds`` (``benchmarks/compare_runs.py``), or None."""
    return [compare_runs.compare(b, a, [1])["first_difference"] for b, a in zip(before, after)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, nargs="+", required=True)
    ap.add_argument("--after", type=Path, nargs="+", required=True)
    ap.add_argument("--ranges", type=int, nargs="+", default=[0, 50, 100, 200, 300])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if len(args.before) != len(args.after):
        ap.error(f"{len(args.before)} runs before but {len(args.after)} after (pairs by seed)")
    out = {"before": summarise(args.before, args.ranges),
           "after": summarise(args.after, args.ranges),
           "first_difference": first_differences(args.before, args.after)}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0

    def fmt(s):
        return "-" if s["mean"] is None else f"{s['mean']:.4f} ± {s['sd']:.4f}"

    print(f"{'':28s} {'before':>20s} {'after':>20s}")
    for rb, ra in zip(out["before"]["ranges"], out["after"]["ranges"]):
        lo, hi = rb["generations"]
        print(f"best mean, gen. {lo:>4}-{hi:<6}  {fmt(rb['best_mean']):>20s} "
              f"{fmt(ra['best_mean']):>20s}")
    for key in ("final_best_mean", "champion_test_mean", "champion_ensemble_accuracy"):
        print(f"{key:28s} {fmt(out['before'][key]):>20s} {fmt(out['after'][key]):>20s}")
    print(f"first differing generation per seed: {out['first_difference']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
