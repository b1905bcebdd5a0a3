"""Shared pieces of the weight optimisers: the ask/tell base class, checks and rankings.

Every optimiser of :mod:`wann_plugin.tuning` follows one contract (STYLE.md section 4, after
evosax): fixed hyperparameters live in a frozen ``Params`` dataclass, everything that evolves
lives in a frozen ``State`` dataclass, and the three methods are pure::

    state = strategy.init(x0, rng=rng)
    samples, state = strategy.ask(state, rng=rng)          # (n_samples, n_params)
    state = strategy.tell(state, samples, scores)          # scores: (n_samples,), maximised

Randomness only ever comes from the ``numpy.random.Generator`` passed as ``rng``; ``tell``
takes none. A NaN (or any non-finite) score counts as the worst value before anything else sees
it, so it can never become a "best so far".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import numpy as np

from wann_plugin.validation import Key

__all__ = ["Strategy", "centered_ranks", "sanitize_scores"]

StateT = TypeVar("StateT")


# ----------------------------------------------------------------------------- checks
def check_int(owner: str, name: str, value: Any, low: int | None = None,
              high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``, checked by a :class:`~wann_plugin.validation.Key`
    (the one vocabulary): ``[owner] name == value, must be ...`` otherwise."""
    return Key(name, int, low=low, high=high).validate(owner, value)


def check_float(owner: str, name: str, value: Any, low: float | None = None,
                high: float | None = None, *, low_open: bool = False,
                high_open: bool = False) -> float:
    """``value`` as a finite float inside the given (half-)open or closed range, checked by a
    :class:`~wann_plugin.validation.Key`."""
    return Key(name, float, low=low, high=high, low_open=low_open,
               high_open=high_open).validate(owner, value)


def check_vector(owner: str, name: str, value: Any, n: int | None = None) -> np.ndarray:
    """A finite 1-d float array (of length ``n`` when given), copied."""
    arr = np.array(value, dtype=float)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        want = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"[{owner}] {name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"[{owner}] {name} must be finite, got non-finite entries")
    return arr


# ----------------------------------------------------------------------------- scores
def sanitize_scores(scores: Any, n: int, owner: str = "tell") -> np.ndarray:
    """Scores as a float array of shape ``(n,)`` with every non-finite value set to ``-inf``.

    NaN counts as the worst score (STYLE.md section 4) before any ranking or best-so-far update.
    """
    s = np.array(scores, dtype=float).reshape(-1)
    if s.shape != (n,):
        raise ValueError(f"[{owner}] scores must have shape ({n},) (one per sample), got "
                         f"{np.shape(scores)}")
    s[~np.isfinite(s)] = -np.inf  # NaN, and +inf (not a real outcome either)
    return s


def centered_ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks scaled to ``[-0.5, 0.5]`` (best = 0.5), ties broken by position.

    The fitness shaping of the reference PEPG (``es.py: compute_centered_ranks``; Salimans et al.
    2017): ``rank / (n - 1) - 0.5``.

    Examples
    --------
    >>> centered_ranks(np.array([3.0, -1.0, 10.0])).tolist()
    [0.0, -0.5, 0.5]
    """
    s = np.asarray(scores, dtype=float)
    n = s.shape[0]
    if n < 2:
        return np.zeros(n)
    ranks = np.empty(n)
    ranks[np.argsort(s, kind="stable")] = np.arange(n)
    return ranks / (n - 1) - 0.5


# ----------------------------------------------------------------------------- base class
class Strategy(ABC, Generic[StateT]):
    """Base class of the ask/tell optimisers (maximisation).

    Subclasses fill :meth:`_init`, :meth:`_ask`, :meth:`_tell` and :meth:`current`; the public
    methods check shapes and clean the scores.

    Attributes
    ----------
    name : str
        Method name used by :func:`~wann_plugin.tuning.tune_weights` and ``wann tune``.
    """

    name: str = "strategy"

    def init(self, x0: np.ndarray, *, rng: np.random.Generator) -> StateT:
        """The first state, centred on the starting weights ``x0`` (shape ``(n_params,)``)."""
        _check_rng(rng)
        return self._init(check_vector(type(self).__name__, "x0", x0), rng)

    def ask(self, state: StateT, *, rng: np.random.Generator) -> tuple[np.ndarray, StateT]:
        """Candidates to evaluate, shape ``(n_samples, n_params)``, and the state to tell."""
        _check_rng(rng)
        samples, new_state = self._ask(state, rng)
        return samples, new_state

    def tell(self, state: StateT, samples: np.ndarray, scores: np.ndarray) -> StateT:
        """The next state from the scores (higher is better) of the asked ``samples``."""
        samples = np.asarray(samples, dtype=float)
        if samples.ndim != 2:
            raise ValueError(f"[{type(self).__name__}.tell] samples must be 2-d "
                             f"(n_samples, n_params), got shape {samples.shape}")
        clean = sanitize_scores(scores, samples.shape[0], f"{type(self).__name__}.tell")
        return self._tell(state, samples, clean)

    @abstractmethod
    def current(self, state: StateT) -> np.ndarray:
        """The strategy's current estimate of the best weights (mean, centroid or best one)."""

    @abstractmethod
    def _init(self, x0: np.ndarray, rng: np.random.Generator) -> StateT: ...

    @abstractmethod
    def _ask(self, state: StateT, rng: np.random.Generator) -> tuple[np.ndarray, StateT]: ...

    @abstractmethod
    def _tell(self, state: StateT, samples: np.ndarray, scores: np.ndarray) -> StateT: ...


def _check_rng(rng: Any) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{type(rng).__name__}"
        )
