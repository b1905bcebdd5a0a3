import json
import os

import numpy as np
import pytest
from conftest import reference_path

from wann_plugin.io import (
    NetworkFileError,
    atomic_write_text,
    load_network,
    load_tuned_zoo,
    read_out,
    save_network,
    write_out,
)
from wann_plugin.network import reference_activate

X = np.random.default_rng(0).normal(size=(30, 5))


def test_read_reference_out_counts():
    loaded = read_out(reference_path("swing.out"), 5, 1)
    assert loaded.net.n_connections == 52
    assert len(loaded.disabled) == 10  # NaN entries of swing.out (WANN_SPEC.md section i)
    assert loaded.net.n_hidden == 22


def test_out_round_trip(tmp_path):
    loaded = read_out(reference_path("swing.out"), 5, 1)
    path = write_out(tmp_path / "copy.out", loaded.net, disabled=loaded.disabled)
    again = read_out(path, 5, 1)
    assert again.disabled == loaded.disabled
    np.testing.assert_array_equal(again.net.conn_src, loaded.net.conn_src)
    np.testing.assert_array_equal(again.net.activations, loaded.net.activations)
    for w in (-2.0, 0.5):
        np.testing.assert_array_equal(again.net.activate(X, w), loaded.net.activate(X, w))
    # the file is what numpy's loadtxt (the reference loader) reads back
    data = np.loadtxt(path, delimiter=",")
    assert data.shape == (29, 30)


def test_out_with_tuned_weights_round_trip(tmp_path):
    net = read_out(reference_path("swing.out"), 5, 1).net
    cw = np.random.default_rng(1).uniform(-2, 2, net.n_connections)
    cw[0] = 0.0  # a zero weight must stay an enabled connection
    again = read_out(write_out(tmp_path / "t.out", net, conn_weights=cw), 5, 1).net
    assert again.n_connections == net.n_connections


@pytest.mark.parametrize(
    "content,message",
    [
        ("1,2\n3,4\n", "N x \\(N\\+1\\)"),
        ("a,b,c\n", "not a numeric CSV"),
        ("0,1\n", "cannot hold"),
    ],
)
def test_malformed_out_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.out"
    path.write_text(content)
    with pytest.raises(NetworkFileError, match=message) as err:
        read_out(path, 1, 1)
    assert "bad.out" in str(err.value)


def test_out_with_unknown_activation_or_cycle(tmp_path):
    W = np.zeros((3, 4))
    W[0, 2] = 1
    W[:, 3] = [1, 1, 42]
    np.savetxt(tmp_path / "act.out", W, delimiter=",")
    with pytest.raises(NetworkFileError, match="node 2: no WANN activation id 42"):
        read_out(tmp_path / "act.out", 1, 1)
    W[:, 3] = 1
    W[2, 1] = 1
    np.savetxt(tmp_path / "tri.out", W, delimiter=",")
    with pytest.raises(NetworkFileError, match="upper-triangular"):
        read_out(tmp_path / "tri.out", 1, 1)


def test_missing_file():
    with pytest.raises(NetworkFileError, match="no such network file"):
        load_network("/nonexistent/net.out", n_inputs=5, n_outputs=1)


def test_zoo_weights_map_in_row_major_order():
    net = read_out(reference_path("swing.out"), 5, 1).net
    cw = load_tuned_zoo(reference_path("zoo/cartpole_swingup.wann.json"), net, -1.5)
    params = json.loads(reference_path("zoo/cartpole_swingup.wann.json").read_text())[0]
    data = np.loadtxt(reference_path("swing.out"), delimiter=",")[:, :-1]
    rows, cols = np.nonzero(np.isfinite(data) & (data != 0))  # row-major enabled entries
    W = net.weight_matrix(cw)
    np.testing.assert_allclose(W[rows, cols], np.asarray(params) - 1.5)
    with pytest.raises(NetworkFileError, match="52 enabled connections"):
        load_tuned_zoo(reference_path("zoo/biped.wann.json"), net, -1.5)


def test_json_round_trip_with_weights_and_meta(tmp_path):
    net = read_out(reference_path("sample_best.out"), 5, 1).net
    cw = np.random.default_rng(2).normal(size=net.n_connections)
    path = save_network(tmp_path / "net.json", net, conn_weights=cw,
                        meta={"task": "swingup", "score": np.float64(1.5)})
    loaded = load_network(path, n_inputs=5, n_outputs=1)
    assert loaded.meta == {"task": "swingup", "score": 1.5}
    np.testing.assert_array_equal(loaded.conn_weights, cw)
    np.testing.assert_array_equal(loaded.net.activate_weights(X, loaded.conn_weights),
                                  net.activate_weights(X, cw))
    np.testing.assert_allclose(loaded.net.activate(X, -1.0), reference_activate(net, X, -1.0))
    with pytest.raises(NetworkFileError, match="task needs 4 and 1"):
        load_network(path, n_inputs=4, n_outputs=1)


