"""wann_plugin.transport: a batch of networks as flat arrays, activations by name."""

from __future__ import annotations

import numpy as np
import pytest
from _parallel_helpers import random_networks

from wann_plugin.activations import ACTIVATIONS, register_activation
from wann_plugin.compiled import KernelLayout
from wann_plugin.network import NetworkError, WannNetwork
from wann_plugin.transport import NetworkBatch

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


def test_round_trip_gives_identical_outputs():
    nets = random_networks(12, seed=3)
    batch = NetworkBatch.pack(nets)
    assert batch.keys == tuple(range(1, 13)) and len(batch) == 12
    assert batch.conn_src.dtype == np.int32 and batch.act_index.dtype == np.int16
    assert set(batch.act_names) <= set(ACTIVATIONS)
    x = np.random.default_rng(0).normal(size=(7, 3))
    for a, b in zip(nets, batch.unpack()):
        assert b.key == a.key and b.n_connections == a.n_connections
        np.testing.assert_array_equal(b.activations, a.activations)
        np.testing.assert_array_equal(b.conn_src, a.conn_src)
        np.testing.assert_array_equal(b.conn_dst, a.conn_dst)
        np.testing.assert_array_equal(a.activate(x, WEIGHTS[:, None]),
                                      b.activate(x, WEIGHTS[:, None]))
    assert NetworkBatch.pack([]).unpack() == []


def test_activations_travel_by_name():
    if "transport_negcube" not in ACTIVATIONS:
        register_activation("transport_negcube", lambda x: -np.asarray(x, dtype=float) ** 3)
    act = ACTIVATIONS["transport_negcube"]
    net = WannNetwork.from_edges(2, 1, [1, 1, 1, act.id], [(1, 3), (2, 3)], key="n")
    batch = NetworkBatch.pack([net])
    assert batch.act_names == ("linear", "transport_negcube")
    np.testing.assert_array_equal(batch.activation_ids(), [1, 1, 1, act.id])
    # a process that does not know the name says so, naming the network
    stranger = NetworkBatch(batch.keys, batch.shape, batch.node_ptr, batch.conn_ptr,
                            ("linear", "transport_unknown"), batch.act_index, batch.in_ptr,
                            batch.conn_src)
    with pytest.raises(NetworkError, match="network 'n' uses the custom activation "
                                           "'transport_unknown'.*wann --import"):
        stranger.unpack()


def test_kernel_layout_packs_from_the_batch():
    nets = random_networks(6, seed=5)
    from_batch = KernelLayout(NetworkBatch.pack(nets))
    from_nets = KernelLayout(nets)
    for name in ("node_lo", "n_nodes", "acts", "cin_lo", "cin_hi", "conn_src", "conn_lo",
                 "conn_index"):
        np.testing.assert_array_equal(getattr(from_batch, name), getattr(from_nets, name))
    # pruning: exactly the nodes WannNetwork.required_nodes marks, plus bias and inputs
    for k, net in enumerate(nets):
        keep = net.required_nodes()
        keep[:1 + net.n_inputs] = True
        assert from_batch.n_nodes[k] == keep.sum()
