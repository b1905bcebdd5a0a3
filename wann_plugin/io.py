"""File formats: the reference's ``.out`` networks and zoo weights, and our own JSON.

``.out`` (reference ``ind.py: exportNet``)
    A CSV of shape ``N x (N + 1)``: the weight matrix in evaluation order (rows = source),
    ``0`` = no connection, ``nan`` = disabled, anything else = enabled; the last column holds
    each node's activation id. Inputs and outputs are not recorded: the task says how many.
Our JSON (``"format": "wann_plugin.network"``)
    The compiled network (activations by name, connections by node position), optional
    per-connection weights (after tuning), the genome when there is one (so a search can be
    continued), and free-form metadata (task, config summary, scores).

Every write goes to a temporary file in the target folder first and is then renamed, so a
crash never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wann_plugin.activations import activation_by_id, activation_by_name
from wann_plugin.network import NetworkError, WannNetwork

__all__ = [
    "LoadedNetwork",
    "NetworkFileError",
    "atomic_write_bytes",
    "atomic_write_text",
    "genome_from_network",
    "genome_to_dict",
    "genome_from_dict",
    "load_network",
    "load_tuned_zoo",
    "read_out",
    "save_network",
    "write_out",
]

FORMAT = "wann_plugin.network"
FORMAT_VERSION = 1


class NetworkFileError(ValueError):
    """A network file that is missing or malformed; the message names the file."""


@dataclass
class LoadedNetwork:
    """What :func:`load_network` returns.

    Attributes
    ----------
    net : WannNetwork
    conn_weights : ndarray of shape (n_connections,) or None
        Tuned per-connection weights (in ``net``'s connection order), if the file has them.
    meta : dict
        Free-form metadata (task, scores, config summary).
    disabled : list of (int, int)
        Disabled connections as node positions (``.out`` files keep them as ``nan``).
    genome : dict or None
        The genome as saved by :func:`save_network` (see :func:`genome_from_dict`).
    path : Path
    """

    net: WannNetwork
    conn_weights: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    disabled: list = field(default_factory=list)
    genome: dict | None = None
    path: Path | None = None


# ----------------------------------------------------------------------------- atomic writes
def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    if not isinstance(text, str):
        raise TypeError(f"atomic_write_text needs a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path``: a temporary file in the same folder, fsync, then a rename,
    so a crash leaves either the old file or the new one, never half of one. The file gets
    the mode ``open()`` would give it (``0666`` less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; honour the umask like open()
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# ----------------------------------------------------------------------------- .out
def read_out(path: str | os.PathLike, n_inputs: int, n_outputs: int) -> LoadedNetwork:
    """Read a reference ``.out`` network.

    Parameters
    ----------
    path : path-like
    n_inputs, n_outputs : int
        The task's inputs (without the bias) and outputs; the file does not record them.

    Raises
    ------
    NetworkFileError
        If the file is missing, not numeric CSV, not ``N x (N+1)``, has unknown activation
        ids, is not strictly upper-triangular or is too small for the given inputs/outputs.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> W = np.zeros((3, 4)); W[0, 2] = W[1, 2] = 0.7; W[:, 3] = 1
    >>> p = os.path.join(tempfile.mkdtemp(), "tiny.out")
    >>> np.savetxt(p, W, delimiter=",", fmt="%1.2e")
    >>> read_out(p, n_inputs=1, n_outputs=1).net.n_connections
    2
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such network file")
    try:
        with np.errstate(all="ignore"):
            data = np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise NetworkFileError(f"{path}: not a numeric CSV .out file ({exc})") from None
    n = data.shape[0]
    if data.shape != (n, n + 1):
        raise NetworkFileError(
            f"{path}: a .out file holds an N x (N+1) matrix (weights + activation column); "
            f"found shape {data.shape}"
        )
    if n < 1 + n_inputs + n_outputs:
        raise NetworkFileError(
            f"{path}: {n} nodes cannot hold a bias, {n_inputs} inputs and {n_outputs} outputs "
            "(wrong task for this network?)"
        )
    matrix, act_col = data[:, :-1], data[:, -1]
    if not np.all(np.isfinite(act_col)) or not np.all(act_col == np.round(act_col)):
        raise NetworkFileError(f"{path}: the last column must hold whole activation ids")
    for i, a in enumerate(act_col):
        try:
            activation_by_id(int(a))
        except ValueError as exc:
            raise NetworkFileError(f"{path}: node {i}: {exc}") from None
    try:
        net = WannNetwork.from_matrix(matrix, act_col, n_inputs, n_outputs, key=path.stem)
    except NetworkError as exc:
        raise NetworkFileError(f"{path}: {exc} (is the task right for this network? it takes "
                               f"{n_inputs} inputs and {n_outputs} outputs)") from None
    _check_hidden_genes(path, matrix, n_inputs, n_outputs)
    disabled = [(int(s), int(d)) for s, d in np.argwhere(np.isnan(matrix))]
    return LoadedNetwork(net=net, disabled=disabled, path=path, meta={"source": str(path)})


def _check_hidden_genes(path: Path, matrix: np.ndarray, n_inputs: int, n_outputs: int) -> None:
    """A WANN hidden node is made by splitting a connection, so it always keeps a gene (enabled
    or disabled) in and out. One without either means the file is read with the wrong number
    of inputs or outputs (the ``.out`` format does not record them)."""
    genes = matrix != 0  # nan (disabled) counts as a gene
    n = matrix.shape[0]
    hidden = np.arange(1 + n_inputs, n - n_outputs)
    lonely = [int(i) for i in hidden if not genes[:, i].any() or not genes[i, :].any()]
    if lonely:
        raise NetworkFileError(
            f"{path}: read with {n_inputs} inputs and {n_outputs} outputs, {len(lonely)} hidden "
            f"nodes (first: node {lonely[0]}) have no connection gene in or out, which a WANN "
            "network never has: is the task right for this network?"
        )


def write_out(path: str | os.PathLike, net: WannNetwork,
              conn_weights: np.ndarray | None = None,
              disabled: list[tuple[int, int]] | None = None) -> Path:
    """Write ``net`` as a reference ``.out`` file (readable by the reference code).

    Enabled connections are written as ``1`` (or their tuned weight, if given: a tuned weight
    of exactly 0 is written as a tiny nonzero value so the connection stays enabled); disabled
    ones, when known, as ``nan``.
    """
    W = np.zeros((net.n_nodes, net.n_nodes))
    for s, d in disabled or []:
        W[s, d] = np.nan
    if conn_weights is None:
        values = np.ones(net.n_connections)
    else:
        values = np.asarray(conn_weights, dtype=float).copy()
        values[values == 0] = 1e-12
    W[net.conn_src, net.conn_dst] = values
    data = np.column_stack([W, net.activations.astype(float)])
    lines = [",".join(f"{v:1.2e}" for v in row) for row in data]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def load_tuned_zoo(path: str | os.PathLike, net: WannNetwork, weight_bias: float) -> np.ndarray:
    """Per-connection weights from a reference ``zoo/*.wann.json`` file.

    Parameter ``i`` belongs to the ``i``-th enabled entry of the champion's matrix in
    row-major order; its weight is ``p_i + weight_bias`` (reference ``model.py``).

    Returns
    -------
    ndarray of shape (n_connections,)
        In ``net``'s own connection order.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such tuned-weights file")
    try:
        data = json.loads(path.read_text())
        params = np.asarray(data[0], dtype=float)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise NetworkFileError(f"{path}: expected JSON [[p_0, ..., p_K-1], score]: {exc}") from None
    if params.shape != (net.n_connections,):
        raise NetworkFileError(
            f"{path}: {params.size} parameters but the network has {net.n_connections} enabled "
            "connections (wrong network for these weights?)"
        )
    weights = np.empty(net.n_connections)
    weights[net.row_major_order()] = params + float(weight_bias)
    return weights


# ----------------------------------------------------------------------------- our JSON
def _key_to_json(key: Any) -> Any:
    if isinstance(key, tuple):
        return [_key_to_json(k) for k in key]
    if isinstance(key, np.integer):
        return int(key)
    return key


def _key_from_json(key: Any) -> Any:
    if isinstance(key, list):
        return tuple(_key_from_json(k) for k in key)
    return key


def genome_to_dict(genome) -> dict:
    """A JSON-ready description of a WANN genome (nodes, connections with innovations)."""
    return {
        "key": _key_to_json(genome.key),
        "nodes": [
            {"key": int(k), "activation": n.activation}
            for k, n in sorted(getattr(genome.nodes, "explicit", genome.nodes).items())
        ],
        "connections": [
            {"in": int(a), "out": int(b), "enabled": bool(c.enabled),
             "innovation": None if getattr(c, "innovation", None) is None else int(c.innovation)}
            for (a, b), c in sorted(getattr(genome.connections, "all_items",
                                            genome.connections.items)())
        ],
    }


def genome_from_dict(data: dict, genome_config, genome_type=None):
    """Rebuild a genome saved by :func:`genome_to_dict` (the config supplies its shape)."""
    if genome_type is None:
        from wann_plugin.genome import WannGenome as genome_type
    g = genome_type(_key_from_json(data.get("key", 0)))
    for nd in data["nodes"]:
        activation_by_name(nd["activation"])
        node = g.create_node(genome_config, int(nd["key"]))
        node.activation = nd["activation"]
        g.nodes[int(nd["key"])] = node
    tracker = getattr(genome_config, "innovation_tracker", None)
    for i, cd in enumerate(data["connections"]):
        key = (int(cd["in"]), int(cd["out"]))
        innov = cd.get("innovation")
        if innov is None:
            innov = tracker.get_innovation_number(*key, "imported") if tracker else i
        conn = g.create_connection(genome_config, key[0], key[1], int(innov))
        conn.weight = 1.0
        conn.enabled = bool(cd["enabled"])
        g.connections[key] = conn
    return g


def genome_from_network(net: WannNetwork, genome_config, *, key: int = 1,
                        disabled: list[tuple[int, int]] | None = None, genome_type=None):
    """A :class:`~wann_plugin.WannGenome` with ``net``'s topology (e.g. an imported ``.out``).

    Node 0 becomes ``genome_config.bias_key``, nodes ``1..n_inputs`` the input keys
    ``-1..-n_inputs``, the outputs ``0..n_outputs-1`` and hidden nodes get keys from
    ``n_outputs`` on. Disabled connections become disabled genes. The result compiles back to
    a network that evaluates identically.
    """
    if net.n_inputs != len(genome_config.input_keys) - 1 or net.n_outputs != len(genome_config.output_keys):
        raise NetworkError(
            f"network has {net.n_inputs} inputs / {net.n_outputs} outputs; genome config has "
            f"{len(genome_config.input_keys) - 1} / {len(genome_config.output_keys)}"
        )
    n_fixed = 1 + net.n_inputs
    first_out = net.n_nodes - net.n_outputs
    mapping = {0: genome_config.bias_key}
    for i in range(1, n_fixed):
        mapping[i] = -i
    for j in range(net.n_outputs):
        mapping[first_out + j] = genome_config.output_keys[j]
    next_key = max(genome_config.output_keys) + 1
    for i in range(n_fixed, first_out):
        mapping[i] = next_key
        next_key += 1
    nodes = [{"key": mapping[i], "activation": activation_by_id(int(net.activations[i])).name}
             for i in range(n_fixed, net.n_nodes)]
    conns = [{"in": mapping[int(s)], "out": mapping[int(d)], "enabled": True, "innovation": None}
             for s, d in zip(net.conn_src, net.conn_dst)]
    conns += [{"in": mapping[s], "out": mapping[d], "enabled": False, "innovation": None}
              for s, d in disabled or []]
    genome = genome_from_dict({"key": key, "nodes": nodes, "connections": conns}, genome_config,
                              genome_type)
    indexer = getattr(genome_config, "node_indexer", None)
    if indexer is not None:
        # keep neat-python's run-wide node counter ahead of the imported keys
        import itertools
        genome_config.node_indexer = itertools.count(max(next(indexer), next_key))
    return genome


def network_to_dict(net: WannNetwork, conn_weights: np.ndarray | None = None) -> dict:
    """A JSON-ready description of a compiled network."""
    return {
        "n_inputs": net.n_inputs,
        "n_outputs": net.n_outputs,
        "nodes": [
            {"key": _key_to_json(k), "activation": activation_by_id(int(a)).name}
            for k, a in zip(net.node_keys, net.activations)
        ],
        "connections": [
            [int(s), int(d)] for s, d in zip(net.conn_src, net.conn_dst)
        ],
        "connection_keys": [_key_to_json(k) for k in net.conn_keys],
        "conn_weights": None if conn_weights is None else [float(w) for w in conn_weights],
    }


def save_network(path: str | os.PathLike, net: WannNetwork, *, conn_weights=None,
                 genome=None, meta: dict | None = None) -> Path:
    """Save ``net`` (and optionally tuned weights, its genome and metadata) as our JSON.

    The write is atomic. ``meta`` must be JSON-serialisable (numpy scalars and arrays are
    converted).
    """
    if conn_weights is not None and np.shape(conn_weights) != (net.n_connections,):
        raise ValueError(
            f"conn_weights has shape {np.shape(conn_weights)}, network has "
            f"{net.n_connections} connections"
        )
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "key": _key_to_json(net.key)}
    doc["network"] = network_to_dict(net, conn_weights)
    doc["genome"] = genome_to_dict(genome) if genome is not None else None
    doc["meta"] = meta or {}
    return atomic_write_text(path, json.dumps(doc, indent=1, default=_json_default) + "\n")


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path, tuple, set)):
        return str(obj) if isinstance(obj, Path) else list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _read_json_network(path: Path) -> LoadedNetwork:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise NetworkFileError(f"{path}: not valid JSON ({detail})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise NetworkFileError(
            f"{path}: not a wann_plugin network file (missing \"format\": \"{FORMAT}\"); "
            "reference networks are .out files"
        )
    if doc.get("version") != FORMAT_VERSION:
        raise NetworkFileError(f"{path}: unsupported format version {doc.get('version')!r}")
    try:
        nd = doc["network"]
        acts = [activation_by_name(n["activation"]).id for n in nd["nodes"]]
        keys = [_key_from_json(n["key"]) for n in nd["nodes"]]
        edges = [tuple(e) for e in nd["connections"]]
        ckeys = [_key_from_json(k) for k in nd.get("connection_keys") or edges]
        if len(ckeys) != len(edges):
            raise NetworkFileError(f"{path}: network.connection_keys has {len(ckeys)} entries for "
                                   f"{len(edges)} connections; they must match one to one")
        net = WannNetwork.from_edges(
            int(nd["n_inputs"]), int(nd["n_outputs"]), acts, edges,
            node_keys=keys, conn_keys=ckeys, key=_key_from_json(doc.get("key")),
        )
    except NetworkFileError:
        raise
    except KeyError as exc:
        raise NetworkFileError(f"{path}: malformed network: missing key {exc}") from None
    except (TypeError, ValueError, AttributeError, IndexError, OverflowError,
            RecursionError, NetworkError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise NetworkFileError(f"{path}: malformed network: {detail}") from None
    cw = nd.get("conn_weights")
    if cw is not None:
        # from_edges sorts connections by destination; saved order is already that order
        try:
            cw = np.asarray(cw, dtype=float)
        except (TypeError, ValueError):
            raise NetworkFileError(f"{path}: network.conn_weights must be a list of numbers") from None
        if cw.shape != (net.n_connections,):
            raise NetworkFileError(f"{path}: conn_weights has {cw.size} values for "
                                   f"{net.n_connections} connections")
        if not np.all(np.isfinite(cw)):
            raise NetworkFileError(f"{path}: network.conn_weights must be finite numbers")
    meta = doc.get("meta") or {}
    if not isinstance(meta, dict):
        raise NetworkFileError(f"{path}: meta must be a JSON object, not {type(meta).__name__}")
    return LoadedNetwork(net=net, conn_weights=cw, meta=meta,
                         genome=doc.get("genome"), path=path)


def load_network(path: str | os.PathLike, *, n_inputs: int | None = None,
                 n_outputs: int | None = None) -> LoadedNetwork:
    """Load a network from our JSON or a reference ``.out`` file.

    ``.out`` files need ``n_inputs`` and ``n_outputs`` (the task's); JSON files carry them
    and, when given, they are checked.

    Raises
    ------
    NetworkFileError
        Naming the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such network file")
    with path.open("rb") as f:
        head = f.read(64).lstrip()
    if head.startswith(b"{"):
        loaded = _read_json_network(path)
        net = loaded.net
        if (n_inputs is not None and net.n_inputs != n_inputs) or (
                n_outputs is not None and net.n_outputs != n_outputs):
            raise NetworkFileError(
                f"{path}: network has {net.n_inputs} inputs and {net.n_outputs} outputs, the "
                f"task needs {n_inputs} and {n_outputs}"
            )
        return loaded
    if n_inputs is None or n_outputs is None:
        raise NetworkFileError(f"{path}: a .out file needs the task's n_inputs and n_outputs")
    return read_out(path, n_inputs, n_outputs)


