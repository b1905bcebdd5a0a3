"""Loading a WANN run's config file: neat-python's sections plus ``[WannEvaluation]`` and
``[WannTask]``.

A WANN config file is a neat-python config file. neat-python reads ``[NEAT]`` and one section
per class, named after the class (``[WannGenome]``, ``[WannReproduction]``, the species set's
and the stagnation's). We add two sections of our own:

``[WannEvaluation]``
    ``weights`` (shared weight series), ``n_repeats``, ``batch_size``, ``on_error``.
``[WannTask]``
    ``name`` (a registered task) and that task's options as keys.
``[WannRun]`` (optional)
    ``generations``: how long ``wann run`` runs without ``--generations``.

The species set and stagnation classes are picked by which section the file has:
``[WannSpeciesSet]`` (ours) or neat-python's ``[DefaultSpeciesSet]``; ``[DefaultStagnation]``.
Whether breeding is speciated is ``[WannReproduction] speciation`` (default false: one species,
as in the reference); with ``speciation = false`` a ``DefaultSpeciesSet`` still groups genomes
for display only.
"""

from __future__ import annotations

import configparser
import difflib
import io as _io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import neat

from wann_plugin._config_checks import ConfigError
from wann_plugin.evaluation import DEFAULT_WEIGHTS, ON_ERROR_CHOICES, WannEvaluator
from wann_plugin.genome import WannGenome
from wann_plugin.io import atomic_write_text
from wann_plugin.reproduction import WannReproduction, WannSpeciesSet
from wann_plugin.tasks.base import Task, TaskError, make_task

__all__ = [
    "ConfigError",
    "RunSettings",
    "default_config_path",
    "load_config",
    "make_evaluator",
    "save_config",
]

EVALUATION_SECTION = "WannEvaluation"
TASK_SECTION = "WannTask"
RUN_SECTION = "WannRun"
_RUN_KEYS = ("generations",)
_EVAL_KEYS = ("weights", "n_repeats", "batch_size", "on_error")


@dataclass(frozen=True)
class RunSettings:
    """The WANN-specific settings of a config file.

    Attributes
    ----------
    weights : tuple of float
        ``[WannEvaluation] weights``, default ``-2 -1 -0.5 0.5 1 2``.
    n_repeats : int
        ``[WannEvaluation] n_repeats``, default 1.
    batch_size : int or None
        ``[WannEvaluation] batch_size``, default: chosen by the evaluator.
    on_error : str
        ``[WannEvaluation] on_error``: ``fail`` (default) or ``worst``.
    task_name : str
        ``[WannTask] name``.
    task_options : dict
        The other keys of ``[WannTask]`` (strings; converted by :func:`make_task`).
    generations : int
        ``[WannRun] generations``, default 100.
    """

    weights: tuple = DEFAULT_WEIGHTS
    n_repeats: int = 1
    batch_size: int | None = None
    on_error: str = "fail"
    task_name: str = "swingup"
    task_options: dict = field(default_factory=dict)
    generations: int = 100

    def make_task(self, **overrides: Any) -> Task:
        """Build the configured task (``overrides`` win over the file's options)."""
        return make_task(self.task_name, **{**self.task_options, **overrides})


def default_config_path() -> Path:
    """The packaged quick swing-up config that ``wann run`` uses without a CONFIG."""
    return Path(str(resources.files("wann_plugin") / "configs" / "swingup_quick.cfg"))


def _parse_eval(path: Path, section: dict) -> dict:
    out: dict[str, Any] = {}
    for key, raw in section.items():
        if key not in _EVAL_KEYS:
            hint = difflib.get_close_matches(key, _EVAL_KEYS, n=1)
            raise ConfigError(
                f"{path}: [{EVALUATION_SECTION}] has no key {key!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" (keys: {', '.join(_EVAL_KEYS)})"
            )
        where = f"{path}: [{EVALUATION_SECTION}] {key} = {raw!r}"
        try:
            if key == "weights":
                vals = tuple(float(v) for v in raw.replace(",", " ").split())
                if not vals:
                    raise ValueError
                out[key] = vals
            elif key in ("n_repeats", "batch_size"):
                v = int(raw)
                if v < 1:
                    raise ConfigError(f"{where}: must be >= 1")
                out[key] = v
            elif key == "on_error":
                if raw not in ON_ERROR_CHOICES:
                    raise ConfigError(f"{where}: must be one of {', '.join(ON_ERROR_CHOICES)}")
                out[key] = raw
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            kind = "a list of numbers" if key == "weights" else "an integer"
            raise ConfigError(f"{where}: expected {kind}") from None
    return out


