"""The fixed-topology row of the swing-up table: a fully connected network tuned like a WANN.

Usage::

    python experiments/swingup_baseline.py --generations 1000 --out results/swingup/baseline

One hidden layer of 10 tanh nodes (71 connections, the paper's comparison), judged under the
four conditions over 100 test episodes; its weights are tuned with ``wann tune``'s default
method (CMA-ES, 64 samples x 16 episodes, ``sigma="auto"``) from weights drawn from
N(0, 0.5^2), for ``--generations`` generations.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wann_plugin.analysis import fixed_topology_network, four_condition_report
from wann_plugin.tasks import make_task


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--generations", type=int, default=1000)
    p.add_argument("--hidden", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/swingup/baseline")
    args = p.parse_args(argv)
    task = make_task("swingup")
    net = fixed_topology_network(task.n_inputs, task.n_outputs, n_hidden=args.hidden)
    t0 = time.perf_counter()
    report = four_condition_report(
        task, net, rng=np.random.default_rng(args.seed), baseline=False, start="random",
        label=f"Fixed topology ({args.hidden} tanh)", generations=args.generations,
        callback=lambda label, rec: print(
            f"gen {rec.generation} validation {rec.validation:.1f}", flush=True)
        if rec.generation % 50 == 0 else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {**report.to_dict(), "seconds": round(time.perf_counter() - t0, 1),
           "command": "python experiments/swingup_baseline.py "
                      f"--generations {args.generations} --hidden {args.hidden} "
                      f"--seed {args.seed}"}
    (out / "report.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "report.md").write_text(report.to_markdown())
    print(report.to_markdown())


if __name__ == "__main__":
    main()
