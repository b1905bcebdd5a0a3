"""The fused classification pass against ClassifyTask's plain numpy path."""

from __future__ import annotations

import numpy as np
import pytest

from wann_plugin.activations import ACTIVATIONS, register_activation
from wann_plugin.network import WannNetwork
from wann_plugin.tasks import ClassifyTask
from wann_plugin.tasks._classify_kernel import (
    PackedClassifiers,
    apply_log,
    builtin_only,
    classify_scores,
    column_batch,
)

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
EVERY_ACTIVATION = tuple(range(1, 12))  # linear, step, sin, gaussian, tanh, sigmoid, inverse,
#                                          abs, relu, cos, square


def random_net(n_in: int, n_out: int, n_hidden: int, p: float, seed: int,
               acts: tuple = EVERY_ACTIVATION) -> WannNetwork:
    """Hidden and output nodes with random activations; each forward pair connected with
    probability ``p`` (deep chains, mixed input and hidden sources, empty nodes)."""
    rng = np.random.default_rng(seed)
    n_fixed = 1 + n_in
    n_nodes = n_fixed + n_hidden + n_out
    act_ids = [1] * n_fixed + [int(a) for a in rng.choice(acts, size=n_hidden + n_out)]
    edges = [(s, d) for d in range(n_fixed, n_nodes) for s in range(min(d, n_nodes - n_out))
             if rng.random() < p]
    return WannNetwork.from_edges(n_in, n_out, act_ids, edges)


def both_paths(X, y, nets, *, batch_size, seed=3, n_repeats=2, weights=WEIGHTS):
    fast = ClassifyTask(X, y, batch_size=batch_size, test_fraction=0.1)
    slow = ClassifyTask(X, y, batch_size=batch_size, test_fraction=0.1, engine="numpy")
    f = fast.evaluate(nets, weights, seed=seed, n_repeats=n_repeats)
    s = slow.evaluate(nets, weights, seed=seed, n_repeats=n_repeats)
    return (f, fast.last_accuracy), (s, slow.last_accuracy, near_ties(slow, nets, seed, n_repeats))


def near_ties(task, nets, seed, n_repeats, weights=WEIGHTS):
    """Per (network, weight, repetition): images whose two largest numpy outputs are within
    1e-9 (relative). Rounding (a sum in another order, a sigmoid's ``+ 1`` cancelling) can
    turn such a tie either way, so the argmax, and the accuracy by one image, may differ."""
    idx = task.batch_indices(seed, n_repeats)
    out = np.empty((len(nets), len(weights), n_repeats))
    for k, net in enumerate(nets):
        z = task._outputs(net, task.X_train[idx.ravel()], weights=weights)
        z = np.sort(z.reshape(len(weights), n_repeats, idx.shape[1], -1), axis=-1)
        with np.errstate(invalid="ignore"):
            tie = z[..., -1] - z[..., -2] <= 1e-9 * np.maximum(1.0, np.abs(z[..., -1]))
        out[k] = tie.sum(axis=-1)
    return out


def assert_accuracy_matches(fast_acc, slow_acc, ties, batch):
    """Equal to 1e-9 where no image is a near tie; otherwise off by at most the ties."""
    np.testing.assert_array_less(np.abs(fast_acc - slow_acc) * batch, ties + 1e-6)
    assert np.mean(ties == 0) > 0.5


def test_fused_pass_equals_the_numpy_path_with_every_activation():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 8)), rng.integers(0, 5, 600)
    nets = [random_net(8, 5, int(rng.integers(0, 25)), float(rng.uniform(0.1, 0.5)), s)
            for s in range(60)]
    used = {int(a) for n in nets for a in n.activations[9:]}
    assert used == set(EVERY_ACTIVATION)
    (f, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=203)  # not whole lane groups
    assert np.all(np.isfinite(s)) and s.std() > 0.1
    np.testing.assert_allclose(f, s, rtol=1e-9, atol=1e-9)
    assert_accuracy_matches(fa, sa, ties, 203)
    assert len(np.unique(sa)) > 20  # accuracies differ between networks and weights


def test_non_finite_outputs_score_worst_as_on_the_numpy_path():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(300, 4)) * 1e60, rng.integers(0, 3, 300)
    # square nodes overflow to inf, inverse/sin of inf give nan, at some weights only
    acts = (1, 3, 7, 9, 11)
    nets = [random_net(4, 3, int(rng.integers(1, 8)), 0.5, s, acts) for s in range(80)]
    (f, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=100)
    worst = s == -1e9
    assert 20 < worst.sum() < worst.size - 20  # both kinds of outcome are exercised
    np.testing.assert_array_equal(f == -1e9, worst)
    np.testing.assert_allclose(f, s, rtol=1e-9)
    np.testing.assert_array_equal(fa[worst], 0.0)
    assert_accuracy_matches(fa, sa, ties, 100)


def test_many_inputs_large_networks_and_several_blocks_and_tiles():
    """256 inputs put 120 images in a column block (the batch of 250 spans 3) and a network of
    120 computed nodes splits a block into tiles."""
    rng = np.random.default_rng(2)
    X, y = rng.uniform(0, 1, size=(400, 256)), rng.integers(0, 10, 400)
    nets = [random_net(256, 10, 0, 0.05, 0), random_net(256, 10, 110, 0.03, 1),
            random_net(256, 10, 30, 0.02, 2, acts=(1, 5, 6, 9))]
    (f, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=250, n_repeats=3)
    np.testing.assert_allclose(f, s, rtol=1e-9)
    assert_accuracy_matches(fa, sa, ties, 250)


