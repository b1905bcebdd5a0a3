"""Two runs of one search side by side: are they the same search, and where did time go?

Reads the ``stats.csv`` of two ``wann run --out`` folders (say, the same config and seed on
two trees, run at the same time, one per core). It checks that every column but ``seconds``
is identical row by row (the same search; else the first row that differs), and prints the
seconds the generations took (``stats.csv``'s wall-clock column) in ranges of generations,
before against after. Generation 0 is left out of the totals: it includes a fresh checkout's
numba compilation.

    python benchmarks/compare_runs.py BEFORE_DIR AFTER_DIR [--ranges 1 50 100 300 600]
                                      [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def _rows(folder: Path) -> list[dict]:
    with open(folder / "stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def compare(before: Path, after: Path, edges: list[int]) -> dict:
    """The comparison as a dict (see the module docstring)."""
    b, a = _rows(before), _rows(after)
    search = [k for k in (b[0] if b else {}) if k != "seconds"]
    differ = [i for i, (rb, ra) in enumerate(zip(b, a))
              if [rb[k] for k in search] != [ra[k] for k in search]]
    same = len(a) == len(b) and not differ
    sb = [float(r["seconds"]) for r in b]
    sa = [float(r["seconds"]) for r in a]
    n = min(len(sa), len(sb))
    bounds = sorted({e for e in edges if 0 < e < n} | {1, n})
    ranges = []
    for lo, hi in zip(bounds, bounds[1:]):
        x, y = sum(sb[lo:hi]), sum(sa[lo:hi])
        ranges.append({"generations": [lo, hi - 1], "before_s": round(x, 3),
                       "after_s": round(y, 3), "ratio": round(y / x, 4) if x else None})
    total_b, total_a = sum(sb[1:n]), sum(sa[1:n])
    return {"before": str(before), "after": str(after), "generations": n,
            "same_search": same, "first_difference": differ[0] if differ else None,
            "columns_compared": search, "ranges": ranges,
            "total": {"generations": [1, n - 1], "before_s": round(total_b, 3),
                      "after_s": round(total_a, 3),
                      "ratio": round(total_a / total_b, 4) if total_b else None}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--ranges", type=int, nargs="+", default=[1, 50, 100, 300, 600],
                    help="first generation of each range (default 1 50 100 300 600)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    for folder in (args.before, args.after):
        if not (folder / "stats.csv").is_file():
            ap.error(f"{folder} has no stats.csv (a `wann run --out` folder is needed)")
    out = compare(args.before, args.after, args.ranges)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"same search (every column but seconds): {out['same_search']}"
          + ("" if out["first_difference"] is None
             else f" (first differing row: generation {out['first_difference']})"))
    print(f"{'generations':>14} {'before s':>10} {'after s':>10} {'ratio':>7}")
    for r in [*out["ranges"], out["total"]]:
        lo, hi = r["generations"]
        print(f"{lo:>6}-{hi:<7} {r['before_s']:>10.1f} {r['after_s']:>10.1f} "
              f"{r['ratio'] if r['ratio'] is not None else '-':>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
