"""wann_plugin.render: episodes drawn from the task's own code, checked on real frames."""

import shutil
import subprocess

import numpy as np
import pytest
from conftest import reference_path
from PIL import Image

from wann_plugin import render as R
from wann_plugin.io import load_network
from wann_plugin.network import WannNetwork
from wann_plugin.tasks import BipedTask, CarRacingTask, GymTask, SwingUpTask, make_digits_task
from wann_plugin.tasks.swingup import (
    CartPoleSwingUpEnv,
    draw_swingup,
    swingup_initial_states,
    swingup_x_to_pixel,
)

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
CART = np.array([40, 90, 200])


@pytest.fixture(scope="module")
def swing():
    return load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net


def cart_column(frame: np.ndarray) -> float:
    """Mean column of the cart's blue pixels."""
    mask = np.all(np.abs(frame[..., :3].astype(int) - CART) < 30, axis=-1)
    assert mask.sum() > 50
    return float(np.nonzero(mask)[1].mean())


def gif_frames(path) -> list[np.ndarray]:
    out = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB")))
    return out


def test_swingup_trajectories_score_as_the_task(swing):
    tr = R.swingup_trajectories(SwingUpTask(), swing, WEIGHTS, seed=3)
    plain = SwingUpTask(engine="numpy").evaluate([swing], WEIGHTS, seed=3)[0, :, 0]
    np.testing.assert_array_equal(tr.returns, plain)
    assert tr.states.shape == (6, 1001, 4)
    # the pole starts hanging (cos th < -0.7) and the champion swings it up at w=-1
    assert np.cos(tr.states[:, :50, 2]).mean() < -0.7
    assert np.cos(tr.states[1, 500:, 2]).mean() > 0.8
    np.testing.assert_array_equal(tr.states[:, 0], np.repeat(
        swingup_initial_states([3]), 6, axis=0))


def test_swingup_trajectory_ends_off_track():
    # every input wired to the output with a large weight drives the cart off the track
    net = WannNetwork.from_edges(5, 1, [1] * 7, [(0, 6)])
    task = SwingUpTask(max_steps=500)
    tr = R.swingup_trajectories(task, net, [2.0])
    n = int(tr.n_steps[0])
    assert n < 500 and abs(tr.states[0, n, 0]) > 2.4
    np.testing.assert_array_equal(tr.states[0, n:], np.repeat(tr.states[0, n:n + 1], 501 - n, 0))
    assert tr.returns[0] == task.evaluate([net], np.array([2.0]), seed=0)[0, 0, 0]


def test_draw_swingup_puts_the_cart_where_the_state_says():
    for x in (-2.0, 0.0, 1.3):
        frame = draw_swingup(np.array([x, 0.0, np.pi, 0.0]), width=400, height=250)
        assert frame.shape == (250, 400, 3)
        assert cart_column(frame) == pytest.approx(swingup_x_to_pixel(x, 400), abs=1.0)


def test_the_env_renders_with_the_same_drawing():
    env = CartPoleSwingUpEnv(render_mode="rgb_array")
    env.reset(seed=2)
    for _ in range(30):
        env.step(np.array([1.0]))
    frame = env.render()
    assert frame.shape == (400, 600, 3)
    np.testing.assert_array_equal(frame, draw_swingup(env.state, width=600, height=400))
    # the pole drawn over the cart hides some of its pixels: the centroid moves a little
    assert cart_column(frame) == pytest.approx(swingup_x_to_pixel(env.state[0], 600), abs=3.0)


def test_render_gif_side_by_side(tmp_path, swing):
    task = SwingUpTask(max_steps=200)
    res = R.render(task, swing, tmp_path / "two.gif", [-1.0, 1.5], every=10, width=300)
    frames = gif_frames(res.path)
    assert res.n_frames == len(frames) == 21  # steps 0, 10, ..., 200
    assert frames[0].shape == (int(round(250 * 300 / 400)), 600, 3)
    tr = R.swingup_trajectories(task, swing, [-1.0, 1.5])
    np.testing.assert_array_equal(res.returns, [tr.returns])
    for k in (0, 12, 20):  # the drawn cart is where the trajectory says, in both panels
        for p in range(2):
            panel = frames[k][:, 300 * p:300 * (p + 1)]
            assert cart_column(panel) == pytest.approx(
                swingup_x_to_pixel(tr.states[p, 10 * k, 0], 300), abs=1.5)
    assert cart_column(frames[0][:, :300]) != pytest.approx(cart_column(frames[20][:, :300]),
                                                            abs=3)
    # the label boxes (top left of each panel) show different weights and returns
    label0, label1 = frames[5][:40, 3:150], frames[5][:40, 303:450]
    assert (label0 != label1).any()
    assert (frames[5][:40, 3:150] != frames[15][:40, 3:150]).any()  # the running return


