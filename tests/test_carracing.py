"""CarRacingTask: the PCA encoder (fit, cache, seeding) and short real episodes."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from wann_plugin.config import load_config
from wann_plugin.network import WannNetwork
from wann_plugin.tasks import CarRacingTask, PCAEncoder, TaskError, make_task
from wann_plugin.tasks.carracing import (
    default_cache_dir,
    fit_pca_encoder,
    frame_features,
    random_driving_frames,
)

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
N_FRAMES = 40  # small fits keep the file fast; the default is 2000


def full_net(n_in: int, n_out: int) -> WannNetwork:
    return WannNetwork.from_edges(n_in, n_out, [1] * (1 + n_in + n_out),
                                  [(s, 1 + n_in + o) for o in range(n_out) for s in range(1 + n_in)])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("wann_cache")


def test_frame_features_crop_and_pool():
    frames = np.zeros((2, 96, 96, 3), dtype=np.uint8)
    frames[1, :2, :2, 0] = 255            # one 2x2 block of red at the top left
    frames[1, 90:, :, :] = 255            # the dashboard rows are cropped away
    f = frame_features(frames)
    assert f.shape == (2, 42 * 48 * 3)
    assert f[0].sum() == 0 and f[1, 0] == 1.0 and f[1].sum() == 1.0
    with pytest.raises(TaskError, match=r"must have shape \(n, 96, 96, 3\), got \(2, 64, 64, 3\)"):
        frame_features(np.zeros((2, 64, 64, 3)))


def test_pca_encoder_fit_is_seeded_cached_and_whitened(cache, tmp_path):
    frames = random_driving_frames(N_FRAMES, seed=0)
    assert frames.shape == (N_FRAMES, 96, 96, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, random_driving_frames(N_FRAMES, seed=0))
    enc = fit_pca_encoder(16, n_frames=N_FRAMES, seed=0, cache_dir=cache)
    files = list(cache.glob("carracing_pca_k16_n40_s0_*.npz"))
    assert len(files) == 1
    again = fit_pca_encoder(16, n_frames=N_FRAMES, seed=0, cache_dir=cache)    # from the file
    np.testing.assert_array_equal(again.components, enc.components)
    fresh = fit_pca_encoder(16, n_frames=N_FRAMES, seed=0, cache_dir=tmp_path)  # refit
    np.testing.assert_allclose(np.abs(fresh.components), np.abs(enc.components), atol=1e-10)
    np.testing.assert_allclose(fresh.components, enc.components, atol=1e-10)  # same signs
    scores = enc.encode_batch(frames)
    assert scores.shape == (N_FRAMES, 16)
    np.testing.assert_allclose(scores.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(scores.std(axis=0, ddof=1), 1, rtol=1e-9)
    np.testing.assert_allclose(enc(frames[3]), scores[3])
    np.testing.assert_allclose(enc.components @ enc.components.T, np.eye(16), atol=1e-10)
    loaded = PCAEncoder.load(files[0])
    np.testing.assert_array_equal(loaded.scale, enc.scale)
    with pytest.raises(TaskError, match="n_components == 50 must be in"):
        PCAEncoder.fit(frames, 50)


def test_the_compiled_encoder_equals_the_numpy_path(cache):
    frames = random_driving_frames(N_FRAMES, seed=1)
    enc = fit_pca_encoder(16, n_frames=N_FRAMES, seed=0, cache_dir=cache)
    fast, plain = enc.encode_batch(frames), enc.encode_batch_numpy(frames)
    assert np.abs(plain).max() > 1.0
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-12)
    np.testing.assert_allclose(enc.encode_batch(frames[7]), plain[7:8], rtol=0, atol=1e-12)
    # float frames (not what the env renders) take the numpy path
    np.testing.assert_allclose(enc.encode_batch(frames[:3].astype(float)), plain[:3], atol=1e-12)
    with pytest.raises(TaskError, match=r"must have shape \(n, 96, 96, 3\), got \(2, 96, 96\)"):
        enc.encode_batch(np.zeros((2, 96, 96), dtype=np.uint8))


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WANN_PLUGIN_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("WANN_PLUGIN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "wann_plugin"


def test_short_episodes_end_to_end(cache):
    task = make_task("carracing", max_steps="25", pca_frames=str(N_FRAMES), cache_dir=str(cache))
    assert (task.n_inputs, task.n_outputs, task.max_steps) == (16, 3, 25)
    assert task.worst_score == pytest.approx(-0.1 * 25 - 101)
    net = full_net(16, 3)
    weights = np.array([-1.0, 0.5, 2.0])
    a = task.evaluate([net], weights, seed=0, n_repeats=1)
    b = task.evaluate([net], weights, seed=0, n_repeats=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 3, 1) and np.all(np.isfinite(a))
    # 25 frames at -0.1 plus +1000/N per new tile: every return is > -2.5 and not more than
    # a few tiles
    assert np.all(a > -2.6) and np.all(a < 60)
    assert task.last_timings["steps"] == 25


def test_a_user_encoder_and_the_action_mapping(cache):
    def colour_means(frame: np.ndarray) -> np.ndarray:
        return frame[:84].reshape(-1, 3).mean(axis=0) / 255.0

    task = CarRacingTask(max_steps=10, encoder=colour_means)
    assert task.n_inputs == 3
    scores = task.evaluate([full_net(3, 3)], np.array([-1.0, 1.0]), seed=1)
    assert scores.shape == (1, 2, 1)
    act = task.map_actions(np.array([[-3.0, -1.0, -0.5], [0.5, 0.0, 0.7], [2.0, 3.0, 2.0]]))
    np.testing.assert_allclose(act, [[-1, 0, 0], [0.5, 0.5, 0.7], [1, 1, 1]])
    assert act.dtype == np.float32
    with pytest.raises(TaskError, match=r"\[carracing\] pca_components == 0, must be >= 1\."):
        CarRacingTask(pca_components=0)


def test_the_default_encoder_fits_on_first_use_or_when_pickled(tmp_path):
    task = CarRacingTask(max_steps=5, pca_frames=30, cache_dir=str(tmp_path))
    assert task.n_inputs == 16 and not list(tmp_path.iterdir())   # building fitted nothing
    clone = pickle.loads(pickle.dumps(task))                      # workers get a fitted one
    assert len(list(tmp_path.glob("*.npz"))) == 1
    np.testing.assert_array_equal(clone.encoder.fitted().components,
                                  task.encoder.fitted().components)


def test_example_configs_name_the_task_and_its_options():
    folder = Path(__file__).resolve().parents[1] / "examples" / "carracing"
    for name, steps, pop in (("config.cfg", "150", 16), ("reference.cfg", "1000", 64)):
        config = load_config(folder / name)                       # no encoder fit here
        assert config.pop_size == pop and config.wann.task_name == "carracing"
        assert config.wann.task_options["max_steps"] == steps
