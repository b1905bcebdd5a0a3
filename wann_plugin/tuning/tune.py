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

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wann_plugin.evaluation import CHUNKS_PER_THREAD, check_threads
from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task
from wann_plugin.tuning import methods as _methods  # noqa: F401  (registers the built-ins)
from wann_plugin.tuning._base import check_int
from wann_plugin.tuning.registry import Hooks, TuningMethod, get_tuning_method
from wann_plugin.tuning.shared import SharedWeightResult, best_shared_weight

__all__ = ["GenerationRecord", "TuningResult", "auto_sigma", "collect_experiences",
           "evaluate_candidates", "resolve_settings", "tune_weights"]

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
    options : dict
        The method and loop options used (``sigma``: the step size of each run when it was
        ``"auto"``).
    probes : tuple of dict
        With several ``starts``: each raced start's shared ``weight``, its best
        ``validation`` in the probe (and ``sigma`` when it was ``"auto"``), in racing order.
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
    options: dict = field(default_factory=dict)
    probes: tuple = ()

    @property
    def start_label(self) -> str | None:
        """How a run without a given ``start`` began: ``"best shared weight"``, or ``"the best
        of N shared-weight peaks, raced"`` when it raced ``starts``; None when it was given a
        start (weights, a shared weight)."""
        if self.shared is None:
            return None
        if len(self.probes) > 1:
            return f"the best of {len(self.probes)} shared-weight peaks, raced"
        return "best shared weight"

    @property
    def improved(self) -> bool:
        """Whether the returned weights validate better than the start."""
        return self.validation_score > self.start_score

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
            "improved": self.improved,
            "options": self.options,
            "probes": list(self.probes),
        }


# ----------------------------------------------------------------------------- tasks
def collect_experiences(task: Task, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                        n: int = 100) -> np.ndarray:
    """Inputs the network saw when run on ``task`` with ``conn_weights`` (for safe mutations).

    Calls :meth:`Task.sample_inputs <wann_plugin.tasks.base.Task.sample_inputs>`, which
    returns up to ``n`` observations (shape ``(n_samples, n_inputs)``) that ``net`` with these
    weights met in the episode(s) of ``seed`` (a random subset when there were more).

    Raises
    ------
    NotImplementedError
        If the task does not support ``sample_inputs``.
    ValueError
        If it returns a wrongly shaped or empty array.
    """
    cw = np.asarray(conn_weights, dtype=float)
    x = np.asarray(task.sample_inputs(net, cw, seed=int(seed), n=int(n)), dtype=float)
    if x.ndim != 2 or x.shape[1] != net.n_inputs or not 1 <= x.shape[0] <= n:
        raise ValueError(f"task {task.name!r}.sample_inputs returned shape {x.shape}, expected "
                         f"(1..{n}, {net.n_inputs})")
    return x


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


