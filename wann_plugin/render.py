"""Watch a network play: episodes drawn frame by frame, written as a GIF or an MP4.

The swing-up is drawn by :func:`~wann_plugin.tasks.swingup.draw_swingup` (the renderer of
:class:`~wann_plugin.tasks.swingup.CartPoleSwingUpEnv` too) from the states of
:func:`swingup_trajectories`, which steps the task's own physics (:func:`swingup_step`) with the
task's own action mapping (force ``clip(output, -1, 1) * 10`` N). Every gymnasium task is
played by its :meth:`GymTask.policy <wann_plugin.tasks.gym.GymTask.policy>` (the evaluator's
encoding, forward engine and action mapping) in an environment from
:meth:`GymTask.make_env <wann_plugin.tasks.gym.GymTask.make_env>` with ``rgb_array`` frames.
Each panel carries its shared weight and running return; several weights play side by side.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task
from wann_plugin.tasks.gym import GymTask
from wann_plugin.tasks.swingup import (
    SwingUpTask,
    draw_swingup,
    rollout_numpy,
    swingup_initial_states,
)

__all__ = ["FFMPEG_HINT", "RenderError", "RenderResult", "Trajectories", "episode_frames",
           "label_frame", "render", "render_frames", "swingup_trajectories", "write_animation"]

#: How to get ffmpeg, shown when an ``.mp4`` is asked for without it.
FFMPEG_HINT = ("install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install "
               "ffmpeg; conda: conda install -c conda-forge ffmpeg) or write a .gif")
FORMATS = (".gif", ".mp4")


class RenderError(ValueError):
    """A network or task that cannot be rendered, or an output that cannot be written."""


# ----------------------------------------------------------------------------- swing-up
class Trajectories(NamedTuple):
    """Swing-up episodes, one per weight, as :func:`swingup_trajectories` returns them.

    Attributes
    ----------
    states : ndarray of shape (n_weights, max_steps + 1, 4)
        ``[x, x_dot, theta, theta_dot]`` before step 0 and after each step; after an episode
        ends its last state is repeated.
    rewards : ndarray of shape (n_weights, max_steps)
        Reward of each step (0 after the end).
    n_steps : ndarray of shape (n_weights,), int
        Steps each episode ran.
    returns : ndarray of shape (n_weights,)
        Episode returns, exactly as the task's numpy engine scores them (``worst_score`` for
        a non-finite network output).
    """

    states: np.ndarray
    rewards: np.ndarray
    n_steps: np.ndarray
    returns: np.ndarray


def swingup_trajectories(task: SwingUpTask, net: WannNetwork, weights: Sequence[float], *,
                         seed: int = 0,
                         conn_weights: np.ndarray | None = None) -> Trajectories:
    """Play episode ``seed`` once per shared weight (all weights in one batch) and keep
    every state.

    Parameters
    ----------
    task : SwingUpTask
        Its ``max_steps`` and ``worst_score`` apply.
    net : WannNetwork
    weights : sequence of float
        Shared weights, one episode each. Ignored with ``conn_weights``.
    seed : int, default=0
        Episode seed (the start state of :func:`swingup_initial_states`).
    conn_weights : ndarray of shape (n_connections,), optional
        Tuned weights: one episode with them.

    Returns
    -------
    Trajectories

    Examples
    --------
    >>> net = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
    >>> tr = swingup_trajectories(SwingUpTask(max_steps=50), net, [-1.0, 1.0])
    >>> tr.states.shape, tr.n_steps.tolist()
    ((2, 51, 4), [50, 50])
    """
    task.check_network(net)
    if conn_weights is not None:
        cw = task.check_conn_weights(net, np.asarray(conn_weights, dtype=float)[None, :])
        n_ep, w = 1, None
    else:
        w = task.check_call(weights, 1)
        n_ep, cw = len(w), None
    t_max = task.max_steps
    trace = np.empty((n_ep, t_max + 1, 4))
    rewards = np.empty((n_ep, t_max))
    # the task's own numpy path (its scores with engine="numpy"), keeping every state
    returns, n_steps = rollout_numpy(
        net, np.repeat(swingup_initial_states([seed]), n_ep, axis=0), t_max, task.worst_score,
        weight=w, conn_weights=cw,
        trace=trace, rewards=rewards)
    return Trajectories(trace, rewards, n_steps, returns)


# ----------------------------------------------------------------------------- episodes
def label_frame(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``frame`` with ``lines`` of text in a white box at its top left."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
    d = ImageDraw.Draw(img)
    size = max(11, img.height // 22)
    font = ImageFont.load_default(size=size)
    text = "\n".join(lines)
    box = d.multiline_textbbox((6, 4), text, font=font)
    d.rectangle([box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2], fill=(255, 255, 255))
    d.multiline_text((6, 4), text, fill=(0, 0, 0), font=font)
    return np.asarray(img)


def _label(weight: float | None) -> str:
    return "tuned weights" if weight is None else f"shared weight {weight:+.3g}"


def episode_frames(task: Task, net: WannNetwork, *, weight: float | None = None,
                   conn_weights: np.ndarray | None = None, seed: int = 0,
                   every: int = 1) -> Iterator[tuple[np.ndarray, float, int]]:
    """The frames of one episode, unlabelled, with the return so far and the step.

    Yields ``(frame, running_return, step)`` for the start and every ``every``-th step, and
    always the last step. Swing-up frames come from
    :func:`~wann_plugin.tasks.swingup.draw_swingup`; gymnasium tasks'
    from the environment's ``rgb_array`` rendering.

    Raises
    ------
    RenderError
        For a task that has no picture (classification) or an env without ``rgb_array``.
    """
    if (weight is None) == (conn_weights is None):
        raise RenderError("give exactly one of weight= and conn_weights=")
    if isinstance(task, SwingUpTask):
        tr = swingup_trajectories(task, net, [0.0 if weight is None else weight], seed=seed,
                                  conn_weights=conn_weights)
        n = int(tr.n_steps[0])
        running = np.concatenate([[0.0], np.cumsum(tr.rewards[0, :n])])
        for t in [*range(0, n, every), n] if n % every else range(0, n + 1, every):
            yield draw_swingup(tr.states[0, t]), float(running[t]), t
        return
    if not isinstance(task, GymTask):
        raise RenderError(f"task {task.name!r} has no episodes to draw (it is not a swing-up "
                          "or gymnasium task); `wann show` draws a classifier's accuracy")
    from wann_plugin.tasks.base import TaskError

    try:
        env = task.make_env("rgb_array")
    except TaskError as exc:
        raise RenderError(str(exc)) from None
    act = task.policy(net, weight=weight, conn_weights=conn_weights)
    try:
        obs, _ = env.reset(seed=int(seed))
        total, t = 0.0, 0
        frame = env.render()
        yield frame, total, t
        while t < task.max_steps:
            action = act(obs)
            if action is None:
                break
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            t += 1
            done = terminated or truncated or t >= task.max_steps
            if t % every == 0 or done:
                yield env.render(), total, t
            if done:
                break
    finally:
        env.close()


def render_frames(task: Task, net: WannNetwork, weights: Sequence[float] | None = None, *,
                  conn_weights: np.ndarray | None = None, seed: int = 0, every: int = 1,
                  width: int = 400, returns: list | None = None) -> Iterator[np.ndarray]:
    """Labelled frames with one panel per weight side by side (or one panel of tuned
    ``conn_weights``), each panel ``width`` pixels wide. A panel whose episode ended keeps
    its last frame, marked "ended", until the longest episode is over. Given a list
    ``returns``, each panel's final return is appended to it at the end."""
    panels = ([episode_frames(task, net, conn_weights=conn_weights, seed=seed, every=every)]
              if conn_weights is not None else
              [episode_frames(task, net, weight=float(w), seed=seed, every=every)
               for w in weights])
    labels = [None] if conn_weights is not None else [float(w) for w in weights]
    last: list[tuple[np.ndarray, float, int] | None] = [None] * len(panels)
    done = [False] * len(panels)
    while True:
        for k, it in enumerate(panels):
            if not done[k]:
                try:
                    last[k] = next(it)
                except StopIteration:
                    done[k] = True
        if all(done):
            if returns is not None:
                returns.extend(float(item[1]) for item in last)
            return
        tiles = []
        for k, (frame, ret, step) in enumerate(last):
            lines = [_label(labels[k]), f"step {step}  return {ret:.1f}"
                     + ("  (ended)" if done[k] else "")]
            tile = label_frame(_fit(frame, width), lines)
            if k:  # a grey rule between panels
                tile = tile.copy()
                tile[:, :2] = 150
            tiles.append(tile)
        yield np.concatenate(tiles, axis=1) if len(tiles) > 1 else tiles[0]


