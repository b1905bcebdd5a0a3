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
    classify_scores_conn,
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
    """256 inputs, a network of 120 computed nodes (the batch of 250 spans several tiles of
    the search's pass) and three repetitions."""
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


def softsign():
    """The custom activation ``softsign`` (registered once): no compiled form."""
    name = "softsign_classify_kernel"
    return ACTIVATIONS.get(name) or register_activation(name, lambda x: x / (1 + np.abs(x)))


def softsign_net() -> WannNetwork:
    """3 inputs, 2 outputs, one hidden softsign node."""
    return WannNetwork.from_edges(3, 2, [1, 1, 1, 1, softsign().id, 1, 1],
                                  [(1, 4), (2, 4), (4, 5), (3, 6), (4, 6)])


def test_custom_activations_take_the_plain_path_in_a_mixed_batch():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    custom = softsign_net()
    nets = [random_net(3, 2, 4, 0.5, 0), custom, random_net(3, 2, 2, 0.5, 1)]
    (f, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=90)
    np.testing.assert_allclose(f, s, rtol=1e-9)
    assert_accuracy_matches(fa, sa, ties, 90)


def test_builtin_only_is_each_networks_flag():
    act = softsign()
    # a custom id on a hidden node, on an output, and (ignored) on an input's slot
    custom_hidden = softsign_net()
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


def merged_by_dict(packed: PackedClassifiers) -> tuple[int, list]:
    """The plain reference of the node merge: nodes keyed by (activation, ordered sources,
    input sources by row and computed ones by their merged node) in a dict; the count of
    distinct nodes and each network's output keys."""
    ids: dict = {}
    outputs = []
    for k in range(len(packed.comp_lo) - 1):
        c0, c1 = packed.comp_lo[k], packed.comp_lo[k + 1]
        local = []
        for g in range(c0, c1):
            srcs = tuple(("x", int(packed.src[c])) if c < packed.cin_mid[g]
                         else ("n", local[packed.src[c]])
                         for c in range(packed.cin_lo[g], packed.cin_hi[g]))
            local.append(ids.setdefault((int(packed.acts[g]), srcs), len(ids)))
        outputs.append(local[-packed.n_outputs:])
    return len(ids), outputs


def family(n_in=6, n_out=4, n_hidden=12, seed=0):
    """A parent network and relatives as a search breeds them: a copy, a changed output
    activation, a changed hidden activation, an added connection into a hidden node, and a
    hidden node's sources in another order of equal content (sorted anyway: equal)."""
    rng = np.random.default_rng(seed)
    n_fixed = 1 + n_in
    n_nodes = n_fixed + n_hidden + n_out
    acts = [1] * n_fixed + [int(a) for a in rng.choice(EVERY_ACTIVATION, n_hidden + n_out)]
    edges = [(s, d) for d in range(n_fixed, n_nodes) for s in range(min(d, n_nodes - n_out))
             if rng.random() < 0.3]
    edges += [(n_fixed + h, n_nodes - n_out + h % n_out) for h in range(n_hidden)]
    edges = sorted(set(edges))

    def net(a=acts, e=edges):
        return WannNetwork.from_edges(n_in, n_out, list(a), list(e))

    out_act = list(acts)
    out_act[-1] = 2 if acts[-1] != 2 else 3
    hid_act = list(acts)
    hid_act[n_fixed + 2] = 5 if acts[n_fixed + 2] != 5 else 6
    extra = next((s, n_fixed + 3) for s in range(n_fixed + 3) if (s, n_fixed + 3) not in edges)
    return [net(), net(), net(a=out_act), net(a=hid_act), net(e=edges + [extra]),
            net(e=list(reversed(edges)))]


def test_equal_nodes_of_a_batch_are_merged_as_a_plain_dict_merges_them():
    rng = np.random.default_rng(6)
    nets = family() + family(seed=1) + [random_net(6, 4, int(rng.integers(0, 20)), 0.3, s)
                                         for s in range(30)]
    packed = PackedClassifiers(nets)
    sh = packed.shared
    n_merged, outputs = merged_by_dict(packed)
    assert sh.n_nodes == n_merged < len(packed.acts)
    # each network's outputs are the same merged nodes as in the plain merge (up to naming)
    rename: dict = {}
    for k, outs in enumerate(outputs):
        for o, ref in enumerate(outs):
            assert rename.setdefault(int(sh.out_rows[k * 4 + o]), ref) == ref
    # a copy adds no node; a changed output activation adds exactly that output
    alone = PackedClassifiers(nets[:1]).shared.n_nodes
    assert PackedClassifiers(nets[:2]).shared.n_nodes == alone
    assert PackedClassifiers(nets[:1] + nets[2:3]).shared.n_nodes == alone + 1
    assert PackedClassifiers(nets[:1] + nets[5:6]).shared.n_nodes == alone
    # sources come before the node, and each network's outputs have their exp rows
    for i in range(sh.n_nodes):
        computed = sh.src[sh.cin_mid[i]:sh.cin_hi[i]]
        assert np.all(computed < i)
    np.testing.assert_array_equal(sh.out_exp, sh.exp_row[sh.out_rows])
    assert sorted(set(sh.out_exp)) == list(range(len(set(sh.out_rows))))


