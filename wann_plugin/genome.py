"""WannGenome: a neat-python genome that carries structure only, with the WANN operators.

Gaier & Ha (2019), "Weight Agnostic Neural Networks", NeurIPS; operators as in the reference
``_variation.py`` (``topoMutate``): each child gets **exactly one** structural change, chosen by
roulette wheel over four probabilities (normalised by their sum):

==========================  ==========================================================
``prob_add_connection``     a feed-forward connection between two unconnected nodes
``prob_add_node``           split a random enabled connection with a new hidden node
``prob_enable``             re-enable a random disabled connection gene
``prob_change_activation``  give a random hidden node a different activation
==========================  ==========================================================

If the chosen operator cannot act (no hidden node, nothing disabled, ...), the genome is left
unchanged, as in the reference. There is no weight mutation: every connection gene keeps
weight 1 and the shared weight is applied at evaluation.

Genome layout (the contract :meth:`WannNetwork.from_genome` relies on):

- ``genome_config.input_keys = [-1, ..., -num_inputs, bias_key]``, ``bias_key =
  -(num_inputs + 1)``: the bias is a neat *input* fed a constant 1, like the reference's bias
  node. Inputs are not node genes.
- ``genome_config.output_keys = [0, ..., num_outputs - 1]``; node genes exist for outputs and
  hidden nodes. ``node.activation`` is a WANN activation *name*; bias 0, response 1,
  aggregation ``sum``.
- Connection genes ``(in, out)`` with ``enabled``, ``weight = 1.0`` and an ``innovation`` from
  ``genome_config.innovation_tracker``. ``connections`` is a mapping over all of them, but the
  initial connections that are disabled are *dormant*: present, disabled, re-enabled by the
  enable operator like any other gene, without an object each (reading one hands out a
  disabled gene; writing to it makes it an ordinary gene). ``nodes`` and ``connections`` share
  gene objects with the genome they were copied from until a gene is written
  (copy-on-write through ``genome.nodes[key]`` / ``genome.connections[key]``).

Invariant: the graph of **all** connection genes, enabled or not, is acyclic, so re-enabling
any disabled gene can never close a cycle.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
from neat.activations import InvalidActivationFunction
from neat.genes import DefaultConnectionGene, DefaultNodeGene
from neat.genome import DefaultGenome, DefaultGenomeConfig
from neat.innovation import InnovationTracker

from wann_plugin._genes import (
    ConnectionGenes,
    InitialConnections,
    NodeGenes,
    copy_gene,
    read_genes,
)
from wann_plugin.activations import (
    ACTIVATIONS,
    BUILTIN_MAX_ID,
    WANN_HIDDEN_ACTIVATIONS,
    UnknownActivationError,
    activation_by_name,
)
from wann_plugin.validation import (
    ConfigError,
    Key,
    parse_section,
    write_section,
)

__all__ = [
    "GENOME_KEYS",
    "MUTATION_OPERATORS",
    "WannGenome",
    "WannGenomeConfig",
    "choose_operator",
]

#: The structural operators, in roulette order.
MUTATION_OPERATORS = ("add_connection", "add_node", "enable", "change_activation")

#: Keys of the ``[WannGenome]`` section, one :class:`~wann_plugin.Key` each (name, type,
#: default, bounds, meaning); listed with their defaults on :doc:`config`.
#:
#: :meta hide-value:
GENOME_KEYS = (
    Key("num_inputs", int, low=1, doc="task inputs, without the bias"),
    Key("num_outputs", int, low=1, doc="network outputs"),
    Key("initial_connection_prob", float, 0.5, 0.0, 1.0,
        doc="chance each bias/input -> output gene starts enabled (reference prob_initEnable)"),
    Key("activation_options", tuple, WANN_HIDDEN_ACTIVATIONS,
        doc="activations a new or changed hidden node draws from, uniformly"),
    Key("output_activation", str, "linear", doc="activation of every output node"),
    Key("prob_add_connection", float, 0.20, 0.0, 1.0, doc="roulette weight of add-connection"),
    Key("prob_add_node", float, 0.25, 0.0, 1.0, doc="roulette weight of add-node"),
    Key("prob_enable", float, 0.05, 0.0, 1.0, doc="roulette weight of re-enable"),
    Key("prob_change_activation", float, 0.50, 0.0, 1.0,
        doc="roulette weight of change-activation"),
    Key("compatibility_disjoint_coefficient", float, 1.0, 0.0,
        doc="speciation distance per disjoint gene (used only with speciation)"),
    Key("compatibility_weight_coefficient", float, 0.5, 0.0,
        doc="speciation distance per differing activation or enabled flag (only with speciation)"),
)

_OPERATOR_KEYS = ("prob_add_connection", "prob_add_node", "prob_enable", "prob_change_activation")

_WANN_FIXED = ("WannGenome fixes it internally (weight 1, bias 0, response 1, aggregation sum, "
               "no weight mutation); remove the line")
_NEAT_HINTS = {
    "conn_add_prob": "the WANN key is 'prob_add_connection'",
    "node_add_prob": "the WANN key is 'prob_add_node'",
    "activation_mutate_rate": "the WANN key is 'prob_change_activation'",
    "enabled_mutate_rate": "the WANN key for re-enabling is 'prob_enable'",
    "activation_default": "hidden nodes draw from 'activation_options'; outputs use "
                          "'output_activation'",
    "initial_connection": "the WANN key is 'initial_connection_prob' (a probability)",
    "conn_delete_prob": "WANN has no delete operators; remove the line",
    "node_delete_prob": "WANN has no delete operators; remove the line",
    "num_hidden": "WANN genomes start without hidden nodes; remove the line",
    "feed_forward": "WANN networks are always feed-forward; remove the line",
}


def _neat_genome_key_names() -> set[str]:
    """Every key neat-python's DefaultGenome section understands."""
    names = {"num_inputs", "num_outputs", "num_hidden", "feed_forward",
             "compatibility_disjoint_coefficient", "compatibility_weight_coefficient",
             "conn_add_prob", "conn_delete_prob", "node_add_prob", "node_delete_prob",
             "single_structural_mutation", "structural_mutation_surer", "initial_connection"}
    for gene in (DefaultNodeGene, DefaultConnectionGene):
        names.update(p.name for p in gene.get_config_params())
    return names


