"""The reproduction's ancestor record, kept in arrays instead of a dict.

neat-python's ``DefaultReproduction`` records every genome it ever creates in
``self.ancestors``: ``{genome key: tuple of parent keys}``. In a dict that costs about 150
bytes a genome (the entry, the key, the tuple, the parents' ints), and it only grows: the
paper's MNIST search (population 960, 4096 generations) creates 3.9 million genomes, and the
record alone held about 520 MB of the run's memory at the end. :class:`AncestorLog` is the same
mapping stored as two arrays indexed by genome key (genome keys come from one counter, so
they are consecutive): 9 bytes a genome.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, MutableMapping

__all__ = ["AncestorLog"]

_ABSENT = -1          # arity of a slot with no genome (a key the counter skipped, a deletion)
_MAX_GAP = 4096       # keys further than this past the last slot go to the dict instead
_LOW, _HIGH = -2**31, 2**31 - 1  # parents are stored as C ints ("i" arrays)


def _storable(key, value) -> bool:
    return (type(key) is int and type(value) is tuple and len(value) <= 2
            and all(type(p) is int and _LOW <= p <= _HIGH for p in value))


class AncestorLog(MutableMapping):
    """``{genome key: tuple of parent keys}`` in arrays; a drop-in for neat-python's dict.

    Keys that follow on from the last one (the genome counter's, possibly with small gaps)
    with at most two ``int`` parents are stored in arrays: ``arity[i]`` and two parent slots
    for the key ``first + i``. Anything else (other keys, other values) goes to an ordinary
    dict beside them, so every mapping operation behaves as on a dict. Iteration gives the
    array part in key order, then the rest in insertion order.

    Parameters
    ----------
    items : mapping or iterable of (key, value), optional
        Initial entries (e.g. the dict of a checkpoint written before this class existed).
    """

    __slots__ = ("_first", "_arity", "_parents", "_n", "_extra")

    def __init__(self, items: Mapping | Iterable = ()):
        self._first: int | None = None
        self._arity = array("b")
        self._parents = array("i")
        self._n = 0
        self._extra: dict = {}
        self.update(items)

    # ------------------------------------------------------------------ mapping
    def _slot(self, key) -> int:
        """Index of ``key`` in the arrays, or -1."""
        if type(key) is not int or self._first is None:
            return -1
        i = key - self._first
        if 0 <= i < len(self._arity) and self._arity[i] != _ABSENT:
            return i
        return -1

    def __getitem__(self, key):
        i = self._slot(key)
        if i < 0:
            return self._extra[key]
        arity, p = self._arity[i], self._parents
        if arity == 0:
            return ()
        if arity == 1:
            return (p[2 * i],)
        return (p[2 * i], p[2 * i + 1])

    def __setitem__(self, key, value) -> None:
        first = self._first
        if (first is not None and type(key) is int and key - first == len(self._arity)
                and not self._extra and type(value) is tuple and len(value) == 1):
            parent = value[0]  # the common case: the next key, one parent (a copied child)
            if type(parent) is int and _LOW <= parent <= _HIGH:
                self._arity.append(1)
                self._parents.append(parent)
                self._parents.append(0)
                self._n += 1
                return
        if not _storable(key, value):
            self._discard_slot(key)
            self._extra[key] = value
            return
        if self._first is None:
            self._first = key
        i, n = key - self._first, len(self._arity)
        if i < 0 or i >= n + _MAX_GAP:
            self._discard_slot(key)
            self._extra[key] = value
            return
        if self._extra:
            self._extra.pop(key, None)
        a, b = (value + (0, 0))[:2]
        if i < n:  # overwriting a slot: copy first, so snapshots keep what they saw
            self._arity, self._parents = array("b", self._arity), array("i", self._parents)
            if self._arity[i] == _ABSENT:
                self._n += 1
            self._arity[i] = len(value)
            self._parents[2 * i], self._parents[2 * i + 1] = a, b
            return
        if i > n:
            self._arity.extend([_ABSENT] * (i - n))
            self._parents.extend([0] * (2 * (i - n)))
        self._arity.append(len(value))
        self._parents.append(a)
        self._parents.append(b)
        self._n += 1

    def _discard_slot(self, key) -> None:
        i = self._slot(key)
        if i >= 0:
            self._arity = array("b", self._arity)
            self._arity[i] = _ABSENT
            self._n -= 1

    def __delitem__(self, key) -> None:
        if self._slot(key) >= 0:
            self._discard_slot(key)
        else:
            del self._extra[key]

    def __contains__(self, key) -> bool:
        return self._slot(key) >= 0 or key in self._extra

    def __iter__(self) -> Iterator:
        first, arity = self._first, self._arity
        keys = [] if first is None else [first + i for i, a in enumerate(arity) if a != _ABSENT]
        return iter(keys + list(self._extra))

    def __len__(self) -> int:
        return self._n + len(self._extra)

    def __repr__(self) -> str:
        return f"AncestorLog({len(self)} genomes)"

    def copy(self) -> AncestorLog:
        """An independent copy."""
        return AncestorLog._from_parts(self._first, array("b", self._arity),
                                       array("i", self._parents), self._n, dict(self._extra))

    # ------------------------------------------------------------------ snapshots, pickling
    def snapshot(self) -> AncestorPrefix:
        """The log as it is now, held without copying the arrays: appending later does not
        change what :meth:`AncestorPrefix.value` gives (writes to earlier entries copy the
        arrays first)."""
        return AncestorPrefix(self._first, self._arity, self._parents, len(self._arity),
                              self._n, dict(self._extra))

    @classmethod
    def _from_parts(cls, first, arity, parents, n, extra) -> AncestorLog:
        log = cls.__new__(cls)
        log._first, log._arity, log._parents, log._n, log._extra = first, arity, parents, n, extra
        return log

    def __reduce__(self):
        return (AncestorLog._from_parts,
                (self._first, self._arity, self._parents, self._n, self._extra))


class AncestorPrefix:
    """What :meth:`AncestorLog.snapshot` holds: the arrays and how much of them was there."""

    __slots__ = ("first", "arity", "parents", "length", "n", "extra")

    def __init__(self, first, arity, parents, length, n, extra):
        self.first, self.arity, self.parents = first, arity, parents
        self.length, self.n, self.extra = length, n, extra

    def value(self) -> AncestorLog:
        """The log as it was at the snapshot."""
        m = self.length
        return AncestorLog._from_parts(self.first, self.arity[:m], self.parents[:2 * m], self.n,
                                       dict(self.extra))