def test_a_batch_scores_each_network_as_it_scores_alone():
    """Merged nodes, the tile size (which follows the batch's node count) and the kept exps do
    not change a network's scores: bit for bit what it scores alone, and the numpy path's."""
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(500, 6)), rng.integers(0, 4, 500)
    nets = family() + family(seed=2) + [random_net(6, 4, 10, 0.3, s) for s in range(20)]
    task = ClassifyTask(X, y, batch_size=301, test_fraction=0.1)
    f = task.evaluate(nets, WEIGHTS, seed=1, n_repeats=2)
    acc = task.last_accuracy
    for k, net in enumerate(nets):
        np.testing.assert_array_equal(task.evaluate([net], WEIGHTS, seed=1, n_repeats=2)[0],
                                      f[k])
        np.testing.assert_array_equal(task.last_accuracy[0], acc[k])
    (ff, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=301, seed=1)
    np.testing.assert_allclose(ff, s, rtol=1e-9, atol=1e-9)
    assert_accuracy_matches(fa, sa, ties, 301)
    # the plain layout (every network's own nodes) gives the same bits
    packed = PackedClassifiers(nets)
    assert packed.nodes(merge=False).n_nodes == len(packed.acts) > packed.shared.n_nodes
    x_t, labels, _ = column_batch(task.X_train, task.y_train, task.batch_indices(1, 2))
    merged = classify_scores(packed, WEIGHTS, x_t, labels, 2, 301, worst=-1e9)
    plain = classify_scores(packed, WEIGHTS, x_t, labels, 2, 301, worst=-1e9, merge=False)
    np.testing.assert_array_equal(merged[0], plain[0])
    np.testing.assert_array_equal(merged[1], plain[1])
    np.testing.assert_array_equal(merged[0], f)


