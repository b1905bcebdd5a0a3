"""Many seeds as one experiment: one search per seed, then a summary over the seeds.

Search quality varies a lot with the seed, so a result worth reporting is the spread over
several runs and the best of them (the paper's tables are best runs). :func:`run_sweep` runs
one :func:`~wann_plugin.runner.run_search` per seed into ``OUT/seed-S``: in turn, each
search's batches on an executor (``--workers``/``--scheduler`` as ``wann run``), or whole
searches side by side on the executor's workers (``parallel_seeds=True``). It is resumable:
a seed whose folder holds ``champion.json`` is done, one with checkpoints continues from the
newest, the others start fresh.

:func:`summarize_sweep` then judges every seed's champion under the paper's four conditions
(:func:`~wann_plugin.analysis.four_condition_report`, kept in ``OUT/seed-S/report.json`` so a
second summary reuses it), and writes ``OUT/summary.md``, ``OUT/summary.json`` (per seed, the
mean and spread over seeds, the best seed) and ``OUT/learning_curves.png`` (each seed's best
mean score per generation, their mean and the min-max band).
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from wann_plugin.analysis import CONDITION_LABELS, CONDITIONS, four_condition_report
from wann_plugin.io import atomic_write_text, load_network
from wann_plugin.tasks.base import Task
from wann_plugin.tuning.registry import get_tuning_method
from wann_plugin.tuning.tune import resolve_settings

__all__ = ["SeedSummary", "SweepSummary", "parse_seeds", "plot_learning_curves",
           "read_stats", "run_sweep", "seed_folder", "summarize_sweep"]

_SEEDS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,2,7-8"`` -> ``[0, 2, 7, 8]`` (order kept, no
    repeats).

    Examples
    --------
    >>> parse_seeds("0-2,5")
    [0, 1, 2, 5]
    """
    seeds: list[int] = []
    for part in str(text).split(","):
        m = _SEEDS.match(part)
        if not m:
            raise ValueError(f"seeds == {text!r}: expected comma-separated seeds or ranges, "
                             "e.g. 0-4 or 0,2,7-9")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"seeds == {text!r}: range {lo}-{hi} runs backwards")
        seeds += [s for s in range(lo, hi + 1) if s not in seeds]
    return seeds


def seed_folder(out_dir: str | Path, seed: int) -> Path:
    """``OUT/seed-S``: where the search of ``seed`` writes."""
    return Path(out_dir) / f"seed-{int(seed)}"


# ----------------------------------------------------------------------------- searches
def _search_job(config_path: str, seed: int, folder: str, generations: int | None,
                champion_episodes: int, checkpoint_every: int | None, log: bool) -> str:
    """One seed's search (resuming when the folder has checkpoints); runs on a worker too."""
    from wann_plugin.checkpoint import list_checkpoints
    from wann_plugin.config import load_config
    from wann_plugin.runner import run_search

    out = Path(folder)
    resume = out if list_checkpoints(out) else None
    config = load_config(config_path)
    stream = open(out.parent / f"seed-{seed}.log", "a") if log else None  # noqa: SIM115
    try:
        run_search(config, generations, out_dir=out, seed=seed, stream=stream,
                   champion_episodes=champion_episodes, checkpoint_every=checkpoint_every,
                   resume=resume)
    finally:
        if stream is not None:
            stream.close()
    return str(out)


