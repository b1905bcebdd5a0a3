"""Pictures for reports: score against shared weight, the network, the tuning curve.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (so no
global figure state and no GUI backend: saving renders with Agg) and, given ``path``, saves
it there. Pass ``ax=`` to draw into an axes of your own figure instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from wann_plugin.activations import activation_by_id
from wann_plugin.network import WannNetwork
from wann_plugin.tuning import SharedWeightResult, TuningResult

__all__ = ["ACTIVATION_COLORS", "draw_network", "network_layers", "plot_shared_weight",
           "plot_tuning_curve"]

#: Node colour per built-in activation id (inputs and bias are drawn in grey).
ACTIVATION_COLORS = {
    1: "#7f7f7f",   # linear
    2: "#17becf",   # step
    3: "#1f77b4",   # sin
    4: "#2ca02c",   # gaussian
    5: "#d62728",   # tanh
    6: "#ff7f0e",   # sigmoid
    7: "#9467bd",   # inverse
    8: "#8c564b",   # abs
    9: "#e377c2",   # relu
    10: "#bcbd22",  # cos
    11: "#aec7e8",  # square
}
_INPUT_COLOR = "#ffffff"
_OTHER_COLOR = "#c7c7c7"


def _figure(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _save(fig: Figure, path: str | os.PathLike | None) -> None:
    if path is not None:
        fig.savefig(path, dpi=120)


# ----------------------------------------------------------------------------- shared weight
def plot_shared_weight(
    results: SharedWeightResult | Mapping[str, SharedWeightResult],
    *,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """Mean score against the shared weight, with the +-1 std band and the best weight.

    Parameters
    ----------
    results : SharedWeightResult or dict of label -> SharedWeightResult
        From :func:`~wann_plugin.tuning.best_shared_weight` (several networks: one line each).
    ax : matplotlib Axes, optional
    path : path-like, optional
        Save the figure there (PNG, SVG, PDF by extension).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure(ax, (6.4, 4.0))
    items = results.items() if isinstance(results, Mapping) else [("score", results)]
    for label, res in items:
        finite = np.isfinite(res.grid_scores)
        line, = ax.plot(res.grid[finite], res.grid_scores[finite], "-", label=label)
        ax.fill_between(res.grid[finite], (res.grid_scores - res.grid_std)[finite],
                        (res.grid_scores + res.grid_std)[finite], color=line.get_color(),
                        alpha=0.15, linewidth=0)
        extra = ~np.isin(res.weights, res.grid) & np.isfinite(res.scores)
        ax.plot(res.weights[extra], res.scores[extra], ".", color=line.get_color(), ms=4)
        ax.plot([res.weight], [res.score], "*", color=line.get_color(), ms=12,
                label=f"best {res.weight:+.3f}: {res.score:.4g}")
    ax.set_xlabel("shared weight")
    ax.set_ylabel(f"mean score ({next(iter(dict(items).values())).n_repeats} episodes)")
    ax.axvline(0.0, color="k", lw=0.5, alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title or "Score against shared weight")
    _save(fig, path)
    return fig


# ----------------------------------------------------------------------------- network
def network_layers(net: WannNetwork) -> np.ndarray:
    """Column of each node for drawing left to right: bias and inputs 0, a hidden node one
    more than its deepest source, every output in the last column."""
    layer = np.zeros(net.n_nodes, dtype=int)
    first_out = net.n_nodes - net.n_outputs
    for i in range(1 + net.n_inputs, first_out):
        src = net.conn_src[net.in_ptr[i]:net.in_ptr[i + 1]]
        layer[i] = 1 + (layer[src].max() if src.size else 0)
    layer[first_out:] = (layer[:first_out].max() if first_out > 1 + net.n_inputs else 0) + 1
    return layer


