"""Connection genes that cost what the enabled structure costs.

A fresh WANN genome has a gene from the bias and every input to every output, each enabled
with probability ``initial_connection_prob`` (reference ``wann.py: initPop``); at 5% and 256
inputs, 95% of its 2,570 genes are disabled, and every copy, mutation and checkpoint of every
genome used to pay for them. Here a genome stores gene objects only for the genes that differ
from "an initial connection, disabled, weight 1" (its enabled genes and the genes that
:meth:`~wann_plugin.WannGenome.mutate_add_node` disabled). The other initial connections are
*dormant*: listed once per run in a shared :class:`InitialConnections`, present in the
mapping, disabled, with their run-wide innovation numbers, and re-enabled by the enable
operator with the same probabilities as when they were objects.

:class:`ConnectionGenes` is a ``MutableMapping`` ``{(in, out): gene}`` over all genes, dormant
ones included, so neat-python code (``genome.connections[k].enabled = True``, iteration,
``len``) sees the same genome as before. Reading a dormant gene hands out a disabled gene
object; the first attribute written on it turns it into an ordinary gene of the genome.
The library's hot paths use :meth:`ConnectionGenes.enabled_keys`, :attr:`ConnectionGenes.explicit`
and :meth:`ConnectionGenes.sorted_disabled_keys`, which never touch dormant genes one by one.
"""

from __future__ import annotations

import bisect
import itertools
import weakref
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np
from neat.genes import BaseGene

__all__ = ["ConnectionGenes", "InitialConnections", "NodeGenes", "copy_gene", "read_genes"]


_PLAIN: dict[type, bool] = {}


def copy_gene(gene):
    """A copy of ``gene`` (neat-python's ``gene.copy()``, without its per-attribute loop)."""
    cls = type(gene)
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = (cls.copy is BaseGene.copy and "__slots__" not in cls.__dict__
                               and hasattr(gene, "__dict__"))
    if not plain:
        return gene.copy()
    new = object.__new__(cls)
    new.__dict__.update(gene.__dict__)
    return new


def read_genes(genes) -> dict:
    """The gene dict behind ``genes`` for reading (no copy-on-write copies are made)."""
    explicit = getattr(genes, "explicit", None)
    return genes if explicit is None else explicit


class InitialConnections:
    """The bias/input -> output connections of a run's fresh genomes, shared by every genome.

    Immutable; copies and deep copies return the object itself.

    Parameters
    ----------
    pairs : sequence of (int, int)
        Connection keys in creation order (outputs outer, inputs inner).
    innovations : sequence of int
        Innovation number of each pair.
    prototype : connection gene
        A disabled gene with weight 1: the value of every dormant gene (key and innovation
        aside).
    """

    def __init__(self, pairs, innovations, prototype):
        self.pairs = tuple(pairs)
        self.innovations = tuple(int(i) for i in innovations)
        self.innovation_of = dict(zip(self.pairs, self.innovations, strict=True))
        self.sorted_pairs = tuple(sorted(self.pairs))
        self.rank = {p: i for i, p in enumerate(self.sorted_pairs)}
        self.prototype = prototype

    def positions(self, input_keys: list, output_keys: list) -> tuple:
        """``(rows, cols)``: each pair's position in ``input_keys`` and ``output_keys`` (pairs
        with an end outside them are left out); cached for the last key lists."""
        sig = (tuple(input_keys), tuple(output_keys))
        cached = self.__dict__.get("_positions")
        if cached is not None and cached[0] == sig:
            return cached[1]
        in_pos = {k: i for i, k in enumerate(input_keys)}
        out_pos = {k: j for j, k in enumerate(output_keys)}
        rows, cols = [], []
        for a, b in self.pairs:
            i, j = in_pos.get(a), out_pos.get(b)
            if i is not None and j is not None:
                rows.append(i)
                cols.append(j)
        result = (np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp))
        self.__dict__["_positions"] = (sig, result)
        return result

    def gene(self, key: tuple[int, int]):
        """A fresh, disabled gene for the initial connection ``key``."""
        gene = copy_gene(self.prototype)
        gene.key = key
        gene.innovation = self.innovation_of[key]
        return gene

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"InitialConnections({len(self.pairs)} pairs)"


_DORMANT_TYPES: dict[type, type] = {}
_SERIALS = itertools.count()
_NONE: frozenset = frozenset()  # an empty set shared until something is added