def _hints() -> dict[str, str]:
    ours = {k.name for k in GENOME_KEYS}
    hints = {name: _WANN_FIXED for name in _neat_genome_key_names() - ours}
    hints.update(_NEAT_HINTS)
    return hints


_FIXED_FLOATS = {"bias": 0.0, "response": 1.0, "weight": 1.0, "time_constant": 1.0}


def _neat_params(values: Mapping[str, Any], node_gene_type, connection_gene_type) -> dict:
    """The full DefaultGenomeConfig dict (strings) for our typed settings."""
    options = list(dict.fromkeys([values["output_activation"], *values["activation_options"]]))
    params = {
        "num_inputs": str(values["num_inputs"]),
        "num_outputs": str(values["num_outputs"]),
        "num_hidden": "0",
        "feed_forward": "true",
        "compatibility_disjoint_coefficient": str(values["compatibility_disjoint_coefficient"]),
        "compatibility_weight_coefficient": str(values["compatibility_weight_coefficient"]),
        "conn_add_prob": str(values["prob_add_connection"]),
        "conn_delete_prob": "0.0",
        "node_add_prob": str(values["prob_add_node"]),
        "node_delete_prob": "0.0",
        "single_structural_mutation": "true",  # explicit: omitted it means the string 'false'
        "structural_mutation_surer": "false",
        "initial_connection": "unconnected",
        "activation_default": values["output_activation"],
        "activation_options": " ".join(options),
        "activation_mutate_rate": "0.0",
        "aggregation_default": "sum",
        "aggregation_options": "sum",
        "aggregation_mutate_rate": "0.0",
        "enabled_default": "true",
        "enabled_mutate_rate": "0.0",
        "node_gene_type": node_gene_type,
        "connection_gene_type": connection_gene_type,
    }
    for name, v in _FIXED_FLOATS.items():
        for item in ("init_mean", "max_value", "min_value"):
            params[f"{name}_{item}"] = str(v)
        for item in ("init_stdev", "replace_rate", "mutate_rate", "mutate_power"):
            params[f"{name}_{item}"] = "0.0"
        params[f"{name}_init_type"] = "gaussian"
    return params


class WannGenomeConfig(DefaultGenomeConfig):
    """Settings of the ``[WannGenome]`` section, on top of a fully defaulted DefaultGenomeConfig.

    Only the keys of :data:`GENOME_KEYS` may appear in the file; every DefaultGenome key is set
    here (constant weight 1, bias 0, response 1, aggregation ``sum``, no attribute mutation,
    ``single_structural_mutation = true``). The WANN activations are registered into this
    config's activation set under their WANN names, replacing neat-python's differently scaled
    ``sigmoid``, ``sin``, ``tanh``..., so ``neat.nn.FeedForwardNetwork`` computes the WANN
    formulas too (feed 1.0 at ``bias_key``). Custom activations
    (:func:`~wann_plugin.register_activation`) are registered when the config names them.

    Parameters
    ----------
    params : mapping of str to str
        The section as read from the file.
    section_name : str, default="WannGenome"
        For error messages.
    node_gene_type, connection_gene_type : type
        Gene classes (neat-python's defaults).

    Attributes
    ----------
    bias_key : int
        ``-(num_inputs + 1)``, the last of ``input_keys``.
    input_keys : list of int
        ``[-1, ..., -num_inputs, bias_key]``.
    output_keys : list of int
        ``[0, ..., num_outputs - 1]``.
    operator_probs : ndarray of shape (4,)
        The roulette weights of :data:`MUTATION_OPERATORS`, normalised to sum 1.

    Raises
    ------
    UnknownConfigKeyError
        For a key outside :data:`GENOME_KEYS` (with a close match or the WANN equivalent).
    ConfigError
        For a bad value, an unknown activation name, or all four operator weights zero.
    """

    def __init__(self, params: Mapping[str, Any], section_name: str = "WannGenome",
                 node_gene_type=DefaultNodeGene, connection_gene_type=DefaultConnectionGene):
        values = parse_section(section_name, params, GENOME_KEYS, _hints())
        _check_activations(section_name, values)
        weights = np.array([values[k] for k in _OPERATOR_KEYS], dtype=float)
        if weights.sum() <= 0.0:
            raise ConfigError(
                f"[{section_name}] {', '.join(_OPERATOR_KEYS)} are all 0; "
                "give at least one operator a positive weight."
            )
        super().__init__(_neat_params(values, node_gene_type, connection_gene_type), section_name)
        for name, value in values.items():
            setattr(self, name, value)
        self._section_name = section_name
        self.operator_probs = weights / weights.sum()
        self.bias_key = -(self.num_inputs + 1)
        self.input_keys = [-i - 1 for i in range(self.num_inputs)] + [self.bias_key]
        self.output_keys = list(range(self.num_outputs))
        self._register_wann_activations()

    def __getstate__(self):
        """Pickle without consuming a node key.

        neat-python 2.0's ``DefaultGenomeConfig.__getstate__`` peeks at the run-wide node
        counter with ``next()``, so every checkpoint would make the running process skip a
        hidden-node key and a resumed run would number its nodes differently from an
        uninterrupted one. The peeked value is put back here.
        """
        state = super().__getstate__()
        peeked = state.get("_node_indexer_next_value")
        if peeked is not None:
            self.node_indexer = itertools.count(peeked)
        return state

    def _register_wann_activations(self) -> None:
        """Built-in WANN activations, plus the custom ones this config names.

        Custom activations that the config does not use are left out: the config is pickled
        with every checkpoint, and a custom activation may not be picklable.
        """
        used = {*self.activation_options, self.output_activation}
        for name, act in ACTIVATIONS.items():
            if act.id > BUILTIN_MAX_ID and name not in used:
                continue
            try:
                self.add_activation(name, act.scalar)
            except (InvalidActivationFunction, AttributeError):
                # a custom activation whose scalar form is a callable object, not a function:
                # neat-python's validator refuses it, but its networks only need a callable
                self.activation_defs.functions[name] = act.scalar

    def values(self) -> dict[str, Any]:
        """The ``[WannGenome]`` settings by key."""
        return {k.name: getattr(self, k.name) for k in GENOME_KEYS}

    def save(self, f: IO[str]) -> None:
        """Write only the ``[WannGenome]`` keys (reloading gives the same settings)."""
        write_section(f, self.values(), GENOME_KEYS)


