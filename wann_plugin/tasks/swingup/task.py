"""The swing-up WANN task: many networks, weights and episodes at once.

Every episode runs the physics of :mod:`wann_plugin.tasks.swingup.physics`; the compiled kernel
(:mod:`wann_plugin.tasks.swingup.kernel`) runs whole batches in one call, the numpy path
(:meth:`WannNetwork.activate` plus :func:`~wann_plugin.tasks.swingup.physics.swingup_step`) is
the plain reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from wann_plugin.compiled import ENGINES
from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task, TaskError, check_engine, register_task, subsample_rows
from wann_plugin.tasks.swingup import kernel
from wann_plugin.tasks.swingup.physics import (
    FORCE_MAG,
    MAX_SEED,
    swingup_initial_states,
    swingup_observations,
    swingup_step,
)
from wann_plugin.validation import Key, validate_params

__all__ = ["ENGINES", "Rollouts", "SwingUpTask", "rollout_numpy", "swingup_hard"]


class Rollouts(NamedTuple):
    """Scores and episode lengths of :meth:`SwingUpTask.rollouts`.

    Attributes
    ----------
    scores : ndarray of shape (n_nets, n_weights, n_repeats)
        Episode returns (``worst_score`` where the network output was not finite).
    steps : ndarray of shape (n_nets, n_weights, n_repeats), int
        Environment steps each episode ran (its network forwards).
    """

    scores: np.ndarray
    steps: np.ndarray


_KEYS = (Key("max_steps", int, 1000, low=1), Key("exact_math", bool, False))


class SwingUpTask(Task):
    """Cart-pole swing-up scored over episodes, many networks and weights at once.

    Parameters
    ----------
    max_steps : int, default=1000
        Episode length cap. 1000 reproduces the reference's ``swingup`` (its first step plus
        the loop, cut at env time 1000). The ``swingup_hard`` task uses 200; the reference's
        loop there actually runs 201 steps (an off-by-one), pass ``max_steps=201`` to replay it.
    engine : {"numba", "numpy"}, default="numba"
        ``"numba"`` runs network forward and physics of all episodes in one compiled call
        (:mod:`wann_plugin.tasks.swingup.kernel`; networks with a custom activation
        registered without a compiled form fall back to numpy).
        ``"numpy"`` is the plain reference path (:meth:`WannNetwork.activate` plus
        :func:`swingup_step`), kept to test the engine against.
    exact_math : bool, default=False
        With ``engine="numba"``: compute the sin, cos, gaussian, tanh and sigmoid nodes with
        the C library instead of the engine's SIMD polynomials (which agree with numpy to
        1-2 ulp). Slower; the scores then equal the numpy path's wherever numpy and libm
        compute the same functions (see :mod:`wann_plugin.compiled`). The physics is exact
        either way.

    Notes
    -----
    Observation
        ``[x, x_dot, cos th, sin th, th_dot]`` (5 inputs), as :class:`CartPoleSwingUpEnv`.
    Action
        One output; force = ``clip(output, -1, 1) * 10`` N.
    Reward
        As :class:`CartPoleSwingUpEnv`; the score is the undiscounted episode return (<= 1000).
        A network output that is not finite ends that episode with :attr:`worst_score`; other
        episodes are unaffected.
    Episode end
        Cart off the track (``|x| > 2.4``) or ``max_steps`` steps. Repetition ``r`` of a call
        with ``seed`` plays episode seed ``seed + r`` for every network and weight (common
        random numbers).
    Version history
        swingup, swingup_hard v0: reference dynamics; ``worst_score = -1``.

    ``worst_score`` is -1.0: every step inside the track pays a reward in [0, 1], only the step
    that leaves the track can pay less, and never below -1 (a product of a number in [0, 1]
    and a cosine), so a real return is >= -1, and equals -1 only if the cart ends a 10 ms step
    4.8 m from the centre. Real returns are >= about -0.15.

    Examples
    --------
    >>> import numpy as np
    >>> from wann_plugin.network import WannNetwork
    >>> net = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
    >>> task = SwingUpTask(max_steps=200)
    >>> task.evaluate([net], np.array([-1.0, 1.0]), seed=0, n_repeats=2).shape
    (1, 2, 2)
    """

    n_inputs = 5
    n_outputs = 1
    worst_score = -1.0
    exact_math = False  # class default: tasks pickled before the option existed load as before

    #: evaluate changes no state a result depends on, and its compiled kernel releases the
    #: GIL: ``WannEvaluator(threads=N)`` scores chunks of a generation on N cores.
    thread_safe = True

    def __init__(self, max_steps: int = 1000, engine: str = "numba", *, exact_math: bool = False,
                 name: str = "swingup"):
        values = validate_params(name, _KEYS, {"max_steps": max_steps, "exact_math": exact_math},
                                 error=TaskError)
        self.max_steps = int(values["max_steps"])
        self.engine = check_engine(engine, name)
        self.exact_math = bool(values["exact_math"])
        self.name = name

    def __repr__(self) -> str:
        exact = ", exact_math=True" if self.exact_math else ""
        return (f"SwingUpTask(max_steps={self.max_steps}, engine={self.engine!r}{exact}, "
                f"name={self.name!r})")

    # ------------------------------------------------------------------ public scoring
    def evaluate(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> np.ndarray:
        """Episode returns of every network at every shared weight.

        Parameters
        ----------
        nets : sequence of WannNetwork
            5 inputs, 1 output.
        weights : ndarray of shape (n_weights,)
            Shared weight values (finite).
        seed : int
            Repetition ``r`` plays episode seed ``seed + r``.
        n_repeats : int, default=1

        Returns
        -------
        ndarray of shape (n_nets, n_weights, n_repeats)
        """
        return self.rollouts(nets, weights, seed=seed, n_repeats=n_repeats).scores

    def rollouts(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> Rollouts:
        """As :meth:`evaluate`, also returning each episode's step count (for benchmarks)."""
        nets = list(nets)
        for net in nets:
            self.check_network(net)
        weights = self.check_call(weights, n_repeats)
        init = self._initial_states(seed, n_repeats)
        return self._run_shared(nets, weights, init)

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        """Episode returns of one topology under per-connection weight vectors.

        Parameters
        ----------
        net : WannNetwork
        conn_weights : ndarray of shape (n_sets, n_connections)
            In ``net``'s connection order (``net.conn_src``/``net.conn_dst``); a reference
            ``zoo`` parameter vector ``p`` maps to ``w[net.row_major_order()] = p + bias``.
        seed, n_repeats
            As in :meth:`evaluate`.

        Returns
        -------
        ndarray of shape (n_sets, n_repeats)
        """
        self.check_network(net)
        cw = self._engine_conn_weights(net, conn_weights)
        init = self._initial_states(seed, n_repeats)
        return self._run_conn(net, cw, init)[0]

    def episode_returns(self, net: WannNetwork, seeds: Sequence[int], *,
                        weight: float | None = None,
                        conn_weights: np.ndarray | None = None) -> np.ndarray:
        """Returns of one network on an explicit list of episode seeds (to replay particular
        episodes, such as the reference's test seeds 0..99).

        Give exactly one of ``weight`` (every connection at that value) and ``conn_weights``
        (shape ``(n_connections,)``, tuned weights in ``net``'s connection order).

        Returns
        -------
        ndarray of shape (n_seeds,)

        Examples
        --------
        >>> from wann_plugin.network import WannNetwork
        >>> net = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
        >>> SwingUpTask(max_steps=50).episode_returns(net, [0, 1, 2], weight=1.0).shape
        (3,)
        """
        self.check_network(net)
        if (weight is None) == (conn_weights is None):
            raise TaskError(f"task {self.name!r}: give exactly one of weight= and conn_weights=")
        init = self._seed_states(seeds)
        if conn_weights is not None:
            cw = self._engine_conn_weights(net, np.asarray(conn_weights, dtype=float)[None, :])
            return self._run_conn(net, cw, init)[0][0]
        return self._run_shared([net], self.check_call([weight], 1), init).scores[0, 0]

    def sample_inputs(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                      n: int) -> np.ndarray:
        """Observations ``net`` met with ``conn_weights`` in episode ``seed`` (see
        :meth:`Task.sample_inputs`): the whole episode, or ``n`` of its steps drawn with
        ``seed`` (the safe-mutation reference samples its rollout buffer the same way).

        The compiled kernel records the states it visits (its ``trace``); the numpy path
        records the observations as it steps.

        Returns
        -------
        ndarray of shape (n_samples <= n, 5)
        """
        self.check_network(net)
        cw = self._engine_conn_weights(net, np.asarray(conn_weights, dtype=float).reshape(1, -1))
        init = self._seed_states([seed])
        if self._use_engine(net):
            trace = np.zeros((1, self.max_steps, 1, kernel.TRACE_FIELDS))
            _, steps = kernel.run_conn(net, cw, init, max_steps=self.max_steps,
                                       worst=self.worst_score, trace=trace,
                                       exact_math=self.exact_math)
            seen = swingup_observations(trace[0, :int(steps[0, 0]), 0, :4])
        else:
            record: list[np.ndarray] = []
            rollout_numpy(net, init, self.max_steps, self.worst_score, conn_weights=cw,
                           record=record)
            seen = np.concatenate(record)
        return subsample_rows(seen, n, seed)

    # ------------------------------------------------------------------ internals
    def _engine_conn_weights(self, net: WannNetwork, conn_weights) -> np.ndarray:
        """:meth:`Task.check_conn_weights`, plus what the engine needs: finite values in a
        contiguous array."""
        cw = self.check_conn_weights(net, conn_weights)
        if not np.all(np.isfinite(cw)):
            raise TaskError(f"conn_weights for network {net.key!r} must be finite")
        return np.ascontiguousarray(cw)

    def _seed_states(self, seeds) -> np.ndarray:
        """:func:`swingup_initial_states`, its errors as :class:`TaskError`."""
        try:
            return swingup_initial_states(seeds)
        except (TypeError, ValueError) as exc:
            raise TaskError(f"[{self.name}] {exc}") from None

    def _initial_states(self, seed: int, n_repeats: int) -> np.ndarray:
        self.check_call(np.zeros(1), n_repeats)
        self._seed_states([seed])  # type and range of the seed
        seed = int(seed)
        if seed + n_repeats - 1 > MAX_SEED:
            raise TaskError(f"[{self.name}] seed + n_repeats - 1 == {seed + n_repeats - 1} "
                            "exceeds 2**32 - 1, the largest episode seed")
        return _consecutive_states(seed, n_repeats).copy()

    def _use_engine(self, net: WannNetwork) -> bool:
        return self.engine == "numba" and net.uses_compiled_activations

    def _run_shared(self, nets: list[WannNetwork], weights: np.ndarray,
                    init: np.ndarray) -> Rollouts:
        n_w, n_r = len(weights), len(init)
        scores = np.empty((len(nets), n_w, n_r))
        steps = np.empty((len(nets), n_w, n_r), dtype=np.int64)
        fast = [i for i, net in enumerate(nets) if self._use_engine(net)]
        if fast:
            s, n = kernel.run_shared([nets[i] for i in fast], weights, init,
                                     max_steps=self.max_steps, worst=self.worst_score,
                                     exact_math=self.exact_math)
            scores[fast], steps[fast] = s, n
        ep_weight = np.repeat(weights, n_r)
        ep_init = np.tile(init, (n_w, 1))
        for i, net in enumerate(nets):
            if not self._use_engine(net):
                s, n = rollout_numpy(net, ep_init, self.max_steps, self.worst_score,
                                      weight=ep_weight)
                scores[i], steps[i] = s.reshape(n_w, n_r), n.reshape(n_w, n_r)
        return Rollouts(scores, steps)

    def _run_conn(self, net: WannNetwork, cw: np.ndarray,
                  init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_s, n_r = len(cw), len(init)
        if self._use_engine(net):
            return kernel.run_conn(net, cw, init, max_steps=self.max_steps,
                                   worst=self.worst_score, exact_math=self.exact_math)
        s, n = rollout_numpy(net, np.tile(init, (n_s, 1)), self.max_steps, self.worst_score,
                              conn_weights=np.repeat(cw, n_r, axis=0))
        return s.reshape(n_s, n_r), n.reshape(n_s, n_r)


@lru_cache(maxsize=64)
def _consecutive_states(seed: int, n: int) -> np.ndarray:
    """:func:`swingup_initial_states` of episodes ``seed .. seed + n - 1``, remembered: a
    tuning run scores its validation episodes, and its threads one generation's episodes,
    many times (each state seeds a ``RandomState``, about 0.2 ms)."""
    states = swingup_initial_states(np.arange(seed, seed + n))
    states.flags.writeable = False
    return states


def rollout_numpy(net: WannNetwork, init: np.ndarray, max_steps: int, worst: float, *,
                  weight: np.ndarray | None = None, conn_weights: np.ndarray | None = None,
                  record: list | None = None, trace: np.ndarray | None = None,
                  rewards: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The plain path: ``net.activate`` + :func:`swingup_step`, all episodes in lockstep.

    Every episode is computed every step (finished ones are frozen, not dropped) so that the
    batch shape, and with it numpy's summation order, stays fixed.

    Parameters
    ----------
    init : ndarray of shape (n_episodes, 4)
    weight : ndarray of shape (n_episodes,), optional
        Shared weight per episode.
    conn_weights : ndarray of shape (n_episodes, n_connections), optional
    record : list, optional
        Each step appends the observations of the episodes still running to it.
    trace : ndarray of shape (n_episodes, max_steps + 1, 4), optional
        Filled with every state: the start, then the state after each step (an episode that
        ended keeps its last state to the end).
    rewards : ndarray of shape (n_episodes, max_steps), optional
        Filled with each step's reward (0 after an episode's end).

    Returns
    -------
    scores, steps : ndarrays of shape (n_episodes,)
    """
    states = np.array(init, dtype=float)
    n_ep = len(states)
    ret = np.zeros(n_ep)
    steps = np.full(n_ep, max_steps, dtype=np.int64)
    alive = np.ones(n_ep, dtype=bool)
    if trace is not None:
        trace[:, 0] = states
    if rewards is not None:
        rewards[:] = 0.0
    with np.errstate(all="ignore"):
        for t in range(max_steps):
            obs = swingup_observations(states)
            if record is not None:
                record.append(obs[alive])
            if conn_weights is None:
                out = net.activate(obs, weight)[:, 0]
            else:
                out = net.activate_weights(obs, conn_weights)[:, 0]
            bad = alive & ~np.isfinite(out)
            ret[bad] = worst
            steps[bad] = t + 1
            alive &= ~bad
            force = np.clip(np.where(alive, out, 0.0), -1.0, 1.0) * FORCE_MAG
            nxt, reward, off_track = swingup_step(states, force)
            states[alive] = nxt[alive]
            ret[alive] += reward[alive]
            if rewards is not None:
                rewards[alive, t] = reward[alive]
            if trace is not None:
                trace[:, t + 1] = states
            ended = alive & off_track
            steps[ended] = t + 1
            alive &= ~off_track
            if not alive.any():
                if trace is not None:
                    trace[:, t + 2:] = states[:, None, :]
                break
    ret[~np.isfinite(ret)] = worst
    return ret, steps


def swingup_hard(max_steps: int = 200, engine: str = "numba",
                 exact_math: bool = False) -> SwingUpTask:
    """The reference's ``swingup_hard``: swing-up with 200-step episodes (2 s to swing up)."""
    return SwingUpTask(max_steps=max_steps, engine=engine, exact_math=exact_math,
                       name="swingup_hard")


register_task("swingup", SwingUpTask)
register_task("swingup_hard", swingup_hard)
