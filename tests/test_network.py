import pickle

import numpy as np
import pytest
from conftest import load_reference_matrix

from wann_plugin.network import NetworkError, WannNetwork, reference_activate

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
CHAMPIONS = [("swing.out", 5, 1, 52), ("sample_best.out", 5, 1, 252), ("biped.out", 24, 4, 210),
             ("racer.out", 16, 3, 245)]


def random_network(rng, n_in=4, n_out=2, n_hidden=12, p=0.3, acts=range(1, 12)):
    """A random feed-forward network over every activation id."""
    n = 1 + n_in + n_hidden + n_out
    acts = [1] * (1 + n_in) + list(rng.choice(list(acts), size=n_hidden + n_out))
    first_out = n - n_out
    edges = [(s, d) for d in range(1 + n_in, n) for s in range(min(d, first_out))
             if rng.random() < p]
    return WannNetwork.from_edges(n_in, n_out, acts, edges)


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_equals_reference_path_on_random_networks(seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng)
    x = rng.normal(size=(40, net.n_inputs))
    fast = net.activate(x[None], WEIGHTS[:, None])
    assert fast.shape == (6, 40, 2)
    for i, w in enumerate(WEIGHTS):
        np.testing.assert_allclose(fast[i], reference_activate(net, x, w), rtol=1e-12, atol=1e-12)
    cw = rng.uniform(-2, 2, size=net.n_connections)
    np.testing.assert_allclose(net.activate_weights(x, cw),
                               reference_activate(net, x, conn_weights=cw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,n_in,n_out,n_conn", CHAMPIONS)
def test_champions_import_and_agree(name, n_in, n_out, n_conn):
    W, acts = load_reference_matrix(name)
    net = WannNetwork.from_matrix(W, acts, n_in, n_out)
    assert net.n_connections == n_conn  # WANN_SPEC.md section i
    assert net.n_nodes == W.shape[0]
    x = np.random.default_rng(0).normal(size=(20, n_in))
    for w in WEIGHTS:
        ref = reference_activate(net, x, w)
        # the reference's own dense formulation on the raw file: W binarised, NaN -> 0
        Wb = np.where(np.isfinite(W) & (W != 0), w, 0.0)
        vals = np.zeros((20, W.shape[0]))
        vals[:, 0] = 1
        vals[:, 1:n_in + 1] = x
        from wann_plugin.activations import activation_by_id
        for i in range(n_in + 1, W.shape[0]):
            vals[:, i] = activation_by_id(int(acts[i])).func(vals @ Wb[:, i])
        np.testing.assert_allclose(ref, vals[:, -n_out:], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(net.activate(x, w), ref, rtol=1e-10, atol=1e-10)


def test_shared_weight_broadcasts_with_per_episode_inputs():
    net = random_network(np.random.default_rng(3))
    x = np.random.default_rng(4).normal(size=(6, 3, net.n_inputs))  # one input set per weight
    out = net.activate(x, WEIGHTS[:, None])
    for i, w in enumerate(WEIGHTS):
        np.testing.assert_allclose(out[i], reference_activate(net, x[i], w), atol=1e-12)


def test_hand_computed_network():
    # bias(0), x1(1), x2(2), hidden gaussian(3), output linear(4)
    net = WannNetwork.from_edges(2, 1, [1, 1, 1, 4, 1], [(1, 3), (2, 3), (3, 4), (0, 4)])
    x = np.array([[0.5, 1.0]])
    w = 0.5
    h = np.exp(-(w * 1.5) ** 2 / 2)
    np.testing.assert_allclose(net.activate(x, w), [[w * (h + 1.0)]])


def test_edge_cases():
    # no enabled connection: output = act(0)
    net = WannNetwork.from_edges(2, 1, [1, 1, 1, 4], [])
    np.testing.assert_allclose(net.activate(np.ones((3, 2)), 2.0), np.ones((3, 1)))
    # hidden node without inputs feeds a constant act(0) (cos(0) = 1) into the output
    net = WannNetwork.from_edges(1, 1, [1, 1, 10, 1], [(2, 3)])
    np.testing.assert_allclose(net.activate(np.zeros((1, 1)), -1.5), [[-1.5]])
    # unreachable hidden node (no path to an output) is computed but cannot matter
    net = WannNetwork.from_edges(1, 1, [1, 1, 5, 1], [(1, 2), (1, 3)])
    assert net.required_nodes().tolist() == [False, True, False, True]
    # non-finite values propagate, they do not raise
    chain = WannNetwork.from_edges(1, 1, [1, 1, 11, 11, 11, 11, 1],
                                   [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)])
    out = chain.activate(np.array([[1e30]]), 2.0)
    assert not np.isfinite(out).all()


def test_invalid_edges_are_refused():
    with pytest.raises(NetworkError, match="not feed-forward"):
        WannNetwork.from_edges(1, 1, [1, 1, 1, 1], [(3, 2)])
    with pytest.raises(NetworkError, match="not feed-forward"):
        WannNetwork.from_edges(1, 1, [1, 1, 1], [(0, 1)])  # into an input
    with pytest.raises(NetworkError, match="duplicate"):
        WannNetwork.from_edges(1, 1, [1, 1, 1], [(0, 2), (0, 2)])
    with pytest.raises(ValueError, match="no WANN activation id 99"):
        WannNetwork.from_edges(1, 1, [1, 1, 99], [(0, 2)])
    with pytest.raises(NetworkError, match="cannot hold"):
        WannNetwork.from_edges(3, 1, [1, 1, 1], [])


def test_invalid_matrices_are_refused():
    W = np.zeros((3, 3))
    W[2, 1] = 1.0
    with pytest.raises(NetworkError, match="upper-triangular"):
        WannNetwork.from_matrix(W, [1, 1, 1], 1, 1)
    with pytest.raises(NetworkError, match="square"):
        WannNetwork.from_matrix(np.zeros((3, 4)), [1, 1, 1], 1, 1)
    with pytest.raises(NetworkError, match="activation ids"):
        WannNetwork.from_matrix(np.zeros((3, 3)), [1, 1], 1, 1)


def test_nan_entries_are_disabled_and_row_major_order():
    W = np.zeros((4, 4))
    W[0, 3], W[1, 2], W[2, 3], W[1, 3] = 5.0, np.nan, 7.0, -1.0
    net = WannNetwork.from_matrix(W, [1, 1, 1, 1], 1, 1)
    assert net.n_connections == 3
    order = net.row_major_order()
    pairs = [(int(net.conn_src[i]), int(net.conn_dst[i])) for i in order]
    assert pairs == [(0, 3), (1, 3), (2, 3)]
    np.testing.assert_array_equal(net.weight_matrix(2.0)[[0, 1, 2], [3, 3, 3]], [2, 2, 2])


@pytest.mark.parametrize("seed", range(3))
def test_jacobian_against_finite_differences(seed):
    rng = np.random.default_rng(seed)
    acts = [1, 3, 4, 5, 6, 7, 9, 10, 11]  # smooth almost everywhere (no step, abs at 0 is rare)
    net = random_network(rng, n_hidden=10, acts=acts)
    x = rng.normal(size=(5, net.n_inputs))
    cw = rng.uniform(-1, 1, size=net.n_connections)
    jac = net.output_jacobian(x, cw)
    assert jac.shape == (5, net.n_outputs, net.n_connections)
    eps = 1e-6
    for c in range(net.n_connections):
        e = np.zeros_like(cw)
        e[c] = eps
        num = (net.activate_weights(x, cw + e) - net.activate_weights(x, cw - e)) / (2 * eps)
        np.testing.assert_allclose(jac[:, :, c], num, rtol=1e-5, atol=1e-6)


def test_pickle_round_trip_keeps_outputs():
    net = random_network(np.random.default_rng(9))
    clone = pickle.loads(pickle.dumps(net))
    x = np.random.default_rng(1).normal(size=(4, net.n_inputs))
    np.testing.assert_array_equal(clone.activate(x, 0.5), net.activate(x, 0.5))


def test_input_shape_errors():
    net = random_network(np.random.default_rng(2))
    with pytest.raises(ValueError, match="trailing size"):
        net.activate(np.zeros((3, net.n_inputs + 1)), 1.0)
    with pytest.raises(ValueError, match="connections"):
        net.activate_weights(np.zeros((3, net.n_inputs)), np.zeros(net.n_connections + 1))


def test_custom_activations_travel_by_name():
    """Ids of custom activations are per process; pickled networks map them back by name."""
    from wann_plugin import activations as A

    act = A.register_activation("halfx_pickle_test", lambda x: 0.5 * np.asarray(x), lambda x: 0.5 + 0 * x)
    net = WannNetwork.from_edges(1, 1, [1, 1, act.id, 1], [(1, 2), (2, 3)])
    blob = pickle.dumps(net)
    # another process would have handed out ids differently: simulate by moving the name
    del A._BY_ID[act.id]
    moved = A.Activation(act.id + 7, act.name, act.func, act.derivative, act.scalar)
    A.ACTIVATIONS[act.name] = moved
    A._BY_ID[moved.id] = moved
    try:
        clone = pickle.loads(blob)
        assert int(clone.activations[2]) == moved.id
        np.testing.assert_allclose(clone.activate(np.array([[4.0]]), 1.0), [[2.0]])
        del A.ACTIVATIONS[act.name]
        with pytest.raises(NetworkError, match="not registered in this process"):
            pickle.loads(blob)
    finally:
        A.ACTIVATIONS.pop(act.name, None)
        A._BY_ID.pop(moved.id, None)