def _check_activations(section: str, values: Mapping[str, Any]) -> None:
    options = values["activation_options"]
    for key, names in (("activation_options", options),
                       ("output_activation", (values["output_activation"],))):
        for name in names:
            try:
                activation_by_name(name)
            except UnknownActivationError as exc:
                raise ConfigError(f"[{section}] {key}: {exc}") from None
    dupes = sorted({n for n in options if options.count(n) > 1})
    if dupes:
        raise ConfigError(f"[{section}] activation_options lists {dupes} more than once; "
                          "each name once (the draw is uniform over the list).")


def _prototype(config, kind: str):
    """A gene made once by :meth:`WannGenome.make_node` / ``make_connection``'s general path,
    to be copied, when the config's gene classes are neat-python's own (every attribute of
    them is fixed by WANN, so a copy with the key, innovation, weight, enabled flag or
    activation set equals a made gene); else None. Kept on the config."""
    types = (getattr(config, "node_gene_type", None), getattr(config, "connection_gene_type", None))
    protos = getattr(config, "_wann_prototypes", None)
    if protos is None or protos[0] != types:
        made = {}
        if types == (DefaultNodeGene, DefaultConnectionGene):
            node = DefaultNodeGene(0)
            fixed = {"activation": "linear", "aggregation": "sum", **_FIXED_FLOATS}
            conn = DefaultConnectionGene((0, 0), innovation=0)
            if all(a.name in fixed for a in node._gene_attributes) and \
                    {a.name for a in conn._gene_attributes} <= {"weight", "enabled"}:
                for attr in node._gene_attributes:
                    setattr(node, attr.name, fixed[attr.name])
                conn.weight, conn.enabled = 1.0, True
                made = {"node": node, "connection": conn}
        protos = (types, made)
        config._wann_prototypes = protos
    return protos[1].get(kind)


