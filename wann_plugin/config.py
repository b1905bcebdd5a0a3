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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import neat

from wann_plugin.evaluation import DEFAULT_WEIGHTS, ON_ERROR_CHOICES, WannEvaluator
from wann_plugin.genome import WannGenome
from wann_plugin.io import atomic_write_text
from wann_plugin.reproduction import WannReproduction, WannSpeciesSet, selection_counts
from wann_plugin.tasks.base import Task, TaskError, make_task
from wann_plugin.validation import REQUIRED, ConfigError, Key, parse_section, write_section

__all__ = [
    "EVALUATION_KEYS",
    "NEAT_KEYS",
    "RUN_KEYS",
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

#: ``[WannEvaluation]``: how every genome is scored.
#:
#: :meta hide-value:
EVALUATION_KEYS = (
    Key("weights", tuple, DEFAULT_WEIGHTS, item=float,
        doc="the shared weight series every genome is scored on"),
    Key("n_repeats", int, 1, low=1, doc="episodes per genome and weight"),
    Key("batch_size", int, None, low=1, optional=True,
        doc="genomes per batch (default: chosen by the evaluator)"),
    Key("on_error", str, "fail", choices=ON_ERROR_CHOICES,
        doc="what a task exception on a genome does"),
)
#: ``[WannRun]``: settings of ``wann run``.
#:
#: :meta hide-value:
RUN_KEYS = (Key("generations", int, 100, low=1, doc="generations without --generations"),)
#: ``[NEAT]``: neat-python's own keys, checked here first so that a bad value gets one line.
#:
#: :meta hide-value:
NEAT_KEYS = (
    Key("pop_size", int, low=1, doc="genomes per generation"),
    Key("fitness_criterion", str, choices=("max", "min", "mean"),
        doc="how the population's fitness is compared with fitness_threshold"),
    Key("fitness_threshold", float, finite=False, doc="stop when reached"),
    Key("reset_on_extinction", bool),
    Key("no_fitness_termination", bool, False),
    Key("seed", int, None, low=0, optional=True, doc="the run's seed"),
)
#: neat-python's ``[DefaultStagnation]``, checked the same way.
#:
#: :meta hide-value:
STAGNATION_KEYS = (
    Key("species_fitness_func", str, "mean", choices=("min", "max", "mean", "median", "median2")),
    Key("max_stagnation", int, 15, low=1),
    Key("species_elitism", int, 0, low=0),
)
#: neat-python's ``[DefaultSpeciesSet]``.
#:
#: :meta hide-value:
DEFAULT_SPECIES_SET_KEYS = (Key("compatibility_threshold", float, REQUIRED, low=0.0,
                                low_open=True),)


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
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    task: str | None = None,
    task_options: Mapping[str, str] | None = None,
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
    overrides : mapping, optional
        ``{section: {key: text}}`` replacing or adding keys of the file before anything is
        parsed (``wann run --set NEAT.pop_size=64``).
    task : str, optional
        Replace ``[WannTask]``: this task, with ``task_options``; the genome's
        ``num_inputs``/``num_outputs`` are set to the task's (``wann run --task``).
    task_options : mapping, optional
        Task options (text); with ``task``, the whole option set, else added to the file's.
    genome_type, reproduction_type, species_set_type, stagnation_type : type, optional
        Classes to use instead of looking them up by section name.

    Raises
    ------
    ConfigError
        For a missing or unreadable file, a missing or misspelt section, unknown keys and bad
        values, each naming the file, section and key (and the value and what is allowed).

    Examples
    --------
    >>> config = load_config()
    >>> config.wann.task_name, config.genome_config.num_outputs
    ('swingup', 1)
    """
    path = Path(path) if path is not None else default_config_path()
    parser = _read_ini(path)
    _apply_overrides(path, parser, overrides, task, task_options)
    return _build_config(path, parser, genome_type, reproduction_type, species_set_type,
                         stagnation_type)


def _read_ini(path: Path) -> configparser.ConfigParser:
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                          "save the file as UTF-8") from None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{path}: not a valid INI file: {detail}") from None
    return parser


def _apply_overrides(path: Path, parser: configparser.ConfigParser,
                     overrides: Mapping[str, Mapping[str, str]] | None, task: str | None,
                     task_options: Mapping[str, str] | None) -> None:
    for section, items in (overrides or {}).items():
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in items.items():
            parser.set(section, key.strip().lower(), str(value))
    if task is not None:
        if parser.has_section(TASK_SECTION):
            parser.remove_section(TASK_SECTION)
        parser.add_section(TASK_SECTION)
        parser.set(TASK_SECTION, "name", task)
    for key, value in (task_options or {}).items():
        if not parser.has_section(TASK_SECTION):
            parser.add_section(TASK_SECTION)
        parser.set(TASK_SECTION, key.strip().lower(), str(value))
    if task is not None:  # fit the genome to the task's inputs and outputs
        options = {k: v for k, v in parser.items(TASK_SECTION) if k != "name"}
        try:
            built = make_task(task, **options)
        except TaskError as exc:
            raise ConfigError(f"--task {task}: {exc}") from None
        genome = next((s for s in parser.sections()
                       if s in {c.__name__ for c in _family(WannGenome)}), None)
        if genome is not None:
            parser.set(genome, "num_inputs", str(built.n_inputs))
            parser.set(genome, "num_outputs", str(built.n_outputs))


def _check_neat_sections(path: Path, parser: configparser.ConfigParser, roles: dict) -> None:
    """neat-python's own sections, checked with our keys first: one line per bad value."""
    checks = [("NEAT", NEAT_KEYS)]
    if roles["stagnation"] is neat.DefaultStagnation:
        checks.append(("DefaultStagnation", STAGNATION_KEYS))
    if roles["species set"] is neat.DefaultSpeciesSet:
        checks.append(("DefaultSpeciesSet", DEFAULT_SPECIES_SET_KEYS))
    for section, keys in checks:
        try:
            parse_section(section, dict(parser.items(section)), keys)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def _build_config(path, parser, genome_type, reproduction_type, species_set_type,
                  stagnation_type) -> neat.Config:
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
    _check_neat_sections(path, parser, roles)
    try:
        with tempfile.TemporaryDirectory(prefix="wann-config-") as tmp:
            # neat-python reads a file by name: hand it the (possibly overridden) text as UTF-8
            text_path = Path(tmp) / path.name
            with open(text_path, "w", encoding="utf-8") as f:
                parser.write(f)
            config = neat.Config(roles["genome"], roles["reproduction"], roles["species set"],
                                 roles["stagnation"], str(text_path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (RuntimeError, ValueError, TypeError, KeyError, NameError, configparser.Error) as exc:
        raise ConfigError(f"{path}: {' '.join(str(exc).split())}") from None
    try:
        eval_opts = parse_section(EVALUATION_SECTION, dict(parser.items(EVALUATION_SECTION))
                                  if parser.has_section(EVALUATION_SECTION) else {},
                                  EVALUATION_KEYS)
        run_opts = parse_section(RUN_SECTION, dict(parser.items(RUN_SECTION))
                                 if parser.has_section(RUN_SECTION) else {}, RUN_KEYS)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    task_opts = dict(parser.items(TASK_SECTION))
    name = task_opts.pop("name", None)
    if not name:
        raise ConfigError(f"{path}: [{TASK_SECTION}] name is missing, must be a registered task "
                          f"(e.g. name = swingup)")
    config.wann = RunSettings(task_name=name, task_options=task_opts, **eval_opts, **run_opts)
    config.wann_source = str(path)
    try:
        task = config.wann.make_task()
    except TaskError as exc:
        where = "" if str(exc).startswith("[") else f"[{TASK_SECTION}] "
        raise ConfigError(f"{path}: {where}{exc}") from None
    _check_breeding(path, config, roles["reproduction"].__name__)
    gc = config.genome_config
    n_in = len(gc.input_keys) - 1
    if (task.n_inputs, task.n_outputs) != (n_in, gc.num_outputs):
        raise ConfigError(
            f"{path}: [{roles['genome'].__name__}] num_inputs = {n_in}, num_outputs = "
            f"{gc.num_outputs} but task {name!r} has {task.n_inputs} inputs and "
            f"{task.n_outputs} outputs"
        )
    return config


def _check_breeding(path: Path, config: neat.Config, section: str) -> None:
    """Reject a reproduction setting that keeps every genome unchanged (a frozen search)."""
    rc = config.reproduction_config
    cull, elite = getattr(rc, "cull_ratio", None), getattr(rc, "elite_ratio", None)
    if cull is None or elite is None:
        return
    counts = selection_counts(config.pop_size, config.pop_size, cull, elite)
    if counts.n_children == 0:
        raise ConfigError(
            f"{path}: [{section}] elite_ratio == {elite:g} with cull_ratio == {cull:g} and "
            f"pop_size == {config.pop_size} keeps all {counts.n_elites} genomes as elites and "
            "breeds no children: the search cannot change; lower elite_ratio or raise cull_ratio")


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
    write_section(buf, {k.name: getattr(settings, k.name) for k in EVALUATION_KEYS},
                  EVALUATION_KEYS)
    buf.write(f"\n[{RUN_SECTION}]\n")
    write_section(buf, {k.name: getattr(settings, k.name) for k in RUN_KEYS}, RUN_KEYS)
    buf.write(f"\n[{TASK_SECTION}]\nname = {settings.task_name}\n")
    for k, v in settings.task_options.items():
        buf.write(f"{k} = {v}\n")
    return buf.getvalue()


def save_config(config: neat.Config, path: str | Path) -> Path:
    """Write the config used by a run (atomically); :func:`load_config` reads it back."""
    return atomic_write_text(path, config_text(config))
