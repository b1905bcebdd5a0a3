"""CMA-ES through DEAP's :class:`deap.cma.Strategy`, made seeded and stateless.

Hansen & Ostermeier (2001), "Completely derandomized self-adaptation in evolution strategies",
*Evolutionary Computation* 9(2). The WANN paper's reference fine-tunes swing-up weights with
CMA-ES (``WANNTool/es.py: CMAES``, popsize 32, ``sigma_init`` 0.5 in its README example;
WANN_SPEC.md section h). The update equations are DEAP's, not ours.

Two things in DEAP do not fit the project's rules, and this module works around them:

* ``Strategy.generate(ind_init)`` draws from the **global** ``numpy.random``. We never call it.
  :meth:`CmaEs.ask` samples the same distribution itself from the strategy's public fields with
  the caller's generator: ``x_j = centroid + sigma * B @ (diagD * z_j)``, ``z_j ~ N(0, I)``
  (DEAP's ``arz @ BD.T`` with ``BD = B * diagD``).
* ``Strategy.update(population)`` mutates the strategy and sorts the list it is given by each
  individual's ``fitness`` attribute. :meth:`CmaEs.tell` deep-copies the strategy held in the
  state, ranks the samples itself (NaN worst, ties broken by sample index) and hands DEAP
  private row views whose ``fitness`` is minus that rank, so DEAP's sort reproduces our order
  exactly. The caller's arrays and the previous state are never touched.

Fitness shaping: ``score - weight_decay * mean((x - anchor)^2)`` with ``anchor`` the starting
weights. (The reference adds the penalty to the *cost* it minimises, which rewards large
weights; we penalise, as intended. At the default 0.01 it barely matters on swing-up.)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from deap import cma as deap_cma

from wann_plugin.tuning._base import Strategy, check_float, check_int

__all__ = ["CmaEs", "CmaParams", "CmaState"]


@dataclass(frozen=True)
class CmaParams:
    """Fixed hyperparameters of :class:`CmaEs`.

    Parameters
    ----------
    pop_size : int or None, default=32
        Samples per generation (DEAP's ``lambda_``); ``None`` uses DEAP's default
        ``int(4 + 3 * ln(n_params))``. The reference used 32.
    sigma : float, default=0.5
        Initial step size (the reference README's CMA example).
    weight_decay : float, default=0.01
        L2 penalty on the offset from the starting weights (reference ``es.py: CMAES``).
    mu : int or None, default=None
        Parents of the recombination; ``None`` uses DEAP's ``lambda_ // 2``.
    """

    pop_size: int | None = 32
    sigma: float = 0.5
    weight_decay: float = 0.01
    mu: int | None = None

    def __post_init__(self) -> None:
        own = "CmaParams"
        if self.pop_size is not None:
            check_int(own, "pop_size", self.pop_size, 4)
        check_float(own, "sigma", self.sigma, 0, None, low_open=True)
        check_float(own, "weight_decay", self.weight_decay, 0, None)
        if self.mu is not None:
            check_int(own, "mu", self.mu, 1)
            if self.pop_size is not None and self.mu > self.pop_size:
                raise ValueError(f"[{own}] mu == {self.mu} exceeds pop_size == {self.pop_size}; "
                                 "lower mu or raise pop_size")


@dataclass(frozen=True)
class CmaState:
    """The state of :class:`CmaEs` between generations.

    Attributes
    ----------
    strategy : deap.cma.Strategy
        A private copy; never mutated after it is stored here.
    anchor : ndarray of shape (n_params,)
        Starting weights (the L2 penalty pulls towards them).
    best_weights : ndarray of shape (n_params,)
    best_score : float
        Best told sample and its score (``-inf`` before the first tell).
    generation : int
    """

    strategy: deap_cma.Strategy
    anchor: np.ndarray
    best_weights: np.ndarray
    best_score: float
    generation: int

    @property
    def centroid(self) -> np.ndarray:
        """The distribution's mean, shape ``(n_params,)``."""
        return np.array(self.strategy.centroid, dtype=float)

    @property
    def sigma(self) -> float:
        """The global step size."""
        return float(self.strategy.sigma)


class _Row(np.ndarray):
    """A sample row carrying the ``fitness`` attribute DEAP's ``update`` sorts on."""

    fitness: float


class CmaEs(Strategy[CmaState]):
    """CMA-ES (DEAP's update) with seeded sampling and explicit state.

    Parameters
    ----------
    params : CmaParams, optional

    Examples
    --------
    >>> import numpy as np
    >>> opt = CmaEs(CmaParams(pop_size=12, sigma=0.5, weight_decay=0.0))
    >>> rng = np.random.default_rng(0)
    >>> state = opt.init(np.zeros(4), rng=rng)
    >>> for _ in range(60):
    ...     x, state = opt.ask(state, rng=rng)
    ...     state = opt.tell(state, x, -((x - 1.0) ** 2).sum(axis=1))
    >>> bool(np.allclose(opt.current(state), 1.0, atol=1e-2))
    True
    """

    name = "cma"

    def __init__(self, params: CmaParams | None = None):
        self.params = params if params is not None else CmaParams()

    def _init(self, x0: np.ndarray, rng: np.random.Generator) -> CmaState:
        kwargs = {}
        if self.params.pop_size is not None:
            kwargs["lambda_"] = self.params.pop_size
        if self.params.mu is not None:
            kwargs["mu"] = self.params.mu
        strategy = deap_cma.Strategy(centroid=x0.copy(), sigma=self.params.sigma, **kwargs)
        if strategy.mu > strategy.lambda_:
            raise ValueError(f"[CmaParams] mu == {strategy.mu} exceeds the population size "
                             f"{strategy.lambda_}")
        return CmaState(strategy=strategy, anchor=x0.copy(), best_weights=x0.copy(),
                        best_score=-np.inf, generation=0)

    def _ask(self, state: CmaState, rng: np.random.Generator) -> tuple[np.ndarray, CmaState]:
        s = state.strategy
        z = rng.standard_normal((s.lambda_, s.dim))
        samples = np.asarray(s.centroid, dtype=float) + s.sigma * z @ np.asarray(s.BD).T
        return samples, state

    def _tell(self, state: CmaState, samples: np.ndarray, scores: np.ndarray) -> CmaState:
        s = state.strategy
        if samples.shape != (s.lambda_, s.dim):
            raise ValueError(f"[CmaEs.tell] samples must have shape ({s.lambda_}, {s.dim}), "
                             f"got {samples.shape}")
        i_best = int(np.argmax(scores))
        best_w, best_s = state.best_weights, state.best_score
        if scores[i_best] > best_s:
            best_w, best_s = samples[i_best].copy(), float(scores[i_best])

        shaped = scores.copy()
        if self.params.weight_decay > 0:
            shaped = shaped - self.params.weight_decay * np.mean((samples - state.anchor) ** 2,
                                                                 axis=1)
        # rank ourselves (best first, ties by index) so DEAP's sort cannot reorder ties
        order = np.lexsort((np.arange(len(shaped)), -shaped))
        rows = []
        for rank, i in enumerate(order):
            row = samples[i].copy().view(_Row)
            row.fitness = -float(rank)
            rows.append(row)
        new_strategy = copy.deepcopy(s)
        new_strategy.update(rows)
        return CmaState(strategy=new_strategy, anchor=state.anchor, best_weights=best_w,
                        best_score=best_s, generation=state.generation + 1)

    def current(self, state: CmaState) -> np.ndarray:
        """The distribution's centroid."""
        return state.centroid
