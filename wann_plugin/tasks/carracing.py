"""CarRacing-v3 from a 16-number code of each frame, with a pluggable observation encoder.

The paper drove CarRacing from the 16-d latent mean of a VAE of each frame (WANN_SPEC section
e, ``vae_racing``). The default encoder here is linear: a 16-component PCA of frames collected
by random driving, fitted once (seeded) and cached on disk. Any callable frame -> vector can
replace it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numba
import numpy as np

from wann_plugin.tasks.base import TaskError, register_task
from wann_plugin.tasks.gym import GymTask
from wann_plugin.validation import Key, validate_params

__all__ = ["CarRacingTask", "DefaultEncoder", "PCAEncoder", "default_cache_dir",
           "fit_pca_encoder", "frame_features", "random_driving_frames"]

_CACHE_VERSION = 1
_CROP_ROWS = 84  # the reference's VAE saw the top 84 rows (the bottom 12 hold the dashboard)
_N_FEATURES = _CROP_ROWS // 2 * 48 * 3  # 2x2-pooled RGB values of the crop


def default_cache_dir() -> Path:
    """Where fitted encoders are cached: ``$WANN_PLUGIN_CACHE`` if set, else
    ``$XDG_CACHE_HOME/wann_plugin`` (``~/.cache/wann_plugin``)."""
    env = os.environ.get("WANN_PLUGIN_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "wann_plugin"


def _as_frames(frames: np.ndarray) -> np.ndarray:
    given = np.asarray(frames)
    f = given[None] if given.ndim == 3 else given
    if f.ndim != 4 or f.shape[1:] != (96, 96, 3):
        raise TaskError(f"CarRacing frames must have shape (n, 96, 96, 3), got {given.shape}")
    return f


def frame_features(frames: np.ndarray) -> np.ndarray:
    """RGB frames ``(n, 96, 96, 3)`` uint8 -> ``(n, 6048)`` in [0, 1].

    The top 84 rows (no dashboard), averaged over 2x2 pixel blocks (42 x 48 x 3).
    """
    f = _as_frames(frames)
    crop = f[:, :_CROP_ROWS].astype(np.float64)
    pooled = crop.reshape(len(f), _CROP_ROWS // 2, 2, 48, 2, 3).mean(axis=(2, 4))
    return pooled.reshape(len(f), -1) / 255.0


@numba.njit(cache=True)
def _encode_frames(frames, mean, components_t, scale, out):
    """``out[f] = ((frame_features(frames[f]) - mean) @ components_t) / scale`` for uint8
    frames ``(n, 96, 96, 3)``, a frame at a time: each pooled value is computed as numpy does
    (a sum of four integers, / 4, / 255, exact to the same bits) and added into all
    components' sums at once, so the frame is read once and never copied to floats."""
    n_comp = components_t.shape[1]
    acc = np.empty(n_comp)
    for f in range(frames.shape[0]):
        acc[:] = 0.0
        i = 0
        for r in range(0, _CROP_ROWS, 2):
            for c in range(0, 96, 2):
                for ch in range(3):
                    s = (float(frames[f, r, c, ch]) + float(frames[f, r, c + 1, ch])
                         + float(frames[f, r + 1, c, ch]) + float(frames[f, r + 1, c + 1, ch]))
                    v = s / 4.0 / 255.0 - mean[i]
                    for j in range(n_comp):
                        acc[j] += v * components_t[i, j]
                    i += 1
        for j in range(n_comp):
            out[f, j] = acc[j] / scale[j]