def run_sweep(
    config_path: str | Path,
    seeds: Sequence[int],
    out_dir: str | Path,
    *,
    generations: int | None = None,
    executor: Executor | None = None,
    parallel_seeds: bool = False,
    champion_episodes: int = 16,
    checkpoint_every: int | None = 64,
    stream: TextIO | None = sys.stdout,
    threads: int = 1,
) -> dict[int, str]:
    """Run one search per seed into ``out_dir/seed-S``, skipping finished seeds.

    Parameters
    ----------
    config_path : path-like
        The search's config file (``[NEAT] seed`` is replaced by each seed).
    seeds : sequence of int
    out_dir : path-like
    generations : int, optional
        Default: ``[WannRun] generations``.
    executor : Executor, optional
        Without ``parallel_seeds``: where each search's batches run (as ``wann run``).
        With it: whole searches are submitted to it, one per seed (each evaluating
        in-process on its worker; progress goes to ``out_dir/seed-S.log``).
    parallel_seeds : bool, default=False
    champion_episodes : int, default=16
    checkpoint_every : int or None, default=64
        Checkpoints of each search (what a rerun resumes from).
    stream : file or None
        Progress lines.
    threads : int, default=1
        Without ``executor``: score each search in-process on this many threads
        (``WannEvaluator(threads=N)``, the same searches).

    Returns
    -------
    dict of int to str
        Per seed: ``"done"`` (already finished), ``"resumed"`` or ``"ran"``.
    """
    from wann_plugin.checkpoint import list_checkpoints
    from wann_plugin.config import load_config, make_evaluator
    from wann_plugin.runner import run_search

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    status: dict[int, str] = {}
    todo = []
    for seed in seeds:
        folder = seed_folder(out_dir, seed)
        if (folder / "champion.json").is_file():
            status[seed] = "done"
        else:
            status[seed] = "resumed" if list_checkpoints(folder) else "ran"
            folder.mkdir(parents=True, exist_ok=True)
            todo.append(seed)
    _say(stream, f"wann sweep: {len(seeds)} seeds into {out_dir}: "
         + ", ".join(f"{s} {status[s]}" for s in seeds))
    if parallel_seeds and executor is not None:
        futures = {seed: executor.submit(_search_job, str(config_path), seed,
                                         str(seed_folder(out_dir, seed)), generations,
                                         champion_episodes, checkpoint_every, True)
                   for seed in todo}
        for seed, fut in futures.items():
            fut.result()
            _say(stream, f"seed {seed}: finished ({seed_folder(out_dir, seed)})")
        return status
    for seed in todo:
        folder = seed_folder(out_dir, seed)
        t0 = time.perf_counter()
        config = load_config(config_path)
        evaluator = (make_evaluator(config, executor=executor) if executor is not None else
                     make_evaluator(config, threads=threads) if threads > 1 else None)
        try:
            run_search(config, generations, out_dir=folder, seed=seed, evaluator=evaluator,
                       stream=stream, champion_episodes=champion_episodes,
                       checkpoint_every=checkpoint_every,
                       resume=folder if list_checkpoints(folder) else None)
        finally:
            if evaluator is not None:
                evaluator.close()  # its threads; an executor given to it stays open
        _say(stream, f"seed {seed}: finished in {time.perf_counter() - t0:.0f} s ({folder})")
    return status


def _say(stream: TextIO | None, text: str) -> None:
    if stream is not None:
        print(text, file=stream, flush=True)


