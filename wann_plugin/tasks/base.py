"""The contract every task fulfils, and a checker users run on their own subclass."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wann_plugin.compiled import ENGINES
from wann_plugin.network import WannNetwork
from wann_plugin.validation import key_for_default

__all__ = ["ENGINES", "Task", "TaskError", "UnknownTaskError", "check_engine", "check_task",
           "coerce_options", "register_task", "make_task", "subsample_rows", "TASKS"]


class TaskError(ValueError):
    """A task was given input it cannot use (shapes, ranges, ids)."""


class UnknownTaskError(TaskError):
    """A task name that is not registered."""


class Task:
    """Scores compiled networks. Tasks never see genomes.

    Subclasses set :attr:`n_inputs`, :attr:`n_outputs`, :attr:`worst_score` and define
    :meth:`evaluate` (and :meth:`evaluate_weights` when per-connection tuning should work).

    Randomness: a task draws everything from ``seed`` and the repetition index alone, so every
    network and every weight of one call faces the same episodes (common random numbers, as in
    the reference), whichever worker or batch runs it.

    Attributes
    ----------
    name : str
        Registry name (``"swingup"``).
    n_inputs, n_outputs : int
        Network shape the task expects.
    worst_score : float
        The score given to an episode whose network output or reward is not finite; below any
        real outcome.
    deterministic : bool, default=True
        Whether a network's scores depend on what it computes (its activations and
        connections), the weights, ``seed`` and ``n_repeats`` alone. The evaluator then scores
        equal networks of a generation once and gives every genome that has one the same
        result, and a resumed generation reuses finished results. Set it to False for a task
        whose scores depend on anything else (the network's ``key``, a simulator that cannot
        be seeded): every genome is then scored on its own.
    thread_safe : bool, default=False
        Whether :meth:`evaluate` and ``evaluate_weights`` may run on one instance from several
        threads at once (they change no state that a result depends on).
        ``WannEvaluator(threads=N)`` (``wann run --threads N``) and ``tune_weights(threads=N)``
        (``wann tune --threads N``) need it; the built-in swing-up and classification tasks
        are, the gym tasks (one simulator pool per task) are not.
    """

    name: str = "task"
    n_inputs: int
    n_outputs: int
    worst_score: float = -1e9
    deterministic: bool = True
    thread_safe: bool = False

    def evaluate(
        self,
        nets: Sequence[WannNetwork],
        weights: np.ndarray,
        *,
        seed: int,
        n_repeats: int = 1,
    ) -> np.ndarray:
        """Score every network at every shared weight.

        Parameters
        ----------
        nets : sequence of WannNetwork
        weights : ndarray of shape (n_weights,)
            Shared weight values.
        seed : int
            Base seed of this call; repetition ``r`` depends on ``(seed, r)`` only.
        n_repeats : int, default=1
            Episodes (or batches) per network and weight.

        Returns
        -------
        ndarray of shape (n_nets, n_weights, n_repeats)
            Finite scores (non-finite ones replaced by :attr:`worst_score`).
        """
        raise NotImplementedError

    def evaluate_weights(
        self,
        net: WannNetwork,
        conn_weights: np.ndarray,
        *,
        seed: int,
        n_repeats: int = 1,
    ) -> np.ndarray:
        """Score one topology under several per-connection weight vectors.

        Parameters
        ----------
        net : WannNetwork
        conn_weights : ndarray of shape (n_sets, n_connections)
        seed, n_repeats
            As in :meth:`evaluate`.

        Returns
        -------
        ndarray of shape (n_sets, n_repeats)
        """
        raise NotImplementedError(f"task {self.name!r} does not support per-connection weights")

    def loss_gradient(
        self,
        net: WannNetwork,
        conn_weights: np.ndarray,
        *,
        seed: int,
        batch_size: int,
    ) -> tuple[float, np.ndarray]:
        """A mini-batch loss under per-connection weights and its exact gradient.

        Optional: only differentiable tasks (classification) offer it; gradient training
        (``tune_weights(method="adam")``) needs it.

        Parameters
        ----------
        net : WannNetwork
        conn_weights : ndarray of shape (n_connections,)
        seed : int
            Picks the mini-batch.
        batch_size : int
            Samples in the mini-batch.

        Returns
        -------
        (loss, grad) : tuple of float and ndarray of shape (n_connections,)
            Non-finite where the outputs are not finite.
        """
        raise TaskError(f"task {self.name!r} ({type(self).__name__}) has no loss gradient: "
                        "gradient training needs a differentiable task (classification); "
                        "use an evolutionary method such as 'cma'")

    def sample_inputs(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                      n: int) -> np.ndarray:
        """Inputs ``net`` met when run with ``conn_weights`` in the episode(s) of ``seed``.

        Safe mutations (:mod:`wann_plugin.tuning.safe_mutations`) compute how much a weight
        change moves the outputs on these inputs, the network's "experiences". A task returns
        up to ``n`` of them; when there were more, a subset drawn with ``seed``
        (:func:`subsample_rows`).

        Parameters
        ----------
        net : WannNetwork
        conn_weights : ndarray of shape (n_connections,)
            Per-connection weights, in ``net``'s connection order.
        seed : int
            Episode (or batch) seed, as in :meth:`evaluate`.
        n : int
            Most inputs to return.

        Returns
        -------
        ndarray of shape (n_samples <= n, n_inputs)

        Raises
        ------
        NotImplementedError
            In this base class: a task that does not record the inputs its networks see
            cannot serve safe mutations (the other tuning methods need only
            :meth:`evaluate_weights`).
        """
        raise NotImplementedError(
            f"task {self.name!r} ({type(self).__name__}) does not support sample_inputs(net, "
            "conn_weights, *, seed, n) -> ndarray (n_samples <= n, n_inputs), the inputs a "
            "network saw, which safe mutations need; implement it, or tune with method 'ga', "
            "'pepg' or 'cma'")

    def summary(
        self,
        net: WannNetwork,
        weights: np.ndarray,
        *,
        seed: int = 0,
        n_episodes: int = 100,
        conn_weights: np.ndarray | None = None,
    ) -> dict:
        """Scores of one network for reports and ``wann evaluate --json``.

        Episode ``r`` uses seed ``seed + r`` (``r < n_episodes``).

        Returns
        -------
        dict
            With shared weights: ``per_weight_mean``, ``per_weight_std`` (lists, one per
            weight) and ``mean`` (over all weights and episodes). With ``conn_weights`` (tuned
            per-connection weights): ``mean`` and ``std`` over the episodes. Tasks may add keys
            (classification adds accuracies).
        """
        self.check_network(net)
        if conn_weights is not None:
            scores = np.asarray(self.evaluate_weights(
                net, np.asarray(conn_weights, dtype=float)[None, :], seed=seed,
                n_repeats=n_episodes))[0]
            return {"mean": float(scores.mean()), "std": float(scores.std())}
        scores = np.asarray(self.evaluate([net], np.asarray(weights, dtype=float), seed=seed,
                                          n_repeats=n_episodes))[0]
        return {
            "per_weight_mean": [float(v) for v in scores.mean(axis=1)],
            "per_weight_std": [float(v) for v in scores.std(axis=1)],
            "mean": float(scores.mean()),
        }

    def check_call(self, weights: np.ndarray, n_repeats: int) -> np.ndarray:
        """The shared weights of an :meth:`evaluate` call as a flat float array, after checking
        them (non-empty, finite) and ``n_repeats`` (an int >= 1); :class:`TaskError` otherwise."""
        w = np.asarray(weights, dtype=float).ravel()
        if w.size == 0 or not np.all(np.isfinite(w)):
            raise TaskError(f"weights must be a non-empty array of finite values, got {weights!r}")
        if (isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer))
                or n_repeats < 1):
            raise TaskError(f"n_repeats == {n_repeats!r}, must be an int >= 1")
        return w

    def check_conn_weights(self, net: WannNetwork, conn_weights: np.ndarray) -> np.ndarray:
        """``conn_weights`` as a float array of shape ``(n_sets, n_connections)``, or a
        :class:`TaskError` naming the network and the shape it got."""
        self.check_network(net)
        cw = np.asarray(conn_weights, dtype=float)
        if cw.ndim != 2 or cw.shape[1] != net.n_connections or cw.shape[0] == 0:
            raise TaskError(f"conn_weights must have shape (n_sets, {net.n_connections}) for "
                            f"network {net.key!r}, got {cw.shape}")
        return cw

    def check_network(self, net: WannNetwork) -> None:
        """Raise :class:`TaskError` if ``net`` does not have this task's shape."""
        if net.n_inputs != self.n_inputs or net.n_outputs != self.n_outputs:
            raise TaskError(
                f"task {self.name!r} takes networks with {self.n_inputs} inputs and "
                f"{self.n_outputs} outputs; network {net.key!r} has {net.n_inputs} and "
                f"{net.n_outputs}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_inputs={self.n_inputs}, n_outputs={self.n_outputs})"


#: Registered task factories by name (the built-in tasks of :doc:`tasks`, then yours); see
#: :func:`register_task`.
#:
#: :meta hide-value:
TASKS: dict[str, Callable[..., Task]] = {}


def subsample_rows(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``x`` if it has at most ``n`` rows, else ``n`` of its rows drawn without replacement by
    ``numpy.random.default_rng(seed)``, in their original order (for
    :meth:`Task.sample_inputs`).

    Examples
    --------
    >>> subsample_rows(np.arange(10)[:, None], 3, seed=0).ravel().tolist()
    [6, 7, 8]
    """
    x = np.asarray(x)
    if x.shape[0] <= n:
        return x
    return x[np.sort(np.random.default_rng(int(seed)).choice(x.shape[0], int(n), replace=False))]


def check_engine(engine: str, task: str) -> str:
    """``engine`` if it is one of :data:`ENGINES` (``"numba"``: the compiled kernels of
    :mod:`wann_plugin.compiled`, ``"numpy"``: :meth:`WannNetwork.activate`), else a
    :class:`TaskError` naming the task and suggesting a close match."""
    if engine not in ENGINES:
        hint = difflib.get_close_matches(str(engine), ENGINES, n=1)
        raise TaskError(f"task {task!r} option engine == {engine!r}, must be one of {ENGINES}"
                        + (f"; did you mean {hint[0]!r}?" if hint else ""))
    return engine


def register_task(name: str, factory: Callable[..., Task]) -> None:
    """Make ``make_task(name, **options)`` build a task (config files and ``--task`` use it)."""
    if name in TASKS and TASKS[name] is not factory:
        raise ValueError(f"task name {name!r} is already registered")
    TASKS[name] = factory


def make_task(name: str, **options: Any) -> Task:
    """Build a registered task by name.

    Options given as strings (from a config file's ``[WannTask]`` section or from
    ``--task-option KEY=VALUE``) are converted to the type of the factory's default for that
    keyword: ``bool`` (true/false/yes/no/1/0), ``int``, ``float``; others stay strings.

    Raises
    ------
    UnknownTaskError
        For an unknown name, suggesting the closest registered one.
    TaskError
        For an option the task does not take (with a close match) or a value that does not
        convert.

    Examples
    --------
    >>> make_task("swingup", max_steps="200").max_steps
    200
    """
    import wann_plugin.tasks  # noqa: F401  (registers the built-in tasks)

    try:
        factory = TASKS[name]
    except KeyError:
        hint = difflib.get_close_matches(name, list(TASKS), n=1)
        raise UnknownTaskError(
            f"no task {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
            + f" (known: {', '.join(sorted(TASKS))})"
        ) from None
    return factory(**coerce_options(name, factory, options))


def _coerce(task: str, key: str, value: Any, default: Any) -> Any:
    """Text -> the type of the keyword's default, with the one validation vocabulary."""
    declared = key_for_default(key, default)
    if not isinstance(value, str) or declared is None or declared.type is str:
        return value
    return declared.parse(task, value, error=TaskError)


def coerce_options(task: str, factory: Callable[..., Task], options: dict) -> dict:
    """Check option names against ``factory``'s keywords and convert string values."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return dict(options)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        known = None
    else:
        known = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    out = {}
    for key, value in options.items():
        if known is not None and key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            raise TaskError(
                f"task {task!r} has no option {key!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" (options: {', '.join(known) or 'none'})"
            )
        default = params[key].default if key in params else None
        if default is inspect.Parameter.empty:
            default = None
        out[key] = _coerce(task, key, value, default)
    return out


def check_task(task: Task, net: WannNetwork | None = None, *, seed: int = 0) -> None:
    """Check a task against the contract, like gymnasium's ``check_env``.

    Scores ``net`` (by default a minimal network with every input wired to every output)
    twice with the same seed and asserts: the shape is ``(1, n_weights, n_repeats)``, the
    scores are finite and both calls agree exactly.

    Raises
    ------
    TaskError
        Naming the part of the contract that failed.
    """
    for attr in ("n_inputs", "n_outputs"):
        if not isinstance(getattr(task, attr, None), (int, np.integer)) or getattr(task, attr) < 1:
            raise TaskError(f"{type(task).__name__}.{attr} must be a positive int")
    if net is None:
        n_in, n_out = task.n_inputs, task.n_outputs
        edges = [(s, 1 + n_in + o) for o in range(n_out) for s in range(1 + n_in)]
        net = WannNetwork.from_edges(n_in, n_out, [1] * (1 + n_in + n_out), edges)
    weights = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
    first = np.asarray(task.evaluate([net], weights, seed=seed, n_repeats=2))
    if first.shape != (1, len(weights), 2):
        raise TaskError(
            f"{type(task).__name__}.evaluate returned shape {first.shape}, expected "
            f"(n_nets, n_weights, n_repeats) = (1, {len(weights)}, 2)"
        )
    if not np.all(np.isfinite(first)):
        raise TaskError(f"{type(task).__name__}.evaluate returned non-finite scores: {first}")
    again = np.asarray(task.evaluate([net], weights, seed=seed, n_repeats=2))
    if not np.array_equal(first, again):
        raise TaskError(
            f"{type(task).__name__}.evaluate is not deterministic for a fixed seed: "
            f"{first.ravel()} then {again.ravel()}"
        )
