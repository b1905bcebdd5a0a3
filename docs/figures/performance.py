"""The performance page's figures, from the benchmarks' JSON kept in ``data/``.

``data/bench_swingup.json`` is ``benchmarks/bench_swingup.py --json``,
``data/bench_episode.json`` ``benchmarks/bench_episode.py --json`` and
``data/bench_search.json`` ``benchmarks/bench_search.py --tasks swingup digits
--generations 2 --json``; ``regenerate.py`` re-measures them. ``build.py`` calls :func:`main`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

DATA = Path(__file__).resolve().parent / "data"


def _fig(size=(6.4, 3.4)):
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def size_and_population(swing: dict, out: Path) -> None:
    fig = Figure(figsize=(8.0, 3.4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    rows = swing["by_connections"]
    conns = [r["mean_connections"] for r in rows]
    ax.plot(conns, [r["ns_per_step"] for r in rows], "o-")
    ax.set_xlabel("connections per network (bin mean)")
    ax.set_ylabel("ns per episode step")
    ax.set_title("cost grows with network size")
    ax.set_ylim(0, None)
    pops = swing["by_population_size"]
    ax2.plot([p["n_nets"] for p in pops], [p["seconds"] for p in pops], "o-")
    ax2.set_xlabel("networks per generation")
    ax2.set_ylabel("seconds per generation")
    ax2.set_title("6 weights x 3 episodes each")
    ax2.set_xlim(0, None)
    ax2.set_ylim(0, None)
    fig.savefig(out, dpi=110)


PARTS = (("evaluation", "evaluation (episodes, forward passes)"),
         ("compile", "compile genomes, write back"),
         ("reproduction", "reproduction (copy, mutate)"),
         ("ranking", "Pareto ranking"),
         ("bookkeeping", "speciation, reports, snapshot"))


def parts(search: dict, out: Path) -> None:
    """Each task's seconds per generation (CPU), split into parts, as bars of shares."""
    rows = search["rows"]
    fig, ax = _fig((7.2, 1.6 + 0.5 * len(rows)))
    names = [f"{r['task']} (pop {r['pop_size']}): {r['seconds_per_generation']:.2f} s"
             for r in rows]
    left = np.zeros(len(rows))
    for key, label in PARTS:
        share = np.array([100 * max(r["parts"][key], 0.0) / r["seconds_per_generation"]
                          for r in rows])
        ax.barh(names, share, left=left, label=label)
        left += share
    ax.invert_yaxis()
    ax.set_xlabel("share of a generation's CPU time (%)")
    ax.set_xlim(0, 100)
    fig.legend(fontsize="x-small", loc="outside lower center", ncol=3)
    fig.savefig(out, dpi=110)


