"""What every ``wann`` subcommand shares: the error type, the task, network, weights, seed,
``--import`` and output options, and reading ``KEY=VALUE`` items.

Subcommand modules import from here, never from the package (``wann_plugin.cli``), so the
package can import them without a cycle.
"""

from __future__ import annotations

import argparse

import numpy as np

__all__ = ["DEFAULT_WEIGHTS_TEXT", "CliError", "add_import_argument", "add_network_argument",
           "add_seed_argument", "add_task_arguments", "add_weights_argument",
           "parse_task_options", "task_names", "weights_value"]

DEFAULT_WEIGHTS_TEXT = "-2,-1,-0.5,0.5,1,2"


class CliError(Exception):
    """A user error reported as one line on stderr with exit code 2."""


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
    """``--seed N``."""
    parser.add_argument("--seed", type=int, default=default, help=help)


def add_import_argument(parser: argparse.ArgumentParser) -> None:
    """List ``--import MODULE`` in a subcommand's help (``main`` handles it before parsing)."""
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="MODULE",
                        help="import a dotted module or a .py file first (repeatable): your "
                             "own tasks, activations or classes")
