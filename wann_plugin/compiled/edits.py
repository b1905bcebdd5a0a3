"""Compiled edits of a network's connection arrays, for the compile cache's patches.

A child genome is its parent plus one structural change; the compile cache
(:mod:`wann_plugin._compile_cache`) builds the child's network by editing the parent's
arrays. The edits are a handful of numpy calls each on a few hundred connections, so their
cost is the calls, not the arithmetic; here each edit is one compiled call.

Connections are kept as in :class:`~wann_plugin.WannNetwork`: ``conn_src``, ``conn_dst``
(node positions, int32) sorted by destination, then source, and ``in_ptr`` (CSR pointers,
int32, ``n_nodes + 1``).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["descendants", "edit_connections", "load", "reorder_connections", "split_node"]


@numba.njit(cache=True)
def _in_ptr(dst, n_nodes):
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int32)
    for d in dst:
        in_ptr[d + 1] += 1
    for i in range(n_nodes):
        in_ptr[i + 1] += in_ptr[i]
    return in_ptr


@numba.njit(cache=True)
def edit_connections(src, dst, drop, node_at, add_src, add_dst, n_nodes):
    """Remove, renumber and add connections, keeping the (destination, source) order.

    Parameters
    ----------
    src, dst : ndarray of int32, shape (n_connections,)
        Sorted by ``(dst, src)``.
    drop : ndarray of int64
        Indices of the connections to remove, ascending.
    node_at : int
        ``-1``, or the position a new node is inserted at: every position ``>= node_at`` of
        the kept connections moves up by one.
    add_src, add_dst : ndarray of int64
        Connections to add, as positions after the insertion; none equal to a kept one.
    n_nodes : int
        Nodes after the edit.

    Returns
    -------
    src, dst : ndarray of int32
        The edited connections, sorted by ``(dst, src)``.
    in_ptr : ndarray of int32, shape (n_nodes + 1,)
    where : ndarray of int64
        The index of each added connection in the result.
    """
    n_add = add_src.shape[0]
    n_new = src.shape[0] - drop.shape[0] + n_add
    # the additions in (dst, src) order (there are one or two)
    order = np.argsort(add_dst * (n_nodes + 1) + add_src)
    out_src = np.empty(n_new, dtype=np.int32)
    out_dst = np.empty(n_new, dtype=np.int32)
    where = np.empty(n_add, dtype=np.int64)
    j = 0  # next addition (in order)
    k = 0  # next index in drop
    o = 0
    for i in range(src.shape[0]):
        if k < drop.shape[0] and drop[k] == i:
            k += 1
            continue
        s, d = src[i], dst[i]
        if node_at >= 0:
            if s >= node_at:
                s += 1
            if d >= node_at:
                d += 1
        while j < n_add and (add_dst[order[j]] < d
                             or (add_dst[order[j]] == d and add_src[order[j]] < s)):
            out_src[o] = add_src[order[j]]
            out_dst[o] = add_dst[order[j]]
            where[order[j]] = o
            o += 1
            j += 1
        out_src[o] = s
        out_dst[o] = d
        o += 1
    while j < n_add:
        out_src[o] = add_src[order[j]]
        out_dst[o] = add_dst[order[j]]
        where[order[j]] = o
        o += 1
        j += 1
    return out_src, out_dst, _in_ptr(out_dst, n_nodes), where


@numba.njit(cache=True)
def reorder_connections(src, dst, remap, drop, add_src, add_dst, n_nodes):
    """Renumber every node (``remap[old position]``), remove one connection, add some, and
    sort the result by ``(dst, src)``.

    Parameters
    ----------
    src, dst : ndarray of int32
    remap : ndarray of int64, shape (n_old_nodes,)
        New position of every old node.
    drop : int
        Index of the connection to remove.
    add_src, add_dst : ndarray of int64
        Connections to add, as new positions.
    n_nodes : int
        Nodes after the edit.

    Returns
    -------
    src, dst : ndarray of int32
    in_ptr : ndarray of int32, shape (n_nodes + 1,)
    taken : ndarray of int64
        For each result connection, its index in the list "kept old connections in order,
        then the additions".
    """
    n_old = src.shape[0]
    n_new = n_old - 1 + add_src.shape[0]
    ns = np.empty(n_new, dtype=np.int64)
    nd = np.empty(n_new, dtype=np.int64)
    o = 0
    for i in range(n_old):
        if i == drop:
            continue
        ns[o] = remap[src[i]]
        nd[o] = remap[dst[i]]
        o += 1
    for j in range(add_src.shape[0]):
        ns[o] = add_src[j]
        nd[o] = add_dst[j]
        o += 1
    taken = np.argsort(nd * (n_nodes + 1) + ns)
    out_src = np.empty(n_new, dtype=np.int32)
    out_dst = np.empty(n_new, dtype=np.int32)
    for i in range(n_new):
        out_src[i] = ns[taken[i]]
        out_dst[i] = nd[taken[i]]
    return out_src, out_dst, _in_ptr(out_dst, n_nodes), taken


@numba.njit(cache=True)
def descendants(src, dst, in_ptr, node, end):
    """``node`` and the nodes it reaches through connections into nodes before ``end``.

    Connections are sorted by destination, a topological order, so one pass over the
    connections into the nodes after ``node`` finds them all.

    Returns
    -------
    below : ndarray of bool, shape (n_nodes,)
        The nodes found (``node`` included).
    edge_src, edge_dst : ndarray of int64
        The connections among them, in connection order.
    """
    below = np.zeros(in_ptr.shape[0] - 1, dtype=np.bool_)
    below[node] = True
    lo, hi = in_ptr[node + 1], in_ptr[end]
    edge_src = np.empty(max(hi - lo, 0), dtype=np.int64)
    edge_dst = np.empty(max(hi - lo, 0), dtype=np.int64)
    k = 0
    for i in range(lo, hi):
        if below[src[i]]:
            below[dst[i]] = True
            edge_src[k] = src[i]
            edge_dst[k] = dst[i]
            k += 1
    return below, edge_src[:k], edge_dst[:k]


@numba.njit(cache=True)
def split_node(src, dst, acts, below, tail, n_fixed, first_out, drop, new_act):
    """The arrays after a new node ``n`` splits the connection ``drop`` (``a -> b``, ``b``
    hidden): the hidden nodes not in ``below`` keep their order, ``n`` comes next, then the
    nodes of ``tail`` (``b`` and its hidden descendants, in their order), then the outputs.

    Parameters
    ----------
    src, dst : ndarray of int32
        Sorted by ``(dst, src)``.
    acts : ndarray, shape (n_old_nodes,)
        Activation ids.
    below : ndarray of bool, shape (n_old_nodes,)
        ``b`` and its hidden descendants (:func:`descendants`).
    tail : ndarray of int64
        The positions of ``below``'s hidden nodes in their new order (``b`` first).
    n_fixed, first_out : int
        Bias and inputs are ``0 .. n_fixed - 1``; outputs start at ``first_out``.
    drop : int
        Index of the split connection.
    new_act : int
        Activation id of ``n``.

    Returns
    -------
    src, dst : ndarray of int32
    in_ptr : ndarray of int32, shape (n_old_nodes + 2,)
    acts : ndarray, shape (n_old_nodes + 1,)
    kept : ndarray of int64
        Old positions of the hidden nodes before ``n``, in order.
    taken : ndarray of int64
        As :func:`reorder_connections`' (the additions are ``a -> n``, ``n -> b``).
    """
    n_old = acts.shape[0]
    n_kept = 0
    for p in range(n_fixed, first_out):
        if not below[p]:
            n_kept += 1
    kept = np.empty(n_kept, dtype=np.int64)
    remap = np.empty(n_old, dtype=np.int64)
    for p in range(n_fixed):
        remap[p] = p
    k = 0
    for p in range(n_fixed, first_out):
        if not below[p]:
            kept[k] = p
            remap[p] = n_fixed + k
            k += 1
    pn = n_fixed + n_kept
    for i in range(tail.shape[0]):
        remap[tail[i]] = pn + 1 + i
    for p in range(first_out, n_old):
        remap[p] = p + 1
    new_acts = np.empty(n_old + 1, dtype=acts.dtype)
    for p in range(n_old):
        new_acts[remap[p]] = acts[p]
    new_acts[pn] = new_act
    add_src = np.empty(2, dtype=np.int64)
    add_dst = np.empty(2, dtype=np.int64)
    add_src[0], add_dst[0] = remap[src[drop]], pn
    add_src[1], add_dst[1] = pn, remap[dst[drop]]
    out_src, out_dst, in_ptr, taken = reorder_connections(src, dst, remap, drop, add_src,
                                                          add_dst, n_old + 1)
    return out_src, out_dst, in_ptr, new_acts, kept, taken


def load() -> None:
    """Compile (or load from numba's cache) the edits now, on tiny arrays, so the first
    generation that patches networks does not pay for it."""
    src = np.array([0], dtype=np.int32)
    dst = np.array([1], dtype=np.int32)
    one = np.array([0], dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    edit_connections(src, dst, none, -1, none, none, 2)
    reorder_connections(src, dst, np.array([0, 1], dtype=np.int64), 0, one, one + 1, 2)
    descendants(src, dst, np.array([0, 0, 1], dtype=np.int32), 0, 2)
    split_node(src, dst, np.ones(2, dtype=np.int16), np.zeros(2, dtype=np.bool_),
               np.zeros(0, dtype=np.int64), 1, 1, 0, 1)
