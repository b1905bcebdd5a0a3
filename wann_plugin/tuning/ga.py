"""A simple steady-state GA over per-connection weights, with a pluggable mutation operator.

The GA of the safe-mutation experiments (Lehman et al. 2018, section 4; the reference
``experiment_runner.py``; SAFE_MUTATIONS.md section 2.5): a fixed-size population; each child
is a mutated copy of a tournament winner (no crossover) and replaces the loser of a second,
reverse tournament. Here the children come in small batches so a task can evaluate them in
one vectorised call: one :meth:`SteadyStateGA.ask` / :meth:`~SteadyStateGA.tell` round makes
``n_offspring`` children (``n_offspring = 1`` is the classic one-at-a-time GA).

The first ask returns the initial population for evaluation: the starting weights ``x0`` and
``pop_size - 1`` children of ``x0`` made by the same mutation operator (so every operator
starts from a population it would have produced itself).

Safe mutations need the parent's **experiences**, the inputs it saw. The GA asks its
``experience_fn(weights, seed)`` for them the first time an individual becomes a parent, and
keeps them in the state until that individual is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tuning._base import Strategy, check_int
from wann_plugin.tuning.safe_mutations import Mutation

__all__ = ["ExperienceFn", "GaParams", "GaState", "SteadyStateGA"]

ExperienceFn = Callable[[np.ndarray, int], np.ndarray]
"""``experience_fn(conn_weights, seed) -> inputs (n_experiences, n_inputs)``: inputs a network
with these weights saw (see :func:`wann_plugin.tuning.collect_experiences`)."""

_SEED_HIGH = 2**31 - 10_000


@dataclass(frozen=True)
class GaParams:
    """Fixed hyperparameters of :class:`SteadyStateGA`.

    Parameters
    ----------
    pop_size : int, default=32
        Individuals kept (the reference used 250 for 100 000 evaluations).
    n_offspring : int, default=8
        Children per ask/tell round (evaluated together).
    tournament_size : int, default=5
        Size of the parent tournament and of the reverse (removal) tournament (reference: 5).
    """

    pop_size: int = 32
    n_offspring: int = 8
    tournament_size: int = 5

    def __post_init__(self) -> None:
        own = "GaParams"
        check_int(own, "pop_size", self.pop_size, 2)
        check_int(own, "n_offspring", self.n_offspring, 1)
        check_int(own, "tournament_size", self.tournament_size, 1)
        if self.tournament_size > self.pop_size:
            raise ValueError(f"[{own}] tournament_size == {self.tournament_size} exceeds "
                             f"pop_size == {self.pop_size}; lower it or raise pop_size")


@dataclass(frozen=True)
class GaState:
    """The population and what is pending between ask and tell.

    Attributes
    ----------
    population : ndarray of shape (pop_size, n_params)
    scores : ndarray of shape (pop_size,)
        ``-inf`` until evaluated (and for non-finite scores).
    experiences : tuple of (ndarray or None)
        Cached experiences of each individual, ``None`` until it first becomes a parent.
    pending : ndarray of int
        After an ask: the population slots being evaluated (first round) or the parents of
        the asked children.
    removal : ndarray of shape (n_offspring, tournament_size), int
        Contestants of each child's reverse tournament, drawn in ask.
    initialised : bool
        Whether the initial population has been scored.
    best_weights : ndarray of shape (n_params,)
    best_score : float
        Best told individual so far.
    generation : int
        Completed tells.
    """

    population: np.ndarray
    scores: np.ndarray
    experiences: tuple
    pending: np.ndarray
    removal: np.ndarray
    initialised: bool
    best_weights: np.ndarray
    best_score: float
    generation: int


class SteadyStateGA(Strategy[GaState]):
    """Steady-state GA with tournament selection and tournament replacement.

    Parameters
    ----------
    net : WannNetwork
        The topology whose weights evolve (the safe mutations differentiate it).
    mutation : Mutation, optional
        The operator (default: plain Gaussian, ``sigma`` 0.1).
    params : GaParams, optional
    experience_fn : callable, optional
        ``experience_fn(conn_weights, seed) -> (n_experiences, n_inputs)``; required by the
        safe mutations.

    Examples
    --------
    Fit ``y = 2x - 1`` with a two-weight network:

    >>> import numpy as np
    >>> from wann_plugin import WannNetwork
    >>> net = WannNetwork.from_edges(1, 1, [1, 1, 1], [(0, 2), (1, 2)])
    >>> x = np.linspace(-1, 1, 16)[:, None]
    >>> ga = SteadyStateGA(net, Mutation("sm-g-abs", sigma=0.05),
    ...                    experience_fn=lambda w, seed: x)
    >>> rng = np.random.default_rng(0)
    >>> state = ga.init(np.zeros(2), rng=rng)
    >>> for _ in range(60):
    ...     w, state = ga.ask(state, rng=rng)
    ...     y = net.activate_weights(x[None], w[:, None, :])[..., 0]
    ...     state = ga.tell(state, w, -((y - (2 * x[:, 0] - 1)) ** 2).mean(axis=1))
    >>> np.round(ga.current(state), 1).tolist()
    [-1.0, 2.0]
    """

    name = "ga"

    def __init__(self, net: WannNetwork, mutation: Mutation | None = None,
                 params: GaParams | None = None, experience_fn: ExperienceFn | None = None):
        self.net = net
        self.mutation = mutation if mutation is not None else Mutation("gaussian")
        self.params = params if params is not None else GaParams()
        if self.mutation.needs_experiences and experience_fn is None:
            raise ValueError(
                f"mutation {self.mutation.method!r} needs experience_fn(conn_weights, seed) -> "
                "inputs the network saw (see wann_plugin.tuning.collect_experiences)"
            )
        self.experience_fn = experience_fn
        self.name = "ga" if self.mutation.method == "gaussian" else self.mutation.method

    # ------------------------------------------------------------------ helpers
    def _experiences_of(self, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        if not self.mutation.needs_experiences:
            return None
        x = np.asarray(self.experience_fn(weights, int(rng.integers(0, _SEED_HIGH))), dtype=float)
        if x.ndim != 2 or x.shape[1] != self.net.n_inputs or x.shape[0] < 1:
            raise ValueError(f"experience_fn returned shape {x.shape}, expected "
                             f"(n_experiences >= 1, {self.net.n_inputs})")
        return x

    # ------------------------------------------------------------------ ask / tell
    def _init(self, x0: np.ndarray, rng: np.random.Generator) -> GaState:
        if x0.shape != (self.net.n_connections,):
            raise ValueError(f"[SteadyStateGA] x0 must have shape ({self.net.n_connections},), "
                             f"got {x0.shape}")
        n = self.params.pop_size
        exp0 = self._experiences_of(x0, rng)
        pop = np.empty((n, x0.shape[0]))
        pop[0] = x0
        for i in range(1, n):
            pop[i] = self.mutation(self.net, x0, exp0, rng=rng)
        experiences = (exp0,) + (None,) * (n - 1)
        return GaState(population=pop, scores=np.full(n, -np.inf), experiences=experiences,
                       pending=np.arange(n), removal=np.zeros((0, 0), dtype=int),
                       initialised=False, best_weights=x0.copy(), best_score=-np.inf,
                       generation=0)

    def _ask(self, state: GaState, rng: np.random.Generator) -> tuple[np.ndarray, GaState]:
        if not state.initialised:
            return state.population[state.pending].copy(), state
        p = self.params
        n = state.population.shape[0]
        experiences = list(state.experiences)
        parents = np.empty(p.n_offspring, dtype=int)
        children = np.empty((p.n_offspring, state.population.shape[1]))
        for j in range(p.n_offspring):
            contestants = rng.choice(n, p.tournament_size, replace=False)
            parent = int(contestants[np.argmax(state.scores[contestants])])
            if self.mutation.needs_experiences and experiences[parent] is None:
                experiences[parent] = self._experiences_of(state.population[parent], rng)
            parents[j] = parent
            children[j] = self.mutation(self.net, state.population[parent],
                                        experiences[parent], rng=rng)
        removal = np.stack([rng.choice(n, p.tournament_size, replace=False)
                            for _ in range(p.n_offspring)])
        return children, replace(state, experiences=tuple(experiences), pending=parents,
                                 removal=removal)

    def _tell(self, state: GaState, samples: np.ndarray, scores: np.ndarray) -> GaState:
        if samples.shape != (len(state.pending), state.population.shape[1]):
            raise ValueError(f"[SteadyStateGA.tell] samples must be the asked "
                             f"({len(state.pending)}, {state.population.shape[1]}) array, got "
                             f"{samples.shape}")
        pop = state.population.copy()
        fit = state.scores.copy()
        experiences = list(state.experiences)
        if not state.initialised:
            pop[state.pending] = samples
            fit[state.pending] = scores
        else:
            for j in range(samples.shape[0]):
                contestants = state.removal[j]
                loser = int(contestants[np.argmin(fit[contestants])])
                pop[loser] = samples[j]
                fit[loser] = scores[j]
                experiences[loser] = None
        best_w, best_s = state.best_weights, state.best_score
        i_best = int(np.argmax(scores))
        if scores[i_best] > best_s:
            best_w, best_s = samples[i_best].copy(), float(scores[i_best])
        return GaState(population=pop, scores=fit, experiences=tuple(experiences),
                       pending=np.zeros(0, dtype=int), removal=np.zeros((0, 0), dtype=int),
                       initialised=True, best_weights=best_w, best_score=best_s,
                       generation=state.generation + 1)

    def current(self, state: GaState) -> np.ndarray:
        """The best individual of the population (by its recorded score)."""
        return state.population[int(np.argmax(state.scores))].copy()
