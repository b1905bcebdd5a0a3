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

File format: a text line ``WANN-CHECKPOINT``, a JSON header line (format version, generation,
reason, the full config text, size and SHA-256 of the body), then the body: a gzip-compressed
pickle. Files are written to a temporary name and renamed, so a crash leaves either the old
file or the new one. A truncated or corrupt file, or one made with another config, is refused
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

from wann_plugin.io import atomic_write_bytes

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Checkpointer",
    "capture_state",
    "checkpoint_path",
    "config_differences",
    "find_checkpoint",
    "list_checkpoints",
    "read_checkpoint",
    "restore_population",
    "write_checkpoint",
]

MAGIC = b"WANN-CHECKPOINT\n"
FORMAT_VERSION = 1
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
    args = ast.literal_eval(f"({m.group(1)},)")
    return tuple(args)


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


def capture_state(population: neat.Population, *, progress=None) -> bytes:
    """The run state of ``population`` (between generations) as bytes.

    Parameters
    ----------
    population : neat.Population
    progress : ProgressReporter, optional
        Its rows and top genomes are kept.
    """
    config = population.config
    repro = population.reproduction
    state = {
        "population": population.population,
        "species": population.species,
        "generation": population.generation,
        "best_genome": population.best_genome,
        "reproduction": _object_state(repro, config, skip=("stagnation",)),
        "stagnation": _object_state(repro.stagnation, config)
        if getattr(repro, "stagnation", None) is not None else {},
        "config_state": {name: dict(vars(getattr(config, name))) for name in _SUB_CONFIGS},
        "seed": getattr(config, "seed", None),
        "python_random": random.getstate(),
        "numpy_random": np.random.get_state(),
        "progress": None if progress is None else {"rows": [dict(r) for r in progress.rows],
                                                   "top": list(progress.top)},
    }
    return _dumps(state)


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
    vars(population.reproduction).update(state["reproduction"])
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
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "config_text": config_text,
    }
    data = MAGIC + json.dumps(header).encode("utf-8") + b"\n" + body
    return atomic_write_bytes(Path(path), data)


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
    try:
        header = json.loads(data[len(MAGIC):end].decode("utf-8"))
        generation = int(header["generation"])
        size, digest = int(header["body_size"]), str(header["body_sha256"])
        version = int(header["format"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint header ({type(exc).__name__}: {exc})"
                              ) from None
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {version} is newer than this "
                              f"wann_plugin reads ({FORMAT_VERSION}); upgrade wann_plugin")
    body = data[end + 1:]
    if len(body) < size:
        raise CheckpointError(f"{path}: truncated checkpoint: {len(body)} of {size} body bytes "
                              "(was the write interrupted?)")
    if len(body) > size or hashlib.sha256(body).hexdigest() != digest:
        raise CheckpointError(f"{path}: corrupt checkpoint: the body does not match its "
                              "SHA-256 checksum")
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

    At the start of each generation it takes a snapshot of the state (cheap: one pickle in
    memory); every ``every`` generations the snapshot is written to
    ``folder/checkpoint-NNNNNN.wann``. :meth:`save` writes the latest snapshot together with
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
        self._snapshot: tuple[int, bytes] | None = None
        self._first: int | None = None

    def attach(self, population: neat.Population) -> None:
        """The population whose state is saved (call before ``population.run``)."""
        self.population = population

    def snapshot(self) -> None:
        """Capture the state now (between generations)."""
        if self.population is None:
            raise RuntimeError("Checkpointer.attach(population) was not called")
        self._snapshot = (self.population.generation,
                          capture_state(self.population, progress=self.progress))

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
        generation, state = self._snapshot
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
