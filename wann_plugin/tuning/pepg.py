"""PEPG: parameter-exploring policy gradients with the reference's fine-tuning defaults.

Sehnke et al. (2010), "Parameter-exploring policy gradients", *Neural Networks* 23(4), in the
variant the WANN paper used to fine-tune individual weights (Gaier & Ha 2019, section 4; the
reference ``WANNTool/es.py: PEPG``; WANN_SPEC.md section h). Per generation, with mean ``mu``,
per-parameter spread ``sigma`` and ``b = pop_size / 2`` antithetic pairs:

1. sample ``eps_j ~ N(0, diag(sigma^2))`` and evaluate ``mu + eps_j`` and ``mu - eps_j``;
2. shape the scores: centred ranks in ``[-0.5, 0.5]`` (rank fitness), then add the L2 penalty
   ``-weight_decay * mean((x - anchor)^2)`` of each sample (the reference penalises its
   parameters, i.e. the offset from the starting weights; ``anchor`` is that start);
3. mean update, Adam (beta1 0.99, beta2 0.999) on the ascent direction
   ``g = sum_j (r_j^+ - r_j^-) eps_j``  (Sehnke 2010, eq. 9 with symmetric sampling);
4. sigma update with the batch-mean baseline ``B``:
   ``dsigma = sigma_alpha * sum_j ((r_j^+ + r_j^-)/2 - B) (eps_j^2 - sigma^2) / sigma / (2 b)``
   (Sehnke 2010, eq. 10), clipped to ``+-sigma_max_change * sigma``;
5. ``sigma *= sigma_decay`` where ``sigma > sigma_limit``; the learning rate decays the same way
   down to ``learning_rate_limit``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from wann_plugin.tuning._base import Strategy, centered_ranks, check_float, check_int

__all__ = ["Pepg", "PepgParams", "PepgState"]


@dataclass(frozen=True)
class PepgParams:
    """Fixed hyperparameters of :class:`Pepg`; the defaults are the reference's (``es.py``).

    Parameters
    ----------
    pop_size : int, default=64
        Samples per generation; even, since they come in antithetic pairs
        (reference ``train.py``: 64 workers x 1 trial).
    sigma : float, default=0.1
        Initial per-parameter standard deviation.
    sigma_alpha : float, default=0.2
        Learning rate of the sigma update (0 switches adaptation off).
    sigma_decay : float, default=0.999
        Multiplies every sigma above ``sigma_limit`` after each generation.
    sigma_limit : float, default=0.02
        Sigmas at or below it no longer decay.
    sigma_max_change : float, default=0.2
        Largest relative change of sigma in one generation (+-20 %).
    learning_rate : float, default=0.01
        Adam step size of the mean.
    learning_rate_decay : float, default=1.0
        Multiplies the learning rate after each generation (1: constant).
    learning_rate_limit : float, default=0.01
        The learning rate no longer decays below it.
    weight_decay : float, default=0.005
        L2 penalty on the offset from the starting weights, added to the ranked fitness.
    beta1, beta2 : float, default=0.99, 0.999
        Adam moment decays (reference ``es.py: Adam``).
    adam_epsilon : float, default=1e-8
        Adam's denominator offset.
    rank_fitness : bool, default=True
        Centred ranks (True) or raw scores normalised by their spread (False).
    """

    pop_size: int = 64
    sigma: float = 0.1
    sigma_alpha: float = 0.2
    sigma_decay: float = 0.999
    sigma_limit: float = 0.02
    sigma_max_change: float = 0.2
    learning_rate: float = 0.01
    learning_rate_decay: float = 1.0
    learning_rate_limit: float = 0.01
    weight_decay: float = 0.005
    beta1: float = 0.99
    beta2: float = 0.999
    adam_epsilon: float = 1e-8
    rank_fitness: bool = True

    def __post_init__(self) -> None:
        own = "PepgParams"
        check_int(own, "pop_size", self.pop_size, 2)
        if self.pop_size % 2:
            raise ValueError(f"[{own}] pop_size == {self.pop_size}, must be even (antithetic pairs); "
                             f"use {self.pop_size + 1}")
        check_float(own, "sigma", self.sigma, 0, None, low_open=True)
        check_float(own, "sigma_alpha", self.sigma_alpha, 0, None)
        check_float(own, "sigma_decay", self.sigma_decay, 0, 1, low_open=True)
        check_float(own, "sigma_limit", self.sigma_limit, 0, None)
        check_float(own, "sigma_max_change", self.sigma_max_change, 0, 1, low_open=True,
                    high_open=True)
        check_float(own, "learning_rate", self.learning_rate, 0, None, low_open=True)
        check_float(own, "learning_rate_decay", self.learning_rate_decay, 0, 1, low_open=True)
        check_float(own, "learning_rate_limit", self.learning_rate_limit, 0, None)
        check_float(own, "weight_decay", self.weight_decay, 0, None)
        check_float(own, "beta1", self.beta1, 0, 1, high_open=True)
        check_float(own, "beta2", self.beta2, 0, 1, high_open=True)
        check_float(own, "adam_epsilon", self.adam_epsilon, 0, None, low_open=True)


@dataclass(frozen=True)
class PepgState:
    """Everything :class:`Pepg` carries from one generation to the next (never mutated).

    Attributes
    ----------
    mean, sigma : ndarray of shape (n_params,)
        The search distribution.
    anchor : ndarray of shape (n_params,)
        The starting weights the L2 penalty pulls towards.
    adam_m, adam_v : ndarray of shape (n_params,)
        Adam's first and second moments.
    adam_t : int
        Adam steps taken.
    learning_rate : float
        Current (decayed) step size.
    eps : ndarray of shape (pop_size // 2, n_params) or None
        The perturbations of the last :meth:`Pepg.ask`, used by :meth:`Pepg.tell`.
    best_weights : ndarray of shape (n_params,)
        Best sample told so far (by its score; starts at the mean).
    best_score : float
        Its score (``-inf`` before the first tell).
    generation : int
        Completed tells.
    """

    mean: np.ndarray
    sigma: np.ndarray
    anchor: np.ndarray
    adam_m: np.ndarray
    adam_v: np.ndarray
    adam_t: int
    learning_rate: float
    eps: np.ndarray | None
    best_weights: np.ndarray
    best_score: float
    generation: int


class Pepg(Strategy[PepgState]):
    """PEPG with antithetic sampling, centred ranks, Adam on the mean and adaptive sigma.

    Parameters
    ----------
    params : PepgParams, optional
        Hyperparameters (the reference's by default).

    Examples
    --------
    Maximise ``-|x - 1|^2`` from 0:

    >>> import numpy as np
    >>> opt = Pepg(PepgParams(pop_size=16, learning_rate=0.03, weight_decay=0.0))
    >>> rng = np.random.default_rng(0)
    >>> state = opt.init(np.zeros(3), rng=rng)
    >>> for _ in range(200):
    ...     x, state = opt.ask(state, rng=rng)
    ...     state = opt.tell(state, x, -((x - 1.0) ** 2).sum(axis=1))
    >>> bool(np.abs(opt.current(state) - 1.0).max() < 0.15)
    True
    """

    name = "pepg"

    def __init__(self, params: PepgParams | None = None):
        self.params = params if params is not None else PepgParams()

    def _init(self, x0: np.ndarray, rng: np.random.Generator) -> PepgState:
        n = x0.shape[0]
        return PepgState(
            mean=x0.copy(), sigma=np.full(n, self.params.sigma), anchor=x0.copy(),
            adam_m=np.zeros(n), adam_v=np.zeros(n), adam_t=0,
            learning_rate=self.params.learning_rate, eps=None,
            best_weights=x0.copy(), best_score=-np.inf, generation=0,
        )

    def _ask(self, state: PepgState, rng: np.random.Generator) -> tuple[np.ndarray, PepgState]:
        half = self.params.pop_size // 2
        eps = rng.standard_normal((half, state.mean.shape[0])) * state.sigma
        samples = np.concatenate([state.mean + eps, state.mean - eps])
        return samples, replace(state, eps=eps)

    def _tell(self, state: PepgState, samples: np.ndarray, scores: np.ndarray) -> PepgState:
        p = self.params
        if state.eps is None:
            raise ValueError("[Pepg.tell] no pending samples: call ask before tell")
        half = state.eps.shape[0]
        if samples.shape != (2 * half, state.mean.shape[0]):
            raise ValueError(f"[Pepg.tell] samples must be the asked ({2 * half}, "
                             f"{state.mean.shape[0]}) array, got {samples.shape}")
        eps, sigma = state.eps, state.sigma

        # best so far (scores are already cleaned: NaN -> -inf)
        i_best = int(np.argmax(scores))
        best_w, best_s = state.best_weights, state.best_score
        if scores[i_best] > best_s:
            best_w, best_s = samples[i_best].copy(), float(scores[i_best])

        # fitness shaping: centred ranks (or spread-normalised scores) + L2 decay
        if p.rank_fitness:
            reward = centered_ranks(scores)
            reward_std = 1.0
        else:
            finite = np.where(np.isfinite(scores), scores, np.min(scores[np.isfinite(scores)],
                                                                  initial=0.0))
            reward = finite - finite.mean()
            reward_std = float(reward.std()) or 1.0
        if p.weight_decay > 0:
            reward = reward - p.weight_decay * np.mean((samples - state.anchor) ** 2, axis=1)
        baseline = float(reward.mean())
        r_plus, r_minus = reward[:half], reward[half:]

        # mean: Adam ascent on g = sum_j (r+ - r-) eps_j   (Sehnke 2010, eq. 9)
        grad = (r_plus - r_minus) @ eps
        t = state.adam_t + 1
        m = p.beta1 * state.adam_m + (1 - p.beta1) * (-grad)
        v = p.beta2 * state.adam_v + (1 - p.beta2) * grad * grad
        step_size = state.learning_rate * np.sqrt(1 - p.beta2 ** t) / (1 - p.beta1 ** t)
        mean = state.mean - step_size * m / (np.sqrt(v) + p.adam_epsilon)

        # sigma: baseline-corrected likelihood-ratio step, clipped  (Sehnke 2010, eq. 10)
        new_sigma = sigma.copy()
        if p.sigma_alpha > 0:
            s_term = (eps * eps - sigma * sigma) / sigma
            r_avg = (r_plus + r_minus) / 2.0 - baseline
            delta = (r_avg @ s_term) / (2 * half * reward_std)
            change = np.clip(p.sigma_alpha * delta, -p.sigma_max_change * sigma,
                             p.sigma_max_change * sigma)
            new_sigma = sigma + change
        if p.sigma_decay < 1:
            new_sigma = np.where(new_sigma > p.sigma_limit, new_sigma * p.sigma_decay, new_sigma)
        lr = state.learning_rate
        if p.learning_rate_decay < 1 and lr > p.learning_rate_limit:
            lr *= p.learning_rate_decay

        return PepgState(
            mean=mean, sigma=new_sigma, anchor=state.anchor, adam_m=m, adam_v=v, adam_t=t,
            learning_rate=lr, eps=None, best_weights=best_w, best_score=best_s,
            generation=state.generation + 1,
        )

    def current(self, state: PepgState) -> np.ndarray:
        """The distribution's mean (what the tuning driver validates)."""
        return state.mean.copy()
