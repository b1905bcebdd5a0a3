"""Checkpoints of a running search, and resuming from them.

A checkpoint holds everything the rest of the run depends on, so a resumed run equals an
uninterrupted one (same populations, same stats rows, same champion):

- the population, the species set and the generation number (the *next* generation to
  evaluate, as in neat-python's Checkpointer);
- the reproduction's state: genome key counter, ancestors, the innovation tracker (shared
  with ``config.genome_config``), the last ranking objectives, the stagnation's state;
- the genome config's run state: the node key counter and the innovation tracker;
- Python's ``random`` state (neat-python draws the initial population from it) and numpy's
  global state (unused by this package, saved for user code);
- the best genome so far, the progress rows (``stats.csv``) and the top genomes of the last
  evaluated generation (champion candidates);
- the evaluator's finished results of the generation in progress when the run was
  interrupted (Ctrl-C or an error), so that work is not done twice.

Everything draws its randomness from ``(seed, generation)`` (:mod:`wann_plugin._rng`), so this
is all the state there is.

File format (version 2): a text line ``WANN-CHECKPOINT``, a JSON header line (format
version, generation, target generations, reason, the full config text, the body's size), a
line ``sha256:<hex>`` over the header line and the body (so a changed byte anywhere, the
generation or the config included, is refused), then the body: a gzip-compressed pickle.
Version 1 files (checksum over the body only) are still read.

Security: loading a checkpoint unpickles it, and unpickling can run code. The checksum guards
against damage, not against a file crafted on purpose: resume only from checkpoints you (or
someone you trust) wrote, like any pickle.

Files are written to a temporary name and renamed, so a crash leaves either the old file or the
new one. A truncated or corrupt file, or one made with another config, is refused
with an error naming the file; nothing is overwritten.

Why not neat-python's ``Checkpointer``: its ``restore_checkpoint`` restores Python's
``random`` state *before* ``Population()`` re-seeds it from ``[NEAT] seed``, and pickling the
genome config or the species set advances their key counters (``__getstate__`` calls
``next``), so a run that writes checkpoints would differ from one that does not.
"""

from __future__ import annotations

import ast
import configparser
import datetime as _dt
import gzip
import hashlib
import io as _io
import itertools
import json
import os
import pickle
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import neat
import numpy as np
from neat.reporting import BaseReporter, ReporterSet

from wann_plugin._ancestors import AncestorLog, AncestorPrefix
from wann_plugin.io import atomic_write_bytes

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Checkpointer",
    "Snapshot",
    "capture_state",
    "checkpoint_path",
    "config_differences",
    "find_checkpoint",
    "list_checkpoints",
    "read_checkpoint",
    "remove_orphans",
    "restore_population",
    "write_checkpoint",
]

MAGIC = b"WANN-CHECKPOINT\n"
FORMAT_VERSION = 2
_DIGEST = b"sha256:"
_ORPHAN = re.compile(r"^\.checkpoint-\d+\.wann\..*\.tmp$")
_NAME = re.compile(r"^checkpoint-(\d+)\.wann$")
_SUB_CONFIGS = ("genome_config", "reproduction_config", "species_set_config", "stagnation_config")
#: Keys a resumed run may change: they do not change any result.
RESUMABLE_KEYS = {("WannEvaluation", "on_error"), ("WannEvaluation", "batch_size"),
                  ("WannRun", "generations")}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (missing, truncated, corrupt, other config)."""


# ----------------------------------------------------------------------------- state
def _count_args(counter: itertools.count) -> tuple:
    """``count(5)`` -> ``(5,)`` without advancing it (from its repr)."""
    m = re.fullmatch(r"count\((.*)\)", repr(counter))
    if m is None:  # pragma: no cover - CPython's repr has been stable for decades
        raise TypeError(f"cannot read the state of {counter!r}")
    return tuple(_number(arg) for arg in m.group(1).split(","))


def _number(text: str):
    """An int or float from its repr (``ast.literal_eval`` for anything else; it is avoided
    because its nested functions leave reference cycles behind at every call)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return ast.literal_eval(text)


