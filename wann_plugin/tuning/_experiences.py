"""Experiences for safe mutations from tasks that do not (yet) offer ``sample_inputs``.

The Task hook is ``task.sample_inputs(net, conn_weights, *, seed, n) -> (n_samples <= n,
n_inputs)``: inputs the network met when run with ``conn_weights`` in the episode(s) of
``seed``. Until the built-in tasks implement it, these fallbacks record them here:

* swing-up (:class:`~wann_plugin.tasks.swingup.SwingUpTask`): play episode ``seed`` (with the
  compiled engine's state trace, or else stepping
  :func:`~wann_plugin.tasks.swingup.swingup_step`) and keep a random ``n`` of the
  observations the network saw (the safe-mutation reference samples its rollout buffer the
  same way);
* classification (:class:`~wann_plugin.tasks.classify.ClassifyTask`): ``n`` training samples
  drawn with ``seed`` (the inputs do not depend on the weights).
"""

from __future__ import annotations

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task

__all__ = ["fallback_sample_inputs"]


def _subsample(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    if x.shape[0] <= n:
        return x
    idx = np.random.default_rng(seed).choice(x.shape[0], n, replace=False)
    return x[np.sort(idx)]


def _swingup_inputs(task, net: WannNetwork, conn_weights: np.ndarray, seed: int,
                    n: int) -> np.ndarray:
    from wann_plugin.tasks import swingup as sw

    state = sw.swingup_initial_states([seed])
    if getattr(task, "engine", None) == "numba" and net.uses_builtin_activations:
        try:  # the compiled engine records the states it visits (its ``trace`` argument)
            from wann_plugin.tasks.swingup import kernel

            trace = np.zeros((1, task.max_steps, 1, 6))
            _, steps = kernel.run_conn(net, conn_weights[None], state,
                                        max_steps=task.max_steps, worst=task.worst_score,
                                        trace=trace)
            seen = sw.swingup_observations(trace[0, :int(steps[0, 0]), 0, :4])
            return _subsample(seen, n, seed)
        except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
            pass  # engine API changed: step the physics here instead
    seen = []
    with np.errstate(all="ignore"):
        for _ in range(task.max_steps):
            obs = sw.swingup_observations(state)
            seen.append(obs[0])
            out = net.activate_weights(obs, conn_weights)[:, 0]
            if not np.all(np.isfinite(out)):
                break
            state, _, off_track = sw.swingup_step(state, np.clip(out, -1.0, 1.0) * sw.FORCE_MAG)
            if off_track[0]:
                break
    return _subsample(np.array(seen), n, seed)


def fallback_sample_inputs(task: Task, net: WannNetwork, conn_weights: np.ndarray, *,
                           seed: int, n: int) -> np.ndarray | None:
    """Recorded inputs for the built-in tasks that lack ``sample_inputs``; ``None`` otherwise."""
    try:
        from wann_plugin.tasks.swingup import SwingUpTask
    except ImportError:  # pragma: no cover
        SwingUpTask = ()
    if SwingUpTask and isinstance(task, SwingUpTask):
        return _swingup_inputs(task, net, np.asarray(conn_weights, dtype=float), seed, n)
    return None
