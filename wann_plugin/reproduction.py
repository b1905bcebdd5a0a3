"""WannReproduction: rank, cull, keep elites, breed mutated children (WANN, Gaier & Ha 2019).

One generation (reference ``_variation.py: evolvePop``; WANN_SPEC section a, steps 1-6):

1. Draw the generation's objective pair (:func:`~wann_plugin.ranking.draw_ranking_objectives`)
   and sort the genomes best-first by Pareto rank (:func:`~wann_plugin.ranking.sort_genomes`).
2. Cull the worst ``floor(cull_ratio * n)``; the rest is the breeding pool.
3. The first ``floor(n_pool * elite_ratio)`` of the pool pass on unchanged (same object, same
   key; neat-python re-evaluates them).
4. Each other slot gets a child: two tournaments of ``tournament_size`` draws with replacement
   from the pool, the better-ranked winner of each; the child is a copy of the better of the
   two winners (or, with probability ``prob_crossover``, a crossover of both with the better
   one as the fitter parent), then one structural mutation (:meth:`WannGenome.mutate`).

With ``speciation = false`` (the default, as in the reference) the whole population is one
group. Stagnation is updated (species fitness history for the reporters) but never removes a
species. With ``speciation = true`` each species is ranked and bred on its own; a species'
number of offspring is proportional to its mean fitness as in neat-python's
``DefaultReproduction.compute_spawn`` (smoothed from its previous size, at least one), and
stagnant species are dropped, except that the best one always survives.

All random draws come from ``generation_rng([NEAT] seed, generation, "reproduction")``, so
the same seed gives the same populations, also after a checkpoint restore. The initial
population draws from Python's ``random``, which neat-python's ``Population`` seeds from
``[NEAT] seed`` just before (``create_new`` is not given the seed).

Use :class:`WannSpeciesSet` as the species set: one species unless
``[WannReproduction] speciation = true``, then neat-python's speciation with its
``compatibility_threshold``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, ClassVar

import numpy as np
from neat.reproduction import DefaultReproduction
from neat.species import DefaultSpeciesSet, Species

from wann_plugin._ancestors import AncestorLog
from wann_plugin._rng import generation_rng
from wann_plugin.ranking import draw_ranking_objectives, sort_genomes
from wann_plugin.validation import Key, SectionConfig

__all__ = [
    "REPRODUCTION_KEYS",
    "SPECIES_SET_KEYS",
    "SelectionCounts",
    "WannReproduction",
    "WannSpeciesSet",
    "selection_counts",
    "tournament_parents",
]

#: Keys of the ``[WannReproduction]`` section, one :class:`~wann_plugin.Key` each; listed
#: with their defaults on :doc:`config`.
#:
#: :meta hide-value:
REPRODUCTION_KEYS = (
    Key("cull_ratio", float, 0.2, 0.0, 1.0, high_open=True,
        doc="fraction of the worst-ranked left out of the breeding pool (select_cullRatio)"),
    Key("elite_ratio", float, 0.2, 0.0, 1.0,
        doc="fraction of the pool passed on unchanged (select_eliteRatio)"),
    Key("tournament_size", int, 8, 2,
        doc="draws per tournament, with replacement from the pool (select_tournSize)"),
    Key("prob_crossover", float, 0.0, 0.0, 1.0,
        doc="chance a child is a crossover of its two parents instead of a copy"),
    Key("prob_size_objective", float, 0.8, 0.0, 1.0,
        doc="chance a generation ranks on (mean, fewer connections), else (mean, max) "
            "(alg_probMoo)"),
    Key("speciation", bool, False,
        doc="rank and breed within NEAT species instead of one population-wide group"),
)

#: Keys of the ``[WannSpeciesSet]`` section, one :class:`~wann_plugin.Key` each; listed
#: with their defaults on :doc:`config`.
#:
#: :meta hide-value:
SPECIES_SET_KEYS = (
    Key("compatibility_threshold", float, 3.0, 0.0,
        doc="neat-python's speciation threshold (used only with speciation = true)"),
)

_EPS = 1e-9  # floor(n * ratio) must not lose a unit to rounding (0.29 * 100 = 28.999...)


@dataclass(frozen=True)
class SelectionCounts:
    """How one group of genomes turns into its share of the next generation.

    Attributes
    ----------
    n_culled : int
        ``floor(cull_ratio * n_members)``, at most ``n_members - 1``.
    n_pool : int
        ``n_members - n_culled``: the ranked genomes that may be parents.
    n_elites : int
        ``floor(elite_ratio * n_pool)``, at most ``n_offspring``.
    n_children : int
        ``n_offspring - n_elites``.
    """

    n_culled: int
    n_pool: int
    n_elites: int
    n_children: int


def selection_counts(n_members: int, n_offspring: int, cull_ratio: float,
                     elite_ratio: float) -> SelectionCounts:
    """Cull, pool, elite and child counts (reference ``recombine``).

    Parameters
    ----------
    n_members : int
        Genomes in the group (>= 1).
    n_offspring : int
        Genomes the group contributes to the next generation.
    cull_ratio, elite_ratio : float
        In ``[0, 1)`` and ``[0, 1]``.

    Examples
    --------
    >>> selection_counts(192, 192, 0.2, 0.2)
    SelectionCounts(n_culled=38, n_pool=154, n_elites=30, n_children=162)
    """
    if n_members < 1:
        raise ValueError(f"cannot breed from {n_members} genomes")
    if n_offspring < 0:
        raise ValueError(f"n_offspring == {n_offspring}, must be >= 0")
    n_culled = min(math.floor(n_members * cull_ratio + _EPS), n_members - 1)
    n_pool = n_members - n_culled
    n_elites = min(math.floor(n_pool * elite_ratio + _EPS), n_offspring)
    return SelectionCounts(n_culled, n_pool, n_elites, n_offspring - n_elites)


def tournament_parents(n_pool: int, n_children: int, tournament_size: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pool positions of each child's parents (reference tournament selection).

    Two tournaments per child, each ``tournament_size`` positions drawn with replacement from
    ``range(n_pool)``; the pool is sorted best-first, so a tournament's winner is its smallest
    position.

    Returns
    -------
    better, other : ndarray of int, shape (n_children,)
        The better and the worse of the two winners (``better <= other``).
    """
    if n_pool < 1:
        raise ValueError(f"cannot hold tournaments in a pool of {n_pool}")
    win_a = rng.integers(n_pool, size=(n_children, tournament_size)).min(axis=1, initial=n_pool)
    win_b = rng.integers(n_pool, size=(n_children, tournament_size)).min(axis=1, initial=n_pool)
    return np.minimum(win_a, win_b), np.maximum(win_a, win_b)