class _StatePickler(pickle.Pickler):
    """Pickles run state without side effects.

    - a ``ReporterSet`` (reporters hold executors, streams) is saved empty;
    - an ``itertools.count`` is saved as its next value, without advancing it;
    - objects whose ``__getstate__`` calls ``next()`` on their counters (neat-python's
      genome config and species set) get copies of the counters for that call, so the live
      ones are not advanced.
    """

    def reducer_override(self, obj):
        if isinstance(obj, ReporterSet):
            return ReporterSet, ()
        if type(obj) is itertools.count:
            return itertools.count, _count_args(obj)
        if isinstance(obj, type):
            return NotImplemented
        d = getattr(obj, "__dict__", None)
        if type(d) is dict:
            counts = {k: v for k, v in d.items() if type(v) is itertools.count}
            if counts:
                try:
                    for k, v in counts.items():
                        d[k] = itertools.count(*_count_args(v))
                    return obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
                finally:
                    d.update(counts)
        return NotImplemented


def _dumps(obj: Any) -> bytes:
    buf = _io.BytesIO()
    _StatePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _object_state(obj: Any, config: neat.Config, skip: tuple = ()) -> dict:
    subs = {id(getattr(config, name)) for name in _SUB_CONFIGS}
    return {k: v for k, v in vars(obj).items()
            if k not in ("reporters", *skip) and id(v) not in subs}