@pytest.mark.skipif(shutil.which("ffmpeg") is None,
                    reason="ffmpeg is not installed (Debian: apt-get install ffmpeg)")
def test_render_mp4(tmp_path, swing):
    res = R.render(SwingUpTask(max_steps=100), swing, tmp_path / "one.mp4", [1.0], every=5)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames,width,height", "-of", "csv=p=0", str(res.path)],
        capture_output=True, text=True, check=True)
    width, height, n = (int(v) for v in probe.stdout.strip().split(","))
    assert (width, height, n) == (400, 250, 21) and res.n_frames == 21


def test_render_gym_discrete_and_biped_score_as_the_evaluator(tmp_path):
    cart = GymTask("CartPole-v1", max_steps=100)
    net = WannNetwork.from_edges(4, 2, [1] * 7, [(3, 5), (4, 6)])
    res = R.render(cart, net, tmp_path / "cp.gif", [-1.0, 1.0], seed=5, every=1, n_episodes=2)
    np.testing.assert_array_equal(res.returns, cart.evaluate(
        [net], np.array([-1.0, 1.0]), seed=5, n_repeats=2)[0].T)
    assert res.n_frames == 2 + res.returns.max(axis=1).sum()  # CartPole pays 1 per step

    biped_net = load_network(reference_path("biped.out"), n_inputs=24, n_outputs=4).net
    biped = BipedTask(fall_penalty=False, max_steps=120)
    res = R.render(biped, biped_net, tmp_path / "biped.gif", [-1.5, 1.0], every=4)
    np.testing.assert_array_equal(
        res.returns[0], biped.evaluate([biped_net], np.array([-1.5, 1.0]), seed=0)[0, :, 0])
    frames = gif_frames(res.path)
    assert len(frames) == 31 and frames[0].shape[1] == 800
    assert (frames[0][100:, :400] != frames[-1][100:, :400]).mean() > 0.01  # the walker moved


class MeanColour:
    """A tiny encoder (mean RGB of the frame) so a CarRacing test needs no PCA fit."""

    n_features = 3

    def __call__(self, frame):
        return frame.reshape(-1, 3).mean(axis=0) / 255.0


def test_render_carracing(tmp_path):
    task = CarRacingTask(max_steps=30, encoder=MeanColour())
    net = WannNetwork.from_edges(3, 3, [1] * 7, [(0, 4), (0, 5), (2, 6)])
    res = R.render(task, net, tmp_path / "car.gif", [1.0], every=10)
    assert res.n_frames == 4
    assert res.returns[0, 0] == task.evaluate([net], np.array([1.0]), seed=0)[0, 0, 0]
    frame = gif_frames(res.path)[-1]
    assert frame.shape == (267, 400, 3) and frame[..., 1].mean() > frame[..., 2].mean()  # grass


def test_one_line_errors(tmp_path, swing, monkeypatch):
    digits = make_digits_task()
    net = WannNetwork.from_edges(64, 10, [1] * 75, [(1, 65)])
    with pytest.raises(R.RenderError, match="task 'digits' has no episodes to draw"):
        R.render(digits, net, tmp_path / "d.gif")
    with pytest.raises(R.RenderError, match=r"\.gif or \.mp4"):
        R.render(SwingUpTask(), swing, tmp_path / "x.avi")
    with pytest.raises(R.RenderError, match="every == 0"):
        R.render(SwingUpTask(), swing, tmp_path / "x.gif", every=0)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(R.RenderError, match="needs ffmpeg.*apt-get install ffmpeg"):
        R.render(SwingUpTask(), swing, tmp_path / "x.mp4")


def test_make_env_refuses_a_mode_the_env_lacks():
    from wann_plugin.tasks.base import TaskError

    with pytest.raises(TaskError, match="cannot render 'ansi'"):
        GymTask("CartPole-v1").make_env("ansi")
