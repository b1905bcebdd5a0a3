"""Gradient training of the connection weights: Adam on mini-batches of a differentiable loss.

The paper's MNIST table has a "trained weights" row (Gaier & Ha 2019, Table 2: 94.2 %): the
WANN's topology with every weight trained by gradient descent. :class:`GradientTraining` is an
ask/tell strategy like the evolutionary ones, so :func:`~wann_plugin.tuning.tune_weights`
validates it and keeps its best weights the same way. Each :meth:`~GradientTraining.ask` takes
``steps_per_generation`` Adam steps (Kingma & Ba 2015, Algorithm 1) on mini-batches drawn with
the caller's generator, and returns the new weights as the one candidate to score; the loss
and its exact gradient come from the task's ``loss_gradient`` (for classification: the mean
cross-entropy of the softmax of the outputs, back-propagated through the network's exact
output Jacobian, :meth:`~wann_plugin.WannNetwork.output_jacobian`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from wann_plugin.tuning._base import Strategy, check_float, check_int

__all__ = ["GradientParams", "GradientState", "GradientTraining"]

_SEED_HIGH = 2**31 - 10_000


@dataclass(frozen=True)
class GradientParams:
    """Fixed hyperparameters of :class:`GradientTraining`.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Adam's step size.
    batch_size : int, default=128
        Training samples per mini-batch.
    steps_per_generation : int, default=10
        Adam steps between two scored candidates.
    beta1, beta2 : float, default=0.9, 0.999
        Adam's moment decays.
    adam_epsilon : float, default=1e-8
        Adam's denominator offset.
    weight_decay : float, default=0.0
        L2 penalty ``weight_decay * mean((w - w0)^2)`` on the offset from the starting weights.
    clip : float, default=10.0
        Largest gradient norm (larger gradients are scaled down to it).
    """

    learning_rate: float = 0.01
    batch_size: int = 128
    steps_per_generation: int = 10
    beta1: float = 0.9
    beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 0.0
    clip: float = 10.0

    def __post_init__(self) -> None:
        own = "GradientParams"
        check_float(own, "learning_rate", self.learning_rate, 0, None, low_open=True)
        check_int(own, "batch_size", self.batch_size, 1)
        check_int(own, "steps_per_generation", self.steps_per_generation, 1)
        check_float(own, "beta1", self.beta1, 0, 1, high_open=True)
        check_float(own, "beta2", self.beta2, 0, 1, high_open=True)
        check_float(own, "adam_epsilon", self.adam_epsilon, 0, None, low_open=True)
        check_float(own, "weight_decay", self.weight_decay, 0, None)
        check_float(own, "clip", self.clip, 0, None, low_open=True)


@dataclass(frozen=True)
class GradientState:
    """Adam's state and the best candidate told so far.

    Attributes
    ----------
    weights, anchor : ndarray of shape (n_params,)
        Current and starting weights.
    adam_m, adam_v : ndarray of shape (n_params,)
    adam_t : int
    loss : float
        Mean mini-batch loss of the last generation's steps.
    best_weights : ndarray of shape (n_params,)
    best_score : float
    generation : int
    """

    weights: np.ndarray
    anchor: np.ndarray
    adam_m: np.ndarray
    adam_v: np.ndarray
    adam_t: int
    loss: float
    best_weights: np.ndarray
    best_score: float
    generation: int


GradientFn = Callable[[np.ndarray, int, int], tuple[float, np.ndarray]]


class GradientTraining(Strategy[GradientState]):
    """Adam on mini-batches of a differentiable loss, as an ask/tell strategy.

    Parameters
    ----------
    params : GradientParams, optional
    gradient_fn : callable
        ``gradient_fn(conn_weights, seed, batch_size) -> (loss, grad)`` for the mini-batch of
        ``seed`` (``grad`` of shape ``(n_params,)``).

    Examples
    --------
    Least squares ``|x - 1|^2`` (no noise, so the seed is unused):

    >>> import numpy as np
    >>> fn = lambda w, seed, n: (float(((w - 1) ** 2).sum()), 2 * (w - 1))
    >>> opt = GradientTraining(GradientParams(learning_rate=0.1), fn)
    >>> rng = np.random.default_rng(0)
    >>> state = opt.init(np.zeros(3), rng=rng)
    >>> for _ in range(30):
    ...     x, state = opt.ask(state, rng=rng)
    ...     state = opt.tell(state, x, [-state.loss])
    >>> np.round(opt.current(state), 2).tolist()
    [1.0, 1.0, 1.0]
    """

    name = "adam"

    def __init__(self, params: GradientParams | None = None,
                 gradient_fn: GradientFn | None = None):
        if gradient_fn is None:
            raise ValueError("GradientTraining needs gradient_fn(conn_weights, seed, batch_size) "
                             "-> (loss, grad); tune_weights builds it from task.loss_gradient")
        self.params = params if params is not None else GradientParams()
        self.gradient_fn = gradient_fn

    def _init(self, x0: np.ndarray, rng: np.random.Generator) -> GradientState:
        z = np.zeros_like(x0)
        return GradientState(weights=x0.copy(), anchor=x0.copy(), adam_m=z, adam_v=z.copy(),
                             adam_t=0, loss=float("nan"), best_weights=x0.copy(),
                             best_score=-np.inf, generation=0)

    def _ask(self, state: GradientState, rng: np.random.Generator
             ) -> tuple[np.ndarray, GradientState]:
        p = self.params
        w, m, v, t = state.weights.copy(), state.adam_m, state.adam_v, state.adam_t
        losses = []
        for _ in range(p.steps_per_generation):
            loss, grad = self.gradient_fn(w, int(rng.integers(0, _SEED_HIGH)), p.batch_size)
            grad = np.asarray(grad, dtype=float)
            if grad.shape != w.shape:
                raise ValueError(f"gradient_fn returned shape {grad.shape}, expected {w.shape}")
            if not np.all(np.isfinite(grad)):
                break  # a step into non-finite outputs: stop this generation here
            if p.weight_decay > 0:
                grad = grad + p.weight_decay * 2.0 * (w - state.anchor) / w.size
            norm = float(np.linalg.norm(grad))
            if norm > p.clip:
                grad = grad * (p.clip / norm)
            t += 1  # Kingma & Ba 2015, Algorithm 1
            m = p.beta1 * m + (1 - p.beta1) * grad
            v = p.beta2 * v + (1 - p.beta2) * grad * grad
            m_hat = m / (1 - p.beta1 ** t)
            v_hat = v / (1 - p.beta2 ** t)
            w = w - p.learning_rate * m_hat / (np.sqrt(v_hat) + p.adam_epsilon)
            losses.append(float(loss))
        loss = float(np.mean(losses)) if losses else float("nan")
        return w[None], replace(state, weights=w, adam_m=m, adam_v=v, adam_t=t, loss=loss)

    def _tell(self, state: GradientState, samples: np.ndarray,
              scores: np.ndarray) -> GradientState:
        if samples.shape != (1, state.weights.shape[0]):
            raise ValueError(f"[GradientTraining.tell] samples must be the asked (1, "
                             f"{state.weights.shape[0]}) array, got {samples.shape}")
        best_w, best_s = state.best_weights, state.best_score
        if scores[0] > best_s:
            best_w, best_s = samples[0].copy(), float(scores[0])
        return replace(state, best_weights=best_w, best_score=best_s,
                       generation=state.generation + 1)

    def current(self, state: GradientState) -> np.ndarray:
        """The current weights."""
        return state.weights.copy()