@dataclass(frozen=True, eq=False)
class PCAEncoder:
    """Frame -> whitened principal-component scores.

    ``encode(frame) = ((frame_features(frame) - mean) @ components.T) / scale``: each output
    has unit variance over the frames it was fitted on.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
    components : ndarray of shape (n_components, n_features)
        Orthonormal rows, each signed so that its largest-magnitude loading is positive.
    scale : ndarray of shape (n_components,)
        Standard deviation of each component's score on the fitting frames.
    """

    mean: np.ndarray
    components: np.ndarray
    scale: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """One frame ``(96, 96, 3)`` -> ``(n_components,)``."""
        return self.encode_batch(np.asarray(frame)[None])[0]

    def encode_batch(self, frames: np.ndarray) -> np.ndarray:
        """Frames ``(n, 96, 96, 3)`` -> ``(n, n_components)``.

        uint8 frames (what CarRacing renders) go through one compiled pass that pools and
        projects each frame without a float copy of it (:func:`_encode_frames`; equal to
        :meth:`encode_batch_numpy` to rounding); other dtypes take the numpy path.
        """
        f = _as_frames(frames)
        if (f.dtype != np.uint8 or self.mean.shape != (_N_FEATURES,)
                or self.components.shape[1:] != (_N_FEATURES,)):
            return self.encode_batch_numpy(f)
        out = np.empty((len(f), self.n_components))
        _encode_frames(np.ascontiguousarray(f), self.mean, self._components_t, self.scale, out)
        return out

    def encode_batch_numpy(self, frames: np.ndarray) -> np.ndarray:
        """:meth:`encode_batch` in numpy: :func:`frame_features`, centred, projected, scaled."""
        return ((frame_features(frames) - self.mean) @ self.components.T) / self.scale

    @functools.cached_property
    def _components_t(self) -> np.ndarray:
        """``components.T`` as a C-contiguous ``(n_features, n_components)`` array."""
        return np.ascontiguousarray(self.components.T, dtype=np.float64)

    @classmethod
    def fit(cls, frames: np.ndarray, n_components: int = 16) -> PCAEncoder:
        """PCA by singular value decomposition of the centred :func:`frame_features`."""
        X = frame_features(frames)
        if not 1 <= n_components <= min(X.shape):
            raise TaskError(f"n_components == {n_components} must be in [1, {min(X.shape)}] "
                            f"for {X.shape[0]} frames")
        mean = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        comps = vt[:n_components]
        signs = np.sign(comps[np.arange(n_components), np.argmax(np.abs(comps), axis=1)])
        comps = comps * signs[:, None]
        scale = s[:n_components] / np.sqrt(max(1, X.shape[0] - 1))
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(mean=mean, components=comps, scale=scale)

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` (atomically: concurrent workers never read half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, mean=self.mean, components=self.components, scale=self.scale,
                     version=_CACHE_VERSION)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> PCAEncoder:
        with np.load(path) as data:
            if int(data["version"]) != _CACHE_VERSION:
                raise TaskError(f"{path} is an encoder of cache version {int(data['version'])}, "
                                f"expected {_CACHE_VERSION}")
            return cls(mean=data["mean"], components=data["components"], scale=data["scale"])


def random_driving_frames(n_frames: int, *, seed: int = 0, episode_steps: int = 250,
                          hold_steps: int = 20) -> np.ndarray:
    """Frames ``(n_frames, 96, 96, 3)`` seen while driving CarRacing-v3 at random.

    Episode ``e`` resets with seed ``seed * 1000 + e`` and lasts ``episode_steps`` steps (or
    until the env ends it). Every ``hold_steps`` steps a new action is drawn from
    ``numpy.random.default_rng(seed)`` and held: steer ~ U[-1, 1], gas ~ U[0, 1],
    brake ~ U[0, 0.2]. The first frame of each episode (after reset) is included.
    """
    if n_frames < 1:
        raise TaskError(f"n_frames == {n_frames}, must be >= 1")
    rng = np.random.default_rng(seed)
    env = gym.make("CarRacing-v3")
    frames: list[np.ndarray] = []
    try:
        episode = 0
        while len(frames) < n_frames:
            obs, _ = env.reset(seed=int(seed) * 1000 + episode)
            frames.append(obs)
            action = np.zeros(3, dtype=np.float32)
            for t in range(episode_steps - 1):
                if len(frames) >= n_frames:
                    break
                if t % hold_steps == 0:
                    action = np.array([rng.uniform(-1, 1), rng.uniform(0, 1),
                                       rng.uniform(0, 0.2)], dtype=np.float32)
                obs, _, terminated, truncated, _ = env.step(action)
                frames.append(obs)
                if terminated or truncated:
                    break
            episode += 1
    finally:
        env.close()
    return np.stack(frames[:n_frames])


def fit_pca_encoder(n_components: int = 16, *, n_frames: int = 2000, seed: int = 0,
                    cache_dir: str | Path = "") -> PCAEncoder:
    """The default CarRacing encoder: fitted once on :func:`random_driving_frames`, cached.

    The cache file ``carracing_pca_k{n_components}_n{n_frames}_s{seed}_{tag}.npz`` (the tag
    hashes the gymnasium version and the preprocessing) lives in ``cache_dir``, by default
    :func:`default_cache_dir`. Delete it to refit.
    """
    tag = hashlib.sha1(f"{gym.__version__}|{_CROP_ROWS}|2x2|v{_CACHE_VERSION}".encode()).hexdigest()[:8]
    folder = Path(cache_dir).expanduser() if str(cache_dir) else default_cache_dir()
    path = folder / f"carracing_pca_k{n_components}_n{n_frames}_s{seed}_{tag}.npz"
    if path.is_file():
        try:
            return PCAEncoder.load(path)
        except (OSError, ValueError, KeyError, TaskError):
            pass  # unreadable: refit and overwrite
    encoder = PCAEncoder.fit(random_driving_frames(n_frames, seed=seed), n_components)
    try:
        encoder.save(path)
    except OSError:  # a read-only cache is not fatal: the encoder is still usable
        pass
    return encoder


class DefaultEncoder:
    """The default CarRacing encoder, fitted (or read from the cache) on first use.

    Building a task (for instance while a config file is checked) costs nothing; the fit runs
    at the first episode, or when the task is pickled for worker processes, so that workers
    receive the fitted encoder instead of each fitting their own.
    """

    def __init__(self, n_components: int = 16, *, n_frames: int = 2000, seed: int = 0,
                 cache_dir: str | Path = ""):
        self.n_components, self.n_frames, self.seed = n_components, n_frames, seed
        self.cache_dir = cache_dir
        self._encoder: PCAEncoder | None = None

    @property
    def n_features(self) -> int:
        """Length of each encoded frame (known before fitting)."""
        return self.n_components

    def fitted(self) -> PCAEncoder:
        """The fitted :class:`PCAEncoder` (fits or loads it the first time)."""
        if self._encoder is None:
            self._encoder = fit_pca_encoder(self.n_components, n_frames=self.n_frames,
                                            seed=self.seed, cache_dir=self.cache_dir)
        return self._encoder

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.fitted()(frame)

    def encode_batch(self, frames: np.ndarray) -> np.ndarray:
        return self.fitted().encode_batch(frames)

    def __getstate__(self):
        self.fitted()
        return dict(self.__dict__)


class CarRacingTask(GymTask):
    """CarRacing-v3 driven from an encoding of each frame (Gaier & Ha 2019, section 4.1).

    Parameters
    ----------
    max_steps : int, default=0
        Episode length; ``0`` is the env's 1000 (the reference's ``TIME_LIMIT``).
    encoder : callable, optional
        Frame ``(96, 96, 3)`` uint8 -> 1-D vector; its length sets the network's inputs. If it
        also has ``encode_batch(frames)`` that is used once per step. Default: a
        :class:`DefaultEncoder`, the cached PCA of :func:`fit_pca_encoder` with the options
        below, fitted at the first episode (not when the task is built).
    pca_components : int, default=16
        Inputs of the default encoder (the reference's VAE latent size).
    pca_frames : int, default=2000
        Random-driving frames the default encoder is fitted on (about 25 s, once).
    pca_seed : int, default=0
        Seed of those frames.
    cache_dir : str, default=""
        Cache folder of the default encoder ("" = :func:`default_cache_dir`).
    domain_randomize : bool, default=False
        gymnasium's colour randomisation of track and grass.
    worst_score : float or None, default=None
        Score for non-finite outputs; ``None`` gives ``-0.1 * max_steps - 101``, below any
        return (-0.1 per frame, at worst -100 once for leaving the playfield).
    engine : {"numba", "numpy"}, default="numba"
        Network forward (see :class:`~wann_plugin.tasks.gym.GymTask`).
    max_envs : int, default=48
        Most episodes run side by side (each CarRacing env holds its own renderer).

    Observation
        The encoder's vector of each 96x96 RGB frame (default: 16 whitened PCA scores of the
        top 84 rows, 2x2-pooled).
    Action
        3 outputs mapped as the reference's ``vae_racing``: steer ``clip(a0, -1, 1)``, gas
        ``(clip(a1, -1, 1) + 1) / 2``, brake ``clip(a2, 0, 1)``.
    Reward
        gymnasium's: -0.1 per frame, +1000/N for each of the N track tiles first visited,
        -100 for leaving the playfield.
    Episode end
        All tiles visited (lap complete), off the playfield, or ``max_steps``.
    Version history
        * v0.1: gymnasium CarRacing-v3 with a PCA encoder in place of the reference's VAE.

    Notes
    -----
    CarRacing renders every frame in software: about 12 ms per step and 70 ms per reset on one
    core, so a 1000-step episode costs ~12 s. Use a small ``max_steps`` for quick searches.
    """

    name = "carracing"

    def __init__(self, *, max_steps: int = 0, encoder: Callable | None = None,
                 pca_components: int = 16, pca_frames: int = 2000, pca_seed: int = 0,
                 cache_dir: str = "", domain_randomize: bool = False,
                 worst_score: float | None = None, engine: str = "numba", max_envs: int = 48,
                 exact_math: bool = False):
        validate_params("carracing", (
            Key("pca_components", int, 16, low=1), Key("pca_frames", int, 2000, low=2),
            Key("max_steps", int, 0, low=0)), {
            "pca_components": pca_components, "pca_frames": pca_frames, "max_steps": max_steps},
            TaskError)
        if encoder is None:
            encoder = DefaultEncoder(int(pca_components), n_frames=int(pca_frames),
                                     seed=int(pca_seed), cache_dir=cache_dir)
        steps = int(max_steps) or 1000
        if worst_score is None or worst_score == "":
            worst_score = -0.1 * steps - 101.0
        super().__init__("CarRacing-v3", max_steps=int(max_steps), encoder=encoder,
                         worst_score=worst_score, engine=engine, max_envs=max_envs,
                         exact_math=exact_math, env_kwargs={"domain_randomize": bool(domain_randomize)})

    def map_actions(self, outputs: np.ndarray) -> np.ndarray:
        """Reference ``vae_racing`` mapping: steer, gas from [-1, 1] to [0, 1], brake."""
        act = np.empty_like(outputs, dtype=np.float32)
        act[:, 0] = np.clip(outputs[:, 0], -1.0, 1.0)
        act[:, 1] = (np.clip(outputs[:, 1], -1.0, 1.0) + 1.0) / 2.0
        act[:, 2] = np.clip(outputs[:, 2], 0.0, 1.0)
        return act


register_task("carracing", CarRacingTask)