def test_a_batch_too_large_for_one_pass_is_scored_in_parts(monkeypatch):
    """Past ``_MAX_NODE_DOUBLES`` the networks are scored in halves (recursively): the same
    scores bit for bit, with or without merging."""
    from wann_plugin.tasks import _classify_kernel as kernel

    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(300, 6)), rng.integers(0, 4, 300)
    nets = family(seed=4) + [random_net(6, 4, int(rng.integers(0, 12)), 0.3, s)
                             for s in range(13)]
    x_t, labels, _ = column_batch(X, y, rng.integers(0, 300, size=(2, 150)))
    packed = PackedClassifiers(nets)
    whole = classify_scores(packed, WEIGHTS, x_t, labels, 2, 150, worst=-1e9)
    calls = []
    real = kernel._kernel

    def counted(*args):
        calls.append(len(args[5]) // 4)  # networks of the pass (their outputs / 4)
        return real(*args)

    monkeypatch.setattr(kernel, "_kernel", counted)
    monkeypatch.setattr(kernel, "_MAX_NODE_DOUBLES", 30 * len(WEIGHTS) * 8)
    for merge in (True, False):
        calls.clear()
        parts = classify_scores(PackedClassifiers(nets), WEIGHTS, x_t, labels, 2, 150,
                                worst=-1e9, merge=merge)
        assert len(calls) > 2 and sum(calls) == len(nets)
        np.testing.assert_array_equal(parts[0], whole[0])
        np.testing.assert_array_equal(parts[1], whole[1])
    sub = packed.part(3, 7)
    np.testing.assert_array_equal(sub.nodes(merge=False).acts,
                                  PackedClassifiers(nets[3:7]).nodes(merge=False).acts)
    np.testing.assert_array_equal(sub.src, PackedClassifiers(nets[3:7]).src)


def test_large_and_very_negative_outputs_take_the_safe_softmax():
    """Outputs of hundreds overflow or underflow a plain sum of exp: those images take the
    max-shifted softmax, the others the kept exps, and all equal the numpy path."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 6)) * rng.choice([1.0, 300.0], size=(400, 1))
    y = rng.integers(0, 4, 400)
    nets = family(seed=3) + [random_net(6, 4, 4, 0.4, s, acts=(1, 8, 9)) for s in range(20)]
    (f, fa), (s, sa, ties) = both_paths(X, y, nets, batch_size=200)
    task = ClassifyTask(X, y, batch_size=200, test_fraction=0.1, engine="numpy")
    z = np.concatenate([task._outputs(n, X, weights=WEIGHTS).ravel() for n in nets])
    assert np.isfinite(z).all() and z.max() > 1000 and z.min() < -1000
    assert np.isfinite(s).all()
    np.testing.assert_allclose(f, s, rtol=1e-9, atol=1e-9)
    assert_accuracy_matches(fa, sa, ties, 200)


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


# ----------------------------------------------------------------- per-connection weights
def conn_paths(X, y, net, cw, *, batch_size, seed=3, n_repeats=2):
    """evaluate_weights of the fused pass and of the plain numpy path, and the fused pass's
    accuracy (from classify_scores_conn) with the plain path's."""
    fast = ClassifyTask(X, y, batch_size=batch_size, test_fraction=0.1)
    slow = ClassifyTask(X, y, batch_size=batch_size, test_fraction=0.1, engine="numpy")
    f = fast.evaluate_weights(net, cw, seed=seed, n_repeats=n_repeats)
    s = slow.evaluate_weights(net, cw, seed=seed, n_repeats=n_repeats)
    return fast, slow, f, s


def random_conn_weights(net, n_sets, seed, scale=1.0):
    return np.random.default_rng(seed).normal(size=(n_sets, net.n_connections)) * scale


def test_per_connection_pass_equals_the_numpy_path_with_every_activation():
    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(500, 8)), rng.integers(0, 5, 500)
    used = set()
    for s in range(25):
        net = random_net(8, 5, int(rng.integers(0, 25)), float(rng.uniform(0.1, 0.5)), s)
        used |= {int(a) for a in net.activations[9:]}
        cw = random_conn_weights(net, int(rng.integers(1, 12)), s)
        _, _, f, slow = conn_paths(X, y, net, cw, batch_size=203)  # not whole lane groups
        assert f.shape == slow.shape == (len(cw), 2)
        np.testing.assert_allclose(f, slow, rtol=1e-9, atol=1e-9)
    assert used == set(EVERY_ACTIVATION)


def test_per_connection_pass_weights_each_connection_and_its_accuracy():
    """Zeroing one connection's weight in one set changes that set's score only, and the
    fused accuracy equals the plain path's argmax count (no near ties here)."""
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(300, 5)), rng.integers(0, 3, 300)
    net = random_net(5, 3, 6, 0.6, 3, acts=(1, 5, 9))
    cw = random_conn_weights(net, 4, 0)
    fast, slow, f, s = conn_paths(X, y, net, cw, batch_size=120, n_repeats=1)
    changed = cw.copy()
    changed[2, :] = 0.0  # every output is 0: log(1/3) for every image
    f2 = fast.evaluate_weights(net, changed, seed=3, n_repeats=1)
    np.testing.assert_array_equal(f2[[0, 1, 3]], f[[0, 1, 3]])
    np.testing.assert_allclose(f2[2], np.log(1 / 3), rtol=1e-12)
    idx = fast.batch_indices(3, 1)
    x_t, labels, _ = column_batch(fast.X_train, fast.y_train, idx)
    fit, acc = classify_scores_conn(PackedClassifiers([net]), cw, x_t, labels, 1, 120,
                                    worst=-1e9)
    np.testing.assert_array_equal(fit, f)
    z = net.activate_weights(fast.X_train[idx[0]][None], cw[:, None])  # (n_sets, batch, out)
    np.testing.assert_allclose(acc[:, 0], (z.argmax(-1) == fast.y_train[idx[0]]).mean(-1))


def test_per_connection_pass_scores_non_finite_outputs_worst():
    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(300, 4)) * 1e60, rng.integers(0, 3, 300)
    worst_seen = 0
    for s in range(20):
        net = random_net(4, 3, int(rng.integers(1, 8)), 0.5, s, (1, 3, 7, 9, 11))
        cw = random_conn_weights(net, 6, s)
        _, _, f, slow = conn_paths(X, y, net, cw, batch_size=100)
        np.testing.assert_array_equal(f == -1e9, slow == -1e9)
        np.testing.assert_allclose(f, slow, rtol=1e-9)
        worst_seen += int((slow == -1e9).sum())
    assert 10 < worst_seen < 20 * 6 * 2 - 10