def _copy_object(obj: Any) -> Any:
    """A shallow copy that never calls ``__getstate__`` (neat-python's advance counters)."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _freeze(value: Any, memo: dict) -> Any:
    """``value`` as it is now, for a snapshot that is serialised later.

    Counters are copied at their current value, an innovation tracker with its generation
    record, containers one level deep; other values are kept by reference (they are replaced,
    not changed in place, by neat-python and this package).
    """
    if id(value) in memo:
        return memo[id(value)]
    if type(value) is itertools.count:
        frozen = itertools.count(*_count_args(value))
    elif isinstance(value, neat.InnovationTracker):
        frozen = _copy_object(value)
        frozen.generation_innovations = dict(value.generation_innovations)
    elif type(value) in (dict, list, set):
        frozen = type(value)(value)
    else:
        return value
    memo[id(value)] = frozen
    return frozen


#: Values :func:`_freeze` keeps by reference anyway (checked first: a config holds hundreds).
_KEPT_TYPES = frozenset({str, int, float, bool, type(None), tuple, frozenset, bytes})


def _freeze_state(obj: dict, memo: dict) -> dict:
    out = {}
    for k, v in obj.items():
        if type(v) in _KEPT_TYPES:
            out[k] = v
        elif k == "ancestors" and type(v) is dict:
            out[k] = _Prefix(v, len(v))  # only grows: its first n entries are the snapshot's
        elif isinstance(v, AncestorLog):
            out[k] = v.snapshot()  # arrays held, not copied (see AncestorLog.snapshot)
        else:
            out[k] = _freeze(v, memo)
    return out


@dataclass(frozen=True)
class _Prefix:
    """The first ``n`` entries of an insertion-ordered dict that only grows."""

    live: dict
    n: int

    def value(self) -> dict:
        if len(self.live) == self.n:
            return dict(self.live)
        return dict(itertools.islice(self.live.items(), self.n))


def _copy_species_set(species_set: Any, memo: dict) -> Any:
    new = _copy_object(species_set)
    for k, v in vars(species_set).items():
        if k == "species" and type(v) is dict:
            copies = {}
            for sid, sp in v.items():
                c = _copy_object(sp)
                c.members = dict(sp.members)
                c.fitness_history = list(sp.fitness_history)
                copies[sid] = c
            new.species = copies
        elif k not in ("reporters", "species_set_config"):
            setattr(new, k, _freeze(v, memo))
    return new


class Snapshot:
    """The run state of a population between generations, held cheaply until written.

    Taking one copies only what neat-python changes in place later (counters, the innovation
    tracker's record, species and their member lists, the random states, each genome's
    ``fitness`` and ``objectives``) and keeps references to the rest: no genome is copied or
    serialised. :meth:`to_bytes` serialises the state as it was when the snapshot was taken,
    also after the run has evaluated and bred further (Ctrl-C, an error).

    Parameters
    ----------
    population : neat.Population
        Between generations (e.g. from a reporter's ``start_generation``).
    progress : ProgressReporter, optional
        Its rows and top genomes are kept.
    """

    def __init__(self, population: neat.Population, *, progress=None):
        config = population.config
        repro = population.reproduction
        memo: dict = {}
        self.generation = population.generation
        self.population = dict(population.population)
        self.best_genome = population.best_genome
        self.species = _copy_species_set(population.species, memo)
        self.reproduction = _freeze_state(_object_state(repro, config, skip=("stagnation",)),
                                          memo)
        stagnation = getattr(repro, "stagnation", None)
        self.stagnation = ({} if stagnation is None
                           else _freeze_state(_object_state(stagnation, config), memo))
        self.config_state = {name: _freeze_state(dict(vars(getattr(config, name))), memo)
                             for name in _SUB_CONFIGS}
        self.seed = getattr(config, "seed", None)
        self.python_random = random.getstate()
        self.numpy_random = np.random.get_state()
        self.progress_rows = None if progress is None else (progress.rows, len(progress.rows))
        self.progress_top = None if progress is None else list(progress.top)
        genomes = [*self.population.values(), *(self.progress_top or ())]
        if self.best_genome is not None:
            genomes.append(self.best_genome)
        try:  # a genome may appear twice (a top genome in the population): restored twice
            self._scores = [(g, g.fitness, g.objectives) for g in genomes]
        except AttributeError:
            self._scores = [(g, getattr(g, "fitness", None), getattr(g, "objectives", None))
                            for g in genomes]

    def state(self) -> dict:
        """The state dict :func:`restore_population` takes (values as at the snapshot)."""
        def thaw(d: dict) -> dict:
            return {k: v.value() if isinstance(v, _Prefix | AncestorPrefix) else v
                    for k, v in d.items()}

        progress = None
        if self.progress_rows is not None:
            rows, n = self.progress_rows
            progress = {"rows": [dict(r) for r in rows[:n]], "top": list(self.progress_top)}
        return {
            "population": dict(self.population),
            "species": self.species,
            "generation": self.generation,
            "best_genome": self.best_genome,
            "reproduction": thaw(self.reproduction),
            "stagnation": thaw(self.stagnation),
            "config_state": {name: thaw(v) for name, v in self.config_state.items()},
            "seed": self.seed,
            "python_random": self.python_random,
            "numpy_random": self.numpy_random,
            "progress": progress,
        }

    def to_bytes(self) -> bytes:
        """Serialise the state as it was at the snapshot.

        Genomes are written with the ``fitness`` and ``objectives`` they had then (evaluation
        may have replaced them since; they are put back afterwards).
        """
        current = []
        for g, fitness, objectives in self._scores:
            now = (getattr(g, "fitness", None), getattr(g, "objectives", None))
            if now[0] is not fitness or now[1] is not objectives:
                current.append((g, now))
                g.fitness, g.objectives = fitness, objectives
        try:
            return _dumps(self.state())
        finally:
            for g, (fitness, objectives) in current:
                g.fitness, g.objectives = fitness, objectives


def capture_state(population: neat.Population, *, progress=None) -> bytes:
    """The run state of ``population`` (between generations) as bytes.

    Parameters
    ----------
    population : neat.Population
    progress : ProgressReporter, optional
        Its rows and top genomes are kept.
    """
    return Snapshot(population, progress=progress).to_bytes()


def _repoint(obj: Any, live: Any) -> None:
    """Attributes of ``obj`` holding an unpickled copy of the sub-config ``live`` -> ``live``."""
    for k, v in list(vars(obj).items()):
        if type(v) is type(live) and v is not live:
            setattr(obj, k, live)


def restore_population(state: dict, config: neat.Config) -> neat.Population:
    """A ``neat.Population`` in exactly the state :func:`capture_state` saw.

    ``config`` must be a fresh config equal to the checkpoint's (see
    :func:`config_differences`); its run state (key counters, innovation tracker) is set
    from the checkpoint. Python's ``random`` (and numpy's global) state are restored last,
    after ``Population()`` has re-seeded them.
    """
    for name in _SUB_CONFIGS:
        vars(getattr(config, name)).update(state["config_state"][name])
    if state.get("seed") is not None:
        config.seed = state["seed"]
    population = neat.Population(
        config, initial_state=(state["population"], state["species"], state["generation"]))
    repro = population.reproduction
    fresh = getattr(repro, "ancestors", None)
    vars(repro).update(state["reproduction"])
    if isinstance(fresh, AncestorLog) and type(repro.ancestors) is dict:
        repro.ancestors = AncestorLog(repro.ancestors)  # a checkpoint from before AncestorLog
    stagnation = getattr(population.reproduction, "stagnation", None)
    if stagnation is not None:
        vars(stagnation).update(state["stagnation"])
    _repoint(population.species, config.species_set_config)
    population.best_genome = state["best_genome"]
    random.setstate(state["python_random"])
    np.random.set_state(state["numpy_random"])
    return population


# ----------------------------------------------------------------------------- files
@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint file read and verified (header and checksum); :meth:`state` unpickles.

    Attributes
    ----------
    path : Path
    generation : int
        The next generation to evaluate.
    generations : int
        The run's target number of generations when it was written.
    reason : str
        ``periodic``, ``final``, ``interrupted`` (Ctrl-C) or ``error``.
    config_text : str
        The run's config (``wann_plugin.config.config_text``).
    header : dict
        The whole JSON header.
    """

    path: Path
    generation: int
    generations: int
    reason: str
    config_text: str
    header: dict
    body: bytes = field(repr=False)

    def state(self) -> tuple[dict, dict | None]:
        """``(state, partial results)``; raises :class:`CheckpointError` if it cannot load."""
        try:
            payload = pickle.loads(gzip.decompress(self.body))
            return pickle.loads(payload["state"]), payload.get("partial")
        except Exception as exc:
            raise CheckpointError(
                f"{self.path}: cannot load the checkpoint's state ({type(exc).__name__}: {exc}); "
                "it needs the wann_plugin and neat-python versions that wrote it "
                f"({self.header.get('wann_plugin')}, neat-python {self.header.get('neat')})"
            ) from None


