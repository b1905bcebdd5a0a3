"""One self-contained HTML page per network: drawing, score curve, and a shared-weight slider.

:func:`show_page` computes everything in Python and embeds it as JSON in one HTML file with
its own script and style (no server, no network access: it opens from a file). The slider
moves over a grid of shared weights; for each grid weight the page holds what our task code
computed for it:

* swing-up: the states of one episode (:func:`~wann_plugin.render.swingup_trajectories`),
  animated on a canvas. The trajectories are precomputed instead of re-simulated in
  JavaScript: the episodes are chaotic, so a second implementation of the forward pass and the
  physics would drift from ours by whole points at some weights (as the SIMD and the plain
  numpy engines already do at w = +-2), and the page would show an episode the evaluator never
  scored;
* other gymnasium tasks: frames of one episode, rendered by the environment (JPEG);
* classification: held-out accuracy and a confusion matrix per weight, and the ensemble's.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from wann_plugin.activations import activation_by_id
from wann_plugin.evaluation import DEFAULT_WEIGHTS
from wann_plugin.io import atomic_write_text
from wann_plugin.network import WannNetwork
from wann_plugin.plots import ACTIVATION_COLORS, network_layers
from wann_plugin.render import RenderError, episode_frames, swingup_trajectories
from wann_plugin.tasks.base import Task
from wann_plugin.tasks.classify import ClassifyTask
from wann_plugin.tasks.gym import GymTask
from wann_plugin.tasks.swingup import POLE_LENGTH, X_THRESHOLD, SwingUpTask

__all__ = ["default_grid", "network_svg", "page_data", "show_page"]


def default_grid(task: Task) -> np.ndarray:
    """The slider's weights: -2.5..2.5 by 0.1 (swing-up, classification) or by 0.5 (other
    gymnasium tasks, whose frames are heavier), always containing the paper's series."""
    step = 0.5 if isinstance(task, GymTask) else 0.1
    grid = np.round(np.arange(-2.5, 2.5 + step / 2, step), 10)
    return np.union1d(grid, DEFAULT_WEIGHTS)


