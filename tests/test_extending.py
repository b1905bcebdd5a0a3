"""The "Extending wann_plugin" tutorial: its three scripts in examples/extending/, run for real.

docs/extending.rst shows these scripts with ``literalinclude``, so what the page teaches is
what these tests run.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import neat
import numpy as np
import pytest

from wann_plugin.activations import ACTIVATIONS, apply_derivative
from wann_plugin.compiled import activate_array
from wann_plugin.config import load_config, save_config
from wann_plugin.network import WannNetwork
from wann_plugin.reproduction import WannReproduction
from wann_plugin.tasks import TASKS, check_task, make_task

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "extending"


def _load(name: str):
    """Import ``examples/extending/<name>.py`` once per test session."""
    module_name = f"wann_extending_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


@pytest.fixture(scope="module")
def act_mod():
    return _load("custom_activation")


@pytest.fixture(scope="module")
def task_mod():
    return _load("custom_task")


@pytest.fixture(scope="module")
def budget_mod():
    return _load("hidden_budget")


# ---------------------------------------------------------------------- 1. custom activation
def test_sinc_is_registered_with_its_derivative(act_mod):
    act = ACTIVATIONS["sinc"]
    assert act is act_mod.SINC and act.id >= 32
    np.testing.assert_allclose(act.func(np.array([0.0, 0.5, 1.0, -1.5])),
                               [1.0, 2 / np.pi, 0.0, -2 / (3 * np.pi)], atol=1e-15)
    x = np.concatenate([np.linspace(-3, 3, 61), [1e-6, -1e-6, 3e-5, 2e-4]])
    h = 1e-6
    numeric = (act.func(x + h) - act.func(x - h)) / (2 * h)
    np.testing.assert_allclose(apply_derivative(act.id, x), numeric, atol=1e-7)
    assert act.scalar(0.5) == pytest.approx(2 / np.pi)  # the form neat-python calls
    # the compiled form: the kernels compute what numpy computes
    assert act.is_compiled
    grid = np.concatenate([np.linspace(-40, 40, 8001), [0.0, -0.0, 1e-300]])
    np.testing.assert_allclose(activate_array(act.id, grid), act.func(grid), rtol=1e-15,
                               atol=1e-300)


@pytest.fixture(scope="module")
def act_result(act_mod):
    return act_mod.main(["--quiet"])


def test_sinc_appears_in_evolved_networks(act_result):
    assert act_result.pop_size == 48
    assert len(act_result.best_fitness) == 6
    assert 0 < act_result.n_with_sinc < act_result.pop_size
    genome = act_result.checked_genome
    assert any(n.activation == "sinc" for n in genome.nodes.values())


def test_both_forward_passes_agree_on_a_sinc_network(act_mod, act_result):
    assert act_result.max_abs_difference <= 1e-12
    # and on inputs the script did not try, the two passes still agree
    genome, config = act_result.checked_genome, act_result.config
    x = np.random.default_rng(7).normal(0.0, 3.0, size=(20, 5))
    ours, neats = act_mod.compare_forward_passes(genome, config, np.array([-1.5, 0.25, 3.0]), x)
    assert ours.shape == (3, 20, 1)
    np.testing.assert_allclose(ours, neats, rtol=1e-12, atol=1e-12)
    # the sinc node changes the output: with tanh in its place the outputs differ
    swapped = act_mod.copy.deepcopy(genome)
    for node in swapped.nodes.values():
        if node.activation == "sinc":
            node.activation = "tanh"
    other, _ = act_mod.compare_forward_passes(swapped, config, np.array([-1.5, 0.25, 3.0]), x)
    assert np.max(np.abs(other - ours)) > 1e-3


def test_gradients_flow_through_sinc(act_result):
    """The registered derivative makes exact output Jacobians (safe mutations) work."""
    genome, config = act_result.checked_genome, act_result.config
    net = WannNetwork.from_genome(genome, config.genome_config)
    x = np.random.default_rng(1).uniform(-1, 1, size=(4, 5))
    w = np.random.default_rng(2).uniform(-1.5, 1.5, size=net.n_connections)
    jac = net.output_jacobian(x, w)
    h = 1e-6
    for c in range(net.n_connections):
        up, down = w.copy(), w.copy()
        up[c] += h
        down[c] -= h
        numeric = (net.activate_weights(x, up) - net.activate_weights(x, down)) / (2 * h)
        np.testing.assert_allclose(jac[:, :, c], numeric, atol=1e-5)


# ---------------------------------------------------------------------- 2. custom task
def test_curvefit_is_registered_and_built_from_strings(task_mod):
    assert TASKS["curvefit"] is task_mod.CurveFitTask
    task = make_task("curvefit", target="abs", n_samples="16", noise="0.1")
    assert (task.target, task.n_samples, task.noise) == ("abs", 16, 0.1)
    for target in task_mod.TARGETS:
        check_task(task_mod.CurveFitTask(target=target))


def test_curvefit_contract_and_numbers(task_mod):
    task = task_mod.CurveFitTask(noise=0.05)
    weights = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
    # node order: bias 0, x 1, hidden 2, output 3
    empty = WannNetwork.from_edges(1, 1, [1, 1, 2], [], key="empty")
    # step(w * (w * x)) = step(w^2 x) = 1[x > 0] at every shared weight: the target itself
    exact = WannNetwork.from_edges(1, 1, [1, 1, 1, 2], [(1, 2), (2, 3)], key="exact")
    scores = task.evaluate([empty, exact], weights, seed=11, n_repeats=3)
    assert scores.shape == (2, 6, 3)
    x, y = task.samples(11, 3)
    np.testing.assert_allclose(scores[0], np.broadcast_to(-np.mean(y * y, axis=1), (6, 3)))
    assert np.all(scores[1] > -0.01)          # only the noise (variance 0.0025) is left
    assert np.all(scores[0] < -0.3)           # predicting 0 misses every positive sample
    # repetition r depends on seed + r only: common random numbers
    np.testing.assert_array_equal(scores[:, :, 1],
                                  task.evaluate([empty, exact], weights, seed=12)[:, :, 0])
    # per-connection weights all equal to w give the shared-weight scores
    per_conn = task.evaluate_weights(exact, weights[:, None] * np.ones((1, 2)), seed=11,
                                     n_repeats=3)
    np.testing.assert_allclose(per_conn, scores[1])
    # a prediction that is not finite scores the worst value, below any real outcome
    bad = task.score(np.array([[np.nan, 0.0], [1e300, 1e300]]), np.zeros((2, 2)))
    assert bad[0] == task.worst_score < bad[1] == -task.clip**2


def test_curvefit_search_improves_on_generation_zero(task_mod):
    res = task_mod.main(["--generations", "6", "--quiet"])
    assert len(res.best_fitness) == 6
    assert res.best_fitness[0] < -0.4
    assert res.best_fitness[-1] > res.best_fitness[0] + 0.3
    assert res.champion_mean > -0.01          # fits the step at every shared weight
    assert res.champion_hidden >= 1           # needs the shared weight twice on the path


# ---------------------------------------------------------------------- 3. reproduction tweak
def test_budget_section_is_named_after_the_class(budget_mod, tmp_path):
    Budget = budget_mod.HiddenBudgetReproduction
    config = budget_mod.make_config(Budget)
    assert config.reproduction_config.max_hidden_nodes == 1
    assert config.reproduction_config.tournament_size == 4
    stock = budget_mod.make_config(WannReproduction).reproduction_config
    assert not hasattr(stock, "max_hidden_nodes")
    # save_config round-trips the extra key under [HiddenBudgetReproduction], and plain
    # load_config finds the subclass by its section name
    save_config(config, tmp_path / "saved.cfg")
    text = (tmp_path / "saved.cfg").read_text()
    assert "[HiddenBudgetReproduction]" in text and "[WannReproduction]" not in text
    again = load_config(tmp_path / "saved.cfg")
    assert again.reproduction_type is Budget
    assert again.reproduction_config.values() == config.reproduction_config.values()
    # unknown keys and bad values name the subclass's section
    with pytest.raises(ValueError, match=r"\[HiddenBudgetReproduction\].*'max_hidden_nodes'"):
        Budget.parse_config({"max_hiden_nodes": "3"})
    with pytest.raises(ValueError, match=r"\[HiddenBudgetReproduction\] max_hidden_nodes == -1"):
        Budget.parse_config({"max_hidden_nodes": "-1"})


def test_over_budget_genomes_never_breed(budget_mod):
    Budget = budget_mod.HiddenBudgetReproduction
    config = budget_mod.make_config(Budget)
    gc = config.genome_config
    reporters = neat.reporting.ReporterSet()
    repro = Budget(config.reproduction_config, reporters,
                   neat.DefaultStagnation(config.stagnation_config, reporters))
    genomes = list(repro.create_new(config.genome_type, gc, 20).values())
    rng = np.random.default_rng(0)
    for i, g in enumerate(genomes):
        g.connections[(-1, 0)].enabled = True
        for _ in range(i % 4):                 # 0 to 3 hidden nodes
            assert g.mutate_add_node(gc, rng=rng)
        g.fitness = float(i)                   # the biggest genomes are also the fittest
    ranked = sorted(genomes, key=lambda g: -g.fitness)
    children = repro.breed(ranked, 20, config, np.random.default_rng(1))
    by_key = {g.key: g for g in genomes}
    assert len(children) == 20
    for key, child in children.items():
        parents = [by_key[k] for k in repro.ancestors[key]] if key not in by_key else [child]
        for parent in parents:
            assert len(parent.hidden_keys(gc)) <= 1
        assert len(child.hidden_keys(gc)) <= 2


@pytest.fixture(scope="module")
def budget_result(budget_mod):
    return budget_mod.main(["--quiet"])


def test_budget_bounds_network_size(budget_result):
    res = budget_result
    assert res.budget == 1 and len(res.stock_max_hidden) == len(res.budget_max_hidden) == 12
    assert max(res.budget_max_hidden) <= res.budget + 1       # one add-node past the budget
    assert max(res.stock_max_hidden) >= res.budget + 3        # unconstrained: grows past it
    # identical until the budget first binds: the same seed gives the same draws
    first = next(i for i, n in enumerate(res.stock_max_hidden) if n > res.budget + 1)
    assert res.stock_max_hidden[:first] == res.budget_max_hidden[:first]


def test_a_budget_that_never_binds_changes_nothing(budget_mod, tmp_path):
    text = (EXAMPLES / "hidden_budget.ini").read_text()
    path = tmp_path / "loose.cfg"
    path.write_text(text.replace("max_hidden_nodes    = 1", "max_hidden_nodes    = 1000"))
    loose = budget_mod.search(budget_mod.make_config(budget_mod.HiddenBudgetReproduction, path),
                              5)
    stock = budget_mod.search(budget_mod.make_config(WannReproduction, path), 5)
    assert loose.max_hidden == stock.max_hidden
    assert loose.best_fitness == stock.best_fitness


# ---------------------------------------------------------------------- the scripts as programs
@pytest.mark.slow
@pytest.mark.parametrize("script, args, expect", [
    ("custom_activation.py", ["--generations", "2", "--pop-size", "16"], "best mean score"),
    ("custom_task.py", ["--generations", "2", "--pop-size", "16"], "champion"),
    ("hidden_budget.py", ["--generations", "2", "--pop-size", "16"], "HiddenBudgetReproduction"),
])
def test_scripts_run_from_the_command_line(script, args, expect):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert expect in done.stdout


def test_configs_load(task_mod, act_mod):
    assert load_config(EXAMPLES / "custom_task.ini").wann.task_name == "curvefit"
    cfg = load_config(EXAMPLES / "custom_activation.ini")
    assert "sinc" in cfg.genome_config.activation_options