def _speciation_enabled(config) -> bool:
    return bool(getattr(getattr(config, "reproduction_config", None), "speciation", False))


def _finite_fitness(values: Sequence[Any]) -> list[float]:
    """Fitnesses with None, NaN and infinities replaced by the worst finite one (or 0)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    worst = min(finite) if finite else 0.0
    return [float(v) if v is not None and math.isfinite(v) else worst for v in values]


def _copy_of(genome_type):
    """``copy_of(key, parent)`` for a genome type without :meth:`WannGenome.copy_of`."""
    def copy_of(key, parent):
        child = genome_type(key)
        child.configure_copy(parent)
        return child
    return copy_of


def _check_genome_type(genome_type) -> None:
    if not (hasattr(genome_type, "configure_copy") and hasattr(genome_type, "configure_new")):
        raise TypeError(
            f"WannReproduction needs a WannGenome (or subclass) as genome type, got "
            f"{getattr(genome_type, '__name__', genome_type)!r}"
        )


class WannReproduction(DefaultReproduction):
    """neat-python reproduction for WANN search; config section ``[WannReproduction]``.

    Keys (:data:`REPRODUCTION_KEYS`): ``cull_ratio`` 0.2, ``elite_ratio`` 0.2,
    ``tournament_size`` 8, ``prob_crossover`` 0.0, ``prob_size_objective`` 0.8,
    ``speciation`` false. Unknown keys and values out of range raise at config load.

    Attributes
    ----------
    reproduction_config : SectionConfig
    reporters, stagnation, genome_indexer, innovation_tracker
        As in ``neat.DefaultReproduction``.
    ancestors : AncestorLog
        ``{genome key: parent keys}`` as in ``neat.DefaultReproduction``, stored in arrays
        (9 bytes a genome instead of about 150 in a dict).
    ranking_objectives : tuple of str or None
        The objective pair drawn for the last :meth:`reproduce`.

    Notes
    -----
    Subclassing: the section is named after the class (neat-python reads ``[MyReproduction]``
    for ``class MyReproduction(WannReproduction)``). Add keys by extending
    :attr:`config_keys`; change behaviour by overriding the small hooks
    :meth:`draw_objectives`, :meth:`rank`, :meth:`select_parents` or :meth:`breed`.
    """

    #: The keys of this class's config section; a subclass extends the tuple to add its own.
    #:
    #: :meta hide-value:
    config_keys: ClassVar[tuple[Key, ...]] = REPRODUCTION_KEYS

    @classmethod
    def parse_config(cls, param_dict) -> SectionConfig:
        """Parse and check the section named after the class against :attr:`config_keys`."""
        return SectionConfig(cls.__name__, param_dict, cls.config_keys)

    @classmethod
    def write_config(cls, f: IO[str], config: SectionConfig) -> None:
        """Write the section's keys (``neat.Config.save`` round-trips)."""
        config.save(f)

    def __init__(self, config, reporters, stagnation):
        super().__init__(config, reporters, stagnation)
        self.ancestors = AncestorLog()
        self.ranking_objectives: tuple[str, ...] | None = None

    def create_new(self, genome_type, genome_config, num_genomes: int) -> dict[int, Any]:
        """``num_genomes`` fresh genomes (:meth:`WannGenome.configure_new`), keys from 1 on."""
        _check_genome_type(genome_type)
        genome_config.innovation_tracker = self.innovation_tracker
        rng = generation_rng(random.getrandbits(32), 0, "initial-population")
        new_genomes = {}
        for _ in range(num_genomes):
            key = next(self.genome_indexer)
            genome = genome_type(key)
            genome.configure_new(genome_config, rng=rng)
            new_genomes[key] = genome
            self.ancestors[key] = ()
        return new_genomes

    def reproduce(self, config, species, pop_size: int, generation: int) -> dict[int, Any]:
        """The next population: exactly ``pop_size`` genomes, elites included.

        ``species.species`` keeps the surviving species with emptied member lists (neat-python
        speciates the returned population next); it is never left empty.
        """
        _check_genome_type(config.genome_type)
        config.genome_config.innovation_tracker = self.innovation_tracker
        self.innovation_tracker.reset_generation()
        rng = generation_rng(getattr(config, "seed", None), generation, "reproduction")
        names = self.draw_objectives(generation, rng)
        self.ranking_objectives = names
        self.reporters.info(f"WANN ranking objectives: {', '.join(names)}")

        if self.reproduction_config.speciation:
            kept = self._surviving_species(species, generation)
            groups = [list(s.members.values()) for s in kept]
            spawn = self._spawn_amounts(kept, pop_size)
        else:
            kept = [s for _, s in sorted(species.species.items()) if s.members]
            if kept:
                self.stagnation.update(species, generation)  # history only, never removes
            groups = [[g for s in kept for g in s.members.values()]]
            spawn = [pop_size]
        if not kept or not groups[0]:
            raise RuntimeError("WannReproduction.reproduce: the species set holds no genomes")

        new_population: dict[int, Any] = {}
        for members, n_offspring in zip(groups, spawn, strict=True):
            new_population.update(self.breed(self.rank(members, names), n_offspring,
                                             config, rng))
        for s in kept:
            s.members = {}
        species.species = {s.key: s for s in kept}
        return new_population

    def draw_objectives(self, generation: int, rng: np.random.Generator) -> tuple[str, ...]:
        """The objectives this generation ranks on (reference ``probMoo``): with probability
        ``prob_size_objective`` (mean, fewer connections), else (mean, max)."""
        return draw_ranking_objectives(rng, self.reproduction_config.prob_size_objective)

    def rank(self, members: Sequence[Any], names: tuple[str, ...]) -> list[Any]:
        """``members`` best first on the objectives ``names`` (Pareto fronts, then crowding)."""
        return sort_genomes(members, names)

    def select_parents(self, n_pool: int, n_children: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Pool positions of each child's parents: ``(better, other)``, arrays of length
        ``n_children``. Default: two tournaments of ``tournament_size`` draws each."""
        return tournament_parents(n_pool, n_children, self.reproduction_config.tournament_size,
                                  rng)

    def breed(self, ranked: Sequence[Any], n_offspring: int, config,
              rng: np.random.Generator) -> dict[int, Any]:
        """One group's share of the next generation: its elites and ``n_children`` children.

        Parameters
        ----------
        ranked : sequence of genome
            The group, best first.
        n_offspring : int
            Genomes to return (elites included).
        config : neat.Config
        rng : numpy.random.Generator
        """
        cfg = self.reproduction_config
        counts = selection_counts(len(ranked), n_offspring, cfg.cull_ratio, cfg.elite_ratio)
        pool = list(ranked[:counts.n_pool])
        offspring = {g.key: g for g in pool[:counts.n_elites]}
        better, other = self.select_parents(counts.n_pool, counts.n_children, rng)
        crossover = rng.random(counts.n_children) < cfg.prob_crossover
        copy_of = getattr(config.genome_type, "copy_of", None) or _copy_of(config.genome_type)
        for b, o, cross in zip(np.asarray(better).tolist(), np.asarray(other).tolist(),
                               crossover.tolist(), strict=True):
            gid = next(self.genome_indexer)
            parent, mate = pool[b], pool[o]
            if cross:
                child = config.genome_type(gid)
                child.configure_crossover(parent, mate, config.genome_config, rng=rng,
                                          first_is_fitter=True)
                self.ancestors[gid] = (parent.key, mate.key)
            else:
                child = copy_of(gid, parent)
                self.ancestors[gid] = (parent.key,)
            child.mutate(config.genome_config, rng=rng)
            offspring[gid] = child
        return offspring

    def _surviving_species(self, species, generation: int) -> list[Species]:
        """Non-stagnant species with members, sorted by key; the best if all stagnate."""
        results = list(self.stagnation.update(species, generation))
        alive = [s for _, s, stagnant in results if not stagnant and s.members]
        if not alive:
            candidates = [s for _, s, _ in results if s.members]
            if not candidates:
                return []
            scores = _finite_fitness([s.fitness for s in candidates])
            alive = [max(zip(scores, candidates, strict=True),
                         key=lambda p: (p[0], -p[1].key))[1]]
        for sid, s, stagnant in results:
            if stagnant and s not in alive:
                self.reporters.species_stagnant(sid, s)
        return sorted(alive, key=lambda s: s.key)

    def _spawn_amounts(self, kept: Sequence[Species], pop_size: int) -> list[int]:
        """Offspring per species, proportional to adjusted mean fitness (neat-python's rule)."""
        if not kept:
            return []
        fits = _finite_fitness([m.fitness for s in kept for m in s.members.values()])
        lo, hi = min(fits), max(fits)
        span = max(1.0, hi - lo)
        adjusted, start = [], 0
        for s in kept:
            mine = fits[start:start + len(s.members)]
            start += len(s.members)
            s.adjusted_fitness = (sum(mine) / len(mine) - lo) / span
            adjusted.append(s.adjusted_fitness)
        sizes = [len(s.members) for s in kept]
        spawn = self.compute_spawn(adjusted, sizes, pop_size, 1)
        return self._adjust_spawn_exact(spawn, pop_size, 1)


class WannSpeciesSet(DefaultSpeciesSet):
    """Species set for WANN runs; config section ``[WannSpeciesSet]`` (may be empty).

    Puts every genome into one species unless ``[WannReproduction] speciation = true``; then
    it speciates like ``neat.DefaultSpeciesSet`` with ``compatibility_threshold`` (default 3.0)
    on :meth:`WannGenome.distance` (activation and enabled-flag differences, disjoint genes).
    """

    #: The keys of this class's config section; a subclass extends the tuple to add its own.
    #:
    #: :meta hide-value:
    config_keys: ClassVar[tuple[Key, ...]] = SPECIES_SET_KEYS

    @classmethod
    def parse_config(cls, param_dict) -> SectionConfig:
        """Parse and check the ``[WannSpeciesSet]`` section."""
        return SectionConfig(cls.__name__, param_dict, cls.config_keys)

    @classmethod
    def write_config(cls, f: IO[str], config: SectionConfig) -> None:
        """Write the section's keys."""
        config.save(f)

    def speciate(self, config, population: dict, generation: int) -> None:
        """One species holding ``population``, or NEAT speciation when it is switched on."""
        if _speciation_enabled(config):
            super().speciate(config, population, generation)
            return
        if not population:
            raise ValueError("cannot speciate an empty population")
        sid = min(self.species) if self.species else next(self.indexer)
        s = self.species.get(sid) or Species(sid, generation)
        keys = sorted(population)
        s.update(population[keys[0]], {k: population[k] for k in keys})
        self.species = {sid: s}
        self.genome_to_species = {k: sid for k in keys}