# ----------------------------------------------------------------------------- summary
def read_stats(path: str | Path) -> dict[str, np.ndarray]:
    """A run's ``stats.csv`` as arrays by column."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no generations recorded")
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


@dataclass(frozen=True)
class SeedSummary:
    """One seed: its champion and the four conditions (mean, std over the test episodes)."""

    seed: int
    n_connections: int
    n_hidden: int
    generations: int
    final_best_mean: float
    best_shared_weight: float
    conditions: dict
    tuning_seconds: float | None = None
    search_seconds: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SweepSummary:
    """Every seed of a sweep, the mean and spread over seeds, and the best seed.

    Attributes
    ----------
    task : str
    seeds : tuple of SeedSummary
    best_seed : int
        The seed whose champion scores best with its tuned shared weight (the WANN's own
        quality: one weight for every connection).
    n_episodes : int
        Test episodes per condition (seeds ``0 .. n_episodes - 1``).
    settings : dict
        How each champion was tuned.
    paper : dict or None
        The paper's rows for the task.
    """

    task: str
    seeds: tuple
    best_seed: int
    n_episodes: int
    settings: dict = field(default_factory=dict)
    paper: dict | None = None

    def over_seeds(self) -> dict[str, dict[str, float]]:
        """Per condition: ``mean``, ``std``, ``min``, ``max`` of the seeds' mean scores."""
        out = {}
        for c in CONDITIONS:
            vals = np.array([s.conditions[c]["mean"] for s in self.seeds if c in s.conditions])
            if vals.size:
                out[c] = {"mean": float(vals.mean()), "std": float(vals.std()),
                          "min": float(vals.min()), "max": float(vals.max())}
        return out

    def to_dict(self) -> dict:
        """JSON-ready form (``summary.json``)."""
        return {"task": self.task, "n_episodes": self.n_episodes, "best_seed": self.best_seed,
                "settings": self.settings, "seeds": [s.to_dict() for s in self.seeds],
                "over_seeds": self.over_seeds(), "paper": self.paper}

    def to_markdown(self) -> str:
        """The table: one row per seed, mean +- spread over seeds, the best seed, the paper."""
        head = ["Seed", "Connections", "Search best mean"] + [CONDITION_LABELS[c]
                                                              for c in CONDITIONS]
        lines = [f"## {self.task}: {len(self.seeds)} seeds", "",
                 f"Each cell: mean +- standard deviation over {self.n_episodes} test episodes "
                 f"(seeds 0..{self.n_episodes - 1}); the 'over seeds' row is the mean +- "
                 "standard deviation of the seeds' means.", "",
                 "| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
        for s in self.seeds:
            mark = " (best)" if s.seed == self.best_seed else ""
            cells = [f"{s.seed}{mark}", str(s.n_connections), f"{s.final_best_mean:.1f}"]
            cells += [_cell(s.conditions.get(c)) for c in CONDITIONS]
            lines.append("| " + " | ".join(cells) + " |")
        agg = self.over_seeds()
        lines.append("| over seeds | | | " + " | ".join(
            _cell(agg.get(c)) for c in CONDITIONS) + " |")
        for label, row in (self.paper or {}).items():
            if label != "WANN":
                continue
            lines.append("| paper (best run) | | | " + " | ".join(
                f"{row[c]['mean']:g}" + ("" if row[c]["std"] is None else
                                          f" +- {row[c]['std']:g}")
                for c in CONDITIONS) + " |")
        lines.append("")
        if self.settings:
            lines.append("Tuning: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()))
        return "\n".join(lines) + "\n"


def _cell(c: dict | None) -> str:
    if c is None:
        return "-"
    return f"{c['mean']:.1f} +- {c['std']:.1f}" if abs(c["mean"]) < 100 else \
        f"{c['mean']:.0f} +- {c['std']:.0f}"


def summarize_sweep(
    out_dir: str | Path,
    seeds: Sequence[int],
    task: Task,
    *,
    n_episodes: int = 100,
    tune_seed: int = 0,
    report_options: dict | None = None,
    stream: TextIO | None = sys.stdout,
    plot: bool = True,
    threads: int = 1,
) -> SweepSummary:
    """Judge each seed's champion under the four conditions and write the summary files.

    Parameters
    ----------
    out_dir : path-like
        The sweep folder (``seed-S/champion.json`` and ``seed-S/stats.csv`` per seed).
    seeds : sequence of int
    task : Task
    n_episodes : int, default=100
        Test episodes per condition.
    tune_seed : int, default=0
        Seed of the tuning and of the random conditions.
    report_options : dict, optional
        Keywords for :func:`~wann_plugin.analysis.four_condition_report` (``method``,
        ``preset``, ``options``, ``generations``, ...). No baseline row is built per seed.
    stream : file or None
    plot : bool, default=True
        Write ``learning_curves.png``.
    threads : int, default=1
        Tune on this many threads (``tune_weights(threads=N)``: the same results, so a
        seed's kept report still counts).

    Returns
    -------
    SweepSummary
        Also written to ``summary.json`` and ``summary.md``; each seed's report is kept in
        ``seed-S/report.json`` and reused when its settings match.
    """
    out_dir = Path(out_dir)
    opts = dict(report_options or {})
    key = json.dumps({"n_episodes": n_episodes, "tune_seed": tune_seed, **opts,
                      "resolved": _resolved_tuning(opts)}, sort_keys=True, default=str)
    rows = []
    for seed in seeds:
        folder = seed_folder(out_dir, seed)
        if not (folder / "champion.json").is_file():
            raise FileNotFoundError(f"{folder}/champion.json: seed {seed} has no champion yet "
                                    "(run the sweep first)")
        stats = read_stats(folder / "stats.csv")
        cached = folder / "report.json"
        doc = json.loads(cached.read_text()) if cached.is_file() else None
        if doc is None or doc.get("sweep_key") != key:
            net = load_network(folder / "champion.json", n_inputs=task.n_inputs,
                               n_outputs=task.n_outputs).net
            _say(stream, f"seed {seed}: four conditions of its champion ({net.n_connections} "
                         "connections)")
            t0 = time.perf_counter()
            run_opts = dict(opts)
            if threads > 1:
                run_opts["tune_options"] = {**(opts.get("tune_options") or {}),
                                            "threads": threads}
            report = four_condition_report(task, net, rng=np.random.default_rng(tune_seed),
                                           label=f"seed {seed}", n_episodes=n_episodes,
                                           baseline=False, **run_opts)
            doc = {**report.to_dict(), "sweep_key": key,
                   "seconds": round(time.perf_counter() - t0, 3)}
            atomic_write_text(cached, json.dumps(doc, indent=1) + "\n")
        row = doc["rows"][0]
        rows.append(SeedSummary(
            seed=int(seed), n_connections=row["n_connections"], n_hidden=row["n_hidden"],
            generations=int(stats["generation"][-1]) + 1,
            final_best_mean=float(stats["best_mean"][-1]),
            best_shared_weight=row["best_shared_weight"],
            conditions={c: {"mean": v["mean"], "std": v["std"]}
                        for c, v in row["conditions"].items()},
            tuning_seconds=doc.get("seconds"),
            search_seconds=(round(float(stats["seconds"].sum()), 1) if "seconds" in stats
                            else None)))
    best = max(rows, key=lambda s: s.conditions["tuned_shared_weight"]["mean"]).seed
    first = json.loads((seed_folder(out_dir, seeds[0]) / "report.json").read_text())
    summary = SweepSummary(task=task.name, seeds=tuple(rows), best_seed=best,
                           n_episodes=n_episodes, settings=first.get("settings", {}),
                           paper=first.get("paper"))
    atomic_write_text(out_dir / "summary.json", json.dumps(summary.to_dict(), indent=1) + "\n")
    atomic_write_text(out_dir / "summary.md", summary.to_markdown())
    if plot:
        plot_learning_curves({s: read_stats(seed_folder(out_dir, s) / "stats.csv")
                              for s in seeds}, path=out_dir / "learning_curves.png",
                             title=f"{task.name}: best mean score per generation")
    _say(stream, summary.to_markdown())
    return summary


def _resolved_tuning(opts: dict) -> dict:
    """The tuning settings a report with ``opts`` would use, defaults included, so a cached
    report made under other defaults is not taken for a current one."""
    method = opts.get("method", "cma")
    method_opts, loop = resolve_settings(method, opts.get("preset", "default"),
                                         opts.get("options"), generations=opts.get("generations"),
                                         n_repeats=opts.get("n_repeats"))
    # "starts": reports made before 2026-11-30 tuned from the best shared weight alone
    # (a raced start was ignored); the marker keeps their cached reports from being reused
    return {"method": get_tuning_method(method).name, "options": method_opts, "loop": loop,
            "starts": "raced"}


def plot_learning_curves(stats: dict[int, dict[str, np.ndarray]], *, path: str | Path | None = None,
                         column: str = "best_mean", title: str | None = None) -> Any:
    """Each seed's ``column`` per generation, their mean and the min-max band.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    n = min(len(s[column]) for s in stats.values())
    curves = np.array([s[column][:n] for s in stats.values()])
    gens = next(iter(stats.values()))["generation"][:n]
    for seed, curve in zip(stats, curves):
        ax.plot(gens, curve, lw=0.7, alpha=0.6, label=f"seed {seed}")
    ax.fill_between(gens, curves.min(axis=0), curves.max(axis=0), color="0.6", alpha=0.25,
                    label="min-max over seeds")
    ax.plot(gens, curves.mean(axis=0), color="k", lw=1.8, label="mean over seeds")
    ax.set_xlabel("generation")
    ax.set_ylabel(column.replace("_", " "))
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