def checkpoint_path(folder: str | os.PathLike, generation: int) -> Path:
    """``folder/checkpoint-000012.wann``."""
    return Path(folder) / f"checkpoint-{int(generation):06d}.wann"


def write_checkpoint(path: str | os.PathLike, *, state: bytes, generation: int, generations: int,
                     config_text: str, reason: str = "periodic",
                     partial: dict | None = None) -> Path:
    """Write a checkpoint file atomically (temporary file, fsync, rename)."""
    from wann_plugin import __version__

    body = gzip.compress(pickle.dumps({"state": state, "partial": partial},
                                      protocol=pickle.HIGHEST_PROTOCOL), compresslevel=5)
    header = {
        "format": FORMAT_VERSION,
        "generation": int(generation),
        "generations": int(generations),
        "reason": reason,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "wann_plugin": __version__,
        "neat": getattr(neat, "__version__", "?"),
        "python": sys.version.split()[0],
        "n_partial_results": len((partial or {}).get("results", {})),
        "body_size": len(body),
        "config_text": config_text,
    }
    head = json.dumps(header).encode("utf-8")
    digest = hashlib.sha256(head + b"\n" + body).hexdigest().encode("ascii")
    data = MAGIC + head + b"\n" + _DIGEST + digest + b"\n" + body
    path = atomic_write_bytes(Path(path), data)
    remove_orphans(path.parent)
    return path


