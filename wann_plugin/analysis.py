"""The paper's four-condition table, a fixed-topology baseline, and weight ensembles.

Gaier & Ha (2019), Table 1, judge every network under four conditions, each over 100 test
episodes (mean +- standard deviation):

``random_weights``
    every connection gets its own weight from U(-2, 2), a fresh draw per episode;
``random_shared_weight``
    one weight from U(-2, 2) for every connection, a fresh draw per episode;
``tuned_shared_weight``
    the best single shared weight (:func:`~wann_plugin.tuning.best_shared_weight`);
``tuned_weights``
    individually tuned weights (:func:`~wann_plugin.tuning.tune_weights`).

and set the WANN against a fixed-topology network (fully connected, one hidden layer) judged
and tuned the same way. :func:`four_condition_report` produces that table for any network and
task; :class:`Report` renders it as Markdown and JSON.

Test episodes are ``seed + i`` for ``i < n_episodes`` (seeds 0..99 by default, the reference's
``model.py`` test episodes); tuning and the shared-weight search use seeds drawn from ``rng``
(``>= 10**6`` for validation), so the test episodes are never trained on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wann_plugin.activations import activation_by_name
from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task
from wann_plugin.tasks.classify import argmax_accuracy, ensemble_proba
from wann_plugin.tuning import (
    GenerationRecord,
    SharedWeightResult,
    TuningResult,
    best_shared_weight,
    tune_weights,
)
from wann_plugin.validation import Key, validate_params

__all__ = [
    "CONDITIONS",
    "CONDITION_LABELS",
    "PAPER_RESULTS",
    "ConditionScores",
    "NetworkReport",
    "Report",
    "ensemble_accuracy",
    "ensemble_predict",
    "evaluate_conditions",
    "fixed_topology_network",
    "four_condition_report",
]

CONDITIONS = ("random_weights", "random_shared_weight", "tuned_shared_weight", "tuned_weights")
CONDITION_LABELS = {
    "random_weights": "Random weights",
    "random_shared_weight": "Random shared weight",
    "tuned_shared_weight": "Tuned shared weight",
    "tuned_weights": "Tuned weights",
}

#: The paper's Table 1 rows (mean, std; std None where the paper gives none), by task name,
#: then condition name, then ``random_shared_weight``, ``random_weights``,
#: ``tuned_shared_weight`` or ``tuned_weights``.
#:
#: :meta hide-value:
PAPER_RESULTS: dict[str, dict[str, dict[str, tuple[float, float | None]]]] = {
    "swingup": {
        "WANN": {"random_weights": (57, 121), "random_shared_weight": (515, 58),
                 "tuned_shared_weight": (723, 16), "tuned_weights": (932, 6)},
        "Fixed topology": {"random_weights": (21, None), "random_shared_weight": (7, None),
                           "tuned_shared_weight": (8, None), "tuned_weights": (918, None)},
    },
    "biped": {
        "WANN": {"random_weights": (-46, 54), "random_shared_weight": (51, 108),
                 "tuned_shared_weight": (261, 58), "tuned_weights": (332, 1)},
    },
}

_SEED_HIGH = 2**31 - 10_000


# ----------------------------------------------------------------------------- conditions
@dataclass(frozen=True)
class ConditionScores:
    """Test scores of one network under one condition.

    Attributes
    ----------
    condition : str
        One of :data:`CONDITIONS`.
    scores : ndarray of shape (n_episodes,)
        One score per test episode (non-finite replaced by the task's worst score).
    """

    condition: str
    scores: np.ndarray

    @property
    def mean(self) -> float:
        """Mean over the episodes."""
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        """Standard deviation over the episodes."""
        return float(np.std(self.scores))

    def to_dict(self) -> dict:
        """``{"mean", "std", "scores"}``."""
        return {"mean": self.mean, "std": self.std, "scores": self.scores.tolist()}


def _clean(task: Task, scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    return np.where(np.isfinite(s), s, task.worst_score)


def evaluate_conditions(
    task: Task,
    net: WannNetwork,
    *,
    shared_weight: float,
    conn_weights: np.ndarray | None,
    rng: np.random.Generator,
    n_episodes: int = 100,
    seed: int = 0,
    weight_range: tuple[float, float] = (-2.0, 2.0),
) -> dict[str, ConditionScores]:
    """Score ``net`` under the four conditions of Gaier & Ha (2019), Table 1.

    Parameters
    ----------
    task : Task
    net : WannNetwork
    shared_weight : float
        The tuned shared weight.
    conn_weights : ndarray of shape (n_connections,) or None
        Tuned per-connection weights; ``None`` leaves that condition out.
    rng : numpy.random.Generator
        Draws the random weights (one draw per episode).
    n_episodes : int, default=100
    seed : int, default=0
        Episode ``i`` of every condition uses seed ``seed + i``.
    weight_range : (float, float), default=(-2, 2)
        Range of the uniform random weights.

    Returns
    -------
    dict
        Condition name -> :class:`ConditionScores`.
    """
    validate_params("evaluate_conditions", [Key("n_episodes", int, 100, low=1)],
                    {"n_episodes": n_episodes})
    lo, hi = (float(v) for v in weight_range)
    if not lo < hi:
        raise ValueError(f"weight_range == {weight_range!r}, must be (low, high) with low < high")
    task.check_network(net)
    random_sets = rng.uniform(lo, hi, (n_episodes, net.n_connections))
    random_shared = rng.uniform(lo, hi, n_episodes)
    rw = np.empty(n_episodes)
    rs = np.empty(n_episodes)
    for i in range(n_episodes):  # episode i with its own draw: one call per episode
        rw[i] = np.asarray(task.evaluate_weights(net, random_sets[i:i + 1], seed=seed + i,
                                                 n_repeats=1))[0, 0]
        rs[i] = np.asarray(task.evaluate([net], random_shared[i:i + 1], seed=seed + i,
                                         n_repeats=1))[0, 0, 0]
    out = {
        "random_weights": ConditionScores("random_weights", _clean(task, rw)),
        "random_shared_weight": ConditionScores("random_shared_weight", _clean(task, rs)),
        "tuned_shared_weight": ConditionScores("tuned_shared_weight", _clean(task, np.asarray(
            task.evaluate([net], np.array([float(shared_weight)]), seed=seed,
                          n_repeats=n_episodes))[0, 0])),
    }
    if conn_weights is not None:
        cw = np.asarray(conn_weights, dtype=float)
        out["tuned_weights"] = ConditionScores("tuned_weights", _clean(task, np.asarray(
            task.evaluate_weights(net, cw[None], seed=seed, n_repeats=n_episodes))[0]))
    return out


def fixed_topology_network(n_inputs: int, n_outputs: int, *, n_hidden: int = 10,
                           activation: str = "tanh") -> WannNetwork:
    """The baseline: fully connected, one hidden layer, linear outputs.

    Connections: bias and every input to every hidden node, every hidden node and the bias to
    every output (``(1 + n_inputs) * n_hidden + (n_hidden + 1) * n_outputs`` in all).

    Examples
    --------
    >>> fixed_topology_network(5, 1).n_connections
    71
    """
    validate_params("fixed_topology_network",
                    [Key(name, int, 1, low=1) for name in ("n_inputs", "n_outputs", "n_hidden")],
                    {"n_inputs": n_inputs, "n_outputs": n_outputs, "n_hidden": n_hidden})
    act = activation_by_name(activation).id
    first_hidden = 1 + n_inputs
    first_out = first_hidden + n_hidden
    acts = [1] * first_hidden + [act] * n_hidden + [1] * n_outputs
    edges = [(s, h) for h in range(first_hidden, first_out) for s in range(first_hidden)]
    edges += [(s, o) for o in range(first_out, first_out + n_outputs)
              for s in [0, *range(first_hidden, first_out)]]
    return WannNetwork.from_edges(n_inputs, n_outputs, acts, edges,
                                  key=f"fixed-{n_hidden}-{activation}")


# ----------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class NetworkReport:
    """One row of the table: a network, how it was tuned, and its condition scores.

    Attributes
    ----------
    label : str
    net : WannNetwork
    shared : SharedWeightResult
    tuning : TuningResult or None
        ``None`` when the tuned weights were given rather than tuned here.
    conn_weights : ndarray of shape (n_connections,)
    conditions : dict of str to ConditionScores
    """

    label: str
    net: WannNetwork
    shared: SharedWeightResult
    tuning: TuningResult | None
    conn_weights: np.ndarray
    conditions: dict

    def to_dict(self) -> dict:
        """JSON-ready (without the per-episode weights of the random conditions)."""
        return {
            "label": self.label,
            "n_connections": self.net.n_connections,
            "n_hidden": self.net.n_hidden,
            "best_shared_weight": self.shared.weight,
            "shared_weight_curve": self.shared.to_dict(),
            "tuning": None if self.tuning is None else {
                k: v for k, v in self.tuning.to_dict().items() if k != "start_weights"},
            "conn_weights": self.conn_weights.tolist(),
            "conditions": {k: v.to_dict() for k, v in self.conditions.items()},
        }


@dataclass(frozen=True)
class Report:
    """The four-condition table for a network and its fixed-topology baseline.

    Attributes
    ----------
    task : str
    rows : tuple of NetworkReport
        The network first, then the baseline (when built).
    n_episodes, seed : int
        Test episodes ``seed .. seed + n_episodes - 1``.
    settings : dict
        How the rows were tuned (method, generations, ...).
    paper : dict or None
        The paper's rows for this task (:data:`PAPER_RESULTS`), for comparison.
    """

    task: str
    rows: tuple
    n_episodes: int
    seed: int
    settings: dict = field(default_factory=dict)
    paper: dict | None = None

    def to_dict(self) -> dict:
        """JSON-ready form (``wann report`` writes it as ``report.json``)."""
        return {
            "task": self.task, "n_episodes": self.n_episodes, "seed": self.seed,
            "conditions": list(CONDITIONS), "settings": self.settings,
            "rows": [r.to_dict() for r in self.rows],
            "paper": None if self.paper is None else {
                label: {c: {"mean": m, "std": s} for c, (m, s) in row.items()}
                for label, row in self.paper.items()},
        }

    def to_markdown(self) -> str:
        """The table as Markdown (``wann report`` writes it as ``report.md``)."""
        head = ["Network", "Connections"] + [CONDITION_LABELS[c] for c in CONDITIONS]
        lines = [
            f"## Four conditions on `{self.task}`",
            "",
            f"Mean +- standard deviation over {self.n_episodes} test episodes "
            f"(seeds {self.seed}..{self.seed + self.n_episodes - 1}).",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---"] * len(head)) + "|",
        ]
        for row in self.rows:
            cells = [row.label, str(row.net.n_connections)]
            for c in CONDITIONS:
                cs = row.conditions.get(c)
                nd = _digits(cs.mean) if cs is not None else 0
                cells.append("-" if cs is None else f"{cs.mean:.{nd}f} +- {cs.std:.{nd}f}")
            lines.append("| " + " | ".join(cells) + " |")
        for label, paper_row in (self.paper or {}).items():
            cells = [f"Paper: {label}", ""]
            for c in CONDITIONS:
                m, s = paper_row[c]
                cells.append(f"{m:g}" + ("" if s is None else f" +- {s:g}"))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for row in self.rows:
            lines.append(f"- {row.label}: best shared weight {row.shared.weight:+.3f}"
                         + ("" if row.tuning is None else
                            f"; tuned by {row.tuning.method} for {len(row.tuning.history) - 1}"
                            f" generations from {row.tuning.start_weights.mean():+.3f} "
                            f"({row.tuning.n_episodes} training episodes, validation "
                            f"{row.tuning.validation_score:.4g})"))
        if self.settings:
            lines.append("- settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()))
        return "\n".join(lines) + "\n"


def _digits(value: float) -> int:
    """Decimals for a table cell: none from 100 up, 1 from 10, 2 from 1, else 3."""
    if not math.isfinite(value):
        return 0
    mag = abs(value)
    return 0 if mag >= 100 else 1 if mag >= 10 else 2 if mag >= 1 else 3


def four_condition_report(
    task: Task,
    net: WannNetwork,
    *,
    rng: np.random.Generator,
    label: str | None = None,
    method: str = "cma",
    preset: str = "default",
    options: dict | None = None,
    generations: int | None = None,
    n_repeats: int | None = None,
    start: float | None = None,
    conn_weights: np.ndarray | None = None,
    n_episodes: int = 100,
    seed: int = 0,
    baseline: bool = True,
    baseline_hidden: int = 10,
    baseline_activation: str = "tanh",
    baseline_start: float | str | None = "random",
    baseline_options: dict | None = None,
    shared_options: dict | None = None,
    tune_options: dict | None = None,
    callback: Callable[[str, GenerationRecord], None] | None = None,
) -> Report:
    """Build the four-condition table for ``net`` and a fixed-topology baseline.

    For each network: the best shared weight (:func:`best_shared_weight` on training seeds),
    individually tuned weights (:func:`tune_weights` with ``method``, starting from ``start``
    or else the best shared weight), then every condition on the test episodes.

    Parameters
    ----------
    task : Task
    net : WannNetwork
    rng : numpy.random.Generator
        The only randomness (training seeds, random-weight draws, the optimiser).
    label : str, optional
        Row label (default: the network's key).
    method, preset : str, default="cma", "default"
        Tuning method (:data:`wann_plugin.tuning.TUNING_METHODS`) and its preset, used for
        both rows.
    options : dict, optional
        The method's options (``pop_size``, ``sigma``, ...).
    generations, n_repeats : int, optional
        Tuning budget per run (default: the preset's; ``cma``: 300 generations x 64 samples x
        16 episodes).
    start : float or "random", optional
        Shared weight the tuning of ``net`` starts from (the reference: -1.5 for swing-up),
        or ``"random"`` for weights drawn from N(0, 0.5^2); default: as
        :func:`~wann_plugin.tuning.tune_weights` without a start (the best shared weight, the
        other peaks of the curve raced against it when the preset races starts).
    conn_weights : ndarray of shape (n_connections,), optional
        Already tuned weights for ``net`` (e.g. a ``wann tune`` result): used instead of
        tuning it here.
    n_episodes, seed : int, default=100, 0
        Test episodes ``seed + i``.
    baseline : bool, default=True
        Add the fixed-topology row.
    baseline_hidden, baseline_activation : int, str, default=10, "tanh"
        The baseline's hidden layer.
    baseline_start : float, "random" or None, default="random"
        Where the baseline's tuning starts: ``"random"`` draws its weights from N(0, 0.5^2)
        (as a fixed-topology network is trained; at one shared weight every hidden node
        computes the same thing and the optimiser must first break that symmetry), ``None``
        its best shared weight.
    baseline_options : dict, optional
        Keywords for the baseline's :func:`tune_weights` that differ from the network's
        (e.g. more ``generations``).
    shared_options : dict, optional
        Extra keywords for :func:`best_shared_weight` (default ``n_repeats``:
        ``max(32, n_repeats)``; with 4 episodes the noisy negative side of swing.out's curve
        wins by luck).
    tune_options : dict, optional
        Extra keywords for :func:`tune_weights` (``n_validation``, ``restarts``, ...).
    callback : callable, optional
        ``callback(label, record)`` for every tuning generation (progress).

    Returns
    -------
    Report
    """
    validate_params("four_condition_report", [Key("n_episodes", int, 100, low=1)],
                    {"n_episodes": n_episodes})
    for name, value in (("start", start), ("baseline_start", baseline_start)):
        if value is not None and not (isinstance(value, str) and value == "random"):
            validate_params("four_condition_report", [Key(name, float, 0.0, finite=True)],
                            {name: value})
    nets = [(label or str(net.key or "network"), net, conn_weights)]
    if baseline:
        base = fixed_topology_network(net.n_inputs, net.n_outputs, n_hidden=baseline_hidden,
                                      activation=baseline_activation)
        nets.append((f"Fixed topology ({baseline_hidden} {baseline_activation})", base, None))
    rows = []
    for row_label, row_net, given in nets:
        shared = best_shared_weight(task, row_net, seed=int(rng.integers(0, _SEED_HIGH)),
                                    **{"n_repeats": max(32, n_repeats or 0),
                                       **(shared_options or {})})
        tuning = None
        if given is None:
            cb = None if callback is None else (lambda rec, _l=row_label: callback(_l, rec))
            row_start = start if row_net is net else baseline_start
            if row_start is None:
                row_start = shared  # as start=None: the tuning races the curve's peaks
            elif row_start == "random":
                row_start = rng.normal(0.0, 0.5, row_net.n_connections)
            kw = {"generations": generations, "n_repeats": n_repeats, **(tune_options or {})}
            if row_net is not net:
                kw.update(baseline_options or {})
            tuning = tune_weights(task, row_net, rng=rng, method=method, preset=preset,
                                  options=options, start=row_start, callback=cb, **kw)
            weights = tuning.conn_weights
        else:
            weights = np.asarray(given, dtype=float)
        conditions = evaluate_conditions(task, row_net, shared_weight=shared.weight,
                                         conn_weights=weights, rng=rng, n_episodes=n_episodes,
                                         seed=seed)
        rows.append(NetworkReport(row_label, row_net, shared, tuning, weights, conditions))
    wann_tuning = rows[0].tuning
    if start is None and wann_tuning is not None:
        start_label = wann_tuning.start_label
    else:
        start_label = "best shared weight" if start is None else start
    settings: dict[str, Any] = {"method": method, "preset": preset, "start": start_label,
                                "baseline_start": ("best shared weight" if baseline_start is None
                                                   else baseline_start)}
    tuned = [r.tuning for r in rows if r.tuning is not None]
    if tuned:
        settings.update({k: v for k, v in tuned[0].options.items() if k != "sigma"})
    if conn_weights is not None:
        settings["network_weights"] = "given"
    return Report(task=task.name, rows=tuple(rows), n_episodes=n_episodes, seed=seed,
                  settings=settings, paper=PAPER_RESULTS.get(task.name))


# ----------------------------------------------------------------------------- ensembles
def ensemble_predict(net: WannNetwork, x: np.ndarray, weights: np.ndarray, *,
                     kind: str = "softmax") -> np.ndarray:
    """Predict with several shared weights at once and average (Gaier & Ha 2019, section 4.2).

    Parameters
    ----------
    net : WannNetwork
    x : ndarray of shape (n_samples, n_inputs)
    weights : ndarray of shape (n_weights,)
        The ensemble's shared weights (e.g. ``-2, -1, -0.5, 0.5, 1, 2``).
    kind : {"softmax", "mean"}, default="softmax"
        ``softmax``: the mean of each weight's softmax (classification: class probabilities);
        ``mean``: the mean of the raw outputs. Weights whose outputs are not finite for a
        sample are left out of that sample's mean (the rule of
        :func:`~wann_plugin.tasks.classify.ensemble_proba`, which this wraps).

    Returns
    -------
    ndarray of shape (n_samples, n_outputs)
        NaN where no weight gave finite outputs.

    Examples
    --------
    >>> import numpy as np
    >>> net = WannNetwork.from_edges(1, 2, [1, 1, 1, 1], [(1, 2), (0, 3)])
    >>> p = ensemble_predict(net, np.array([[3.0]]), np.array([-1.0, 1.0]))
    >>> p.round(3).tolist()
    [[0.5, 0.5]]
    """
    if kind not in ("softmax", "mean"):
        raise ValueError(f"kind == {kind!r}, must be 'softmax' or 'mean'")
    x = np.atleast_2d(np.asarray(x, dtype=float))
    w = np.atleast_1d(np.asarray(weights, dtype=float))
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-d array, got shape {w.shape}")
    return ensemble_proba(net.activate(x[None], w[:, None]), kind)   # outputs (W, n, K)


def ensemble_accuracy(net: WannNetwork, x: np.ndarray, y: np.ndarray,
                      weights: np.ndarray) -> float:
    """Accuracy of the argmax of :func:`ensemble_predict` (mean of softmaxes) on ``(x, y)``.

    Samples with no finite prediction count as wrong.
    """
    return argmax_accuracy(ensemble_predict(net, x, weights, kind="softmax"), y)
