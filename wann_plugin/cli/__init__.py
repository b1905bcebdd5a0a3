"""The ``wann`` command: ``wann run``, ``evaluate``, ``tune``, ``report``, ``render``, ``show``.

Each subcommand is one module of this package and a thin shell over the library. Options
that several subcommands share (task, task options, network, weights, seed, ``--import``)
are declared once in :mod:`wann_plugin.cli._common`.

Adding a subcommand
-------------------
1. Write ``wann_plugin/cli/NAME.py`` with ``add_parser(subparsers)``: it calls
   ``subparsers.add_parser("NAME", ...)``, adds its options (reuse ``_common``), sets
   ``func=`` to a function taking the parsed arguments and returning the exit code, and
   returns the parser. Import library modules inside ``func`` (``wann --help`` stays fast) and
   raise :class:`CliError` for bad input (one line, exit 2).
2. Add ``"NAME"`` to :data:`SUBCOMMANDS`.
``--import MODULE`` is added to every subcommand's parser by :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from wann_plugin.cli._common import CliError, Parser, add_import_argument, parse_task_options

__all__ = ["SUBCOMMANDS", "CliError", "build_parser", "import_user_code", "main",
           "parse_task_options"]

#: The subcommand modules, in the order ``wann --help`` lists them.
SUBCOMMANDS = ("init", "run", "evaluate", "tune", "report", "sweep", "render", "show")

# options whose value may start with "-" (a negative number)
_LIST_OPTIONS = ("--weights", "--weight-bias", "--seed", "--weight", "--grid")


def build_parser() -> argparse.ArgumentParser:
    """The ``wann`` parser with one subparser per module in :data:`SUBCOMMANDS`."""
    parser = Parser(
        prog="wann", description="Weight Agnostic Neural Network search for neat-python.",
        epilog="Every subcommand also takes --import MODULE (repeatable): a dotted module name "
               "or a .py file defining your own tasks, activations or classes.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"wann_plugin.cli.{name}")
        add_import_argument(module.add_parser(sub))
    return parser


def _version() -> str:
    from wann_plugin import __version__

    return __version__


def _take_imports(argv: list[str]) -> tuple[list[str], list[str]]:
    """Pull every ``--import MODULE`` (or ``--import=MODULE``) out of ``argv``."""
    rest, modules = [], []
    it = iter(argv)
    for arg in it:
        if arg == "--import":
            value = next(it, None)
            if value is None:
                raise CliError("--import needs a MODULE (a dotted name or a .py file)")
            modules.append(value)
        elif arg.startswith("--import="):
            modules.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, modules


def import_user_code(spec: str) -> None:
    """Import a module by dotted name, or a ``.py`` file by path, so that the tasks,
    activations and classes it registers or defines are known to this run."""
    import importlib.util

    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise CliError(f"--import {spec}: no such file")
        name = f"wann_user_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.parent.resolve()))
        module_spec.loader.exec_module(module)
        return
    try:
        importlib.import_module(spec)
    except ImportError as exc:
        raise CliError(f"--import {spec}: {exc}") from None


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--weights -2,-1`` -> ``--weights=-2,-1`` (argparse takes ``-2,-1`` for an option)."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in _LIST_OPTIONS:
            nxt = next(it, None)
            if nxt is not None and nxt.startswith("-") and (nxt[1:2].isdigit()
                                                            or nxt[1:2] in (".", "i", "n")):
                out.append(f"{arg}={nxt}")
                continue
            out.append(arg)
            if nxt is not None:
                out.append(nxt)
            continue
        out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wann`` console script; returns the exit code."""
    from wann_plugin.config import ConfigError
    from wann_plugin.io import NetworkFileError
    from wann_plugin.network import NetworkError
    from wann_plugin.tasks.base import TaskError

    argv = list(sys.argv[1:] if argv is None else argv)
    command_line = ["wann", *argv]
    try:
        argv, modules = _take_imports(argv)
        for spec in modules:
            import_user_code(spec)
    except CliError as exc:
        print(f"wann: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    for arg in argv:
        flag, sep, value = arg.partition("=")
        if flag.startswith("--") and sep and value == "--":  # argparse would drop the value
            command = next((a for a in argv if a in SUBCOMMANDS), "")
            print(f"wann{' ' + command if command else ''}: error: {flag} == '--', must be a "
                  f"value (see wann {command} --help)".rstrip(), file=sys.stderr)
            return 2
    args = parser.parse_args(_join_negative_values(argv))
    args.command_line = command_line
    try:
        return int(args.func(args) or 0)
    except (CliError, ConfigError, NetworkFileError, NetworkError, TaskError) as exc:
        print(f"wann {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wann {args.command}: interrupted", file=sys.stderr)
        return 130