def _parse_run(path: Path, section: dict) -> dict:
    out = {}
    for key, raw in section.items():
        if key not in _RUN_KEYS:
            hint = difflib.get_close_matches(key, _RUN_KEYS, n=1)
            raise ConfigError(f"{path}: [{RUN_SECTION}] has no key {key!r}"
                              + (f"; did you mean {hint[0]!r}?" if hint else ""))
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise ConfigError(f"{path}: [{RUN_SECTION}] {key} = {raw!r}: expected an integer >= 1")
        out[key] = value
    return out


def _family(base: type) -> list[type]:
    """``base`` and every subclass of it defined so far (imported modules only)."""
    out, stack = [], [base]
    while stack:
        cls = stack.pop()
        if cls not in out:
            out.append(cls)
            stack.extend(cls.__subclasses__())
    return out


_ROLE_BASES = (WannGenome, WannReproduction, WannSpeciesSet, neat.DefaultSpeciesSet,
               neat.DefaultStagnation)


def _resolve_role(path: Path, sections: list[str], role: str, bases: list[type],
                  explicit: type | None) -> type:
    """The class playing ``role``: ``explicit``, or the one whose name is a section."""
    if explicit is not None:
        if explicit.__name__ not in sections:
            raise ConfigError(f"{path}: missing section [{explicit.__name__}] for the {role} "
                              f"class {explicit.__qualname__}")
        return explicit
    by_name: dict[str, list[type]] = {}
    for base in bases:
        for cls in _family(base):
            by_name.setdefault(cls.__name__, []).append(cls)
    found = [name for name in sections if name in by_name]
    if len(found) != 1:
        choices = ", ".join(f"[{b.__name__}]" for b in bases)
        raise ConfigError(
            f"{path}: needs exactly one {role} section ({choices} or a subclass's section); "
            f"found {', '.join(f'[{f}]' for f in found) or 'none'}"
        )
    classes = list(dict.fromkeys(by_name[found[0]]))
    if len(classes) > 1:
        raise ConfigError(f"{path}: [{found[0]}] is ambiguous: classes "
                          f"{', '.join(c.__module__ + '.' + c.__qualname__ for c in classes)}; "
                          f"pass the {role} class explicitly")
    return classes[0]


def load_config(
    path: str | Path | None = None,
    *,
    genome_type: type | None = None,
    reproduction_type: type | None = None,
    species_set_type: type | None = None,
    stagnation_type: type | None = None,
) -> neat.Config:
    """Load a WANN config file into a fresh ``neat.Config``.

    The WANN settings are attached as ``config.wann`` (:class:`RunSettings`). Build a fresh
    config for every run: neat-python keeps run state (the node counter) on it.

    Each neat-python class is found by its section name: ``[WannGenome]``,
    ``[WannReproduction]``, ``[WannSpeciesSet]`` or ``[DefaultSpeciesSet]``,
    ``[DefaultStagnation]``, or the section of any imported subclass of those
    (``[MyReproduction]`` for ``class MyReproduction(WannReproduction)``). The ``*_type``
    arguments name a class explicitly instead.

    Parameters
    ----------
    path : path-like, optional
        The config file; default :func:`default_config_path`.
    genome_type, reproduction_type, species_set_type, stagnation_type : type, optional
        Classes to use instead of looking them up by section name.

    Raises
    ------
    ConfigError
        For a missing file, a missing or misspelt section, unknown keys and bad values, each
        naming the file, section and key.

    Examples
    --------
    >>> config = load_config()
    >>> config.wann.task_name, config.genome_config.num_outputs
    ('swingup', 1)
    """
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: not a valid INI file: {exc}") from None
    sections = parser.sections()
    explicit = [t for t in (genome_type, reproduction_type, species_set_type, stagnation_type) if t]
    known = {"NEAT", EVALUATION_SECTION, TASK_SECTION, RUN_SECTION,
             *(c.__name__ for base in (*_ROLE_BASES, *explicit) for c in _family(base))}
    for s in sections:
        if s not in known:
            hint = difflib.get_close_matches(s, sorted(known), n=1)
            raise ConfigError(f"{path}: unknown section [{s}]"
                              + (f"; did you mean [{hint[0]}]?" if hint else "")
                              + " (a subclass's section is known once its module is imported, "
                                "e.g. wann run --import MODULE)")
    roles = {
        "genome": _resolve_role(path, sections, "genome", [WannGenome], genome_type),
        "reproduction": _resolve_role(path, sections, "reproduction", [WannReproduction],
                                      reproduction_type),
        "species set": _resolve_role(path, sections, "species set",
                                     [WannSpeciesSet, neat.DefaultSpeciesSet], species_set_type),
        "stagnation": _resolve_role(path, sections, "stagnation", [neat.DefaultStagnation],
                                    stagnation_type),
    }
    for required in ("NEAT", TASK_SECTION):
        if required not in sections:
            raise ConfigError(f"{path}: missing section [{required}]")
    try:
        config = neat.Config(roles["genome"], roles["reproduction"], roles["species set"],
                             roles["stagnation"], str(path))
    except (RuntimeError, ValueError, TypeError, KeyError, NameError, configparser.Error) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    eval_opts = _parse_eval(path, dict(parser.items(EVALUATION_SECTION))
                            if parser.has_section(EVALUATION_SECTION) else {})
    task_opts = dict(parser.items(TASK_SECTION))
    name = task_opts.pop("name", None)
    if not name:
        raise ConfigError(f"{path}: [{TASK_SECTION}] needs a name (e.g. name = swingup)")
    run_opts = _parse_run(path, dict(parser.items(RUN_SECTION))
                          if parser.has_section(RUN_SECTION) else {})
    config.wann = RunSettings(task_name=name, task_options=task_opts, **eval_opts, **run_opts)
    config.wann_source = str(path)
    try:
        task = config.wann.make_task()
    except TaskError as exc:
        raise ConfigError(f"{path}: [{TASK_SECTION}] {exc}") from None
    gc = config.genome_config
    n_in = len(gc.input_keys) - 1
    if (task.n_inputs, task.n_outputs) != (n_in, gc.num_outputs):
        raise ConfigError(
            f"{path}: [WannGenome] num_inputs = {n_in}, num_outputs = {gc.num_outputs} but task "
            f"{name!r} has {task.n_inputs} inputs and {task.n_outputs} outputs"
        )
    return config