def _fit(frame: np.ndarray, width: int) -> np.ndarray:
    frame = np.asarray(frame)[..., :3]
    if frame.shape[1] == width:
        return frame
    from PIL import Image

    height = max(2, round(frame.shape[0] * width / frame.shape[1]))
    return np.asarray(Image.fromarray(frame.astype(np.uint8)).resize((width, height),
                                                                     Image.BILINEAR))


# ----------------------------------------------------------------------------- writing
def write_animation(frames: Iterable[np.ndarray], path: str | os.PathLike, *,
                    fps: float = 25.0) -> int:
    """Write frames ``(height, width, 3)`` uint8 to ``path`` (``.gif`` with Pillow, ``.mp4``
    with ffmpeg) and return how many were written.

    Raises
    ------
    RenderError
        Another suffix, no ffmpeg for ``.mp4``, or no frames.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"{path}: cannot write {suffix or 'a file without suffix'!r}; "
                          f"use one of {', '.join(FORMATS)}")
    if not fps > 0:
        raise RenderError(f"fps == {fps}, must be > 0")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".mp4":
        return _write_mp4(frames, path, fps)
    from PIL import Image

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)).quantize(
        colors=128, method=Image.Quantize.MEDIANCUT) for f in frames]
    if not images:
        raise RenderError(f"{path}: no frames to write")
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=max(20, round(1000 / fps)), optimize=False)
    return len(images)


def _write_mp4(frames: Iterable[np.ndarray], path: Path, fps: float) -> int:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RenderError(f"{path}: writing .mp4 needs ffmpeg, which is not on PATH; "
                          + FFMPEG_HINT)
    proc = None
    n = 0
    try:
        for frame in frames:
            frame = np.ascontiguousarray(frame, dtype=np.uint8)
            if proc is None:
                h, w = frame.shape[:2]
                proc = subprocess.Popen(
                    [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                     "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", "-vf",
                     "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", "-c:v",
                     "libx264", str(path)],
                    stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            proc.stdin.write(frame.tobytes())
            n += 1
    finally:
        if proc is not None:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RenderError(f"{path}: ffmpeg failed: {err.decode(errors='replace')[-300:]}")
    if n == 0:
        raise RenderError(f"{path}: no frames to write")
    return n


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` wrote: the file, its frame count, and the returns
    ``(n_episodes, n_panels)`` (episode ``r`` has seed ``seed + r``)."""

    path: Path
    n_frames: int
    returns: np.ndarray