def test_json_errors(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(NetworkFileError, match="not valid JSON"):
        load_network(tmp_path / "x.json")
    (tmp_path / "y.json").write_text('{"a": 1}')
    with pytest.raises(NetworkFileError, match="not a wann_plugin network file"):
        load_network(tmp_path / "y.json")


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "champion.json"
    target.write_text("old")

    with pytest.raises(TypeError):  # the write fails half-way: not a str
        atomic_write_text(target, object())  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["champion.json"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.stat(target).st_size == 3


@pytest.mark.parametrize("name,n_in,n_out", [("biped.out", 5, 1), ("racer.out", 5, 1),
                                             ("biped.out", 16, 3), ("swing.out", 24, 4)])
def test_reading_with_the_wrong_task_shape_is_refused(name, n_in, n_out):
    with pytest.raises(NetworkFileError, match="is the task right for this network"):
        read_out(reference_path(name), n_in, n_out)


def _swingup_genome_config():
    from wann_plugin.config import load_config

    config = load_config()
    from neat.innovation import InnovationTracker
    config.genome_config.innovation_tracker = InnovationTracker()
    return config.genome_config


@pytest.mark.parametrize("name", ["swing.out", "sample_best.out"])
def test_reference_network_imports_as_a_genome_that_evaluates_identically(name, tmp_path):
    from wann_plugin.genome import WannGenome
    from wann_plugin.io import genome_from_dict, genome_from_network, genome_to_dict
    from wann_plugin.network import WannNetwork

    gc = _swingup_genome_config()
    loaded = read_out(reference_path(name), 5, 1)
    genome = genome_from_network(loaded.net, gc, disabled=loaded.disabled)
    assert isinstance(genome, WannGenome)
    assert sum(c.enabled for c in genome.connections.values()) == loaded.net.n_connections
    assert sum(not c.enabled for c in genome.connections.values()) == len(loaded.disabled)
    net = WannNetwork.from_genome(genome, gc)
    for w in (-2.0, -0.5, 1.0):
        np.testing.assert_allclose(net.activate(X, w), loaded.net.activate(X, w), rtol=1e-12)
    # the imported genome can be mutated further like any other (new node keys stay unique)
    rng = np.random.default_rng(0)
    before = set(genome.nodes)
    for _ in range(20):
        genome.mutate(gc, rng=rng)
    WannNetwork.from_genome(genome, gc)  # still a feed-forward network
    assert set(genome.nodes) >= before
    # and it survives our JSON
    again = genome_from_dict(genome_to_dict(genome), gc)
    assert genome_to_dict(again) == genome_to_dict(genome)
    path = save_network(tmp_path / "g.json", net, genome=genome)
    assert load_network(path).genome == genome_to_dict(genome)


def test_a_failed_rename_cleans_up_its_temporary_file(tmp_path):
    """The crash happens after the data is written (the rename fails): no temporary file may
    be left behind, and what was at the target is untouched."""
    from wann_plugin.io import atomic_write_bytes

    target = tmp_path / "champion.json"
    target.mkdir()  # os.replace(file, directory) fails
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new contents")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion.json"]
    assert (target / "keep").read_text() == "x"


@pytest.mark.parametrize("change, message", [
    (lambda nd: nd.update(connection_keys=nd["connection_keys"][:-1]),
     r"connection_keys has \d+ entries for \d+ connections"),
    (lambda nd: nd.update(conn_weights=["a"] * len(nd["connections"])),
     "conn_weights must be a list of numbers"),
    (lambda nd: nd.update(conn_weights=[float("nan")] * len(nd["connections"])),
     "conn_weights must be finite numbers"),
    (lambda nd: nd.pop("nodes"), "missing key 'nodes'"),
])
def test_malformed_json_networks_are_named(tmp_path, change, message):
    from wann_plugin.network import WannNetwork

    net = WannNetwork.from_edges(2, 1, [1, 1, 1, 1], [(0, 3), (1, 3), (2, 3)])
    path = save_network(tmp_path / "n.json", net)
    doc = json.loads(path.read_text())
    change(doc["network"])
    path.write_text(json.dumps(doc))
    with pytest.raises(NetworkFileError, match=message) as err:
        load_network(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)
