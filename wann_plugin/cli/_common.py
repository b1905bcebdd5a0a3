"""What every ``wann`` subcommand shares: the error type, the task, network, weights, seed,
``--import`` and output options, and reading ``KEY=VALUE`` items.

Subcommand modules import from here, never from the package (``wann_plugin.cli``), so the
package can import them without a cycle.
"""

from __future__ import annotations

import argparse
import re

import numpy as np

from wann_plugin.validation import Key

__all__ = ["DEFAULT_WEIGHTS_TEXT", "CliError", "Parser", "add_import_argument",
           "add_network_argument", "add_seed_argument", "add_task_arguments",
           "add_weights_argument", "flag_type", "note", "parse_settings", "parse_task_options",
           "task_and_network", "task_names", "weights_value"]

DEFAULT_WEIGHTS_TEXT = "-2,-1,-0.5,0.5,1,2"


class CliError(Exception):
    """A user error reported as one line on stderr with exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``wann run: error: --seed == -1, must be >= 0.``"""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        m = re.match(r"argument ([^:]+): (.*)$", message, flags=re.S)
        if m:
            flags, rest = m.group(1), m.group(2)
            first = flags.split("/")[0]
            message = rest if rest.startswith(first) else f"{first}: {rest}"
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def flag_type(key: Key):
    """An argparse ``type=`` that converts and checks a flag's text with a :class:`Key`
    (``key.name`` is the flag, e.g. ``Key("--episodes", int, 100, low=1)``)."""

    def convert(text: str):
        try:
            return key.parse("", text, error=ValueError)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("[] ")) from None

    convert.__name__ = key.type.__name__  # argparse names the type in some messages
    return convert


def check_threads_flag(task, threads: int, instead: str | None = None) -> None:
    """:func:`~wann_plugin.evaluation.check_threads` for ``--threads N``: a task that is not
    thread-safe is a :class:`CliError` naming the flag (and what to do ``instead``)."""
    from wann_plugin.evaluation import check_threads

    try:
        check_threads(task, threads, setting=f"--threads {threads}", instead=instead)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def parse_settings(items: list[str] | None, flag: str = "--set") -> dict[str, dict[str, str]]:
    """``["NEAT.pop_size=64", "WannRun.generations=5"]`` -> ``{"NEAT": {"pop_size": "64"},
    "WannRun": {"generations": "5"}}``.

    Raises
    ------
    CliError
        For an item that is not ``SECTION.KEY=VALUE``.
    """
    out: dict[str, dict[str, str]] = {}
    for item in items or []:
        target, sep, value = item.partition("=")
        section, dot, key = target.strip().rpartition(".")
        if not sep or not dot or not section or not key:
            raise CliError(f"{flag} {item!r}: expected SECTION.KEY=VALUE, e.g. NEAT.pop_size=64")
        out.setdefault(section, {})[key.strip()] = value.strip()
    return out


def parse_task_options(items: list[str] | None, flag: str = "--task-option") -> dict:
    """``["fall_penalty=false", "max_steps=200"]`` -> ``{"fall_penalty": "false", ...}``.

    Raises
    ------
    CliError
        For an item without ``=`` or with an empty key.
    """
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def note(text: str) -> None:
    """One ``note:`` line on stderr (a mismatch the user should know about)."""
    import sys

    print(f"note: {text}", file=sys.stderr, flush=True)


