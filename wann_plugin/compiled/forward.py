"""The generic compiled forward: one network over many rows, for tasks that step an external
simulator or score a data set (:class:`~wann_plugin.tasks.gym.GymTask`,
:class:`~wann_plugin.tasks.classify.ClassifyTask`).

Rows are processed in blocks of ``BLOCK`` slots: node values are a ``(n_nodes, BLOCK)``
buffer (small enough to stay in cache), each node is computed for ``LANES`` slots at a time
by the dispatch every kernel runs (:func:`~wann_plugin.compiled.dispatch.make_activate_node`). Row
``e`` reads inputs ``x[x_row[e]]`` and weight column ``w_col[e]``; sums run left to right in
connection order, then times the shared weight, as :meth:`WannNetwork.activate` (which sums
long rows pairwise, so results agree to rounding; activations as in
:mod:`~wann_plugin.compiled.dispatch`).
"""

from __future__ import annotations

import numba
import numpy as np

from wann_plugin.compiled.dispatch import activate_conn, activate_shared, compiled_forms
from wann_plugin.compiled.lanes import LANES, addr, keep_alive
from wann_plugin.compiled.layout import KernelLayout
from wann_plugin.network import WannNetwork

__all__ = ["BLOCK", "ENGINES", "BatchedForward"]

#: Forward engines: the compiled kernels, or the plain numpy path (:meth:`WannNetwork.activate`).
ENGINES = ("numba", "numpy")

#: Rows computed together (a multiple of ``LANES``).
BLOCK = 64


class BatchedForward:
    """One network's forward over rows ``x[x_row[e]]`` with weight column ``w_col[e]``.

    Parameters
    ----------
    net : WannNetwork
    weights : ndarray of shape (n_cols,), optional
        A shared weight per column.
    conn_weights : ndarray of shape (n_cols, n_connections), optional
        One weight vector per column (give exactly one of ``weights`` and ``conn_weights``).
    engine : {"numba", "numpy"}, default="numba"
        ``"numpy"`` (and networks with a custom activation registered without a compiled
        form) use :meth:`WannNetwork.activate` / :meth:`~WannNetwork.activate_weights`.
    exact_math : bool, default=False
        Compute the transcendental activations with libm instead of the SIMD polynomials.

    Examples
    --------
    >>> net = WannNetwork.from_edges(2, 1, [1, 1, 1, 9], [(1, 3), (2, 3)])
    >>> fwd = BatchedForward(net, weights=np.array([-1.0, 2.0]))
    >>> fwd(np.array([[1.0, 2.0]]), np.array([0, 0]), np.array([0, 1])).tolist()
    [[0.0], [6.0]]
    """

    def __init__(self, net: WannNetwork, *, weights: np.ndarray | None = None,
                 conn_weights: np.ndarray | None = None, engine: str = "numba",
                 exact_math: bool = False):
        if (weights is None) == (conn_weights is None):
            raise ValueError("give exactly one of weights= and conn_weights=")
        self.net = net
        self.shared = conn_weights is None
        self.exact_math = bool(exact_math)
        self.w = np.ascontiguousarray(weights if self.shared else np.zeros(1), dtype=np.float64)
        self.cw = None if self.shared else np.asarray(conn_weights, dtype=np.float64)
        self.compiled = engine == "numba" and net.uses_compiled_activations
        if self.compiled:
            self.layout = KernelLayout([net])
            self.forms = compiled_forms(self.layout.acts)
            src = self.layout.conn_src
            self.used_inputs = np.unique(src[(src >= 1) & (src <= net.n_inputs)]) - 1
            self.cw_t = (np.zeros((0, 1)) if self.shared
                         else np.ascontiguousarray(self.cw.T))  # (n_connections, n_cols)

    def __call__(self, x: np.ndarray, x_row: np.ndarray, w_col: np.ndarray, *,
                 x_t: np.ndarray | None = None) -> np.ndarray:
        """Outputs ``(len(x_row), n_outputs)``; ``x_t`` may pass ``x.T`` (C-contiguous
        float64) already made, when many networks share one ``x``."""
        net = self.net
        if not self.compiled:
            xs = np.asarray(x, dtype=float)[x_row]
            if self.shared:
                return net.activate(xs, self.w[w_col])
            return net.activate_weights(xs, self.cw[w_col])
        if x_t is None:
            x_t = np.ascontiguousarray(np.asarray(x, dtype=np.float64).T)
        lay = self.layout
        out = np.empty((len(x_row), net.n_outputs))
        _forward_kernel(int(lay.n_nodes[0]), lay.acts, lay.cin_lo, lay.cin_hi, lay.conn_src,
                        lay.conn_index, net.n_inputs, net.n_outputs, self.used_inputs,
                        self.exact_math, x_t, np.ascontiguousarray(x_row, dtype=np.int64),
                        np.ascontiguousarray(w_col, dtype=np.int64), self.shared, self.w,
                        self.cw_t, self.forms, out)
        return out


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _forward_kernel(nn, acts, cin_lo, cin_hi, conn_src, conn_index, n_in, n_out, used_inputs,
                    exact, x_t, x_row, w_col, shared, w, cw_t, forms, out):
    n = x_row.shape[0]
    B = BLOCK
    nc = conn_src.shape[0]
    # rows start on 64-byte boundaries (B is a multiple of LANES)
    buf = np.zeros(nn * B + 8)
    skip = (-addr(buf) % 64) // 8
    vals = buf[skip:skip + nn * B]
    ws = np.zeros(B)
    cw = np.zeros((0 if shared else nc) * B)  # connection c of slot e at c * B + e
    src_row = conn_src * B
    vals_at = addr(vals)
    ws_at = addr(ws)
    cw_at = addr(cw)
    src_at = addr(src_row)
    forms_at = addr(forms)
    for e in range(B):
        vals[e] = 1.0  # bias
    for b0 in range(0, n, B):
        cnt = min(B, n - b0)
        m = (cnt + LANES - 1) // LANES * LANES
        for i in used_inputs:  # inputs no connection reads are never copied
            xi = x_t[i]
            d = (1 + i) * B
            for e in range(cnt):
                vals[d + e] = xi[x_row[b0 + e]]
            for e in range(cnt, m):
                vals[d + e] = 0.0
        if shared:
            for e in range(cnt):
                ws[e] = w[w_col[b0 + e]]
            for e in range(cnt, m):
                ws[e] = 0.0
        else:
            for c in range(nc):
                wc = cw_t[conn_index[c]]
                for e in range(cnt):
                    cw[c * B + e] = wc[w_col[b0 + e]]
                for e in range(cnt, m):
                    cw[c * B + e] = 0.0
        for i in range(1 + n_in, nn):
            if shared:
                activate_shared(acts[i], exact, vals_at, i * B, m,
                                (vals_at, src_at, cin_lo[i], cin_hi[i], ws_at), forms_at)
            else:
                activate_conn(acts[i], exact, vals_at, i * B, m,
                              (vals_at, src_at, cin_lo[i], cin_hi[i], cw_at, B), forms_at)
        for k in range(n_out):
            d = (nn - n_out + k) * B
            for e in range(cnt):
                out[b0 + e, k] = vals[d + e]
    # the loops reach these through their addresses only: keep them until here
    keep_alive(buf)
    keep_alive(vals)
    keep_alive(ws)
    keep_alive(cw)
    keep_alive(src_row)
