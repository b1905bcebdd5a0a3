"""Draw the docs' figures from real networks and cached results (run by ``docs/conf.py``).

Writes into ``docs/_generated/`` (not kept in git):

* ``concept.png``: the WANN search loop (initialise, evaluate over weights, rank, vary);
* ``champion_network.png``, ``champion_shared_weight.png``, ``learning_curve.png`` and
  ``champion.gif``: the quickstart's champion, drawn with :mod:`wann_plugin.plots` and
  :mod:`wann_plugin.render` from ``data/champion.json`` and ``data/stats.csv``;
* ``extra/champion_show.html``: its ``wann show`` page, copied beside the docs' pages;
* ``performance_*.png``: the benchmark figures of the performance page (``data/bench_*.json``).

The search behind ``data/`` runs only in ``regenerate.py``; this script takes about half a
minute. A figure newer than its inputs and this script is kept as it is.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE.parent / "_generated"


def _fresh(target: Path, *inputs: Path) -> bool:
    deps = [Path(__file__), *inputs]
    return target.exists() and all(target.stat().st_mtime >= p.stat().st_mtime for p in deps)


def concept(path: Path) -> None:
    """The four steps of a WANN search as a loop of boxes."""
    fig = Figure(figsize=(8.0, 3.0), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.6)
    ax.set_axis_off()
    steps = [
        ("1  Initialise", "minimal networks:\ninputs wired sparsely\nto the outputs"),
        ("2  Evaluate", "every connection takes\none shared weight w;\nscore at w = -2 ... +2"),
        ("3  Rank", "Pareto fronts: mean\nscore, best-weight score,\nfewer connections"),
        ("4  Vary", "the best breed: insert\na node, add a connection,\nchange an activation"),
    ]
    colors = ["#c6dbef", "#c7e9c0", "#fdd0a2", "#dadaeb"]
    for k, ((title, body), color) in enumerate(zip(steps, colors)):
        x = 0.15 + 2.5 * k
        ax.add_patch(FancyBboxPatch((x, 1.3), 2.1, 2.1, boxstyle="round,pad=0.05",
                                    facecolor=color, edgecolor="#555"))
        ax.text(x + 1.05, 3.0, title, ha="center", va="center", fontsize=11,
                fontweight="bold")
        ax.text(x + 1.05, 2.05, body, ha="center", va="center", fontsize=9)
    for x in (2.3, 4.8, 7.3):
        ax.add_patch(FancyArrowPatch((x, 2.35), (x + 0.3, 2.35), arrowstyle="-|>",
                                     mutation_scale=14, color="#333"))
    ax.add_patch(FancyArrowPatch((8.7, 1.2), (3.7, 1.2), arrowstyle="-|>", mutation_scale=14,
                                 color="#333", connectionstyle="arc3,rad=-0.25"))
    ax.text(6.2, 0.4, "the children are evaluated next generation", ha="center",
            fontsize=9, style="italic")
    fig.savefig(path, dpi=110)


def champion_figures() -> None:
    """Network drawing, shared-weight curve, learning curve and GIF of the cached champion."""
    from wann_plugin.io import load_network
    from wann_plugin.plots import draw_network, plot_shared_weight
    from wann_plugin.render import render
    from wann_plugin.tasks import SwingUpTask
    from wann_plugin.tuning import best_shared_weight

    champion, stats = DATA / "champion.json", DATA / "stats.csv"
    task = SwingUpTask()
    net = load_network(champion, n_inputs=5, n_outputs=1).net
    names = ["x", "x_dot", "cos th", "sin th", "th_dot"]
    target = OUT / "champion_network.png"
    if not _fresh(target, champion):
        draw_network(net, path=target, input_names=names, output_names=["force"],
                     title=f"quickstart champion: {net.n_hidden} hidden nodes, "
                           f"{net.n_connections} connections")
    target = OUT / "champion_shared_weight.png"
    if not _fresh(target, champion) or not _fresh(OUT / "champion.gif", champion):
        best = best_shared_weight(task, net, n_repeats=16)
        plot_shared_weight(best, path=target, title="quickstart champion on swing-up")
        weights = sorted({-1.0, round(float(best.weight), 2)})
        render(task, net, OUT / "champion.gif", weights, every=8, width=320)
    target = OUT / "extra" / "champion_show.html"
    if not _fresh(target, champion):
        from wann_plugin.show import show_page

        target.parent.mkdir(exist_ok=True)
        show_page(task, [net], target, labels=["quickstart champion"], n_episodes=5)
        target.chmod(0o644)
    target = OUT / "learning_curve.png"
    if not _fresh(target, stats):
        with stats.open() as f:
            rows = list(csv.DictReader(f))
        gen = np.array([int(r["generation"]) for r in rows])
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.add_subplot()
        for key, label in (("best_max", "best genome: score at its best weight"),
                           ("best_mean", "best genome: mean over the 6 weights"),
                           ("mean_fitness", "population: mean over the 6 weights")):
            ax.plot(gen, [float(r[key]) for r in rows], label=label)
        ax2 = ax.twinx()
        ax2.plot(gen, [float(r["median_connections"]) for r in rows], ":", color="#777",
                 label="median connections")
        ax2.set_ylabel("median connections")
        ax.set_xlabel("generation")
        ax.set_ylabel("swing-up return (3 episodes)")
        ax.legend(fontsize="small", loc="upper left")
        ax2.legend(fontsize="small", loc="lower right")
        ax.set_title("quickstart search: wann run (population 128, seed 1)")
        fig.savefig(target, dpi=110)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    if not _fresh(OUT / "concept.png"):
        concept(OUT / "concept.png")
    champion_figures()
    performance = HERE / "performance.py"
    if performance.exists():
        sys.path.insert(0, str(HERE))
        import performance as perf  # noqa: PLC0415

        perf.main(OUT)


if __name__ == "__main__":
    main()