def episode(e: dict, out: Path) -> None:
    labels = ["wann_plugin engine", "reference code (reported)", "neat-python\nFeedForwardNetwork",
              "wann_plugin numpy path\n(one row per call)"]
    vals = [e["engine_ms"], e["reference_ms"], e["neat_python_ms"], e["numpy_ms"]]
    fig, ax = _fig((6.4, 2.8))
    colors = ["#1f77b4", "#aec7e8", "#ff7f0e", "#7f7f7f"]
    bars = ax.barh(labels[::-1], vals[::-1], color=colors[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale)")
    ax.set_title(f"one 1000-step swing-up episode, swing.out ({e['network_nodes']} nodes)")
    for bar, v in zip(bars, vals[::-1]):
        ax.text(v * 1.1, bar.get_y() + bar.get_height() / 2, f"{v:.3g} ms", va="center",
                fontsize="small")
    ax.set_xlim(0.1, max(vals) * 8)
    fig.savefig(out, dpi=110)


def numbers(swing: dict, e: dict, search: dict, out: Path) -> None:
    """The key figures as a reST table (included by ``performance.rst``)."""
    items = [
        ("one swing-up episode, swing.out, engine", f"{e['engine_ms']:.2f} ms"),
        ("the same, reference code (reported)", f"about {e['reference_ms']:.0f} ms"),
        ("the same, neat-python FeedForwardNetwork", f"{e['neat_python_ms']:.0f} ms"),
        ("the same, our numpy path one row at a time", f"{e['numpy_ms']:.0f} ms"),
        ("engine: env steps per second (192 networks)", f"{swing['steps_per_s']:,.0f}"),
        ("engine vs neat-python (steps per second)", f"{swing['ratio_vs_neat_python']:.0f}x"),
        ("engine with exact_math=True: steps per second",
         f"{swing['exact_math_steps_per_s']:,.0f} ({swing['ratio_vs_exact_math']:.1f}x fewer)"),
    ]
    for r in search["rows"]:
        items.append((f"{r['task']}, population {r['pop_size']}, early generation (CPU)",
                      f"{r['seconds_per_generation']:.2f} s, "
                      f"{r['mean_connections']:.0f} connections/net"))
    width = max(len(a) for a, _ in items)
    vwidth = max(len(b) for _, b in items)
    rule = "=" * width + "  " + "=" * vwidth
    lines = [rule, f"{'measure':<{width}}  value", rule]
    lines += [f"{a:<{width}}  {b}" for a, b in items]
    lines.append(rule)
    out.write_text("\n".join(lines) + "\n")


RESULTS = Path(__file__).resolve().parents[2] / "results" / "bench_search"


def _list_table(head: list[str], rows: list[list[str]]) -> str:
    """An rst ``list-table`` with a header row."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [head, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def search_rounds(out: Path, name: str = "round2") -> None:
    """A before/after table of one round of whole-run work (``results/bench_search/
    {name}_*.json``: early = the generations after one warm-up generation, late = after
    200)."""
    rows = []
    for when in ("early", "late"):
        run = json.loads((RESULTS / f"{name}_{when}_before.json").read_text())
        before = run["rows"]
        label = f"gen. {run['warmup'] + 1}-{run['warmup'] + run['generations']}"
        after = {r["task"]: r for r in
                 json.loads((RESULTS / f"{name}_{when}_after.json").read_text())["rows"]}
        for b in before:
            for tag, r in (("before", b), ("after", after[b["task"]])):
                p, total = r["parts"], r["seconds_per_generation"]
                rows.append([f"{r['task']} ({r['pop_size']}), {label}, {tag}",
                             f"{r['mean_connections']:.0f}", f"{total:.3f}",
                             f"{p['evaluation']:.3f}", f"{p['compile']:.3f}",
                             f"{p['reproduction']:.3f}", f"{p['ranking']:.4f}",
                             f"{p['bookkeeping']:.4f}",
                             f"{100 * (1 - p['evaluation'] / total):.1f} %"])
    head = ["task (population), generations, tree", "connections / net", "s / generation",
            "evaluation", "compile", "reproduction", "ranking", "bookkeeping",
            "outside evaluation"]
    out.write_text(_list_table(head, rows))


def threads_table(out: Path) -> None:
    """Late generations on one thread and on N, every run of ``bench_search.py --threads N``
    kept as ``results/bench_search/threads_late_run*.json`` (wall seconds on the threaded
    side; the whole generation, whose split into parts the first run got wrong)."""
    rows = []
    for k, path in enumerate(sorted(RESULTS.glob("threads_late_run*.json")), start=1):
        for r in json.loads(path.read_text())["rows"]:
            t = r["on_threads"]
            one, many = r["seconds_per_generation"], t["row"]["seconds_per_generation"]
            rows.append([f"{r['task']} ({r['pop_size']}), run {k}", f"{one:.3f}",
                         f"{many:.3f} on {t['n']}", f"{t['speedup']:.2f}",
                         f"{r['projected_seconds'] / 60:.0f} / "
                         f"{t['projected_seconds'] / 60:.0f} min"])
    head = ["task (population), run", "s / generation, 1 thread", "s / generation, N threads",
            "speed-up", "paper's run (1 / N threads)"]
    out.write_text(_list_table(head, rows))


def steps_table(out: Path, name: str = "round7") -> None:
    """Late generations step by step: ``bench_search.py --detail`` runs kept as
    ``results/bench_search/{name}_late_detail_*.json`` (the parts of the untimed run, then
    each timed step's milliseconds a generation, calls a generation and microseconds a
    call)."""
    runs = [json.loads(path.read_text())["rows"][0]
            for path in sorted(RESULTS.glob(f"{name}_late_detail_*.json"))]
    head = ["step"] + [f"{r['task']} ({r['pop_size']}): ms / gen., calls, us / call"
                       for r in runs]
    rows = [["whole generation"] + [f"{1e3 * r['seconds_per_generation']:.1f}" for r in runs]]
    for part in ("evaluation", "compile", "reproduction", "ranking", "bookkeeping"):
        rows.append([f"part: {part}"] + [f"{1e3 * r['parts'][part]:.1f}" for r in runs])
    rows.append(["outside evaluation"] + [
        f"{1e3 * (r['seconds_per_generation'] - r['parts']['evaluation']):.1f} "
        f"({100 * (1 - r['parts']['evaluation'] / r['seconds_per_generation']):.1f} %)"
        for r in runs])
    for label in runs[0]["detail"]["steps"]:
        cells = []
        for r in runs:
            v = r["detail"]["steps"][label]
            cells.append(f"{v['ms_per_generation']:.1f}, {v['calls_per_generation']:.0f}, "
                         f"{v['us_per_call']:.1f}")
        rows.append([f"step: {label}"] + cells)
    out.write_text(_list_table(head, rows))


def merge_table(out: Path) -> None:
    """The classification pass on a real generation with equal nodes merged or not
    (``results/bench_search/round8_classify_merge.json``, ``bench_classify_merge.py``)."""
    run = json.loads((RESULTS / "round8_classify_merge.json").read_text())
    head = ["task, generation", "networks", "computed nodes", "distinct nodes",
            "network outputs", "distinct outputs", "merged", "plain", "ratio", "same scores"]
    rows = [[f"{r['task']}, {r['generation']}", str(r["networks"]), str(r["computed_nodes"]),
             str(r["distinct_nodes"]), str(r["network_outputs"]), str(r["distinct_outputs"]),
             f"{1e3 * r['merged_seconds']:.1f} ms", f"{1e3 * r['plain_seconds']:.1f} ms",
             f"{r['speedup']:.1f}x", "yes" if r["same_scores"] else "no"]
            for r in run["rows"]]
    out.write_text(_list_table(head, rows))


def floor_table(out: Path) -> None:
    """The least a generation can spend outside evaluation in this shape
    (``results/bench_search/floor_*.json``, ``benchmarks/bench_outside_floor.py``): per task,
    milliseconds a generation of the evaluation, the whole generation, DEAP's sort, the
    genome objects and neat-python's loop, and the floor's share."""
    head = ["task (population), generations", "evaluation (ms)", "whole generation (ms)",
            "outside now (ms)", "DEAP's sort (ms)", "genome objects: bare / copies (ms)",
            "neat-python loop (ms)", "floor with bare objects (ms)", "floor with copies (ms)"]
    rows = []
    for path in sorted(RESULTS.glob("floor_*.json")):
        run = json.loads(path.read_text())
        for r in run["rows"]:
            ev, whole = r["evaluation"], r["whole"]
            bare = r["deap sort"] + r["bare objects"] + r["neat loop"]
            copies = r["deap sort"] + r["children"] + r["neat loop"]
            first = r["warmup"] + 1
            rows.append([
                f"{r['task']} ({r['pop_size']}), {first}-{first + r['generations'] - 1}",
                f"{1e3 * ev:.1f}", f"{1e3 * whole:.1f}",
                f"{1e3 * (whole - ev):.1f} ({100 * (whole - ev) / whole:.0f} %)",
                f"{1e3 * r['deap sort']:.2f}",
                f"{1e3 * r['bare objects']:.2f} / {1e3 * r['children']:.2f}",
                f"{1e3 * r['neat loop']:.2f}",
                f"{1e3 * bare:.2f} ({100 * bare / (bare + ev):.1f} %)",
                f"{1e3 * copies:.2f} ({100 * copies / (copies + ev):.1f} %)"])
    out.write_text(_list_table(head, rows))


WHOLE_RUNS = Path(__file__).resolve().parents[2] / "results" / "whole_runs"

#: What the issue (10) measured before the work, for the runs that have a counterpart:
#: (CPU seconds, peak MB, note).
_BEFORE = {
    "digits960": (3087, 848, "the reference code: 25.5 min"),
    "mnist-1024": (18.25 * 1024, 1460, "generations 0-3 at 18.25 s, times 1024"),
    "mnist-whole": (18.25 * 4096, 1460, "generations 0-3 at 18.25 s, times 4096"),
    "mnist-whole-r8": (2020.40 + 4.13, 492, "main at 7c6c220 on the same machine: "
                       "mnist-whole-r8-before"),
}


def _time_report(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        values[key] = value
    h_m_s = [float(x) for x in values["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
    wall = sum(v * 60 ** i for i, v in enumerate(reversed(h_m_s)))
    return {"cpu": float(values["User time (seconds)"]) + float(values["System time (seconds)"]),
            "wall": wall, "peak_mb": int(values["Maximum resident set size (kbytes)"]) / 1024}


def whole_runs(out: Path) -> None:
    """The table of whole runs timed by ``/usr/bin/time -v`` (``results/whole_runs/``)."""
    rows = []
    for path in sorted(WHOLE_RUNS.glob("*.time.txt")):
        name = path.name[: -len(".time.txt")]
        r = _time_report(path)
        before = _BEFORE.get(name)
        rows.append([name, f"{r['cpu'] / 60:.1f} min", f"{r['wall'] / 60:.1f} min",
                     f"{r['peak_mb']:.0f} MB",
                     "-" if before is None else
                     f"{before[0] / 60:.0f} min CPU, {before[1]} MB ({before[2]})"])
    head = ["run (results/whole_runs/NAME.time.txt)", "CPU time", "wall clock", "peak memory",
            "before (issue 10)"]
    out.write_text(_list_table(head, rows))


def main(out_dir: Path) -> None:
    swing = json.loads((DATA / "bench_swingup.json").read_text())
    one = json.loads((DATA / "bench_episode.json").read_text())
    search = json.loads((DATA / "bench_search.json").read_text())
    size_and_population(swing, out_dir / "performance_size.png")
    parts(search, out_dir / "performance_parts.png")
    episode(one, out_dir / "performance_episode.png")
    numbers(swing, one, search, out_dir / "performance_numbers.rst")
    search_rounds(out_dir / "performance_search_round2.rst", "round2")
    search_rounds(out_dir / "performance_search_round3.rst", "round3")
    search_rounds(out_dir / "performance_search_round4.rst", "round4")
    search_rounds(out_dir / "performance_search_round5.rst", "round5")
    search_rounds(out_dir / "performance_search_round6.rst", "round6")
    search_rounds(out_dir / "performance_search_round8.rst", "round8")
    merge_table(out_dir / "performance_merge.rst")
    threads_table(out_dir / "performance_threads.rst")
    steps_table(out_dir / "performance_steps.rst")
    steps_table(out_dir / "performance_steps_round8.rst", "round8")
    floor_table(out_dir / "performance_floor.rst")
    whole_runs(out_dir / "performance_whole_runs.rst")