def test_per_connection_pass_with_many_inputs_sets_and_blocks_and_exact_math():
    """256 inputs (120 images a column block, a batch of 250 spans 3), 40 weight sets (split
    into groups that fill a tile), and libm under exact_math."""
    rng = np.random.default_rng(13)
    X, y = rng.uniform(0, 1, size=(400, 256)), rng.integers(0, 10, 400)
    for k, net in enumerate([random_net(256, 10, 110, 0.03, 1),
                             random_net(256, 10, 30, 0.02, 2, acts=(3, 4, 5, 6, 10))]):
        cw = random_conn_weights(net, 40, k, scale=0.5)
        _, slow, f, s = conn_paths(X, y, net, cw, batch_size=250, n_repeats=3)
        np.testing.assert_allclose(f, s, rtol=1e-9)
        exact = ClassifyTask(X, y, batch_size=250, test_fraction=0.1, exact_math=True)
        np.testing.assert_allclose(exact.evaluate_weights(net, cw, seed=3, n_repeats=3), s,
                                   rtol=1e-9)


def test_per_connection_pass_refuses_a_pack_of_two_networks_and_wrong_weights():
    net = random_net(3, 2, 2, 0.5, 0)
    x_t, labels, _ = column_batch(np.zeros((8, 3)), np.zeros(8, int), np.arange(8)[None])
    with pytest.raises(ValueError, match="one network; the pack holds 2"):
        classify_scores_conn(PackedClassifiers([net, net]), np.ones((1, net.n_connections)),
                             x_t, labels, 1, 8, worst=-1e9)
    with pytest.raises(ValueError, match=rf"must be \(n_sets, {net.n_connections}\)"):
        classify_scores_conn(PackedClassifiers([net]), np.ones((1, net.n_connections - 1)),
                             x_t, labels, 1, 8, worst=-1e9)


def test_per_connection_custom_activation_takes_the_plain_path():
    rng = np.random.default_rng(14)
    X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    custom = softsign_net()
    cw = random_conn_weights(custom, 3, 0)
    _, _, f, s = conn_paths(X, y, custom, cw, batch_size=90)
    np.testing.assert_allclose(f, s, rtol=1e-12)


def test_column_batch_gathers_the_images_as_columns():
    """The compiled gather against numpy's fancy indexing: bias row, each repetition's images
    in order, zero padding to whole lane groups, labels; indices out of range are refused."""
    rng = np.random.default_rng(15)
    X, y = rng.normal(size=(50, 7)), rng.integers(0, 4, 50)
    idx = rng.integers(0, 50, size=(3, 13))
    x_t, labels, padded = column_batch(X, y, idx)
    assert padded == 16 and x_t.shape == (8, 48) and labels.shape == (48,)
    expected = np.zeros((8, 3, 16))
    expected[0] = 1.0
    expected[1:, :, :13] = X[idx].transpose(2, 0, 1)
    np.testing.assert_array_equal(x_t, expected.reshape(8, 48))
    exp_labels = np.zeros((3, 16), dtype=int)
    exp_labels[:, :13] = y[idx]
    np.testing.assert_array_equal(labels, exp_labels.reshape(-1))
    with pytest.raises(IndexError, match="outside 0..49"):
        column_batch(X, y, idx + 40)
    # into this thread's scratch buffer: the same values, the buffer reused by the next call
    a, la, _ = column_batch(X, y, idx, scratch=True)
    np.testing.assert_array_equal(a, x_t)
    np.testing.assert_array_equal(la, labels)
    b, _, _ = column_batch(X, y, idx[::-1], scratch=True)
    assert np.shares_memory(a, b)
    np.testing.assert_array_equal(b, column_batch(X, y, idx[::-1])[0])


def test_the_search_pass_releases_the_gil_in_every_compiled_step():
    """Threads score chunks of a generation at once (``wann run --threads N``): packing,
    merging, gathering the images and the pass itself all run without the GIL."""
    from wann_plugin.tasks import _classify_kernel as kernel

    for fn in (kernel._pack, kernel._share, kernel._gather_columns, kernel._kernel,
               kernel._kernel_conn):
        assert fn.targetoptions.get("nogil") is True, fn.__name__