def _dormant_type(base: type) -> type:
    """A subclass of gene class ``base`` whose first attribute write adopts the gene."""
    cls = _DORMANT_TYPES.get(base)
    if cls is not None:
        return cls

    def __setattr__(self, name, value):  # noqa: N807
        owner = self.__dict__.pop("_owner", None)
        object.__setattr__(self, "__class__", base)
        if owner is not None:
            owner._adopt(self)
        base.__setattr__(self, name, value)

    def __reduce_ex__(self, protocol):  # noqa: N807
        plain = object.__new__(base)
        plain.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_owner"})
        return plain.__reduce_ex__(protocol)

    def copy(self):
        plain = object.__new__(base)
        plain.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_owner"})
        return plain

    cls = type(base.__name__, (base,), {"__setattr__": __setattr__,
                                        "__reduce_ex__": __reduce_ex__, "copy": copy,
                                        "__qualname__": base.__qualname__,
                                        "__module__": base.__module__})
    _DORMANT_TYPES[base] = cls
    return cls


class _CopyOnWriteGenes(MutableMapping):
    """What both gene mappings share: gene objects shared copy-on-write with copies, and a
    name for the exact gene set (``serial``, ``version``, ``origin``) that lets a compiled
    network be reused without looking at the genes."""

    __slots__ = ("_owned", "_dict_shared", "version", "serial", "origin", "touched", "_content",
                 "_keyset", "_key_changes")

    def _new_identity(self) -> None:
        #: Bumped whenever a gene may have changed (any write, any gene handed out).
        self.version = 0
        #: Unique in this process: with :attr:`version` it names this exact gene set.
        self.serial = next(_SERIALS)
        #: ``(serial, version)`` of the mapping this one was copied from, else None.
        self.origin = None
        #: Keys whose gene may differ from the mapping named by :attr:`origin` (handed out,
        #: written, added, deleted since the copy); None when there is no origin.
        self.touched = None
        self._content = (self.serial, 0)  # see content_key
        self._keyset = (self.serial, 0)   # see keyset_key
        self._key_changes = 0

    def content_key(self):
        """A name of exactly these genes (keys and every attribute) that copies which
        changed nothing share with the mapping they were copied from, generation after
        generation; None once a gene was handed out or written (then the genes may change
        without the mapping seeing it)."""
        return self._content if self.version == 0 else None

    def keyset_key(self):
        """A name of this mapping's set of keys (the connection keys include the removed
        initial connections), shared with copies that added and deleted nothing; it changes
        only when a key is added, deleted or (connections) a dormant gene adopted."""
        return self._keyset if self._key_changes == 0 else (self.serial, -self._key_changes)

    def _keys_changed(self) -> None:
        self._key_changes += 1

    def _share_with(self, new: _CopyOnWriteGenes) -> None:
        """Make ``new`` a copy of this mapping that shares its gene objects, and the dict
        holding them, copy-on-write."""
        new._genes = self._genes
        new._dict_shared = self._dict_shared = True
        new._owned = _NONE
        new._new_identity()
        new.origin = (self.serial, self.version)
        new._content = self._content if self.version == 0 else new.origin
        new._keyset = self.keyset_key()
        new.touched = set()
        self._owned = _NONE

    def _writable(self) -> dict:
        """The gene dict, copied first if it is shared with a copy of this mapping (a child
        that never writes a gene never copies the dict)."""
        if self._dict_shared:
            self._genes = dict(self._genes)
            self._dict_shared = False
        return self._genes

    def _touch(self, key) -> None:
        """``key``'s gene may differ from the origin's from now on."""
        touched = self.touched
        if touched is not None:
            touched.add(key)

    def _own(self, key) -> None:
        """``key``'s gene object is this mapping's own from now on (not shared)."""
        touched = self.touched
        if touched is not None:
            touched.add(key)
        owned = self._owned
        if owned is not None:
            if type(owned) is frozenset:
                self._owned = owned = set()
            owned.add(key)


