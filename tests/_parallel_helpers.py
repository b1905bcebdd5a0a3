"""A small, cheap task for the parallel, checkpoint and fault tests, with switches for faults.

It lives in its own module so that worker processes (process pools, Dask workers) can import
it by name: pytest puts ``tests/`` on ``sys.path`` and spawned workers inherit it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task

#: How many ToyTask objects this process has unpickled (a task is built once per worker).
LOADS = 0


def loads_in_this_process() -> tuple[int, int]:
    """``(pid, LOADS)``: submit it to an executor to ask a worker."""
    return os.getpid(), LOADS


class ToyTask(Task):
    """Regress ``y = sin(x0) - x1 ... `` on samples drawn from the seed: one vectorised
    forward per network.

    Fault switches (all off by default):

    fail_keys
        Raise ``ValueError`` when a network with one of these keys is in the call.
    nan_keys
        Return NaN scores for these networks (the evaluator must score them worst).
    kill_marker
        A file path: the first call in any process that finds the file absent creates it and
        SIGKILLs its own process (a worker dying in the middle of a generation).
    kill_always
        SIGKILL the process on every call (a batch that kills every worker it touches).
    interrupt_after
        Raise ``KeyboardInterrupt`` on this call number (in-process Ctrl-C in the middle of a
        generation).
    sleep
        Seconds to sleep per call (to make batches slow enough to interrupt).
    """

    name = "toy"
    worst_score = -1e6

    def __init__(self, n_inputs: int = 3, n_outputs: int = 1, n_samples: int = 64, *,
                 fail_keys: Sequence = (), nan_keys: Sequence = (), kill_marker: str | None = None,
                 kill_always: bool = False, interrupt_after: int | None = None,
                 sleep: float = 0.0):
        self.n_inputs = n_inputs
        self.n_outputs = n_outputs
        self.n_samples = n_samples
        self.fail_keys = frozenset(fail_keys)
        self.nan_keys = frozenset(nan_keys)
        self.kill_marker = kill_marker
        self.kill_always = kill_always
        self.interrupt_after = interrupt_after
        self.sleep = sleep
        self.calls = 0  # per process: shows the task object is reused between batches
        # the key switches and call counts assume one network per genome: no sharing of the
        # scores of equal networks (Task.deterministic)
        self.deterministic = not (self.fail_keys or self.nan_keys or interrupt_after is not None)

    def __setstate__(self, state):
        global LOADS
        LOADS += 1
        self.__dict__.update(state)

    def _maybe_die(self) -> None:
        if self.kill_always:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.interrupt_after is not None and self.calls == self.interrupt_after:
            raise KeyboardInterrupt
        if self.kill_marker is None:
            return
        try:
            fd = os.open(self.kill_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        self.calls += 1
        self._maybe_die()
        if self.sleep:
            time.sleep(self.sleep)
        weights = np.asarray(weights, dtype=float)
        out = np.empty((len(nets), len(weights), n_repeats))
        for r in range(n_repeats):
            rng = np.random.default_rng([seed, r])
            x = rng.uniform(-2, 2, size=(self.n_samples, self.n_inputs))
            y = np.sin(x[:, :1]) - 0.5 * x[:, 1:2] ** 2
            for i, net in enumerate(nets):
                if net.key in self.fail_keys:
                    raise ValueError(f"toy task cannot score network {net.key}")
                with np.errstate(all="ignore"):
                    pred = net.activate(x, weight=weights[:, None])[..., :1]
                    out[i, :, r] = -np.mean((pred - y[None]) ** 2, axis=(1, 2))
                if net.key in self.nan_keys:
                    out[i, :, r] = np.nan
        return np.clip(out, -1e5, 0)


def random_networks(n: int, n_inputs: int = 3, n_outputs: int = 1, seed: int = 0,
                    first_key: int = 1) -> list[WannNetwork]:
    """``n`` random feed-forward networks with keys ``first_key...``."""
    rng = np.random.default_rng(seed)
    nets = []
    for k in range(n):
        n_hidden = int(rng.integers(0, 4))
        n_nodes = 1 + n_inputs + n_hidden + n_outputs
        acts = [1] * (1 + n_inputs) + list(rng.integers(1, 11, size=n_hidden + n_outputs))
        edges = [(s, d) for d in range(1 + n_inputs, n_nodes) for s in range(d)
                 if s < n_nodes - n_outputs and rng.random() < 0.6]
        if not any(d >= n_nodes - n_outputs for _, d in edges):
            edges.append((1, n_nodes - 1))
        nets.append(WannNetwork.from_edges(n_inputs, n_outputs, acts, edges, key=first_key + k))
    return nets


TOY_CONFIG = """\
[NEAT]
pop_size               = {pop_size}
fitness_criterion      = max
fitness_threshold      = 1000
no_fitness_termination = true
reset_on_extinction    = false
seed                   = {seed}

[WannGenome]
num_inputs              = 5
num_outputs             = 1
initial_connection_prob = 0.5
activation_options      = linear step sin gaussian tanh sigmoid inverse abs relu cos
output_activation       = linear
prob_add_connection     = 0.20
prob_add_node           = 0.25
prob_enable             = 0.05
prob_change_activation  = 0.50

[WannReproduction]
cull_ratio          = 0.2
elite_ratio         = 0.2
tournament_size     = 4
prob_crossover      = 0.0
prob_size_objective = 0.8

[WannSpeciesSet]

[DefaultStagnation]
species_fitness_func = max
max_stagnation       = 10000
species_elitism      = 1

[WannEvaluation]
weights   = -2 -1 -0.5 0.5 1 2
n_repeats = {n_repeats}

[WannRun]
generations = {generations}

[WannTask]
name = swingup
max_steps = {max_steps}
"""


def write_config(path: Path, *, pop_size: int = 24, seed: int = 3, n_repeats: int = 1,
                 generations: int = 4, max_steps: int = 100) -> Path:
    """A small swing-up config file (5 inputs, 1 output)."""
    path = Path(path)
    path.write_text(TOY_CONFIG.format(pop_size=pop_size, seed=seed, n_repeats=n_repeats,
                                      generations=generations, max_steps=max_steps))
    return path
