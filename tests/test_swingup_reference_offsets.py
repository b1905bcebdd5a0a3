"""experiments/swingup_reference_offsets.py: the offsets it takes out and puts in are the
reference's largest, and its scores are the task's own."""

import json
import runpy
from pathlib import Path

import numpy as np
from conftest import reference_path

from wann_plugin.io import load_network, load_tuned_zoo
from wann_plugin.tasks import make_task

ROOT = Path(__file__).resolve().parents[1]


def test_largest_offsets_out_of_the_reference_and_into_the_start(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))  # as `python experiments/...` has
    mod = runpy.run_path(str(ROOT / "experiments" / "swingup_reference_offsets.py"))
    doc = mod["main"](["swing.out", "cartpole_swingup.wann.json", "--task", "swingup",
                       "--weight-bias", "-1.5", "--k", "1", "2", "--generations", "2",
                       "--episodes", "4", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "reference-offsets.json").read_text()) == doc
    task = make_task("swingup")
    net = load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net
    ref = load_tuned_zoo(reference_path("zoo/cartpole_swingup.wann.json"), net, -1.5)
    offsets = np.abs(ref + 1.5)

    def score(w):
        return round(float(np.asarray(task.evaluate_weights(net, w[None], seed=0,
                                                             n_repeats=4))[0].mean()), 1)

    assert doc["reference"]["test"] == score(ref)
    for row, k in zip(doc["rows"], (1, 2), strict=True):
        at = [net.conn_keys.index(tuple(c)) for c in row["connections"]]
        assert len(at) == k and min(offsets[at]) >= np.sort(offsets)[-k]
        assert row["reference_values"] == [round(float(ref[i]), 2) for i in at]
        without, start = ref.copy(), np.full(len(ref), -1.5)
        without[at], start[at] = -1.5, ref[at]
        assert row["reference_without_them"] == score(without)
        assert row["start_score"] == score(start)
        assert row["tuned"]["episodes"] > 0
