"""Options and helpers that ``wann tune`` and ``wann report`` share: the network, task,
tuning method (read from the tuning registry), budget and progress lines."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from wann_plugin.cli._common import (
    CliError,
    add_network_argument,
    add_seed_argument,
    add_task_arguments,
    check_threads_flag,
    flag_type,
    parse_task_options,
    task_and_network,
)
from wann_plugin.validation import Key

__all__ = ["add_tuning_arguments", "differentiable_note", "load_task_and_network", "output_path",
           "progress_printer", "tuning_kwargs"]


def tuning_methods() -> tuple[str, ...]:
    """The tuning methods the library knows (its registry, user methods included)."""
    from wann_plugin.tuning import TUNING_METHODS

    return tuple(TUNING_METHODS)


def describe_methods() -> str:
    """Every registered method with its presets and options (``--list-methods``)."""
    from wann_plugin.tuning import LOOP_OPTIONS, TUNING_METHODS

    lines = []
    for m in TUNING_METHODS.values():
        lines.append(f"{m.name}: {m.summary}")
        for name, values in m.presets.items():
            text = ", ".join(f"{k}={v}" for k, v in values.items()) or "the options' defaults"
            lines.append(f"  preset {name}: {text}")
        for info in m.options().values():
            lines.append(f"  --option {info.describe()}")
    lines.append("loop options (any method): " + ", ".join(
        f"{k} ({v})" for k, v in LOOP_OPTIONS.items()))
    return "\n".join(lines)


class _ListMethods(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(describe_methods())
        parser.exit()


class _MethodAction(argparse.Action):
    """``--method M``: the method, and that it was chosen (``args.method_given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.method_given = True


def differentiable_note(args, task) -> str | None:
    """A note for ``wann tune`` without ``--method`` on a task with exact gradients (it
    offers ``loss_gradient``): gradient training is the method such a task is tuned with."""
    from wann_plugin.tasks.base import Task

    if getattr(args, "method_given", True) or \
            getattr(type(task), "loss_gradient", None) is Task.loss_gradient:
        return None
    return (f"note: task {task.name!r} has exact gradients: --method adam trains these weights "
            f"by gradient descent (on our digits champion it went further than {args.method} "
            f"in a seventh of the time; docs: Tuning, \"Trained weights\")")


def add_tuning_arguments(p: argparse.ArgumentParser) -> None:
    """Network, task and tuning options of ``wann tune`` and ``wann report``.

    The method names, presets and options come from the tuning registry
    (:data:`wann_plugin.tuning.TUNING_METHODS`)."""
    add_network_argument(p)
    add_task_arguments(p, required=False,
                       default_note=" (default: the task the network file records)")
    p.add_argument("--method", choices=tuning_methods(), default="cma", action=_MethodAction,
                   help="tuning method (default cma; --list-methods shows each one's options)")
    p.set_defaults(method_given=False)
    p.add_argument("--list-methods", action=_ListMethods,
                   help="list the tuning methods with their presets and options, and exit")
    p.add_argument("--preset", default="default",
                   help="the method's named preset (default: 'default'; 'reference' for the "
                        "WANN reference's PEPG or CMA budget)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", default=[],
                   help="a method option (repeatable), e.g. pop_size=32 or sigma=auto")
    p.add_argument("--generations", type=flag_type(Key("--generations", int, None, low=0)),
                   default=None,
                   help="tuning generations per run (default: the preset's; cma 1200)")
    add_seed_argument(p, 0, "seed of every random draw (default 0)")
    p.add_argument("--weight-bias", type=flag_type(Key("--weight-bias", float, None)),
                   default=None, metavar="W",
                   help="start every connection at shared weight W (the reference: -1.5 for "
                        "swing-up); default: the best shared weight")
    p.add_argument("--repeats", type=flag_type(Key("--repeats", int, None, low=1)),
                   default=None,
                   help="training episodes per candidate (default: the preset's; cma 16, "
                        "the reference 4)")
    p.add_argument("--restarts", type=flag_type(Key("--restarts", int, None, low=0)),
                   default=None,
                   help="extra runs from the best weights so far (default: the preset's, 0)")
    p.add_argument("--pop-size", type=flag_type(Key("--pop-size", int, None, low=2)),
                   default=None,
                   help="shortcut for --option pop_size=N")
    p.add_argument("--sigma", default=None,
                   help="shortcut for --option sigma=S (a number, or auto)")
    p.add_argument("--validation-episodes",
                   type=flag_type(Key("--validation-episodes", int, None, low=1)), default=None,
                   help="episodes that pick the returned weights (default 64)")
    p.add_argument("--threads", type=flag_type(Key("--threads", int, 1, low=1)), default=1,
                   help="score each generation's samples on N threads (default 1): the "
                        "swing-up and classification tasks; the same result as on one")


def load_task_and_network(args):
    """``(task, LoadedNetwork, task_name, task_options)``: the network's own task by default
    (:func:`~wann_plugin.cli._common.task_and_network`); ``--threads`` is checked against the
    task before any work."""
    loaded = task_and_network(args)
    check_threads_flag(loaded[0], args.threads, instead="tune it without --threads")
    return loaded


def output_path(args, default: Path, what: str) -> Path:
    """``--out`` or ``default`` (beside the network); an existing one only with
    ``--overwrite``."""
    out = Path(args.out) if args.out else default
    if out.exists() and not args.overwrite:
        raise CliError(f"--out {out}: {what} exists; choose another --out or replace it with "
                       "--overwrite")
    parent = out.parent if what == "the file" else out
    if parent.exists() and not parent.is_dir():
        raise CliError(f"--out {out}: {parent} is a file, not a folder")
    return out


def tuning_kwargs(args) -> dict:
    """Keyword arguments of :func:`~wann_plugin.tuning.tune_weights` from the flags:
    ``method``, ``preset``, ``options`` (parsed to each option's type) and the loop budget."""
    from wann_plugin.tuning import (
        LOOP_OPTIONS,
        OptionInfo,
        get_tuning_method,
        parse_option_value,
    )

    method = get_tuning_method(args.method)
    known = method.options()
    items = parse_task_options(args.option, flag="--option")
    origin = {key: f"--option {key}={value}" for key, value in items.items()}
    for flag, key, name in ((args.pop_size, "pop_size", "--pop-size"),
                            (args.sigma, "sigma", "--sigma")):
        if flag is not None:
            items[key] = str(flag)
            origin[key] = f"{name} {flag!r}"
    options: dict[str, Any] = {}
    kw: dict[str, Any] = {"method": args.method, "preset": args.preset, "options": options}
    try:
        for key, text in items.items():
            if key in known:
                options[key] = parse_option_value(known[key], text)
            elif key in LOOP_OPTIONS:
                kw[key] = parse_option_value(OptionInfo(key, "int", None, ""), text)
            else:
                method.split({key: None}, where="--option")  # raises with a close match
        method.resolve(options, args.preset)
    except ValueError as exc:
        message = " ".join(str(exc).split())
        source = next((text for key, text in origin.items() if key in message), None)
        raise CliError(f"{source}: {message}" if source else message) from None
    for name, key, low in (("generations", "generations", 0), ("repeats", "n_repeats", 1),
                           ("validation_episodes", "n_validation", 1),
                           ("restarts", "restarts", 0)):
        value = getattr(args, name)
        if value is None:
            continue
        if value < low:
            raise CliError(f"--{name.replace('_', '-')} == {value}, must be >= {low}")
        kw[key] = value
    kw["threads"] = args.threads
    return kw


def progress_printer(stream, label: str = ""):
    """A tuning ``callback`` printing one line per generation to ``stream``."""
    def show(rec) -> None:
        if rec.generation == 0:
            print(f"{label}start: validation {rec.validation:.4g}", file=stream, flush=True)
            return
        val = f"  validation {rec.validation:.4g}" if np.isfinite(rec.validation) else ""
        print(f"{label}gen {rec.generation:4d}  episodes {rec.n_episodes:7d}  best "
              f"{rec.best:.4g}  mean {rec.mean:.4g}{val}  ({rec.seconds:.1f} s)",
              file=stream, flush=True)
    return show