class ConnectionGenes(_CopyOnWriteGenes):
    """``{(in, out): connection gene}`` of one genome, dormant initial connections included.

    Parameters
    ----------
    genes : dict, optional
        The genes stored as objects (enabled genes and disabled genes that are not dormant).
    initial : InitialConnections, optional
        The run's initial connections; those without an entry in ``genes`` are dormant.
    """

    __slots__ = ("_genes", "_initial", "_n_initial_stored", "_removed", "_handed_out")

    def __init__(self, genes: dict | None = None, initial: InitialConnections | None = None):
        self._genes: dict = {} if genes is None else genes
        self._dict_shared = False
        self._initial = initial
        self._removed: set | frozenset = _NONE
        self._handed_out = None
        self._owned: set | None = None  # None: every stored gene object is this mapping's own
        self._new_identity()
        if initial is None:
            self._n_initial_stored = 0
        else:
            of = initial.innovation_of
            self._n_initial_stored = sum(1 for k in self._genes if k in of)

    # ------------------------------------------------------------------ fast paths
    @property
    def explicit(self) -> dict:
        """The genes stored as objects, for reading only: the objects may be shared with
        copies of this genome (write through ``mapping[key]``, which copies first)."""
        return self._genes

    @property
    def initial(self) -> InitialConnections | None:
        """The shared initial connections (``None`` for a genome built without them)."""
        return self._initial

    def enabled_keys(self) -> list:
        """Keys of the enabled genes (in storage order)."""
        return [k for k, c in self._genes.items() if c.enabled]

    def n_enabled(self) -> int:
        """Number of enabled genes."""
        return sum(1 for c in self._genes.values() if c.enabled)

    def dormant_keys(self) -> list:
        """Keys of the dormant initial connections, sorted."""
        if self._initial is None:
            return []
        genes, removed = self._genes, self._removed
        if removed:
            return [p for p in self._initial.sorted_pairs if p not in genes and p not in removed]
        return [p for p in self._initial.sorted_pairs if p not in genes]

    def n_dormant(self) -> int:
        """Number of dormant initial connections."""
        if self._initial is None:
            return 0
        return len(self._initial.pairs) - self._n_initial_stored - len(self._removed)

    def disabled_keys(self) -> tuple[int, Callable[[int], Any]]:
        """``(n, key_at)``: the number of disabled genes and a function giving the ``i``-th
        disabled key in sorted order, without listing the dormant ones."""
        stored = sorted(k for k, c in self._genes.items() if not c.enabled)
        initial = self._initial
        if initial is None:
            return len(stored), stored.__getitem__
        of, genes, removed = initial.innovation_of, self._genes, self._removed
        sorted_pairs, rank = initial.sorted_pairs, initial.rank
        # ranks (in sorted_pairs) of the initial connections that are not dormant
        taken = sorted([rank[k] for k in genes if k in of] + [rank[k] for k in removed])
        # the i-th dormant pair has rank i + #{taken ranks r with r - (its index) <= i}
        shifted = [r - c for c, r in enumerate(taken)]
        # position of each stored disabled key among all disabled keys (increasing); an
        # initial pair's place in sorted_pairs is its rank (no bisection over the tuples)
        at = []
        find, rank_of = bisect.bisect_left, rank.get
        for j, key in enumerate(stored):
            r = rank_of(key)
            if r is None:
                r = find(sorted_pairs, key)
            at.append(j + r - find(taken, r))

        def key_at(k: int):
            j = bisect.bisect_left(at, k)
            if j < len(at) and at[j] == k:
                return stored[j]
            i = k - j  # the i-th dormant pair (j stored keys come before position k)
            return sorted_pairs[i + bisect.bisect_right(shifted, i)]

        return len(stored) + self.n_dormant(), key_at

    def removed_keys(self) -> set:
        """Initial connections deleted from this mapping (``del mapping[key]``)."""
        return self._removed

    def all_items(self) -> list:
        """``[(key, gene)]`` of every gene in iteration order, for reading only (stored gene
        objects may be shared with copies of this genome; dormant genes come as fresh,
        detached objects). Never changes this mapping."""
        initial = self._initial
        return [(k, self._genes[k] if k in self._genes else initial.gene(k)) for k in self]

    def copy(self) -> ConnectionGenes:
        """A copy with the same (shared) initial connections, in time independent of the
        number of genes' attributes: gene objects are shared copy-on-write (the first
        ``mapping[key]`` on either side copies that gene before handing it out)."""
        new = ConnectionGenes.__new__(ConnectionGenes)
        new._initial = self._initial
        new._n_initial_stored = self._n_initial_stored
        new._removed = set(self._removed) if self._removed else _NONE
        new._handed_out = None
        self._share_with(new)
        return new

    # ------------------------------------------------------------------ mapping
    def _is_dormant(self, key) -> bool:
        initial = self._initial
        return (initial is not None and key in initial.innovation_of and key not in self._genes
                and key not in self._removed)

    def __getitem__(self, key):
        gene = self._genes.get(key)
        if gene is not None:
            self.version += 1
            owned = self._owned
            if owned is not None and key not in owned:
                gene = copy_gene(gene)
                self._writable()[key] = gene
                self._own(key)
            else:
                self._touch(key)
            return gene
        if not self._is_dormant(key):
            raise KeyError(key)
        if self._handed_out is None:
            self._handed_out = weakref.WeakValueDictionary()
        gene = self._handed_out.get(key)
        if gene is None:
            gene = self._initial.gene(key)
            gene.__dict__["_owner"] = self
            gene.__class__ = _dormant_type(type(gene))
            self._handed_out[key] = gene
        return gene

    def _remove(self, key) -> None:
        if type(self._removed) is frozenset:
            self._removed = set()
        self._removed.add(key)

    def _adopt(self, gene) -> None:
        """A handed-out dormant gene was written to: it becomes a stored gene."""
        if self._handed_out is not None:
            self._handed_out.pop(gene.key, None)
        if self._is_dormant(gene.key):
            self._writable()[gene.key] = gene
            self._n_initial_stored += 1
            self.version += 1
            self._keys_changed()
            self._own(gene.key)

    def __contains__(self, key) -> bool:
        if key in self._genes:
            return True
        initial = self._initial
        return initial is not None and key in initial.innovation_of and key not in self._removed

    def __setitem__(self, key, gene) -> None:
        initial = self._initial
        if key not in self._genes and initial is not None and key in initial.innovation_of:
            self._n_initial_stored += 1
            if self._removed:
                self._removed.discard(key)
            if self._handed_out is not None:
                self._handed_out.pop(key, None)
        self._writable()[key] = gene
        self.version += 1
        self._keys_changed()
        self._own(key)

    def __delitem__(self, key) -> None:
        self.version += 1
        self._keys_changed()
        self._touch(key)
        initial = self._initial
        is_initial = initial is not None and key in initial.innovation_of
        if key in self._genes:
            del self._writable()[key]
            if is_initial:
                self._n_initial_stored -= 1
                self._remove(key)
        elif is_initial and key not in self._removed:
            self._remove(key)
        else:
            raise KeyError(key)

    def __iter__(self) -> Iterator:
        initial = self._initial
        if initial is None:
            return iter(list(self._genes))
        removed, of = self._removed, initial.innovation_of
        head = [p for p in initial.pairs if p not in removed] if removed else list(initial.pairs)
        tail = [k for k in self._genes if k not in of]
        return itertools.chain(head, tail)

    def __len__(self) -> int:
        n = len(self._genes)
        if self._initial is not None:
            n += len(self._initial.pairs) - self._n_initial_stored - len(self._removed)
        return n

    def __repr__(self) -> str:
        return (f"ConnectionGenes({len(self._genes)} stored, "
                f"{len(self) - len(self._genes)} dormant)")

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        return {"genes": self._genes, "initial": self._initial, "removed": self._removed,
                "n_initial_stored": self._n_initial_stored, "owned": self._owned}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._genes = state["genes"]
        self._dict_shared = True  # unpickled genomes may hold one dict
        self._initial = state["initial"]
        self._removed = state["removed"]
        self._n_initial_stored = state["n_initial_stored"]
        self._owned = state.get("owned")
        self._handed_out = None
        self._new_identity()