# ----------------------------------------------------------------------------- network SVG
def network_svg(net: WannNetwork, *, width: int = 460, height: int = 300,
                input_names: Sequence[str] | None = None,
                output_names: Sequence[str] | None = None) -> str:
    """``net`` as an inline SVG: layered left to right as :func:`~wann_plugin.plots.draw_network`,
    nodes coloured by activation (the same colours), each node's activation in its hover
    title and in ``data-activation``. Inputs and outputs are labelled when there are at most
    20 of them (otherwise only their hover titles name them)."""
    layer = network_layers(net)
    n_cols = int(layer.max()) + 1
    pos = np.zeros((net.n_nodes, 2))
    for col in range(n_cols):
        nodes = np.flatnonzero(layer == col)
        ys = np.linspace(0, 1, len(nodes) + 2)[1:-1]
        pos[nodes, 0] = 50 + (width - 100) * col / max(n_cols - 1, 1)
        pos[nodes, 1] = 10 + (height - 20) * ys
    n_fixed = 1 + net.n_inputs
    first_out = net.n_nodes - net.n_outputs
    ins = list(input_names or [f"x{i + 1}" for i in range(net.n_inputs)])
    outs = list(output_names or [f"y{i + 1}" for i in range(net.n_outputs)])
    r = max(3.0, min(8.0, (height - 20) / (2.5 * max(np.bincount(layer)))))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="network" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">']
    for s, d in zip(net.conn_src, net.conn_dst):
        parts.append(f'<line x1="{pos[s, 0]:.1f}" y1="{pos[s, 1]:.1f}" x2="{pos[d, 0]:.1f}" '
                     f'y2="{pos[d, 1]:.1f}" stroke="#777" stroke-opacity="0.5"/>')
    for i in range(net.n_nodes):
        if i == 0:
            name, role, color = "bias", "bias", "#ffffff"
        elif i < n_fixed:
            name, role, color = "input", ins[i - 1], "#ffffff"
        else:
            aid = int(net.activations[i])
            name = activation_by_id(aid).name
            role = outs[i - first_out] if i >= first_out else f"hidden node {i}"
            color = ACTIVATION_COLORS.get(aid, "#c7c7c7")
        label = html.escape(f"{role}: {name}" if i >= n_fixed else role)
        parts.append(f'<g class="node" data-activation="{html.escape(name)}" '
                     f'data-label="{label}"><circle cx="{pos[i, 0]:.1f}" cy="{pos[i, 1]:.1f}" '
                     f'r="{r:.1f}" fill="{color}" stroke="#000"/><title>{label}</title></g>')
        if (i < n_fixed and net.n_inputs <= 20) or (i >= first_out and net.n_outputs <= 20):
            anchor, dx = ("end", -r - 3) if i < n_fixed else ("start", r + 3)
            parts.append(f'<text x="{pos[i, 0] + dx:.1f}" y="{pos[i, 1] + 3:.1f}" '
                         f'text-anchor="{anchor}" font-size="9">'
                         f'{html.escape(role if i else "bias")}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- per task
def _curve(task: Task, net: WannNetwork, grid: np.ndarray, seed: int, n_episodes: int) -> dict:
    scores = np.asarray(task.evaluate([net], grid, seed=seed, n_repeats=n_episodes))[0]
    return {"mean": _floats(scores.mean(axis=1)), "std": _floats(scores.std(axis=1)),
            "episodes": n_episodes}


def _swingup_view(task: SwingUpTask, net: WannNetwork, grid: np.ndarray, seed: int,
                  every: int) -> dict:
    tr = swingup_trajectories(task, net, grid, seed=seed)
    keep = slice(None, None, every)
    return {"kind": "swingup", "seed": seed, "every": every, "dt": 0.01,
            "returns": _floats(tr.returns), "n_steps": [int(n) for n in tr.n_steps],
            "x": np.round(tr.states[:, keep, 0], 6).tolist(),
            "theta": np.round(tr.states[:, keep, 2], 6).tolist(),
            "x_threshold": X_THRESHOLD, "pole_length": POLE_LENGTH}


def _gym_view(task: GymTask, net: WannNetwork, grid: np.ndarray, seed: int,
              n_frames: int) -> dict:
    from PIL import Image

    every = max(1, math.ceil(task.max_steps / n_frames))
    frames, returns, steps = [], [], []
    for w in grid:
        urls, ret, t = [], 0.0, 0
        for item in episode_frames(task, net, weight=float(w), seed=seed, every=every):
            frame, ret, t = item
            img = Image.fromarray(np.asarray(frame)[..., :3].astype(np.uint8))
            img.thumbnail((300, 300))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=70)
            urls.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
        frames.append(urls)
        returns.append(float(ret))
        steps.append(int(t))
    return {"kind": "gym", "seed": seed, "every": every, "frames": frames,
            "returns": returns, "n_steps": steps}


def _classify_view(task: ClassifyTask, net: WannNetwork, grid: np.ndarray) -> dict:
    proba = task.predict_proba(net, task.X_test, grid)           # (W, n, K)
    y = task.y_test
    k = task.n_classes
    ok = np.all(np.isfinite(proba), axis=(1, 2))
    pred = np.argmax(np.where(np.isfinite(proba), proba, -1.0), axis=-1)
    acc = [float((p == y).mean()) if good else 0.0 for p, good in zip(pred, ok)]
    ens = task.predict_ensemble(net, task.X_test, DEFAULT_WEIGHTS)   # -1: no finite weight
    return {"kind": "classify", "n_test": int(len(y)), "classes": list(range(k)),
            "accuracy": acc, "ensemble_accuracy": float((ens == y).mean()),
            "confusion": [_confusion(y, p, k) for p in pred],
            "ensemble_confusion": _confusion(y, ens, k)}


