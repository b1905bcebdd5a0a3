"""The compiled connection edits (wann_plugin/compiled/edits.py) against plain numpy: the
same arrays as removing, renumbering, appending and sorting by (destination, source)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wann_plugin.compiled.edits import descendants, edit_connections, reorder_connections


def _plain(src, dst, n_nodes):
    """Sorted by (dst, src), with CSR pointers: the plain reference."""
    order = np.lexsort((src, dst))
    src, dst = np.asarray(src)[order], np.asarray(dst)[order]
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=n_nodes), out=in_ptr[1:])
    return src, dst, in_ptr, order


@st.composite
def _network(draw):
    n_nodes = draw(st.integers(3, 40))
    pairs = draw(st.sets(st.tuples(st.integers(0, n_nodes - 1), st.integers(0, n_nodes - 1))
                         .filter(lambda p: p[0] < p[1]), max_size=80))
    pairs = sorted(pairs, key=lambda p: (p[1], p[0]))
    src = np.array([p[0] for p in pairs], dtype=np.int32)
    dst = np.array([p[1] for p in pairs], dtype=np.int32)
    return n_nodes, src, dst


@settings(max_examples=300, deadline=None)
@given(_network(), st.data())
def test_edit_connections_equals_remove_renumber_add_and_sort(net, data):
    n_nodes, src, dst = net
    n = len(src)
    drop = sorted(data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=min(n, 3)))
                  if n else [])
    node_at = data.draw(st.integers(-1, n_nodes))
    n_new = n_nodes + (node_at >= 0)
    keep = np.setdiff1d(np.arange(n), drop)
    ks, kd = src[keep].astype(np.int64), dst[keep].astype(np.int64)
    if node_at >= 0:
        ks, kd = ks + (ks >= node_at), kd + (kd >= node_at)
    taken = set(zip(ks.tolist(), kd.tolist()))
    free = [(s, d) for d in range(n_new) for s in range(d) if (s, d) not in taken]
    adds = data.draw(st.lists(st.sampled_from(free), max_size=2, unique=True)) if free else []
    add_src = np.array([a[0] for a in adds], dtype=np.int64)
    add_dst = np.array([a[1] for a in adds], dtype=np.int64)

    got_src, got_dst, got_ptr, where = edit_connections(
        src, dst, np.array(drop, dtype=np.int64), node_at, add_src, add_dst, n_new)
    want_src, want_dst, want_ptr, _ = _plain(np.concatenate((ks, add_src)),
                                             np.concatenate((kd, add_dst)), n_new)
    np.testing.assert_array_equal(got_src, want_src)
    np.testing.assert_array_equal(got_dst, want_dst)
    np.testing.assert_array_equal(got_ptr, want_ptr)
    assert got_src.dtype == got_dst.dtype == got_ptr.dtype == np.int32
    for (s, d), at in zip(adds, where.tolist(), strict=True):
        assert (got_src[at], got_dst[at]) == (s, d)


@settings(max_examples=300, deadline=None)
@given(_network(), st.data())
def test_reorder_connections_equals_renumber_and_sort(net, data):
    n_nodes, src, dst = net
    if len(src) == 0:
        return
    drop = data.draw(st.integers(0, len(src) - 1))
    # any renumbering into n_nodes + 1 positions that leaves one position for a new node
    new_node = data.draw(st.integers(0, n_nodes))
    remap = np.array(data.draw(st.permutations([p for p in range(n_nodes + 1)
                                                 if p != new_node])), dtype=np.int64)
    add_src = np.array([remap[src[drop]], new_node], dtype=np.int64)
    add_dst = np.array([new_node, remap[dst[drop]]], dtype=np.int64)

    got_src, got_dst, got_ptr, taken = reorder_connections(src, dst, remap, drop, add_src,
                                                           add_dst, n_nodes + 1)
    keep = np.arange(len(src)) != drop
    all_src = np.concatenate((remap[src[keep]], add_src))
    all_dst = np.concatenate((remap[dst[keep]], add_dst))
    want_src, want_dst, want_ptr, order = _plain(all_src, all_dst, n_nodes + 1)
    np.testing.assert_array_equal(got_src, want_src)
    np.testing.assert_array_equal(got_dst, want_dst)
    np.testing.assert_array_equal(got_ptr, want_ptr)
    np.testing.assert_array_equal(taken, order)


@settings(max_examples=300, deadline=None)
@given(_network(), st.data())
def test_descendants_are_the_nodes_reachable_before_the_end(net, data):
    n_nodes, src, dst = net
    node = data.draw(st.integers(0, n_nodes - 1))
    end = data.draw(st.integers(node, n_nodes))
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int32)
    np.cumsum(np.bincount(dst, minlength=n_nodes), out=in_ptr[1:])
    below, edge_src, edge_dst = descendants(src, dst, in_ptr, node, end)
    reached, edges, grew = {node}, [], True
    while grew:  # the plain closure: follow connections into nodes before ``end``
        grew = False
        for s, d in zip(src.tolist(), dst.tolist()):
            if s in reached and d < end and d not in reached:
                reached.add(d)
                grew = True
    edges = [(s, d) for s, d in zip(src.tolist(), dst.tolist())
             if s in reached and d in reached and d < end]
    assert set(np.flatnonzero(below).tolist()) == reached
    assert list(zip(edge_src.tolist(), edge_dst.tolist())) == edges


def _plain_split(src, dst, acts, below, tail, n_fixed, first_out, drop, new_act):
    """The split by numpy: the remap of every node, the activations scattered through it, and
    the renumbered connections with ``a -> n``, ``n -> b`` sorted (the plain reference)."""
    n_old = len(acts)
    kept = [p for p in range(n_fixed, first_out) if not below[p]]
    pn = n_fixed + len(kept)
    remap = np.empty(n_old, dtype=np.int64)
    remap[:n_fixed] = np.arange(n_fixed)
    remap[kept] = np.arange(n_fixed, pn)
    remap[list(tail)] = np.arange(pn + 1, pn + 1 + len(tail))
    remap[first_out:] = np.arange(first_out + 1, n_old + 1)
    new_acts = np.empty(n_old + 1, dtype=acts.dtype)
    new_acts[remap] = acts
    new_acts[pn] = new_act
    keep = np.setdiff1d(np.arange(len(src)), [drop])
    ns = np.concatenate((remap[src[keep]], [remap[src[drop]], pn]))
    nd = np.concatenate((remap[dst[keep]], [pn, remap[dst[drop]]]))
    out_src, out_dst, in_ptr, order = _plain(ns, nd, n_old + 1)
    return out_src, out_dst, in_ptr, new_acts, np.array(kept, dtype=np.int64), order


@settings(max_examples=300, deadline=None)
@given(_network(), st.data())
def test_split_node_equals_remap_scatter_and_sort(net, data):
    """split_node (one compiled call) against the numpy remap, scatter and sort it replaced,
    for any split connection into a hidden node and any order of its descendants."""
    from wann_plugin.compiled.edits import split_node

    n_nodes, src, dst = net
    n_fixed = data.draw(st.integers(1, max(1, n_nodes - 2)))
    first_out = data.draw(st.integers(n_fixed + 1, n_nodes))
    into_hidden = [i for i in range(len(src)) if n_fixed <= dst[i] < first_out
                   and src[i] < first_out]
    if not into_hidden:
        return
    drop = data.draw(st.sampled_from(into_hidden))
    pb = int(dst[drop])
    in_ptr = _plain(src, dst, n_nodes)[2].astype(np.int32)
    below = descendants(src, dst, in_ptr, pb, first_out)[0]
    rest = [p for p in np.flatnonzero(below).tolist() if p != pb]
    tail = [pb] + data.draw(st.permutations(rest))
    acts = np.array(data.draw(st.lists(st.integers(1, 11), min_size=n_nodes,
                                       max_size=n_nodes)), dtype=np.int16)
    got = split_node(src, dst, acts, below, np.array(tail, dtype=np.int64), n_fixed,
                     first_out, drop, 7)
    want = _plain_split(src, dst, acts, below, tail, n_fixed, first_out, drop, 7)
    for g, w, name in zip(got, want, ("src", "dst", "in_ptr", "acts", "kept", "taken"),
                          strict=True):
        np.testing.assert_array_equal(g, w, err_msg=name)
    assert got[0].dtype == got[1].dtype == got[2].dtype == np.int32
    assert got[3].dtype == np.int16
