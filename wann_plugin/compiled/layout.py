"""Networks as the flat arrays a compiled kernel walks, pruned to the nodes the outputs need.

All networks of a batch are concatenated into flat arrays (activation id and incoming
connection range per node, local source index per connection) with per-network offsets, by a
compiled packer. Bias and inputs stay at their positions; of the other nodes only those
:func:`~wann_plugin.network.required_nodes` marks are
kept (nodes that cannot reach an output cannot change it), in their order, so the outputs
stay the last nodes. Activation ids are this process's ids for the batch's activation names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from wann_plugin.network import WannNetwork, required_nodes
from wann_plugin.transport import NetworkBatch

__all__ = ["KernelLayout", "required_nodes_compiled"]


class KernelLayout:
    """A batch of networks as flat arrays (pruned to the nodes the outputs need), packed
    from the transport format (:class:`~wann_plugin.transport.NetworkBatch`; a sequence of
    networks is packed into one first).

    Attributes
    ----------
    n_inputs, n_outputs : int
        Shared by every network of the batch.
    node_lo : ndarray of shape (n_nets,), int64
        First node of each network in the flat node arrays.
    n_nodes : ndarray of shape (n_nets,), int64
        Kept nodes per network (bias and inputs included; the outputs are the last ones).
    acts : ndarray of shape (total_nodes,), int64
        Activation id per node.
    cin_lo, cin_hi : ndarray of shape (total_nodes,), int64
        Each node's incoming connections in the flat connection arrays.
    conn_src : ndarray of shape (total_conns,), int64
        Source of each connection, as a node index local to its network.
    conn_lo : ndarray of shape (n_nets + 1,), int64
        Each network's connection range.
    conn_index : ndarray of shape (total_conns,), int64
        The connection's index in its network (to place per-connection weights).
    """

    def __init__(self, batch: NetworkBatch | Sequence[WannNetwork]):
        if not isinstance(batch, NetworkBatch):
            batch = NetworkBatch.pack(batch)
        shapes = {(int(i), int(o)) for i, o in batch.shape}
        if len(shapes) > 1:
            raise ValueError(f"networks of one batch must share inputs and outputs, got "
                             f"{sorted(shapes)}")
        self.n_inputs, self.n_outputs = shapes.pop() if shapes else (0, 1)
        n_fixed = 1 + self.n_inputs
        (self.node_lo, self.n_nodes, self.acts, self.cin_lo, self.cin_hi, self.conn_src,
         self.conn_lo, self.conn_index) = _pack(
            batch.node_ptr, batch.conn_ptr, batch.activation_ids(),
            batch.in_ptr.astype(np.int64), batch.conn_src.astype(np.int64), n_fixed,
            self.n_outputs)

    def __len__(self) -> int:
        return len(self.node_lo)


#: :func:`wann_plugin.network.required_nodes` compiled: the pruning every packer applies
#: (numba's cache does not notice edits to it: delete the ``__pycache__/*.nbi`` and ``*.nbc``
#: of this package and of the kernels that pack networks after changing it).
required_nodes_compiled = numba.njit(cache=True)(required_nodes)


@numba.njit(cache=True)
def _pack(node_off, conn_off, acts_all, ptr_all, src_all, n_fixed, n_outputs):
    """Concatenate the kept nodes (bias, inputs and :func:`required_nodes`) of networks
    given as concatenated ``activations``, ``in_ptr`` (one longer per network) and
    ``conn_src``, with the connections into kept computed nodes in each network's CSR
    order."""
    n_nets = node_off.shape[0] - 1
    node_lo = np.zeros(n_nets, dtype=np.int64)
    n_nodes = np.zeros(n_nets, dtype=np.int64)
    conn_lo = np.zeros(n_nets + 1, dtype=np.int64)
    acts = np.zeros(node_off[n_nets], dtype=np.int64)
    cin_lo = np.zeros(node_off[n_nets], dtype=np.int64)
    cin_hi = np.zeros(node_off[n_nets], dtype=np.int64)
    conn_src = np.zeros(conn_off[n_nets], dtype=np.int64)
    conn_index = np.zeros(conn_off[n_nets], dtype=np.int64)
    max_n = 0
    for k in range(n_nets):
        max_n = max(max_n, node_off[k + 1] - node_off[k])
    local = np.zeros(max_n, dtype=np.int64)
    n_kept = 0
    n_conns = 0
    for k in range(n_nets):
        n = node_off[k + 1] - node_off[k]
        a0 = node_off[k]
        p0 = node_off[k] + k  # in_ptr has n + 1 entries
        s0 = conn_off[k]
        need = required_nodes_compiled(n_outputs, ptr_all[p0:p0 + n + 1],
                               src_all[s0:conn_off[k + 1]])
        node_lo[k] = n_kept
        conn_lo[k] = n_conns
        cnt = 0
        for i in range(n):
            if i < n_fixed or need[i]:
                local[i] = cnt
                g = n_kept + cnt
                acts[g] = acts_all[a0 + i]
                cin_lo[g] = n_conns
                if i >= n_fixed:
                    for c in range(ptr_all[p0 + i], ptr_all[p0 + i + 1]):
                        conn_src[n_conns] = local[src_all[s0 + c]]
                        conn_index[n_conns] = c
                        n_conns += 1
                cin_hi[g] = n_conns
                cnt += 1
        n_nodes[k] = cnt
        n_kept += cnt
    conn_lo[n_nets] = n_conns
    return (node_lo, n_nodes, acts[:n_kept].copy(), cin_lo[:n_kept].copy(),
            cin_hi[:n_kept].copy(), conn_src[:n_conns].copy(), conn_lo,
            conn_index[:n_conns].copy())