def _confusion(y: np.ndarray, pred: np.ndarray, k: int) -> list[list[int]]:
    """``[true][predicted]`` counts."""
    m = np.zeros((k, k), dtype=np.int64)
    good = (pred >= 0) & (pred < k)
    np.add.at(m, (y[good], pred[good]), 1)
    return m.tolist()


def _floats(values) -> list:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def page_data(task: Task, nets: Sequence[WannNetwork], *, labels: Sequence[str] | None = None,
              grid: Sequence[float] | None = None, seed: int = 0, n_episodes: int = 10,
              every: int = 2, n_frames: int = 60) -> dict:
    """Everything the page shows, as JSON-ready data (what :func:`show_page` embeds).

    Parameters
    ----------
    task : Task
    nets : sequence of WannNetwork
        One column of the page each (a second one to compare, e.g. before and after tuning).
    labels : sequence of str, optional
    grid : sequence of float, optional
        The slider's shared weights (default :func:`default_grid`).
    seed : int, default=0
        Seed of the episode shown per weight; the curve's episodes are ``seed .. seed + n - 1``.
    n_episodes : int, default=10
        Episodes (or batches) per weight for the score curve.
    every : int, default=2
        Swing-up: keep every ``every``-th state of the animation.
    n_frames : int, default=60
        Gymnasium tasks: about this many frames per weight.
    """
    if not isinstance(task, (SwingUpTask, GymTask, ClassifyTask)):
        raise RenderError(f"task {task.name!r} has no view for `wann show` (swing-up, "
                          "gymnasium and classification tasks have)")
    grid = default_grid(task) if grid is None else np.asarray(grid, dtype=float)
    grid = task.check_call(grid, n_episodes)
    labels = list(labels or [net.key or f"network {i + 1}" for i, net in enumerate(nets)])
    panels = []
    for net, label in zip(nets, labels):
        task.check_network(net)
        panel = {"label": str(label), "n_hidden": int(net.n_hidden),
                 "n_connections": int(net.n_connections), "svg": network_svg(net),
                 "curve": _curve(task, net, grid, seed, n_episodes)}
        if isinstance(task, SwingUpTask):
            panel["view"] = _swingup_view(task, net, grid, seed, every)
        elif isinstance(task, GymTask):
            panel["view"] = _gym_view(task, net, grid, seed, n_frames)
        else:
            panel["view"] = _classify_view(task, net, grid)
        panels.append(panel)
    start = int(np.argmin(np.abs(grid - 1.0)))
    return {"task": task.name, "grid": _floats(grid), "series": _floats(DEFAULT_WEIGHTS),
            "start": start, "seed": seed, "panels": panels,
            "colors": {activation_by_id(a).name: c for a, c in ACTIVATION_COLORS.items()}}


def show_page(task: Task, nets: Sequence[WannNetwork], path: str | os.PathLike, *,
              labels: Sequence[str] | None = None, title: str | None = None,
              **options) -> Path:
    """Write the page for ``nets`` on ``task`` to ``path`` (see :func:`page_data` for the
    options) and return the path.

    Examples
    --------
    >>> import tempfile, os
    >>> net = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
    >>> p = show_page(SwingUpTask(max_steps=50), [net], os.path.join(tempfile.mkdtemp(),
    ...               "net.html"), grid=[-1.0, 1.0], n_episodes=2)
    >>> p.read_text().startswith("<!DOCTYPE html>")
    True
    """
    data = page_data(task, nets, labels=labels, **options)
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    template = resources.files("wann_plugin").joinpath("templates/show.html").read_text(
        encoding="utf-8")
    title = title or " vs ".join(p["label"] for p in data["panels"]) + f" on {task.name}"
    page = template.replace("{{TITLE}}", html.escape(title)).replace("{{DATA}}", text)
    return atomic_write_text(path, page)