def make_evaluator(config: neat.Config, *, task: Task | None = None, **kwargs: Any) -> WannEvaluator:
    """A :class:`~wann_plugin.WannEvaluator` for a config from :func:`load_config`.

    ``kwargs`` (``executor``, ``seed``, ...) override the file.
    """
    settings: RunSettings = config.wann
    opts = {"batch_size": settings.batch_size, "on_error": settings.on_error, **kwargs}
    return WannEvaluator(task or settings.make_task(), settings.weights, settings.n_repeats,
                         **opts)


def config_text(config: neat.Config) -> str:
    """The config as file text: neat-python's sections, then ours (round-trips)."""
    buf = _io.StringIO()
    # neat.Config.save wants a filename; reproduce it on a buffer
    buf.write("[NEAT]\n")
    for p in config._Config__params:  # noqa: SLF001 - neat keeps its [NEAT] params private
        value = getattr(config, p.name)
        if value is not None:  # an unset optional seed is left out, not written as "None"
            buf.write(f"{p.name} = {p.format(value)}\n")
    for section, cls, cfg in (
        (config.genome_type.__name__, config.genome_type, config.genome_config),
        (config.reproduction_type.__name__, config.reproduction_type, config.reproduction_config),
        (config.species_set_type.__name__, config.species_set_type, config.species_set_config),
        (config.stagnation_type.__name__, config.stagnation_type, config.stagnation_config),
    ):
        buf.write(f"\n[{section}]\n")
        cls.write_config(buf, cfg)
    settings: RunSettings = config.wann
    buf.write(f"\n[{EVALUATION_SECTION}]\n")
    buf.write("weights = " + " ".join(repr(float(w)) for w in settings.weights) + "\n")
    buf.write(f"n_repeats = {settings.n_repeats}\n")
    if settings.batch_size is not None:
        buf.write(f"batch_size = {settings.batch_size}\n")
    buf.write(f"on_error = {settings.on_error}\n")
    buf.write(f"\n[{RUN_SECTION}]\ngenerations = {settings.generations}\n")
    buf.write(f"\n[{TASK_SECTION}]\nname = {settings.task_name}\n")
    for k, v in settings.task_options.items():
        buf.write(f"{k} = {v}\n")
    return buf.getvalue()


def save_config(config: neat.Config, path: str | Path) -> Path:
    """Write the config used by a run (atomically); :func:`load_config` reads it back."""
    return atomic_write_text(path, config_text(config))