def render(task: Task, net: WannNetwork, path: str | os.PathLike,
           weights: Sequence[float] | None = (-1.0, 1.0), *,
           conn_weights: np.ndarray | None = None, seed: int = 0, n_episodes: int = 1,
           every: int | None = None, fps: float | None = None,
           width: int = 400) -> RenderResult:
    """Play episodes with each shared weight (side by side) and write the animation.

    Parameters
    ----------
    task : Task
        A swing-up or gymnasium task.
    net : WannNetwork
    path : path-like
        ``.gif`` or ``.mp4``.
    weights : sequence of float, default=(-1, 1)
        One panel per shared weight (ignored with ``conn_weights``).
    conn_weights : ndarray of shape (n_connections,), optional
        Tuned weights (one panel).
    seed : int, default=0
        Seed of the first episode (every panel plays the same episodes).
    n_episodes : int, default=1
        Episodes one after another, with seeds ``seed .. seed + n_episodes - 1``.
    every : int, optional
        Keep every ``every``-th step (default: 4 for swing-up, 2 for gymnasium envs).
    fps : float, optional
        Frames per second of the file (default: real time for the kept steps).
    width : int, default=400
        Pixels per panel.

    Returns
    -------
    RenderResult
    """
    if not isinstance(task, (SwingUpTask, GymTask)):
        raise RenderError(f"task {task.name!r} has no episodes to draw (it is not a swing-up "
                          "or gymnasium task); `wann show` draws a classifier's accuracy")
    if Path(path).suffix.lower() not in FORMATS:
        raise RenderError(f"{path}: use a .gif or .mp4 file name")
    if Path(path).suffix.lower() == ".mp4" and shutil.which("ffmpeg") is None:
        raise RenderError(f"{path}: writing .mp4 needs ffmpeg, which is not on PATH; "
                          + FFMPEG_HINT)
    if conn_weights is None and (weights is None or len(weights) == 0):
        raise RenderError("give at least one shared weight")
    swing = isinstance(task, SwingUpTask)
    every = (4 if swing else 2) if every is None else every
    for key, value in (("every", every), ("n_episodes", n_episodes)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise RenderError(f"{key} == {value!r}, must be an int >= 1")
    if fps is None:
        base = 100.0 if swing else float(_render_fps(task))
        fps = base / every
    returns: list[list[float]] = [[] for _ in range(int(n_episodes))]
    frames = itertools.chain.from_iterable(
        render_frames(task, net, weights, conn_weights=conn_weights, seed=seed + r,
                      every=int(every), width=width, returns=returns[r])
        for r in range(int(n_episodes)))
    n = write_animation(frames, path, fps=fps)
    return RenderResult(Path(path), n, np.array(returns))


def _render_fps(task: GymTask) -> float:
    env = task.make_env()
    try:
        return float(env.metadata.get("render_fps") or 30)
    finally:
        env.close()