def test_exact_math_also_equals_the_numpy_path():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(300, 6)), rng.integers(0, 4, 300)
    nets = [random_net(6, 4, 10, 0.35, s) for s in range(30)]
    task = ClassifyTask(X, y, batch_size=120, engine="numpy", test_fraction=0.1)
    idx = task.batch_indices(7, 2)
    x_t, labels, _ = column_batch(task.X_train, task.y_train, idx)
    fit, acc = classify_scores(nets, WEIGHTS, x_t, labels, 2, 120, worst=-1e9, exact_math=True)
    np.testing.assert_allclose(fit, task.evaluate(nets, WEIGHTS, seed=7, n_repeats=2),
                               rtol=1e-9)
    assert_accuracy_matches(acc, task.last_accuracy, near_ties(task, nets, 7, 2), 120)


def test_custom_activations_take_the_plain_path_in_a_mixed_batch():
    name = "softsign_classify_kernel"
    act = ACTIVATIONS.get(name) or register_activation(name, lambda x: x / (1 + np.abs(x)))
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    custom = WannNetwork.from_edges(3, 2, [1, 1, 1, 1, act.id, 1, 1],
                                    [(1, 4), (2, 4), (4, 5), (3, 6), (4, 6)])
    nets = [random_net(3, 2, 4, 0.5, 0), custom, random_net(3, 2, 2, 0.5, 1)]
    (f, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=90)
    np.testing.assert_allclose(f, s, rtol=1e-9)
    assert_accuracy_matches(fa, sa, ties, 90)


def test_builtin_only_is_each_networks_flag():
    name = "softsign_classify_kernel"
    act = ACTIVATIONS.get(name) or register_activation(name, lambda x: x / (1 + np.abs(x)))
    # a custom id on a hidden node, on an output, and (ignored) on an input's slot
    custom_hidden = WannNetwork.from_edges(3, 2, [1, 1, 1, 1, act.id, 1, 1],
                                           [(1, 4), (2, 4), (4, 5), (3, 6), (4, 6)])
    custom_out = WannNetwork.from_edges(3, 2, [1, 1, 1, 1, 2, act.id],
                                        [(1, 4), (2, 5), (3, 5)])
    input_slot = WannNetwork.from_edges(3, 2, [1, act.id, 1, 1, 2, 3], [(1, 4), (2, 5)])
    nets = [random_net(3, 2, h, 0.5, h) for h in range(6)]
    for at, net in ((0, custom_hidden), (4, custom_out), (8, input_slot)):
        nets.insert(at, net)
    expected = [net.uses_builtin_activations for net in nets]
    assert expected.count(False) == 2
    np.testing.assert_array_equal(builtin_only(nets), expected)
    assert builtin_only([]).shape == (0,)


def test_packing_prunes_nodes_that_reach_no_output():
    # node 3 feeds nothing, node 4 feeds output 6; output 5 has no input at all
    net = WannNetwork.from_edges(2, 2, [1, 1, 1, 5, 3, 1, 1], [(1, 3), (2, 4), (0, 6), (4, 6)])
    packed = PackedClassifiers([net, net])
    np.testing.assert_array_equal(packed.comp_lo, [0, 3, 6])
    np.testing.assert_array_equal(packed.acts, [3, 1, 1] * 2)
    # node 4: one input source; output 6: the bias, then computed node 0 (node 4)
    np.testing.assert_array_equal(packed.cin_lo[:3], [0, 1, 1])
    np.testing.assert_array_equal(packed.cin_mid[:3], [1, 1, 2])
    np.testing.assert_array_equal(packed.cin_hi[:3], [1, 1, 3])
    np.testing.assert_array_equal(packed.src[:3], [2, 0, 0])
    with pytest.raises(ValueError, match="has 3 inputs and 2 outputs; the batch has 2 and 2"):
        PackedClassifiers([net, random_net(3, 2, 0, 1.0, 0)])


def test_the_kernels_log_is_within_one_ulp():
    rng = np.random.default_rng(6)
    x = np.concatenate([np.linspace(1.0, 16.0, 100_001), rng.uniform(1e-300, 1e300, 10_000),
                        np.exp(rng.uniform(-700, 700, 10_000)), [1.0, 2.0, np.sqrt(2.0)]])
    got, want = apply_log(x), np.log(x)
    ulp = np.spacing(np.abs(want))
    assert np.max(np.abs(got - want) / ulp) <= 1.0
    assert apply_log(np.array([1.0]))[0] == 0.0


def test_ties_go_to_the_first_largest_output_as_numpy_argmax():
    # outputs: w * x1, relu(w * x2), relu(w * x2): the last two always tie, so class 2 is
    # never predicted; where w * x1 < 0 and w * x2 < 0, outputs 1 and 2 tie at 0
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 2))
    net = WannNetwork.from_edges(2, 3, [1, 1, 1, 1, 9, 9], [(1, 3), (2, 4), (2, 5)])
    mostly_2 = np.where(np.arange(200) < 180, 2, np.arange(200) % 2)
    for y in (mostly_2, rng.integers(0, 3, 200)):
        (f, fa), (s, sa, _) = both_paths(X, y, [net], batch_size=150)
        np.testing.assert_allclose(f, s, rtol=1e-12)
        np.testing.assert_array_equal(fa, sa)
    assert 0.2 < sa.mean() < 0.6
    # only the 20 images of classes 0 and 1 can be right: at most 20 of the batch's 150
    mostly = both_paths(X, mostly_2, [net], batch_size=150)[0][1]
    assert mostly.max() <= 20 / 150