def _resolve_rng(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng`` itself, or one derived from Python's ``random`` when ``rng`` is None.

    neat-python's ``Population`` seeds Python's ``random`` from ``[NEAT] seed``, so plain
    neat-python use (``genome.mutate(config)``) stays reproducible.
    """
    if rng is None:
        return np.random.default_rng(random.getrandbits(64))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    return rng


def _tracker(config):
    tracker = getattr(config, "innovation_tracker", None)
    if tracker is None:
        raise RuntimeError(
            "genome_config.innovation_tracker is not set; WannReproduction.create_new and "
            "reproduce set it (to build genomes by hand, set "
            "config.genome_config.innovation_tracker = neat.InnovationTracker())"
        )
    return tracker


class WannGenome(DefaultGenome):
    """A genome of structure only: node activations, connection genes, no weights.

    Config section ``[WannGenome]``; see :data:`GENOME_KEYS`. Every method that draws random
    numbers takes ``rng`` (a ``numpy.random.Generator``); without one it derives a generator
    from Python's ``random``, which neat-python seeds.

    Attributes
    ----------
    objectives : Objectives or None
        Written by the evaluator with ``fitness``; read by the ranking.

    Examples
    --------
    >>> import neat, numpy as np
    >>> cfg = WannGenome.parse_config({"num_inputs": "2", "num_outputs": "1"})
    >>> cfg.input_keys, cfg.bias_key
    ([-1, -2, -3], -3)
    >>> cfg.innovation_tracker = neat.InnovationTracker()
    >>> g = WannGenome(1)
    >>> g.configure_new(cfg, rng=np.random.default_rng(0))
    >>> sorted(g.connections)
    [(-3, 0), (-2, 0), (-1, 0)]
    """

    node_gene_type = DefaultNodeGene
    connection_gene_type = DefaultConnectionGene

    @classmethod
    def parse_config(cls, param_dict: Mapping[str, Any]) -> WannGenomeConfig:
        """Parse and check the ``[WannGenome]`` section (named after the class)."""
        params = {k: v for k, v in param_dict.items()
                  if k not in ("node_gene_type", "connection_gene_type")}
        return WannGenomeConfig(params, cls.__name__, cls.node_gene_type, cls.connection_gene_type)

    @classmethod
    def write_config(cls, f: IO[str], config: WannGenomeConfig) -> None:
        """Write the ``[WannGenome]`` keys (``config.save`` round-trips)."""
        config.save(f)

    def __init__(self, key):
        super().__init__(key)
        self.nodes = NodeGenes()
        self.connections = ConnectionGenes()
        self.objectives = None

    # ------------------------------------------------------------------ genes
    @staticmethod
    def make_node(config, key: int, activation: str):
        """A node gene: the given activation, bias 0, response 1, aggregation ``sum``."""
        proto = _prototype(config, "node")
        if proto is not None:  # neat-python's own gene class: a copy of a made one
            node = copy_gene(proto)
            node.key, node.activation = key, activation
            return node
        node = config.node_gene_type(key)
        fixed = {"activation": activation, "aggregation": "sum", **_FIXED_FLOATS}
        for attr in node._gene_attributes:
            value = fixed[attr.name] if attr.name in fixed else attr.init_value(config)
            setattr(node, attr.name, value)
        return node

    @staticmethod
    def make_connection(config, key: tuple[int, int], innovation: int,
                        weight: float = 1.0, enabled: bool = True):
        """A connection gene with the given innovation number (no random draws)."""
        proto = _prototype(config, "connection")
        if proto is not None and isinstance(key, tuple):
            conn = copy_gene(proto)
            conn.key, conn.innovation = key, int(innovation)
            conn.weight, conn.enabled = float(weight), bool(enabled)
            return conn
        conn = config.connection_gene_type(key, innovation=int(innovation))
        fixed = {"weight": float(weight), "enabled": bool(enabled)}
        for attr in conn._gene_attributes:
            value = fixed[attr.name] if attr.name in fixed else attr.init_value(config)
            setattr(conn, attr.name, value)
        return conn

    def hidden_keys(self, config) -> list[int]:
        """Keys of the hidden nodes, sorted."""
        outputs = set(config.output_keys)
        return sorted(k for k in self.nodes if k not in outputs)

    # ------------------------------------------------------------------ creation
    def configure_new(self, config, rng: np.random.Generator | None = None) -> None:
        """The reference initial genome (``wann.py: initPop``).

        Output nodes with ``output_activation``, no hidden nodes, and a gene from the bias and
        every input to every output, each enabled independently with probability
        ``initial_connection_prob``. The others are disabled genes; they are *dormant* (no
        object each, see :class:`~wann_plugin._genes.ConnectionGenes`) but present in
        ``connections`` and re-enabled by :meth:`mutate_enable` like any disabled gene.
        """
        rng = _resolve_rng(rng)
        initial = _initial_connections(config, _tracker(config))
        for key in config.output_keys:
            self.nodes[key] = self.make_node(config, key, config.output_activation)
        enabled = rng.random(len(initial.pairs)) < config.initial_connection_prob
        genes = {}
        pairs, innovations, prototype = initial.pairs, initial.innovations, initial.prototype
        for idx in np.flatnonzero(enabled).tolist():
            gene = copy_gene(prototype)
            gene.key = pairs[idx]
            gene.innovation = innovations[idx]
            gene.enabled = True
            genes[pairs[idx]] = gene
        self.connections = ConnectionGenes(genes, initial)

    @classmethod
    def copy_of(cls, key, parent: DefaultGenome) -> WannGenome:
        """``cls(key)`` after :meth:`configure_copy` from ``parent``: a child before its
        mutation. Without the empty gene mappings ``__init__`` makes for :meth:`configure_copy`
        to replace, unless a subclass overrides either method."""
        if cls.__init__ is not WannGenome.__init__ or \
                cls.configure_copy is not WannGenome.configure_copy:
            child = cls(key)
            child.configure_copy(parent)
            return child
        child = cls.__new__(cls)
        DefaultGenome.__init__(child, key)
        child.objectives = None
        child.configure_copy(parent)
        return child

    def configure_copy(self, parent: DefaultGenome) -> None:
        """Copy ``parent``'s genes (innovations kept); fitness and objectives are not copied.

        Costs one small object per node and per *stored* gene (enabled or disabled by a
        split), none per dormant initial connection.
        """
        nodes = parent.nodes
        if isinstance(nodes, NodeGenes):
            self.nodes = nodes.copy()
        else:
            self.nodes = NodeGenes({k: copy_gene(ng) for k, ng in nodes.items()})
        conns = parent.connections
        if isinstance(conns, ConnectionGenes):
            self.connections = conns.copy()
        else:
            self.connections = ConnectionGenes({k: copy_gene(cg) for k, cg in conns.items()})

    def configure_crossover(self, genome1, genome2, config,
                            rng: np.random.Generator | None = None, *,
                            first_is_fitter: bool = False) -> None:
        """NEAT crossover (Stanley & Miikkulainen 2002, p. 108), used when prob_crossover > 0.

        The child has exactly the fitter parent's genes. Genes with the same innovation number
        (and the same key) in both parents are taken whole from either parent with
        probability 1/2, which may change the enabled flag; hidden nodes present in both take
        either parent's activation. Because the child's connection keys are the fitter
        parent's, the child is acyclic whenever that parent is.

        Parameters
        ----------
        genome1, genome2 : WannGenome
        config : WannGenomeConfig
        rng : numpy.random.Generator, optional
        first_is_fitter : bool, default=False
            Take ``genome1`` as the fitter parent (WannReproduction passes the better-ranked
            parent first). Otherwise neat-python's rule: ``genome1`` if its fitness is
            strictly higher, else ``genome2``.
        """
        rng = _resolve_rng(rng)
        if first_is_fitter or _fitness(genome1) > _fitness(genome2):
            fitter, other = genome1, genome2
        else:
            fitter, other = genome2, genome1
        other_items = _all_items(other.connections)
        other_by_innovation = {cg.innovation: cg for _, cg in other_items}
        fitter_genes = dict(_all_items(fitter.connections))
        initial = getattr(fitter.connections, "initial", None)
        dormant = {id(cg) for cg in (*fitter_genes.values(), *other_by_innovation.values())
                   if _is_dormant_gene(cg, initial)}
        genes = {}
        for key in sorted(fitter_genes):
            gene = fitter_genes[key]
            match = other_by_innovation.get(gene.innovation)
            if match is not None and match.key == key and rng.random() < 0.5:
                gene = match
            if id(gene) not in dormant:
                genes[key] = copy_gene(gene)
        self.connections = ConnectionGenes(genes, initial)
        outputs = set(config.output_keys)
        fitter_nodes, other_nodes = read_genes(fitter.nodes), read_genes(other.nodes)
        for key in sorted(fitter_nodes):
            node = fitter_nodes[key]
            match = other_nodes.get(key)
            if key not in outputs and match is not None and rng.random() < 0.5:
                node = match
            self.nodes[key] = copy_gene(node)

    # ------------------------------------------------------------------ mutation
    def mutate(self, config, rng: np.random.Generator | None = None) -> str:
        """Apply exactly one structural operator, chosen by roulette (``topoMutate``).

        Returns
        -------
        str
            The chosen operator's name (one of :data:`MUTATION_OPERATORS`), whether or not it
            could act.
        """
        rng = _resolve_rng(rng)
        name = choose_operator(config, rng)
        getattr(self, f"mutate_{name}")(config, rng=rng)
        return name

    def mutate_add_connection(self, config, rng: np.random.Generator | None = None) -> bool:
        """Add one feed-forward connection with the reference's layering rule (``mutAddConn``).

        Inputs and bias are layer 0, a hidden node is one layer above its deepest hidden
        source (genes enabled or not), outputs are above every hidden node. Sources (bias,
        inputs, hidden nodes) are tried in random order; the first with a candidate
        destination (a strictly higher layer, no gene yet from this source) gets a link to a
        uniformly chosen one, weight 1, enabled.

        Returns
        -------
        bool
            False if no connection can be added (the genome is unchanged).
        """
        rng = _resolve_rng(rng)
        hidden = _memo("hidden", self, config, lambda: self.hidden_keys(config))
        free, has_free = _free_pairs_of(self, config, hidden)
        input_keys = config.input_keys
        n_in = len(input_keys)
        # the first source, in a random order, with a candidate destination
        for first in rng.permutation(n_in + len(hidden)):
            if has_free[first]:
                break
        else:
            return False
        first = int(first)
        src = input_keys[first] if first < n_in else hidden[first - n_in]
        candidates = np.flatnonzero(free[first])
        j = int(candidates[int(rng.integers(len(candidates)))])
        dst = hidden[j] if j < len(hidden) else config.output_keys[j - len(hidden)]
        innovation = _tracker(config).get_innovation_number(src, dst, "add_connection")
        self.connections[(src, dst)] = self.make_connection(config, (src, dst), innovation, 1.0,
                                                            True)
        return True

    def mutate_add_node(self, config, rng: np.random.Generator | None = None) -> bool:
        """Split a uniformly chosen enabled connection ``a -> b`` (``mutAddNode``).

        ``a -> b`` is disabled; a hidden node with an activation drawn uniformly from
        ``activation_options`` gets ``a -> new`` (weight 1) and ``new -> b`` (the old weight),
        both enabled, with innovations from the tracker. The node key comes from
        ``config.get_new_node_key`` (unique across the run).

        Returns
        -------
        bool
            False if there is no enabled connection.
        """
        rng = _resolve_rng(rng)
        enabled = _memo("enabled", self, config, lambda: sorted(_enabled_keys(self.connections)))
        if not enabled:
            return False
        old = self.connections[enabled[int(rng.integers(len(enabled)))]]
        activation = config.activation_options[int(rng.integers(len(config.activation_options)))]
        tracker = _tracker(config)
        new = config.get_new_node_key(self.nodes)
        self.nodes[new] = self.make_node(config, new, activation)
        old.enabled = False
        a, b = old.key
        in_innovation = tracker.get_innovation_number(a, new, "add_node_in")
        out_innovation = tracker.get_innovation_number(new, b, "add_node_out")
        self.connections[(a, new)] = self.make_connection(config, (a, new), in_innovation, 1.0)
        self.connections[(new, b)] = self.make_connection(
            config, (new, b), out_innovation, old.weight)
        return True

    def mutate_enable(self, config, rng: np.random.Generator | None = None) -> bool:
        """Re-enable one uniformly chosen disabled gene; False if none is disabled."""
        rng = _resolve_rng(rng)
        conns = self.connections
        if isinstance(conns, ConnectionGenes):
            n_disabled, key_at = _memo("disabled", self, config, conns.disabled_keys)
        else:
            keys = sorted(k for k, cg in conns.items() if not cg.enabled)
            n_disabled, key_at = len(keys), keys.__getitem__
        if not n_disabled:
            return False
        conns[key_at(int(rng.integers(n_disabled)))].enabled = True
        return True

    def mutate_change_activation(self, config, rng: np.random.Generator | None = None) -> bool:
        """Give one uniformly chosen hidden node a new activation (``prob_mutAct``).

        The new activation is uniform over ``activation_options`` minus the current one.
        Output activations never change. False if there is no hidden node or no other option.
        """
        rng = _resolve_rng(rng)
        hidden = _memo("hidden", self, config, lambda: self.hidden_keys(config))
        if not hidden:
            return False
        node = self.nodes[hidden[int(rng.integers(len(hidden)))]]
        options = [a for a in config.activation_options if a != node.activation]
        if not options:
            return False
        node.activation = options[int(rng.integers(len(options)))]
        return True

    def mutate_delete_node(self, config):
        """Not a WANN operator."""
        raise NotImplementedError("WANN has no delete-node operator")

    def mutate_delete_connection(self):
        """Not a WANN operator."""
        raise NotImplementedError("WANN has no delete-connection operator")

    # ------------------------------------------------------------------ structure
    def node_layers(self, config) -> dict[int, int]:
        """Layer of every node under the reference's rule, over all genes (enabled or not).

        Bias and inputs are 0; a hidden node is ``1 + max`` layer of its hidden sources (1 if
        it has none); outputs are ``1 + max`` hidden layer (1 without hidden nodes).

        Raises
        ------
        ValueError
            If the connection genes form a cycle among hidden nodes.
        """
        return _node_layers(self.connections, config, self.hidden_keys(config), self.key)

    def size(self) -> tuple[int, int]:
        """``(number of node genes, number of enabled connections)``, as neat-python reports."""
        return len(self.nodes), len(_enabled_keys(self.connections))

    def distance(self, other, config) -> float:
        """neat-python's genetic distance (speciation), dormant genes counted as genes."""
        from types import SimpleNamespace

        mine = SimpleNamespace(nodes=read_genes(self.nodes),
                               connections=dict(_all_items(self.connections)))
        theirs = SimpleNamespace(nodes=read_genes(other.nodes),
                                 connections=dict(_all_items(other.connections)))
        return DefaultGenome.distance(mine, theirs, config)

    def __str__(self) -> str:
        return f"{super().__str__()}\nObjectives: {self.objectives}"


def _enabled_keys(conns) -> list:
    if isinstance(conns, ConnectionGenes):
        return conns.enabled_keys()
    return [k for k, cg in conns.items() if cg.enabled]


_INPUT_POSITIONS: dict = {}


def _input_positions(input_keys) -> dict:
    """``{input key: position}`` (cached by the keys)."""
    sig = tuple(input_keys)
    pos = _INPUT_POSITIONS.get(sig)
    if pos is None:
        if len(_INPUT_POSITIONS) > 64:
            _INPUT_POSITIONS.clear()
        pos = _INPUT_POSITIONS[sig] = {k: i for i, k in enumerate(sig)}
    return pos


def _matrix_position(a, b, in_pos: dict, hidden_pos: dict, out_pos: dict,
                     n_hidden: int) -> tuple:
    """``(i, j)`` of the connection ``a -> b`` in a free-pair matrix (rows: inputs, then
    hidden nodes; columns: hidden nodes, then outputs); ``None`` for an end not there."""
    i = in_pos.get(a)
    if i is None:
        i = hidden_pos.get(a)
        i = None if i is None else len(in_pos) + i
    j = hidden_pos.get(b)
    if j is None:
        j = out_pos.get(b)
        j = None if j is None else n_hidden + j
    return i, j


def _free_pairs(conns, config, hidden: list, layer: dict) -> np.ndarray:
    """``free[i, j]``: source ``i`` -> destination ``j`` goes to a strictly higher layer and
    has no gene yet (the candidates of the reference's ``mutAddConn``). Sources are
    ``input_keys + hidden``, destinations ``hidden + output_keys`` (inputs are layer 0)."""
    in_pos = _input_positions(config.input_keys)
    n_in, n_hidden = len(in_pos), len(hidden)
    hidden_layer = [layer[k] for k in hidden]
    src_layer = np.zeros(n_in + n_hidden)
    src_layer[n_in:] = hidden_layer
    dst_layer = np.array(hidden_layer + [layer[k] for k in config.output_keys], dtype=float)
    free = dst_layer[None, :] > src_layer[:, None]
    hidden_pos = {k: i for i, k in enumerate(hidden)}
    out_pos = _input_positions(config.output_keys)

    stored = conns.explicit if isinstance(conns, ConnectionGenes) else conns
    for a, b in stored:
        i, j = _matrix_position(a, b, in_pos, hidden_pos, out_pos, n_hidden)
        if i is not None and j is not None:
            free[i, j] = False
    _mark_initial(free, conns, config, stored, (in_pos, hidden_pos, out_pos, n_hidden),
                  src_layer, dst_layer)
    return free


def _mark_initial(free, conns, config, stored, positions: tuple, src_layer, dst_layer) -> None:
    """The initial connections' cells of ``free``: taken (dormant genes exist), except those
    deleted from the mapping, which are free where the layers allow."""
    initial = conns.initial if isinstance(conns, ConnectionGenes) else None
    if initial is None:
        return
    n_hidden = positions[-1]
    rows, cols = initial.positions(config.input_keys, config.output_keys)
    free[rows, cols + n_hidden] = False
    for a, b in conns.removed_keys():
        if (a, b) in stored:
            continue
        i, j = _matrix_position(a, b, *positions)
        if i is not None and j is not None:
            free[i, j] = dst_layer[j] > src_layer[i]


# Tables computed for gene sets, by kind and a name of what they depend on: the key sets
# (``keyset_key``) for the hidden keys and add-connection's table, the exact genes
# (``content_key``) for add-node's enabled and enable's disabled keys. Genomes whose genes name
# the same content share them: the untouched copies of one parent (the tournaments pick a few
# parents for many children), and, through the generations, copies of copies that did not
# change what a table depends on (a change-activation child keeps its parent's key sets).
_MEMO: dict = {}
_MEMO_SIZE = 1024


def _memo_key(kind: str, genome):
    """What ``kind``'s table of ``genome`` depends on, named; None when it cannot be named
    (plain dict genes, or genes handed out since the copy for the content kinds)."""
    conns, nodes = genome.connections, genome.nodes
    try:
        if kind == "hidden":
            return nodes.keyset_key()
        if kind == "free":
            return conns.keyset_key(), nodes.keyset_key()
        return conns.content_key()
    except AttributeError:
        return None


def _memo(kind: str, genome, config, compute):
    """``compute()`` for ``genome``, shared by every genome whose genes name the same content
    for ``kind`` (see :func:`_memo_key`; the value must not be changed by its users)."""
    key = _memo_key(kind, genome)
    if key is None:
        return compute()
    hit = _MEMO.get((kind, key))
    if hit is not None and hit[0] is config:
        return hit[1]
    value = compute()
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[(kind, key)] = (config, value)
    return value


def _free_pairs_of(genome, config, hidden: list) -> tuple[np.ndarray, list]:
    """``genome``'s :func:`_free_pairs_fast` table (read-only) and, per source row, whether it
    has a free cell (see :func:`_memo`)."""
    def compute():
        free = _free_pairs_fast(genome.connections, config, hidden, genome.key)
        free.flags.writeable = False
        return free, free.any(axis=1).tolist()

    return _memo("free", genome, config, compute)


def _free_pairs_fast(conns, config, hidden: list, genome_key=None) -> np.ndarray:
    """:func:`_free_pairs` with the layers of :meth:`WannGenome.node_layers`, from one pass
    over the stored genes (the same matrix; a test holds them equal)."""
    in_pos = _input_positions(config.input_keys)
    out_pos = _input_positions(config.output_keys)
    n_in, n_hidden = len(in_pos), len(hidden)
    hidden_pos = {k: i for i, k in enumerate(hidden)}
    # the column of a destination in one lookup (a hidden node before an output of the
    # same key)
    col_of = {k: n_hidden + j for k, j in out_pos.items()}
    col_of.update(hidden_pos)
    rows, cols, hh_src, hh_dst = [], [], [], []
    stored = conns.explicit if isinstance(conns, ConnectionGenes) else conns
    for a, b in stored:
        j = col_of.get(b)
        if j is None:
            continue
        i = in_pos.get(a)
        if i is None:
            i = hidden_pos.get(a)
            if i is None:
                continue
            if j < n_hidden:  # hidden -> hidden
                hh_src.append(i)
                hh_dst.append(j)
            i += n_in
        rows.append(i)
        cols.append(j)
    layer = _layers(hh_src, hh_dst, n_hidden)
    if layer is None:
        _node_layers(conns, config, hidden, genome_key)  # raises, naming the cycle
    top = 1 + max(layer, default=0)
    src_layer = np.zeros(n_in + n_hidden)
    src_layer[n_in:] = layer
    dst_layer = np.array(layer + [top] * len(out_pos), dtype=float)
    free = dst_layer[None, :] > src_layer[:, None]
    if rows:  # index arrays made once (numpy's conversion of two lists is several times slower)
        free[np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)] = False
    _mark_initial(free, conns, config, stored, (in_pos, hidden_pos, out_pos, n_hidden),
                  src_layer, dst_layer)
    return free


