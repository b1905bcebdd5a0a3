"""What travels to workers: a batch of networks as a few flat arrays, activations by name.

Custom activations get their ids per process, in registration order
(:func:`~wann_plugin.activations.register_activation`), so an id means nothing in another
process. :class:`NetworkBatch` therefore carries the names of the batch's activations and,
per node, an index into that name table; the receiving side maps names to its own ids
(:meth:`NetworkBatch.activation_ids`). The compiled kernels pack straight from a batch
(:class:`~wann_plugin.compiled.KernelLayout`), and :meth:`NetworkBatch.unpack` rebuilds the
:class:`~wann_plugin.network.WannNetwork` objects a task receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wann_plugin.activations import activation_by_id, activation_by_name
from wann_plugin.network import NetworkError, WannNetwork

__all__ = ["NetworkBatch"]


@dataclass(frozen=True, eq=False)
class NetworkBatch:
    """The networks of one batch as flat arrays, with activations by name.

    Attributes
    ----------
    keys : tuple
        Genome key of each network.
    shape : ndarray of shape (n_nets, 2), int32
        ``(n_inputs, n_outputs)`` of each network.
    node_ptr : ndarray of shape (n_nets + 1,), int64
        Network ``k``'s nodes are ``node_ptr[k]:node_ptr[k + 1]`` of the node arrays.
    conn_ptr : ndarray of shape (n_nets + 1,), int64
        Network ``k``'s connections are ``conn_ptr[k]:conn_ptr[k + 1]`` of ``conn_src``.
    act_names : tuple of str
        The activations the batch uses, by name.
    act_index : ndarray of shape (n_nodes_total,), int16
        Each node's activation as an index into ``act_names``.
    in_ptr : ndarray of shape (n_nodes_total + n_nets,), int32
        Each network's CSR pointers (``n_nodes + 1`` of them, local to the network), one
        network after the other: network ``k``'s start at ``node_ptr[k] + k``.
    conn_src : ndarray of shape (n_connections_total,), int32
        Source node of each connection (local to its network), grouped by destination.

    Examples
    --------
    >>> net = WannNetwork.from_edges(2, 1, [1, 1, 1, 5], [(1, 3), (2, 3)], key=7)
    >>> batch = NetworkBatch.pack([net])
    >>> batch.act_names, batch.keys
    (('linear', 'tanh'), (7,))
    >>> batch.unpack()[0].activate([[0.25, 0.25]], 2.0).round(4).tolist()
    [[0.7616]]
    """

    keys: tuple
    shape: np.ndarray
    node_ptr: np.ndarray
    conn_ptr: np.ndarray
    act_names: tuple
    act_index: np.ndarray
    in_ptr: np.ndarray
    conn_src: np.ndarray

    @classmethod
    def pack(cls, nets: Sequence[WannNetwork]) -> NetworkBatch:
        """Concatenate the arrays of ``nets``, naming their activations."""
        nets = list(nets)
        node_ptr = np.zeros(len(nets) + 1, dtype=np.int64)
        conn_ptr = np.zeros(len(nets) + 1, dtype=np.int64)
        np.cumsum([n.n_nodes for n in nets], out=node_ptr[1:])
        np.cumsum([n.n_connections for n in nets], out=conn_ptr[1:])

        def cat(parts, dtype):
            return (np.concatenate(parts).astype(dtype, copy=False) if parts
                    else np.zeros(0, dtype))

        ids = cat([n.activations for n in nets], np.int64)
        used, index = np.unique(ids, return_inverse=True)
        return cls(
            keys=tuple(n.key for n in nets),
            shape=np.array([(n.n_inputs, n.n_outputs) for n in nets],
                           dtype=np.int32).reshape(-1, 2),
            node_ptr=node_ptr,
            conn_ptr=conn_ptr,
            act_names=tuple(activation_by_id(int(a)).name for a in used),
            act_index=index.astype(np.int16).reshape(-1),
            in_ptr=cat([n.in_ptr for n in nets], np.int32),
            conn_src=cat([n.conn_src for n in nets], np.int32),
        )

    def __len__(self) -> int:
        return len(self.keys)

    def activation_ids(self) -> np.ndarray:
        """Each node's activation id in this process, ``(n_nodes_total,)`` int64.

        Raises
        ------
        NetworkError
            If the batch uses a custom activation this process has not registered.
        """
        local = np.empty(len(self.act_names), dtype=np.int64)
        for i, name in enumerate(self.act_names):
            try:
                local[i] = activation_by_name(name).id
            except ValueError:
                users = [k for k, key in enumerate(self.keys)
                         if np.any(self.act_index[self.node_ptr[k]:self.node_ptr[k + 1]] == i)]
                raise NetworkError(
                    f"network {self.keys[users[0]]!r} uses the custom activation {name!r}, "
                    "which is not registered in this process: register it at module level in "
                    "a module the workers import (e.g. wann --import MODULE)") from None
        return local[self.act_index.astype(np.int64)]

    def network_arrays(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(in_ptr, conn_src)`` of network ``k`` (views)."""
        lo, hi = int(self.node_ptr[k]) + k, int(self.node_ptr[k + 1]) + k + 1
        return self.in_ptr[lo:hi], self.conn_src[self.conn_ptr[k]:self.conn_ptr[k + 1]]

    def unpack(self) -> list[WannNetwork]:
        """The networks, with this process's activation ids (same outputs as the originals)."""
        acts = self.activation_ids()
        nets = []
        for k, key in enumerate(self.keys):
            in_ptr, src = self.network_arrays(k)
            dst = np.repeat(np.arange(len(in_ptr) - 1), np.diff(in_ptr))
            nets.append(WannNetwork.from_edges(
                int(self.shape[k, 0]), int(self.shape[k, 1]),
                acts[self.node_ptr[k]:self.node_ptr[k + 1]], np.column_stack([src, dst]),
                key=key))
        return nets
