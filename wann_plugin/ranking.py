"""Objectives of a genome and their Pareto ranking (NSGA-II fronts, crowding distance).

Gaier & Ha (2019) rank on several objectives (reference ``wann.py: probMoo``,
``nsga_sort.py``): once per generation a draw picks the pair that is ranked,

- with probability ``prob_size_objective`` (0.8): mean performance and fewer connections;
- otherwise: mean performance and best-weight performance.

Fronts come from DEAP's ``sortLogNondominated`` (Fortin et al. 2013); inside each front,
genomes are ordered by crowding distance [Deb2002], largest first, each objective's gaps
normalised by ``1 / (max - min)`` of that front, ties broken by genome id. (The reference
scales by ``|1/max - min|``, an operator-precedence slip; not copied.)

Directions are folded into signs once (``+mean, +max, -n_connections``) so every objective is
maximised. A NaN counts as the worst value; infinities are replaced by finite stand-ins just
beyond the finite values of their column, which keeps every comparison and keeps crowding
finite.

[Deb2002] Deb, Pratap, Agarwal, Meyarivan (2002), "A fast and elitist multiobjective genetic
algorithm: NSGA-II", IEEE TEC 6(2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
from deap.tools import sortLogNondominated

__all__ = [
    "OBJECTIVE_SIGNS",
    "PERFORMANCE_OBJECTIVES",
    "SIZE_OBJECTIVES",
    "Objectives",
    "clean_objectives",
    "crowding_distance",
    "draw_ranking_objectives",
    "genome_objectives",
    "objective_matrix",
    "pareto_fronts",
    "pareto_order",
    "pareto_rank",
    "rank_genomes",
    "signs_of",
    "sort_genomes",
]

#: Sign that makes each objective "higher is better".
OBJECTIVE_SIGNS: dict[str, float] = {"mean": 1.0, "max": 1.0, "n_connections": -1.0}
#: Drawn with probability ``prob_size_objective``: mean performance, fewer connections.
SIZE_OBJECTIVES: tuple[str, str] = ("mean", "n_connections")
#: Drawn otherwise: mean performance, best single-weight performance.
PERFORMANCE_OBJECTIVES: tuple[str, str] = ("mean", "max")


@dataclass(frozen=True)
class Objectives:
    """What the evaluator measured on one genome.

    Attributes
    ----------
    mean : float
        Mean score over the shared weights (also ``genome.fitness``).
    max : float
        Score of the best single shared weight.
    n_connections : int
        Enabled connections of the compiled network.
    per_weight : tuple of float
        Score per shared weight, in the evaluator's weight order.
    """

    mean: float
    max: float
    n_connections: int
    per_weight: tuple[float, ...] = ()


def genome_objectives(genome: Any) -> Objectives:
    """``genome.objectives``, or stand-ins from ``genome.fitness`` when there are none.

    A plain neat-python fitness function sets only ``fitness``; then ``mean = max = fitness``
    and ``n_connections`` counts the enabled connection genes.

    Raises
    ------
    ValueError
        If the genome has neither objectives nor a fitness.
    """
    obj = getattr(genome, "objectives", None)
    if obj is not None:
        return obj
    fitness = getattr(genome, "fitness", None)
    if fitness is None:
        raise ValueError(
            f"genome {getattr(genome, 'key', '?')} has no objectives and no fitness; "
            "the fitness function must set them on every genome"
        )
    n_conn = sum(1 for cg in getattr(genome, "connections", {}).values() if cg.enabled)
    return Objectives(float(fitness), float(fitness), n_conn, ())


def objective_matrix(objectives: Sequence[Objectives], names: Sequence[str]) -> np.ndarray:
    """Raw values ``(n_genomes, len(names))`` of the named objectives (not signed)."""
    _check_names(names)
    get = attrgetter(*names)
    rows = map(get, objectives) if len(names) > 1 else ((v,) for v in map(get, objectives))
    return np.array(list(rows), dtype=float).reshape(len(objectives), len(names))


def _check_names(names: Sequence[str]) -> None:
    bad = [n for n in names if n not in OBJECTIVE_SIGNS]
    if bad or not names:
        raise ValueError(f"unknown objective names {bad or names!r}; "
                         f"choose from {sorted(OBJECTIVE_SIGNS)}")


def signs_of(names: Sequence[str]) -> np.ndarray:
    """The signs of the named objectives, shape ``(len(names),)``."""
    _check_names(names)
    return np.array([OBJECTIVE_SIGNS[n] for n in names])


def clean_objectives(signed: np.ndarray) -> np.ndarray:
    """A finite copy of ``signed`` (maximised objectives) that compares the same way.

    NaN becomes the worst value of its column. ``-inf`` (and NaN) become ``lo - span``,
    ``+inf`` becomes ``hi + span``, where ``lo``, ``hi`` are the column's finite extremes
    and ``span = hi - lo`` (1 if that is 0).

    Examples
    --------
    >>> clean_objectives(np.array([[1.0], [np.nan], [3.0], [np.inf]])).ravel().tolist()
    [1.0, -1.0, 3.0, 5.0]
    """
    values = np.array(signed, dtype=float, copy=True)
    if values.ndim != 2:
        raise ValueError(f"objectives must be (n_genomes, n_objectives), got shape {values.shape}")
    values[np.isnan(values)] = -np.inf
    for col in values.T:
        finite = col[np.isfinite(col)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        span = hi - lo if hi > lo else 1.0
        col[col == -np.inf] = lo - span
        col[col == np.inf] = hi + span
    return values


class _Individual:
    """The least DEAP's sorting needs: ``ind.fitness.wvalues`` (all maximised); the
    individual is its own fitness."""

    __slots__ = ("wvalues", "index")

    def __init__(self, index: int, wvalues: tuple[float, ...]):
        self.index = index
        self.wvalues = wvalues

    @property
    def fitness(self) -> _Individual:
        return self


def pareto_fronts(signed: np.ndarray) -> list[np.ndarray]:
    """Row indices of each non-dominated front of ``signed``, best front first.

    Parameters
    ----------
    signed : ndarray of shape (n_genomes, n_objectives)
        Finite values, every objective maximised (see :func:`clean_objectives`).

    Returns
    -------
    list of ndarray of int
        Each front's row indices, ascending. Rows with equal values share a front.

    Examples
    --------
    >>> pts = np.array([[1, 1], [2, 2], [3, 0], [0, 3], [1, 0]])
    >>> [f.tolist() for f in pareto_fronts(pts)]
    [[1, 2, 3], [0], [4]]
    """
    values = np.asarray(signed, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"objectives must be (n_genomes, n_objectives), got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("objectives must be finite; pass them through clean_objectives first")
    if len(values) == 0:
        return []
    front_of = _front_numbers(values)
    rows = np.argsort(front_of, kind="stable")  # by front, then row
    return np.split(rows, np.cumsum(np.bincount(front_of))[:-1])


def _front_numbers(values: np.ndarray) -> np.ndarray:
    """The front (0 = best) of every row of finite, maximised ``values``, from DEAP."""
    n = len(values)
    if values.shape[1] == 1:
        return np.unique(-values[:, 0], return_inverse=True)[1].reshape(n)
    individuals = [_Individual(i, row) for i, row in enumerate(map(tuple, values.tolist()))]
    front_of = [0] * n
    for number, front in enumerate(sortLogNondominated(individuals, n)):
        for ind in front:
            front_of[ind.index] = number
    return np.array(front_of, dtype=np.intp)


def crowding_distance(front: np.ndarray) -> np.ndarray:
    """Crowding distance of each row of one front [Deb2002].

    Per objective, rows are sorted (stably) by value; both ends get ``inf`` and every inner
    row adds ``(next - previous) / (max - min)``. An objective with ``max == min`` adds 0.

    Parameters
    ----------
    front : ndarray of shape (n_members, n_objectives)

    Returns
    -------
    ndarray of shape (n_members,)

    Examples
    --------
    >>> points = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    >>> crowding_distance(points).tolist()
    [inf, 1.5, 1.5, inf]
    """
    values = np.asarray(front, dtype=float)
    n = len(values)
    dist = np.zeros(n)
    if n == 0:
        return dist
    for col in values.T:
        order = np.argsort(col, kind="stable")
        dist[order[0]] = dist[order[-1]] = np.inf
        lo, hi = col[order[0]], col[order[-1]]
        if hi > lo and n > 2:
            dist[order[1:-1]] += (col[order[2:]] - col[order[:-2]]) / (hi - lo)
    return dist


def pareto_order(signed: np.ndarray, ids: Sequence[Any] | None = None) -> np.ndarray:
    """Row indices best-first: fronts in order, each by crowding (largest first), then id.

    Parameters
    ----------
    signed : ndarray of shape (n_genomes, n_objectives)
        Every objective maximised; NaN allowed (worst).
    ids : sequence of int, optional
        Genome ids for the tie-break (default: row numbers). The result does not depend on
        the order of the rows, only on their values and ids.

    Returns
    -------
    ndarray of int, shape (n_genomes,)
    """
    values = clean_objectives(signed)
    n = len(values)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    if ids.shape != (n,):
        raise ValueError(f"{n} genomes but ids of shape {ids.shape}")
    if n == 0:
        return np.array([], dtype=int)
    # every front at once: rows by (front, id); per objective, :func:`crowding_distance`'s
    # stable sort inside each front is a sort by (front, value, position by id)
    front_of = _front_numbers(values)
    rows = np.argsort(front_of, kind="stable")
    front_of = front_of[rows]
    by_id = np.lexsort((ids[rows], front_of))
    rows, front_of = rows[by_id], front_of[by_id]
    sizes = np.bincount(front_of)
    first = np.cumsum(sizes) - sizes
    last = first + sizes - 1
    n_rows = len(rows)
    dist = np.zeros(n_rows)
    position = np.arange(n_rows)
    for col in values[rows].T:
        order = np.lexsort((position, col, front_of))
        dist[order[first]] = dist[order[last]] = np.inf
        ranked = col[order]
        span = (ranked[last] - ranked[first])[front_of]
        inner = np.ones(n_rows, dtype=bool)
        inner[first] = inner[last] = False
        inner &= (span > 0) & (sizes[front_of] > 2)
        at = np.flatnonzero(inner)
        dist[order[at]] += (ranked[at + 1] - ranked[at - 1]) / span[at]
    return rows[np.lexsort((ids[rows], -dist, front_of))]


def pareto_rank(signed: np.ndarray, ids: Sequence[Any] | None = None) -> np.ndarray:
    """Rank of every row, 0 = best: the position of the row in :func:`pareto_order`.

    Examples
    --------
    >>> pareto_rank(np.array([[1.0, -3.0], [1.0, -2.0], [0.0, -5.0]])).tolist()
    [1, 0, 2]
    """
    order = pareto_order(signed, ids)
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(len(order))
    return rank


def draw_ranking_objectives(rng: np.random.Generator,
                            prob_size_objective: float = 0.8) -> tuple[str, str]:
    """The generation's draw: :data:`SIZE_OBJECTIVES` with probability ``prob_size_objective``,
    else :data:`PERFORMANCE_OBJECTIVES` (reference ``alg_probMoo``)."""
    if not 0.0 <= prob_size_objective <= 1.0:
        raise ValueError(f"prob_size_objective == {prob_size_objective}, must be in [0, 1]")
    return SIZE_OBJECTIVES if rng.random() < prob_size_objective else PERFORMANCE_OBJECTIVES


def _ids(genomes: Sequence[Any]) -> np.ndarray:
    keys = [getattr(g, "key", None) for g in genomes]
    if all(isinstance(k, (int, np.integer)) for k in keys):
        return np.array(keys, dtype=np.int64)
    return np.arange(len(genomes))


def sort_genomes(genomes: Sequence[Any], names: Sequence[str] = SIZE_OBJECTIVES) -> list[Any]:
    """A new list of ``genomes``, best first, by Pareto rank on the named objectives.

    Parameters
    ----------
    genomes : sequence of genome
        Each with ``objectives`` (or a ``fitness``, see :func:`genome_objectives`).
    names : sequence of str, default=("mean", "n_connections")
        Keys of :data:`OBJECTIVE_SIGNS`.
    """
    genomes = list(genomes)
    raw = objective_matrix([genome_objectives(g) for g in genomes], names)
    order = pareto_order(raw * signs_of(names), _ids(genomes))
    return [genomes[i] for i in order]


def rank_genomes(genomes: Sequence[Any], rng: np.random.Generator,
                 prob_size_objective: float = 0.8) -> list[Any]:
    """Draw the generation's objective pair with ``rng``, then :func:`sort_genomes`.

    Examples
    --------
    >>> from types import SimpleNamespace as G
    >>> a = G(key=1, objectives=Objectives(1.0, 2.0, 5))
    >>> b = G(key=2, objectives=Objectives(1.0, 2.0, 3))
    >>> [g.key for g in rank_genomes([a, b], np.random.default_rng(0), 1.0)]
    [2, 1]
    """
    return sort_genomes(genomes, draw_ranking_objectives(rng, prob_size_objective))