def remove_orphans(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of checkpoint writes that never finished (a killed process
    leaves ``.checkpoint-NNNNNN.wann.*.tmp``); returns the deleted paths."""
    folder = Path(folder)
    removed = []
    if folder.is_dir():
        for p in folder.iterdir():
            if _ORPHAN.match(p.name):
                try:
                    p.unlink()
                    removed.append(p)
                except OSError:
                    pass
    return removed


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and verify one checkpoint file.

    Raises
    ------
    CheckpointError
        Missing file, not a checkpoint, truncated, corrupt (checksum), newer format.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc}") from None
    if not data.startswith(MAGIC):
        if data[:2] == b"\x1f\x8b":
            hint = ("; it looks like a neat-python Checkpointer file: restore it with "
                    "neat.Checkpointer.restore_checkpoint")
        elif MAGIC.startswith(data[:len(MAGIC)]):
            hint = " (truncated: the file ends inside the header)"
        else:
            hint = ""
        raise CheckpointError(f"{path}: not a wann_plugin checkpoint{hint}")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise CheckpointError(f"{path}: truncated checkpoint: the file ends inside the header")
    head = data[len(MAGIC):end]
    try:
        header = json.loads(head.decode("utf-8"))
        generation = int(header["generation"])
        size = int(header["body_size"])
        version = int(header["format"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint header ({type(exc).__name__}: {exc})"
                              ) from None
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {version} is newer than this "
                              f"wann_plugin reads ({FORMAT_VERSION}); upgrade wann_plugin")
    if version >= 2:  # the checksum covers the header (generation, config) and the body
        stop = data.find(b"\n", end + 1)
        line = data[end + 1:stop] if stop >= 0 else b""
        if stop < 0 or not line.startswith(_DIGEST):
            raise CheckpointError(f"{path}: truncated checkpoint: the file ends before its "
                                  "checksum line")
        digest, body = line[len(_DIGEST):].decode("ascii", "replace"), data[stop + 1:]
        covered = head + b"\n" + body
    else:  # format 1: the checksum covers the body only
        digest, body = str(header.get("body_sha256", "")), data[end + 1:]
        covered = body
    if len(body) < size:
        raise CheckpointError(f"{path}: truncated checkpoint: {len(body)} of {size} body bytes "
                              "(was the write interrupted?)")
    if len(body) > size or hashlib.sha256(covered).hexdigest() != digest:
        raise CheckpointError(f"{path}: corrupt checkpoint: the header or the body does not "
                              "match its SHA-256 checksum")
    return Checkpoint(path=path, generation=generation,
                      generations=int(header.get("generations", generation)),
                      reason=str(header.get("reason", "")),
                      config_text=str(header.get("config_text", "")), header=header, body=body)


def list_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """Checkpoint files in ``folder``, oldest generation first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def find_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """The checkpoint at ``path``: a checkpoint file, or the newest one in a run folder.

    Raises
    ------
    CheckpointError
        When there is none, or the newest is unusable (the message lists older ones, which
        can be passed explicitly).
    """
    path = Path(path)
    if path.is_file():
        return read_checkpoint(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such run folder or checkpoint file")
    found = list_checkpoints(path)
    if not found:
        raise CheckpointError(f"{path}: no checkpoint in this folder (checkpoint-NNNNNN.wann); "
                              "runs write one every --checkpoint-every K generations and on "
                              "Ctrl-C")
    try:
        return read_checkpoint(found[-1])
    except CheckpointError as exc:
        older = ", ".join(p.name for p in found[-4:-1][::-1])
        raise CheckpointError(f"{exc}" + (f"; older checkpoints in {path}: {older} (pass one "
                                          "as --resume FILE)" if older else "")) from None


def _config_values(text: str) -> dict:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return {(s, k): " ".join(v.split()) for s in parser.sections() for k, v in parser.items(s)}


def config_differences(saved_text: str, current_text: str) -> list[str]:
    """``["[Section] key: 'old' -> 'new'", ...]`` between two config texts, leaving out the
    keys a resumed run may change (:data:`RESUMABLE_KEYS`)."""
    old, new = _config_values(saved_text), _config_values(current_text)
    out = []
    for key in sorted(set(old) | set(new)):
        if key in RESUMABLE_KEYS or old.get(key) == new.get(key):
            continue
        out.append(f"[{key[0]}] {key[1]}: {old.get(key, '(absent)')!r} -> "
                   f"{new.get(key, '(absent)')!r}")
    return out


# ----------------------------------------------------------------------------- reporter
class Checkpointer(BaseReporter):
    """Saves the run state every ``every`` generations, and on demand (Ctrl-C, errors).

    At the start of each generation it takes a :class:`Snapshot` of the state (references and
    random states; nothing is serialised); every ``every`` generations the snapshot is written
    to ``folder/checkpoint-NNNNNN.wann``. :meth:`save` writes the latest snapshot together with
    the results the evaluator finished in the generation in progress.

    Parameters
    ----------
    folder : path-like
        The run's output folder.
    every : int or None
        Write every ``every`` generations; ``None``: only through :meth:`save`.
    config_text : str
        The run's config (compared on resume).
    generations : int
        The run's target length (a resumed run continues to it unless told otherwise).
    evaluator : WannEvaluator, optional
        Its partial results go into checkpoints written by :meth:`save`.
    progress : ProgressReporter, optional
        Its rows and top genomes go into every checkpoint.
    """

    def __init__(self, folder: str | os.PathLike, every: int | None, *, config_text: str,
                 generations: int, evaluator=None, progress=None, stream: TextIO | None = None):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise ValueError(f"checkpoint every == {every!r}, must be an int >= 1 or None")
        self.folder = Path(folder)
        self.every = every
        self.config_text = config_text
        self.generations = int(generations)
        self.evaluator = evaluator
        self.progress = progress
        self.stream = stream
        self.population: neat.Population | None = None
        self.written: list[Path] = []
        self._snapshot: Snapshot | None = None
        self._first: int | None = None

    def attach(self, population: neat.Population) -> None:
        """The population whose state is saved (call before ``population.run``); deletes
        temporary files that earlier, killed writes left in the folder."""
        self.population = population
        remove_orphans(self.folder)

    def snapshot(self) -> None:
        """Capture the state now (between generations)."""
        if self.population is None:
            raise RuntimeError("Checkpointer.attach(population) was not called")
        self._snapshot = Snapshot(self.population, progress=self.progress)

    def start_generation(self, generation: int) -> None:
        self.snapshot()
        if self._first is None:
            self._first = generation
            return
        if self.every is not None and generation % self.every == 0:
            self._write("periodic")

    def save(self, reason: str = "interrupted") -> Path | None:
        """Write the latest snapshot, with the evaluator's results of that generation."""
        if self._snapshot is None:
            return None
        return self._write(reason)

    def save_now(self, reason: str = "final") -> Path:
        """Snapshot the current state and write it (e.g. at the end of a run)."""
        self.snapshot()
        return self._write(reason)

    def _write(self, reason: str) -> Path:
        generation, state = self._snapshot.generation, self._snapshot.to_bytes()
        partial = None
        if self.evaluator is not None and reason in ("interrupted", "error"):
            partial = self.evaluator.partial_results()
            if partial.get("generation") != generation:
                partial = None
        path = write_checkpoint(checkpoint_path(self.folder, generation), state=state,
                                generation=generation, generations=self.generations,
                                config_text=self.config_text, reason=reason, partial=partial)
        self.written.append(path)
        return path
