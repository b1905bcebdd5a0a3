"""`wann render` and `wann show`, run as a user runs them (a real subprocess)."""

import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import reference_path
from PIL import Image

from wann_plugin.io import load_network, save_network
from wann_plugin.render import swingup_trajectories
from wann_plugin.tasks import SwingUpTask

WANN = [sys.executable, "-m", "wann_plugin.cli"]


def run(args, **kw):
    return subprocess.run(WANN + args, capture_output=True, text=True, timeout=300, **kw)


def test_render_swing_out_side_by_side(tmp_path):
    out = tmp_path / "swing.gif"
    proc = run(["render", str(reference_path("swing.out")), "--task", "swingup",
                "--task-option", "max_steps=200", "--weights", "-1,1.5", "--every", "5",
                "--episodes", "2", "--seed", "7", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as im:
        assert im.n_frames == 2 * 41 and im.size == (800, 250)
    net = load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net
    for seed in (7, 8):
        tr = swingup_trajectories(SwingUpTask(max_steps=200), net, [-1.0, 1.5], seed=seed)
        assert (f"episode {seed}: weight -1: {tr.returns[0]:.2f}  weight +1.5: "
                f"{tr.returns[1]:.2f}") in proc.stdout


def test_render_and_show_read_the_task_a_run_recorded(tmp_path):
    net = load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net
    path = save_network(tmp_path / "champion.json", net,
                        meta={"task": "swingup", "task_options": {"max_steps": 100}})
    proc = run(["render", str(path), "--weight", "-1", "--out", str(tmp_path / "c.gif")])
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "c.gif") as im:
        assert im.n_frames == 26 and im.size == (400, 250)  # 100 steps, every 4th
    page = tmp_path / "page.html"
    proc = run(["show", str(path), "--compare", str(reference_path("swing.out")),
                "--grid", "-2:2:0.5", "--episodes", "2", "--out", str(page)])
    assert proc.returncode == 0, proc.stderr
    assert page.as_uri() in proc.stdout
    text = page.read_text()
    assert text.count('class=\\"network\\"') == 2 and '"label":"swing.out"' in text
    assert re.search(r'"grid":\[-2\.0,-1\.5,-1\.0,-0\.5,0\.0,0\.5,1\.0,1\.5,2\.0\]', text)


@pytest.mark.parametrize("args, message", [
    (["render", "NET", "--out", "x.gif"], "records no task; give --task"),
    (["render", "NET", "--task", "swingup", "--out", "x.webm"], "use a .gif or .mp4"),
    (["show", "NET", "--task", "swingup", "--grid", "1:0:0.1"], "need HIGH > LOW"),
    (["render", "missing.out", "--task", "swingup"], "missing.out: no such network file"),
    (["show", "NET", "--task", "swingup", "--compare", "nothing.json"],
     "nothing.json: no such network file"),
])
def test_one_line_errors(tmp_path, args, message):
    args = [str(reference_path("swing.out")) if a == "NET" else a for a in args]
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_render_refuses_a_classifier(tmp_path):
    from wann_plugin.network import WannNetwork

    net = WannNetwork.from_edges(64, 10, [1] * 75, [(1, 65)])
    path = save_network(tmp_path / "digits.json", net, meta={"task": "digits"})
    proc = run(["render", str(path)], cwd=tmp_path)
    assert proc.returncode == 2
    assert "task 'digits' has no episodes to draw" in proc.stderr
    proc = run(["show", str(path), "--grid", "-1:1:1", "--episodes", "1"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert np.isclose(float(re.search(r'"ensemble_accuracy":([0-9.]+)',
                                      (tmp_path / "digits.html").read_text()).group(1)),
                      0.1, atol=0.1)
