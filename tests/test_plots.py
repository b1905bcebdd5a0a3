"""Report pictures: written without pyplot, layered network drawing."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from tuning_helpers import layered_network, teacher_task

from wann_plugin.plots import (
    draw_network,
    network_layers,
    plot_shared_weight,
    plot_tuning_curve,
)
from wann_plugin.tuning import best_shared_weight, tune_weights


def png_ok(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_layers_run_left_to_right():
    net = layered_network(2, [3, 2], 2, [5, 3])
    layers = network_layers(net)
    assert list(layers) == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]
    direct = layered_network(2, [], 1, [])
    assert list(network_layers(direct)) == [0, 0, 0, 1]


def test_every_plot_writes_a_png(tmp_path):
    task, net = teacher_task(0)
    shared = best_shared_weight(task, net, refine_iters=3)
    res = tune_weights(task, net, method="cma", start=shared.weight, generations=6,
                       n_repeats=1, validate_every=2, options={"pop_size": 6},
                       rng=np.random.default_rng(0))
    figs = [
        plot_shared_weight(shared, path=tmp_path / "shared.png"),
        plot_shared_weight({"a": shared, "b": shared}, path=tmp_path / "shared2.png"),
        draw_network(net, path=tmp_path / "net.png", input_names=["u", "v"]),
        draw_network(net, conn_weights=res.conn_weights, path=tmp_path / "net2.png"),
        plot_tuning_curve(res, path=tmp_path / "tune.png"),
        plot_tuning_curve({"x": res, "y": res}, path=tmp_path / "tune2.png"),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    for name in ("shared", "shared2", "net", "net2", "tune", "tune2"):
        assert png_ok(tmp_path / f"{name}.png"), name
    texts = [t.get_text() for t in figs[2].axes[0].texts]
    assert texts[:3] == ["bias", "u", "v"] and "y1" in texts
    legend = [t.get_text() for t in figs[2].axes[0].get_legend().get_texts()]
    assert legend == ["tanh", "linear"] or sorted(legend) == ["linear", "tanh"]


def test_draw_into_a_given_axes_and_errors():
    fig = Figure()
    ax = fig.add_subplot()
    net = layered_network(1, [2], 1, [4])
    assert draw_network(net, ax=ax) is fig
    with pytest.raises(ValueError, match="conn_weights must have shape"):
        draw_network(net, conn_weights=np.zeros(2))