class _RowThreads:
    """``task`` whose ``evaluate_weights`` scores its weight vectors (rows) on ``threads``
    threads: a row's episodes come from ``seed`` and the repetition alone, so the rows split
    across threads score exactly as in one call. Everything else is the task's own."""

    def __init__(self, task: Task, threads: int):
        self.task = task
        self.threads = int(threads)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wann-tune")

    def __getattr__(self, name: str):
        return getattr(self.task, name)

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        cw = np.atleast_2d(np.asarray(conn_weights, dtype=float))
        n = min(len(cw), self.threads * CHUNKS_PER_THREAD)
        if n < 2:
            return self.task.evaluate_weights(net, cw, seed=seed, n_repeats=n_repeats)
        futures = [self._pool.submit(self.task.evaluate_weights, net, part, seed=seed,
                                     n_repeats=n_repeats) for part in np.array_split(cw, n)]
        try:
            return np.concatenate([np.asarray(f.result(), dtype=float) for f in futures])
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- step size
#: The ladder :func:`auto_sigma` climbs (per-connection standard deviations).
SIGMA_LADDER = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def auto_sigma(task: Task, net: WannNetwork, x0: np.ndarray, *, seed: int,
               n_samples: int = 16, n_repeats: int = 8, keep: float = 0.5,
               ladder: tuple = SIGMA_LADDER) -> float:
    """A step size scaled to the network: the largest that keeps part of the start's margin.

    Perturbs the start ``x0`` with ``n_samples`` draws of ``N(0, sigma^2 I)`` for each
    ``sigma`` of ``ladder`` (all on the same ``n_repeats`` episodes of ``seed``) and measures
    their mean score ``m(sigma)``. The top of the ladder stands for random weights. The result
    is the largest ``sigma`` with ``m(sigma) >= m_top + keep * (s0 - m_top)`` (``s0``: the
    start's score): a perturbation that size still keeps ``keep`` of what the start gains over
    random weights. A network whose behaviour hangs on a few sensitive weights gets a small
    step, a robust or large one a bigger step. If the start is no better than random, the
    middle of the ladder.

    Returns
    -------
    float
    """
    x0 = np.asarray(x0, dtype=float)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_samples, x0.size))
    s0 = float(evaluate_candidates(task, net, x0[None], seed=seed, n_repeats=n_repeats)[0])
    means = []
    for sigma in ladder:
        sc = evaluate_candidates(task, net, x0 + sigma * z, seed=seed, n_repeats=n_repeats)
        sc = np.where(np.isfinite(sc), sc, np.nan)
        means.append(float(np.nanmean(sc)) if np.any(np.isfinite(sc)) else -np.inf)
    top = means[-1]
    if not np.isfinite(s0) or not s0 > top:
        return float(ladder[len(ladder) // 2])
    bar = top + keep * (s0 - top)
    ok = [s for s, m in zip(ladder, means) if m >= bar]
    return float(max(ok)) if ok else float(ladder[0])


# ----------------------------------------------------------------------------- the loop
_LOOP_DEFAULTS = {"generations": 300, "n_repeats": 16, "n_validation": 64, "validate_every": 5,
                  "restarts": 0, "starts": 1, "probe_generations": 150}

#: Shared weights closer than this to a start already chosen are not raced (the same basin).
PEAK_GAP = 0.5


def _peak_starts(shared: SharedWeightResult, n: int) -> list[float]:
    """The best shared weight, then the best other peaks of the shared-weight curve.

    A peak is a grid weight scoring at least as well as its neighbours; peaks are taken best
    first, skipping any within :data:`PEAK_GAP` of a start already chosen, up to ``n`` starts.
    """
    g, s = shared.grid, shared.grid_scores
    peaks = [i for i in range(g.size)
             if (i == 0 or s[i] >= s[i - 1]) and (i == g.size - 1 or s[i] >= s[i + 1])
             and np.isfinite(s[i])]
    out = [float(shared.weight)]
    for i in sorted(peaks, key=lambda j: (-s[j], j)):
        if len(out) >= n:
            break
        if all(abs(float(g[i]) - w) >= PEAK_GAP for w in out):
            out.append(float(g[i]))
    return out


def _hooks(task: Task, net: WannNetwork, method: TuningMethod, x0: np.ndarray,
           n_experiences: int) -> Hooks:
    experience_fn = gradient_fn = None
    if method.needs_experiences:
        collect_experiences(task, net, x0, seed=0, n=n_experiences)  # fails early without it

        def experience_fn(weights: np.ndarray, seed: int) -> np.ndarray:
            return collect_experiences(task, net, weights, seed=seed, n=n_experiences)

    if method.needs_gradient:
        task.loss_gradient(net, x0, seed=0, batch_size=1)  # fails early for other tasks

        def gradient_fn(weights: np.ndarray, seed: int, batch_size: int):
            return task.loss_gradient(net, weights, seed=seed, batch_size=batch_size)

    return Hooks(experience_fn=experience_fn, gradient_fn=gradient_fn)


def _start_weights(task, net, start, rng, n_repeats, shared_options):
    shared = None
    if isinstance(start, SharedWeightResult):  # a curve measured already
        shared = start
        x0 = np.full(net.n_connections, shared.weight)
    elif start is None:
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
    return x0, shared


def resolve_settings(method: str = "cma", preset: str = "default",
                     options: dict | None = None, **loop_options: Any
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(method options, loop options)`` that :func:`tune_weights` runs with: the preset's
    values, overridden by ``options``, then by every loop option given (not None), with the
    loop's defaults for the rest."""
    method_opts, loop = get_tuning_method(method).resolve(options, preset)
    loop.update({k: v for k, v in loop_options.items() if v is not None})
    return method_opts, {**_LOOP_DEFAULTS, **loop}


def tune_weights(
    task: Task,
    net: WannNetwork,
    *,
    rng: np.random.Generator,
    method: str = "cma",
    preset: str = "default",
    options: dict | None = None,
    start: float | np.ndarray | None = None,
    generations: int | None = None,
    n_repeats: int | None = None,
    n_validation: int | None = None,
    validate_every: int | None = None,
    restarts: int | None = None,
    starts: int | None = None,
    probe_generations: int | None = None,
    shared_options: dict | None = None,
    callback: Callable[[GenerationRecord], None] | None = None,
    threads: int = 1,
) -> TuningResult:
    """Tune each connection's weight of ``net`` on ``task``.

    Parameters
    ----------
    task : Task
        Must implement ``evaluate_weights`` (and ``sample_inputs`` for the safe mutations,
        ``loss_gradient`` for gradient training).
    net : WannNetwork
    rng : numpy.random.Generator
        The only source of randomness (episode seeds, samples, mutations).
    method : str, default="cma"
        A registered method (:data:`~wann_plugin.tuning.TUNING_METHODS`).
    preset : str, default="default"
        The method's named preset (e.g. ``"reference"`` for the reference's PEPG/CMA budgets);
        it sets method options and loop budgets, which ``options`` and the keywords below
        override.
    options : dict, optional
        The method's options by name (``pop_size``, ``sigma``, ...; see
        ``TUNING_METHODS[method].options()``). ``sigma="auto"`` (the ``cma`` default) picks
        the step size with :func:`auto_sigma`.
    start : float, ndarray of shape (n_connections,), SharedWeightResult or None, default=None
        A shared weight to start every connection at (the reference: -1.5 for swing-up), a
        full weight vector, or ``None`` for the best shared weight
        (:func:`best_shared_weight` with ``shared_options``); a
        :class:`~wann_plugin.tuning.shared.SharedWeightResult` already measured stands for
        ``None`` without measuring the curve again (``starts`` races its peaks the same way).
    generations : int, optional
        Ask/tell rounds per run (default: the preset's, else 300).
    n_repeats : int, optional
        Episodes per candidate (default: the preset's, else 16; the reference used 4).
    n_validation : int, optional
        Validation episodes (default 64).
    validate_every : int, optional
        Generations between validations of the current estimate (default 5).
    restarts : int, optional
        Extra runs after the first, each starting afresh from the best validated weights so
        far with twice the previous run's ``pop_size`` (IPOP, Auger & Hansen 2005) and, with
        ``sigma="auto"``, a step size measured again there (default 0).
    starts : int, optional
        Shared weights to race when ``start`` is None (default: the preset's, else 1): the
        best shared weight and the best other peaks of its curve at least
        :data:`PEAK_GAP` apart (a WANN often works at a positive and a negative weight, and
        which basin tunes further is not the one that starts higher). Each runs
        ``probe_generations``; the one that validated best goes on from where it is for the
        rest of ``generations``. Ignored when ``start`` is given.
    probe_generations : int, optional
        Generations of each raced start (default: the preset's, else 150; at most
        ``generations``).
    shared_options : dict, optional
        Keywords for :func:`best_shared_weight` when ``start`` is None (``grid``,
        ``refine_iters``, ``n_repeats``; by default ``max(32, n_repeats)`` episodes per
        weight, since a noisy curve is easily won by a lucky weight).
    callback : callable, optional
        Called with each :class:`GenerationRecord` (progress output).
    threads : int, default=1
        Score each generation's samples on this many threads (``wann tune --threads N``),
        for a :attr:`~wann_plugin.tasks.base.Task.thread_safe` task (swing-up,
        classification). The result is the same as on one thread: a sample's episodes do not
        depend on where it runs. The validation of one vector and the shared-weight sweep
        run on one.

    Returns
    -------
    TuningResult
        Never worse than the start on the validation episodes: the start itself is returned
        (``improved`` False) when nothing validated better.

    Examples
    --------
    See the tutorial ``docs/tuning.rst``; in short::

        result = tune_weights(task, net, rng=np.random.default_rng(0))   # CMA-ES defaults
        task.summary(net, [], conn_weights=result.conn_weights)
    """
    from threadpoolctl import threadpool_limits

    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    check_int("tune_weights", "threads", threads, 1)
    check_threads(task, threads, instead="tune it on one thread")
    pool = _RowThreads(task, threads) if threads > 1 else None
    # The optimisers' matrices are small (one row and column per connection): BLAS gains
    # nothing from threads there, and its idle ones spin, taking a core from the episodes
    with threadpool_limits(limits=1, user_api="blas"):
        try:
            return _tune(task if pool is None else pool, net, rng=rng, method=method,
                         preset=preset, options=options, start=start, generations=generations,
                         n_repeats=n_repeats, n_validation=n_validation,
                         validate_every=validate_every, restarts=restarts, starts=starts,
                         probe_generations=probe_generations, shared_options=shared_options,
                         callback=callback)
        finally:
            if pool is not None:
                pool.close()


def _tune(task, net, *, rng, method, preset, options, start, generations, n_repeats,
          n_validation, validate_every, restarts, starts, probe_generations, shared_options,
          callback) -> TuningResult:
    """:func:`tune_weights` after its checks, on the task (or its threads) as given."""
    spec = get_tuning_method(method)
    method_opts, loop = resolve_settings(
        method, preset, options, generations=generations, n_repeats=n_repeats,
        n_validation=n_validation, validate_every=validate_every, restarts=restarts,
        starts=starts, probe_generations=probe_generations)
    check_int("tune_weights", "generations", loop["generations"], 0)
    check_int("tune_weights", "n_repeats", loop["n_repeats"], 1)
    check_int("tune_weights", "validate_every", loop["validate_every"], 1)
    check_int("tune_weights", "n_validation", loop["n_validation"], 1)
    check_int("tune_weights", "restarts", loop["restarts"], 0)
    check_int("tune_weights", "starts", loop["starts"], 1)
    check_int("tune_weights", "probe_generations", loop["probe_generations"], 0)
    task.check_network(net)
    if net.n_connections == 0:
        raise ValueError(f"network {net.key!r} has no enabled connection: nothing to tune")
    n_rep, n_val = loop["n_repeats"], loop["n_validation"]
    generations, every = loop["generations"], loop["validate_every"]

    x0, shared = _start_weights(task, net, start, rng, n_rep, shared_options)
    hooks = _hooks(task, net, spec, x0, int(method_opts.get("n_experiences", 100)))
    val_seed = int(rng.integers(_VALIDATION_LOW, _SEED_HIGH))

    def validate(weights: np.ndarray) -> float:
        return float(evaluate_candidates(task, net, weights[None], seed=val_seed,
                                         n_repeats=n_val)[0])

    t0 = time.perf_counter()
    best_w, best_v = x0.copy(), validate(x0)
    start_score = best_v
    history = [GenerationRecord(0, 0, float("nan"), float("nan"), best_v, 0.0)]
    if callback is not None:
        callback(history[0])
    counters = {"gen": 0, "episodes": 0}
    sigmas: list[float] = []

    def begin(weights: np.ndarray, run: int):
        run_opts = dict(method_opts)
        if run and "pop_size" in spec.options():  # IPOP: double the samples each restart
            base = run_opts.get("pop_size") or spec.options()["pop_size"].default
            if base is not None:
                run_opts["pop_size"] = int(base) * 2 ** run
        if run_opts.get("sigma") == "auto":
            run_opts["sigma"] = auto_sigma(task, net, weights,
                                           seed=int(rng.integers(0, _SEED_HIGH)))
            sigmas.append(run_opts["sigma"])
        strategy = spec.make(net, run_opts, hooks=hooks)
        return strategy, strategy.init(weights, rng=rng)

    def advance(strategy, state, first: int, last: int, end: int):
        """Generations ``first..last`` of a run of ``end``; returns (state, best validated)."""
        nonlocal best_w, best_v
        run_best = -np.inf
        for run_gen in range(first, last + 1):
            counters["gen"] += 1
            samples, state = strategy.ask(state, rng=rng)
            scores = evaluate_candidates(task, net, samples,
                                         seed=int(rng.integers(0, _SEED_HIGH)), n_repeats=n_rep)
            counters["episodes"] += samples.shape[0] * n_rep
            state = strategy.tell(state, samples, scores)
            val = float("nan")
            if run_gen % every == 0 or run_gen in (last, end):
                cand = strategy.current(state)
                val = validate(cand)
                run_best = max(run_best, val)
                if val > best_v:
                    best_w, best_v = cand, val
            finite = scores[np.isfinite(scores)]
            rec = GenerationRecord(counters["gen"], counters["episodes"], float(scores.max()),
                                   float(finite.mean()) if finite.size else float("-inf"), val,
                                   time.perf_counter() - t0)
            history.append(rec)
            if callback is not None:
                callback(rec)
        return state, run_best

    state = None
    probes: list[dict] = []
    probe = min(loop["probe_generations"], generations)
    starts = _peak_starts(shared, loop["starts"]) if shared is not None else [float(x0[0])]
    if len(starts) > 1 and probe > 0:
        # race the starts: each runs `probe` generations; the best validated one goes on
        raced = []
        for weight in starts:
            strategy, st = begin(np.full(net.n_connections, weight), 0)
            st, run_best = advance(strategy, st, 1, probe, generations)
            probes.append({"weight": weight, "validation": run_best,
                           **({"sigma": sigmas[-1]} if sigmas else {})})
            raced.append((run_best, strategy, st))
        i_win = int(np.argmax([r[0] for r in raced]))
        _, strategy, state = raced[i_win]
        del raced
        if sigmas:
            sigmas[:] = [sigmas[i_win]]
        state, _ = advance(strategy, state, probe + 1, generations, generations)
    else:
        strategy, state = begin(best_w, 0)
        state, _ = advance(strategy, state, 1, generations, generations)
    for run in range(1, loop["restarts"] + 1):
        strategy, state = begin(best_w, run)
        state, _ = advance(strategy, state, 1, generations, generations)
    return TuningResult(
        method=spec.name, conn_weights=best_w, validation_score=best_v, start_weights=x0,
        start_score=start_score, history=tuple(history), n_episodes=counters["episodes"],
        shared=shared, validation_seed=val_seed, n_validation=n_val, final_state=state,
        probes=tuple(probes),
        options={**{k: o.default for k, o in spec.options().items()}, **method_opts, **loop,
                 **({"sigma": sigmas} if sigmas else {})},
    )