def _layers(src: list, dst: list, n: int) -> list | None:
    """Layer of each of ``n`` hidden nodes (1 + the highest layer of its hidden sources, 1
    without) from the hidden -> hidden edges ``src[i] -> dst[i]``; None on a cycle."""
    layer = [1] * n
    if not src:
        return layer
    succs: list[list[int]] = [[] for _ in range(n)]
    pending = [0] * n
    for i, j in zip(src, dst):
        succs[i].append(j)
        pending[j] += 1
    ready = [h for h in range(n) if not pending[h]]
    done = 0
    while ready:
        h = ready.pop()
        done += 1
        up = layer[h] + 1
        for t in succs[h]:
            if layer[t] < up:
                layer[t] = up
            pending[t] -= 1
            if not pending[t]:
                ready.append(t)
    return layer if done == n else None


def _node_layers(conns, config, hidden: list, genome_key) -> dict:
    """:meth:`WannGenome.node_layers` of the connection genes ``conns`` (the plain path)."""
    hidden_set = set(hidden)
    preds: dict[int, list[int]] = {h: [] for h in hidden}
    pending: dict[int, int] = {h: 0 for h in hidden}
    succs: dict[int, list[int]] = {h: [] for h in hidden}
    # dormant genes are bias/input -> output: they never join two hidden nodes
    for a, b in (conns.explicit if isinstance(conns, ConnectionGenes) else conns):
        if a in hidden_set and b in hidden_set:
            preds[b].append(a)
            succs[a].append(b)
            pending[b] += 1
    layer = {k: 0 for k in config.input_keys}
    ready = [h for h in hidden if pending[h] == 0]
    while ready:
        h = ready.pop()
        layer[h] = 1 + max((layer[p] for p in preds[h]), default=0)
        for s in succs[h]:
            pending[s] -= 1
            if pending[s] == 0:
                ready.append(s)
    if len(layer) != len(config.input_keys) + len(hidden):
        stuck = sorted(h for h in hidden if h not in layer)
        raise ValueError(f"genome {genome_key}: connection genes form a cycle among {stuck}")
    top = 1 + max((layer[h] for h in hidden), default=0)
    for key in config.output_keys:
        layer[key] = top
    return layer