def task_and_network(args):
    """``(task, LoadedNetwork, task_name, task_options)`` for ``NETWORK [--task T]
    [--task-option K=V ...]``.

    A network saved by ``wann run`` or ``wann tune`` records its task and task options: they
    are the default, ``--task-option`` values override single options, and a ``--task`` or
    option that differs from the recorded one is named in a ``note:`` line. A reference
    ``.out`` file records no task and needs ``--task``.
    """
    from pathlib import Path

    from wann_plugin.io import NetworkFileError, load_network
    from wann_plugin.tasks import make_task

    path = Path(args.network)
    given = parse_task_options(args.task_option)
    loaded = None
    try:
        with path.open("rb") as f:
            is_json = f.read(64).lstrip().startswith(b"{")
    except OSError:
        is_json = False  # load_network names the problem
    if is_json or args.task is None:
        loaded = load_network(path) if is_json else None
    meta = loaded.meta if loaded is not None and isinstance(loaded.meta, dict) else {}
    own_task = meta.get("task") if isinstance(meta.get("task"), str) else None
    own_opts = meta.get("task_options") if isinstance(meta.get("task_options"), dict) else {}
    own_opts = {str(k): str(v) for k, v in own_opts.items()}
    if args.task is None:
        if not path.is_file():
            load_network(path)  # raises: no such network file
        if own_task is None:
            raise CliError(f"{path}: the file records no task; give --task (one of "
                           f"{', '.join(task_names())})")
        name, options = own_task, {**own_opts, **given}
    elif own_task is not None and own_task != args.task:
        note(f"{path.name} was found on task {own_task!r}"
             + (f" with {_opts_text(own_opts)}" if own_opts else "")
             + f"; scoring it on {args.task!r} as asked (--task)")
        name, options = args.task, given
    else:
        name, options = args.task, {**own_opts, **given}
    changed = {k: v for k, v in given.items() if k in own_opts and own_opts[k] != v}
    if changed and name == own_task:
        note(f"{path.name} was found with {_opts_text({k: own_opts[k] for k in changed})}; "
             f"using {_opts_text(changed)} as asked (--task-option)")
    task = make_task(name, **options)
    if loaded is None:
        loaded = load_network(path, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
    elif (loaded.net.n_inputs, loaded.net.n_outputs) != (task.n_inputs, task.n_outputs):
        raise NetworkFileError(
            f"{path}: network has {loaded.net.n_inputs} inputs and {loaded.net.n_outputs} "
            f"outputs, task {name!r} needs {task.n_inputs} and {task.n_outputs}; is the task "
            "right for this network?")
    return task, loaded, name, options


def _opts_text(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def weights_value(text: str) -> np.ndarray:
    """``"-2,-1,0.5"`` -> ``array([-2., -1., 0.5])`` (argparse ``type=``); finite numbers only."""
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one weight")
    if not np.all(np.isfinite(vals)):
        raise argparse.ArgumentTypeError(f"{text!r}: every weight must be a finite number")
    return np.asarray(vals)


def task_names() -> list[str]:
    """The registered task names (the library's registry, user tasks included)."""
    from wann_plugin.tasks import TASKS

    return sorted(TASKS)


def add_task_arguments(parser: argparse.ArgumentParser, *, required: bool = True,
                       default_note: str = "") -> None:
    """``--task`` and repeatable ``--task-option KEY=VALUE``."""
    parser.add_argument("--task", required=required, default=None,
                        help=f"registered task: {', '.join(task_names())}{default_note}")
    parser.add_argument("--task-option", action="append", metavar="KEY=VALUE", default=[],
                        help="a task option (repeatable), e.g. max_steps=200")


def add_network_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``NETWORK`` (a reference ``.out`` file or our JSON)."""
    parser.add_argument("network", help="a reference .out file or a wann_plugin JSON network")


def add_weights_argument(parser: argparse.ArgumentParser) -> None:
    """``--weights W1,W2,...``: the shared weight series."""
    parser.add_argument("--weights", type=weights_value, default=weights_value(DEFAULT_WEIGHTS_TEXT),
                        help=f"shared weights, comma-separated (default {DEFAULT_WEIGHTS_TEXT})")


def add_seed_argument(parser: argparse.ArgumentParser, default: int | None, help: str) -> None:
    """``--seed N`` (a whole number >= 0)."""
    parser.add_argument("--seed", type=flag_type(Key("--seed", int, default, low=0)),
                        default=default, help=help)


def add_import_argument(parser: argparse.ArgumentParser) -> None:
    """List ``--import MODULE`` in a subcommand's help (``main`` handles it before parsing)."""
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="MODULE",
                        help="import a dotted module or a .py file first (repeatable): your "
                             "own tasks, activations or classes")