class NodeGenes(_CopyOnWriteGenes):
    """``{key: node gene}`` of one genome, shared copy-on-write with its copies.

    A copy shares the node objects; the first ``mapping[key]`` on either side copies that node
    before handing it out, so writes through the mapping never reach another genome. Library
    code that only reads uses :attr:`explicit`.
    """

    __slots__ = ("_genes",)

    def __init__(self, genes: dict | None = None):
        self._genes: dict = {} if genes is None else genes
        self._dict_shared = False
        self._owned: set | frozenset | None = None
        self._new_identity()

    @property
    def explicit(self) -> dict:
        """The node objects, for reading only (they may be shared with copies)."""
        return self._genes

    def copy(self) -> NodeGenes:
        """A copy sharing the node objects copy-on-write."""
        new = NodeGenes.__new__(NodeGenes)
        self._share_with(new)
        return new

    def __getitem__(self, key):
        gene = self._genes[key]
        self.version += 1
        owned = self._owned
        if owned is not None and key not in owned:
            gene = self._writable()[key] = copy_gene(gene)
            self._own(key)
        else:
            self._touch(key)
        return gene

    def __setitem__(self, key, gene) -> None:
        self._writable()[key] = gene
        self.version += 1
        self._keys_changed()
        self._own(key)

    def __delitem__(self, key) -> None:
        del self._writable()[key]
        self.version += 1
        self._keys_changed()
        self._touch(key)

    def __contains__(self, key) -> bool:
        return key in self._genes

    def __iter__(self) -> Iterator:
        return iter(list(self._genes))

    def __len__(self) -> int:
        return len(self._genes)

    def __repr__(self) -> str:
        return f"NodeGenes({len(self._genes)} nodes)"

    def __getstate__(self) -> dict[str, Any]:
        return {"genes": self._genes, "owned": self._owned}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._genes = state["genes"]
        self._dict_shared = True  # unpickled genomes may hold one dict
        self._owned = state["owned"]
        self._new_identity()