def _all_items(conns) -> list:
    """``[(key, gene)]`` of every gene, dormant ones as detached objects."""
    if isinstance(conns, ConnectionGenes):
        return conns.all_items()
    return list(conns.items())


def _is_dormant_gene(gene, initial: InitialConnections | None) -> bool:
    """True if ``gene`` equals the dormant gene of an initial connection of ``initial``."""
    if initial is None or gene.enabled or gene.weight != 1.0:
        return False
    return initial.innovation_of.get(gene.key) == gene.innovation and all(
        getattr(gene, a.name) == getattr(initial.prototype, a.name)
        for a in gene._gene_attributes if a.name != "enabled")


def _initial_connections(config, tracker) -> InitialConnections:
    """The run's initial connections with the innovation numbers the tracker gives them now.

    Asking the tracker for each pair (as the reference's genome-by-genome loop does) is
    skipped when its generation record already holds the cached numbers: the tracker would
    return exactly those.
    """
    pairs_key = (tuple(config.input_keys), tuple(config.output_keys))
    cached = getattr(config, "_wann_initial", None)
    if cached is not None and cached[0] == pairs_key and type(tracker) is InnovationTracker:
        record = tracker.generation_innovations
        # the record cannot have changed through the tracker without a change of these
        stamp = (id(record), len(record), tracker.global_counter)
        if cached[3] == stamp:
            return cached[1]
        if list(map(record.get, cached[2])) == list(cached[1].innovations):
            config._wann_initial = (*cached[:3], stamp)
            return cached[1]
    pairs = [(i, o) for o in config.output_keys for i in config.input_keys]
    innovations = [tracker.get_innovation_number(i, o, "initial_connection") for i, o in pairs]
    if cached is not None and cached[0] == pairs_key and \
            tuple(innovations) == cached[1].innovations:
        initial = cached[1]
    else:
        prototype = WannGenome.make_connection(config, pairs[0], innovations[0], 1.0, False)
        initial = InitialConnections(pairs, innovations, prototype)
    record = getattr(tracker, "generation_innovations", None)
    stamp = (id(record), len(record), tracker.global_counter) if record is not None else None
    config._wann_initial = (pairs_key, initial, [(i, o, "initial_connection") for i, o in pairs],
                            stamp)
    return initial


def choose_operator(config, rng: np.random.Generator) -> str:
    """One roulette draw over ``config.operator_probs`` (reference ``topoMutate``)."""
    probs = config.operator_probs
    # the cache is keyed by the weights' bytes (cheap) when they are a float array
    stamp = probs.tobytes() if isinstance(probs, np.ndarray) and probs.dtype == float else \
        tuple(np.asarray(probs, dtype=float).tolist())
    cached = getattr(config, "_wann_cumulative", None)
    if cached is None or cached[0] != stamp:
        # np.cumsum's doubles as Python floats: bisect_right on them is searchsorted "right"
        cached = (stamp, np.cumsum(np.asarray(probs, dtype=float)).tolist())
        config._wann_cumulative = cached
    cumulative = cached[1]
    idx = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
    return MUTATION_OPERATORS[min(idx, len(MUTATION_OPERATORS) - 1)]


def _fitness(genome) -> float:
    f = getattr(genome, "fitness", None)
    return float("-inf") if f is None or f != f else float(f)