def draw_network(
    net: WannNetwork,
    *,
    conn_weights: np.ndarray | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Figure:
    """Draw ``net`` with networkx, layered left to right, nodes coloured by activation.

    Parameters
    ----------
    net : WannNetwork
    conn_weights : ndarray of shape (n_connections,), optional
        Tuned weights: edges are then coloured by sign (red > 0, blue < 0) and drawn with a
        width growing with ``|w|``. Without them every edge is the same grey.
    ax, path, title
        As in :func:`plot_shared_weight`.
    input_names, output_names : sequence of str, optional
        Labels of the inputs and outputs (default ``x1..``, ``y1..``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    layer = network_layers(net)
    n_cols = int(layer.max()) + 1
    fig, ax = _figure(ax, (max(6.0, 1.1 * n_cols + 2), 5.0))
    graph = nx.DiGraph()
    pos = {}
    for col in range(n_cols):
        nodes = np.flatnonzero(layer == col)
        ys = np.linspace(1, 0, len(nodes) + 2)[1:-1] if len(nodes) > 1 else [0.5]
        for node, y in zip(nodes, ys):
            pos[int(node)] = (col, float(y))
            graph.add_node(int(node))
    edges = [(int(s), int(d)) for s, d in zip(net.conn_src, net.conn_dst)]
    graph.add_edges_from(edges)

    n_fixed = 1 + net.n_inputs
    first_out = net.n_nodes - net.n_outputs
    colors = [_INPUT_COLOR if i < n_fixed else
              ACTIVATION_COLORS.get(int(net.activations[i]), _OTHER_COLOR)
              for i in range(net.n_nodes)]
    nx.draw_networkx_nodes(graph, pos, nodelist=list(range(net.n_nodes)), node_color=colors,
                           edgecolors="k", linewidths=0.8, node_size=260, ax=ax)
    if conn_weights is None:
        nx.draw_networkx_edges(graph, pos, edgelist=edges, edge_color="#555555", width=0.8,
                               alpha=0.6, arrowsize=8, node_size=260, ax=ax)
    else:
        cw = np.asarray(conn_weights, dtype=float)
        if cw.shape != (net.n_connections,):
            raise ValueError(f"conn_weights must have shape ({net.n_connections},), got "
                             f"{cw.shape}")
        scale = np.abs(cw).max() or 1.0
        nx.draw_networkx_edges(graph, pos, edgelist=edges,
                               edge_color=["#d62728" if w > 0 else "#1f77b4" for w in cw],
                               width=list(0.3 + 2.5 * np.abs(cw) / scale), alpha=0.7,
                               arrowsize=8, node_size=260, ax=ax)
    labels = {0: "bias"}
    names = list(input_names or [f"x{i + 1}" for i in range(net.n_inputs)])
    labels.update({1 + i: names[i] for i in range(net.n_inputs)})
    onames = list(output_names or [f"y{i + 1}" for i in range(net.n_outputs)])
    labels.update({first_out + i: onames[i] for i in range(net.n_outputs)})
    label_pos = {k: (x + (-0.12 if k < n_fixed else 0.12), y) for k, (x, y) in pos.items()}
    for k, text in labels.items():
        x, y = label_pos[k]
        ax.text(x, y, text, ha="right" if k < n_fixed else "left", va="center",
                fontsize="small")
    used = sorted({int(a) for a in net.activations[n_fixed:]})
    handles = [Line2D([], [], marker="o", ls="", markeredgecolor="k",
                      markerfacecolor=ACTIVATION_COLORS.get(a, _OTHER_COLOR),
                      label=activation_by_id(a).name) for a in used]
    ax.legend(handles=handles, title="activation", fontsize="small", loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    ax.set_xlim(-1.0, n_cols)
    ax.set_axis_off()
    ax.set_title(title or f"{net.key or 'network'}: {net.n_hidden} hidden nodes, "
                          f"{net.n_connections} connections")
    _save(fig, path)
    return fig


# ----------------------------------------------------------------------------- tuning curve
def plot_tuning_curve(
    results: TuningResult | Mapping[str, TuningResult],
    *,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """Training scores (best and mean of each generation) and validation against episodes.

    Parameters
    ----------
    results : TuningResult or dict of label -> TuningResult
    ax, path, title
        As in :func:`plot_shared_weight`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure(ax, (6.4, 4.0))
    items = results.items() if isinstance(results, Mapping) else [(results.method, results)]
    for label, res in items:
        hist = res.history[1:]
        if hist:
            x = np.array([r.n_episodes for r in hist])
            best = np.array([r.best for r in hist])
            mean = np.array([r.mean for r in hist])
            ok = np.isfinite(best)
            line, = ax.plot(x[ok], best[ok], "-", lw=1.0, label=f"{label}: best sample")
            ok = np.isfinite(mean)
            ax.plot(x[ok], mean[ok], ":", lw=1.0, color=line.get_color(),
                    label=f"{label}: mean sample")
            color = line.get_color()
        else:
            color = None
        val = [(r.n_episodes, r.validation) for r in res.history if np.isfinite(r.validation)]
        if val:
            vx, vy = np.array(val).T
            ax.plot(vx, vy, "o-", ms=4, lw=1.5, color=color, label=f"{label}: validation")
    ax.set_xlabel("training episodes")
    ax.set_ylabel("score")
    ax.legend(fontsize="small")
    ax.set_title(title or "Tuning curve")
    _save(fig, path)
    return fig
