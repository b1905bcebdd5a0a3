"""Fine-tune the per-connection weights of a WANN on a task: the loop around the optimisers.

After the search, the WANN paper tunes every connection's weight individually, starting from a
shared weight (Gaier & Ha 2019, section 4, Table 1 "tuned weights"; the reference starts from a
fixed bias per task, -1.5 for swing-up). :func:`tune_weights` runs any of the ask/tell
optimisers of this package for a number of generations:

* each generation draws one episode seed from ``rng``; every candidate faces the same
  ``n_repeats`` episodes (common random numbers, as the reference's antithetic pairs do) and
  its score is the mean over them;
* every ``validate_every`` generations (and at the start and the end) the optimiser's current
  estimate is scored on ``n_validation`` fixed validation episodes (one seed drawn from
  ``rng`` in ``[10**6, 2**31)``, away from the test seeds ``0..99``); the best validated
  weights are returned, so tuning never hands back something that validates worse than its
  start (the reference keeps its best checkpoint the same way, ``train.py``, every 25
  generations).

Methods: ``pepg`` (:class:`Pepg`), ``cma`` (:class:`CmaEs`), ``ga`` (steady-state GA with
Gaussian mutation, the control) and the GA with a safe mutation: ``sm-r``, ``sm-g-sum``,
``sm-g-abs``, ``sm-g-so``.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task
from wann_plugin.tuning._base import Strategy, check_int
from wann_plugin.tuning._experiences import fallback_sample_inputs
from wann_plugin.tuning.cma import CmaEs, CmaParams
from wann_plugin.tuning.ga import GaParams, SteadyStateGA
from wann_plugin.tuning.pepg import Pepg, PepgParams
from wann_plugin.tuning.safe_mutations import Mutation
from wann_plugin.tuning.shared import SharedWeightResult, best_shared_weight

__all__ = ["METHODS", "GenerationRecord", "TuningResult", "collect_experiences",
           "evaluate_candidates", "make_strategy", "tune_weights"]

#: Tuning methods by name (``wann tune --method``).
METHODS = ("pepg", "cma", "ga", "sm-r", "sm-g-sum", "sm-g-abs", "sm-g-so")
_SEED_HIGH = 2**31 - 10_000
_VALIDATION_LOW = 10**6


@dataclass(frozen=True)
class GenerationRecord:
    """One generation of a tuning run (the tuning curve).

    Attributes
    ----------
    generation : int
        1-based generation number (0 = the starting point, validation only).
    n_episodes : int
        Training episodes used so far (samples x repeats, summed).
    best, mean : float
        Best and mean training score of this generation's samples (``nan`` at generation 0).
    validation : float
        Validation score of the optimiser's current estimate, ``nan`` when not validated.
    seconds : float
        Wall time since the start of the run.
    """

    generation: int
    n_episodes: int
    best: float
    mean: float
    validation: float
    seconds: float

    def to_dict(self) -> dict:
        """JSON-ready form (``nan`` becomes ``None``)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune_weights` returns.

    Attributes
    ----------
    method : str
    conn_weights : ndarray of shape (n_connections,)
        The best validated weights, in the network's connection order.
    validation_score : float
        Their mean score on the validation episodes.
    start_weights : ndarray of shape (n_connections,)
    start_score : float
        Validation score of the starting weights.
    history : tuple of GenerationRecord
    n_episodes : int
        Training episodes used (validation not included).
    shared : SharedWeightResult or None
        The shared-weight search that chose the start, when it ran.
    validation_seed, n_validation : int
        The validation episodes.
    final_state : object
        The optimiser's last state (to continue or inspect).
    """

    method: str
    conn_weights: np.ndarray
    validation_score: float
    start_weights: np.ndarray
    start_score: float
    history: tuple
    n_episodes: int
    shared: SharedWeightResult | None
    validation_seed: int
    n_validation: int
    final_state: Any = None

    def to_dict(self) -> dict:
        """JSON-ready summary (weights, scores, curve)."""
        return {
            "method": self.method,
            "conn_weights": self.conn_weights.tolist(),
            "validation_score": self.validation_score,
            "start_score": self.start_score,
            "start_weights": self.start_weights.tolist(),
            "n_episodes": self.n_episodes,
            "validation_seed": self.validation_seed,
            "n_validation": self.n_validation,
            "history": [r.to_dict() for r in self.history],
            "shared": None if self.shared is None else self.shared.to_dict(),
        }


# ----------------------------------------------------------------------------- tasks
def collect_experiences(task: Task, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                        n: int = 100) -> np.ndarray:
    """Inputs the network saw when run on ``task`` with ``conn_weights`` (for safe mutations).

    Calls the optional Task hook ``task.sample_inputs(net, conn_weights, *, seed, n)``, which
    returns up to ``n`` observations (shape ``(n_samples, n_inputs)``) that ``net`` with these
    weights met in the episode(s) of ``seed`` (a random subset when there were more). For the
    built-in swing-up and classification tasks without the hook, the inputs are recorded here
    (``wann_plugin/tuning/_experiences.py``).

    Raises
    ------
    TypeError
        If the task has no ``sample_inputs``.
    ValueError
        If it returns a wrongly shaped or empty array.
    """
    hook = getattr(task, "sample_inputs", None)
    cw = np.asarray(conn_weights, dtype=float)
    if hook is not None:
        x = hook(net, cw, seed=int(seed), n=int(n))
    else:
        x = fallback_sample_inputs(task, net, cw, seed=int(seed), n=int(n))
        if x is None:
            raise _missing_hook(task)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != net.n_inputs or not 1 <= x.shape[0] <= n:
        raise ValueError(f"task {task.name!r}.sample_inputs returned shape {x.shape}, expected "
                         f"(1..{n}, {net.n_inputs})")
    return x


def _missing_hook(task: Task) -> TypeError:
    return TypeError(
        f"task {task.name!r} ({type(task).__name__}) cannot record experiences: safe "
        "mutations need the optional method sample_inputs(net, conn_weights, *, seed, n) "
        "-> ndarray (n_samples <= n, n_inputs) returning inputs the network saw; use "
        "method 'ga', 'pepg' or 'cma' instead"
    )


def evaluate_candidates(task: Task, net: WannNetwork, candidates: np.ndarray, *, seed: int,
                        n_repeats: int) -> np.ndarray:
    """Mean score of each weight vector over ``n_repeats`` episodes (non-finite -> ``-inf``).

    Parameters
    ----------
    candidates : ndarray of shape (n_sets, n_connections)

    Returns
    -------
    ndarray of shape (n_sets,)
    """
    cand = np.atleast_2d(np.asarray(candidates, dtype=float))
    raw = np.asarray(task.evaluate_weights(net, cand, seed=int(seed), n_repeats=n_repeats),
                     dtype=float)
    if raw.shape != (cand.shape[0], n_repeats):
        raise ValueError(f"task {task.name!r}.evaluate_weights returned shape {raw.shape}, "
                         f"expected ({cand.shape[0]}, {n_repeats})")
    raw = np.where(np.isfinite(raw), raw, -np.inf)
    return raw.mean(axis=1)


# ----------------------------------------------------------------------------- strategies
def _check_method(method: str) -> str:
    if method not in METHODS:
        hint = difflib.get_close_matches(str(method), METHODS, n=1)
        raise ValueError(f"method == {method!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                         + f" (choices: {', '.join(METHODS)})")
    return method


def make_strategy(method: str, net: WannNetwork, *, params: Any = None,
                  mutation: Mutation | None = None,
                  experience_fn: Callable[[np.ndarray, int], np.ndarray] | None = None
                  ) -> Strategy:
    """The optimiser for ``method``.

    Parameters
    ----------
    method : {"pepg", "cma", "ga", "sm-r", "sm-g-sum", "sm-g-abs", "sm-g-so"}
    net : WannNetwork
    params : PepgParams, CmaParams or GaParams, optional
        Must match the method (GA methods take :class:`GaParams`).
    mutation : Mutation, optional
        GA methods: the operator's sizes; its ``method`` is set from ``method``
        (``ga`` -> ``gaussian``).
    experience_fn : callable, optional
        Safe mutations: ``experience_fn(conn_weights, seed) -> (n, n_inputs)``.
    """
    _check_method(method)
    expected = {"pepg": PepgParams, "cma": CmaParams}.get(method, GaParams)
    if params is not None and not isinstance(params, expected):
        raise TypeError(f"method {method!r} takes {expected.__name__}, got "
                        f"{type(params).__name__}")
    if method == "pepg":
        return Pepg(params)
    if method == "cma":
        return CmaEs(params)
    op = "gaussian" if method == "ga" else method
    mutation = replace(mutation, method=op) if mutation is not None else Mutation(op)
    return SteadyStateGA(net, mutation, params, experience_fn=experience_fn)


# ----------------------------------------------------------------------------- the loop
def tune_weights(
    task: Task,
    net: WannNetwork,
    *,
    rng: np.random.Generator,
    method: str = "pepg",
    start: float | np.ndarray | None = None,
    generations: int = 100,
    n_repeats: int = 4,
    params: Any = None,
    mutation: Mutation | None = None,
    validate_every: int = 5,
    n_validation: int = 32,
    shared_options: dict | None = None,
    callback: Callable[[GenerationRecord], None] | None = None,
) -> TuningResult:
    """Tune each connection's weight of ``net`` on ``task``.

    Parameters
    ----------
    task : Task
        Must implement ``evaluate_weights`` (and ``sample_inputs`` for the safe mutations).
    net : WannNetwork
    rng : numpy.random.Generator
        The only source of randomness (episode seeds, samples, mutations).
    method : str, default="pepg"
        One of :data:`METHODS`.
    start : float, ndarray of shape (n_connections,) or None, default=None
        A shared weight to start every connection at (the reference: -1.5 for swing-up), a
        full weight vector, or ``None`` for the best shared weight
        (:func:`best_shared_weight` with ``shared_options``).
    generations : int, default=100
        Ask/tell rounds.
    n_repeats : int, default=4
        Episodes per candidate (the reference: 4).
    params : PepgParams, CmaParams or GaParams, optional
        The optimiser's hyperparameters.
    mutation : Mutation, optional
        GA methods: the mutation sizes (``sigma``, ``target_divergence``, ...).
    validate_every : int, default=5
        Generations between validations of the current estimate.
    n_validation : int, default=32
        Validation episodes (cheap next to training: one candidate each time).
    shared_options : dict, optional
        Keywords for :func:`best_shared_weight` when ``start`` is None (``grid``,
        ``refine_iters``, ``n_repeats``; by default ``max(32, n_repeats)`` episodes per
        weight, since a noisy curve is easily won by a lucky weight).
    callback : callable, optional
        Called with each :class:`GenerationRecord` (progress output).

    Returns
    -------
    TuningResult

    Examples
    --------
    See the tutorial ``docs/tuning.rst``; in short::

        result = tune_weights(task, net, method="cma", start=-1.5, generations=150,
                              rng=np.random.default_rng(0))
        task.summary(net, [], conn_weights=result.conn_weights)
    """
    _check_method(method)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    check_int("tune_weights", "generations", generations, 0)
    check_int("tune_weights", "n_repeats", n_repeats, 1)
    check_int("tune_weights", "validate_every", validate_every, 1)
    check_int("tune_weights", "n_validation", n_validation, 1)
    task.check_network(net)
    if net.n_connections == 0:
        raise ValueError(f"network {net.key!r} has no enabled connection: nothing to tune")

    shared = None
    if start is None:
        opts = {"n_repeats": max(32, n_repeats), **(shared_options or {})}
        shared = best_shared_weight(task, net, seed=int(rng.integers(0, _SEED_HIGH)), **opts)
        x0 = np.full(net.n_connections, shared.weight)
    elif np.ndim(start) == 0:
        x0 = np.full(net.n_connections, float(start))
    else:
        x0 = np.array(start, dtype=float)
        if x0.shape != (net.n_connections,):
            raise ValueError(f"start must be a float or have shape ({net.n_connections},), got "
                             f"{x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError("start weights must be finite")

    experience_fn = None
    if method.startswith("sm-"):
        n_exp = mutation.n_experiences if mutation is not None else 100
        collect_experiences(task, net, x0, seed=0, n=n_exp)  # fails early without the hook

        def experience_fn(weights: np.ndarray, seed: int) -> np.ndarray:
            return collect_experiences(task, net, weights, seed=seed, n=n_exp)

    strategy = make_strategy(method, net, params=params, mutation=mutation,
                             experience_fn=experience_fn)
    val_seed = int(rng.integers(_VALIDATION_LOW, _SEED_HIGH))

    def validate(weights: np.ndarray) -> float:
        return float(evaluate_candidates(task, net, weights[None], seed=val_seed,
                                         n_repeats=n_validation)[0])

    t0 = time.perf_counter()
    best_w, best_v = x0.copy(), validate(x0)
    start_score = best_v
    history = [GenerationRecord(0, 0, float("nan"), float("nan"), best_v, 0.0)]
    if callback is not None:
        callback(history[0])
    state = strategy.init(x0, rng=rng)
    n_episodes = 0
    for gen in range(1, generations + 1):
        samples, state = strategy.ask(state, rng=rng)
        scores = evaluate_candidates(task, net, samples, seed=int(rng.integers(0, _SEED_HIGH)),
                                     n_repeats=n_repeats)
        n_episodes += samples.shape[0] * n_repeats
        state = strategy.tell(state, samples, scores)
        val = float("nan")
        if gen % validate_every == 0 or gen == generations:
            cand = strategy.current(state)
            val = validate(cand)
            if val > best_v:
                best_w, best_v = cand, val
        finite = scores[np.isfinite(scores)]
        rec = GenerationRecord(gen, n_episodes, float(scores.max()),
                               float(finite.mean()) if finite.size else float("-inf"), val,
                               time.perf_counter() - t0)
        history.append(rec)
        if callback is not None:
            callback(rec)
    return TuningResult(
        method=method, conn_weights=best_w, validation_score=best_v, start_weights=x0,
        start_score=start_score, history=tuple(history), n_episodes=n_episodes, shared=shared,
        validation_seed=val_seed, n_validation=n_validation, final_state=state,
    )
