"""The tuning methods by name: the one place a method is declared.

:func:`~wann_plugin.tuning.tune_weights`, ``wann tune``/``wann report`` (their ``--method``
choices and ``--option KEY=VALUE`` flags) and the docs all read :data:`TUNING_METHODS`. A method
is a :class:`TuningMethod`: a name, the frozen dataclasses whose fields are its options (with
their types, defaults and help), a factory that builds the ask/tell
:class:`~wann_plugin.tuning.Strategy`, named presets of option values and loop budgets, and
what it needs from the task (recorded inputs for the safe mutations, a loss gradient for
gradient training).

Adding a method is one call::

    register_tuning_method(TuningMethod(
        name="my-es", summary="...", params=(MyParams,),
        build=lambda net, params, hooks: MyEs(*params)))

Option names are shared across methods: ``pop_size`` (samples or individuals per
generation), ``sigma`` (initial perturbation size), ``learning_rate``, ``weight_decay``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tuning._base import Strategy

__all__ = ["LOOP_OPTIONS", "TUNING_METHODS", "Hooks", "OptionInfo", "TuningMethod",
           "get_tuning_method", "parse_option_value", "register_tuning_method"]

#: Options of the tuning loop itself (not of a method), with their meaning; every preset may
#: set them.
LOOP_OPTIONS = {
    "generations": "ask/tell rounds",
    "n_repeats": "training episodes (or batches) per candidate",
    "n_validation": "validation episodes that pick the returned weights",
    "validate_every": "generations between validations",
    "restarts": "extra runs from the best weights so far, each with the full budget",
    "starts": "shared-weight peaks raced when no start is given (the best goes on)",
    "probe_generations": "generations each raced start runs before the best goes on",
}


@dataclass(frozen=True)
class Hooks:
    """What the loop offers a strategy beyond the network.

    Attributes
    ----------
    experience_fn : callable or None
        ``experience_fn(conn_weights, seed) -> (n, n_inputs)``: inputs the network saw
        (safe mutations).
    gradient_fn : callable or None
        ``gradient_fn(conn_weights, seed, batch_size) -> (loss, grad)``: a mini-batch loss
        and its gradient with respect to the connection weights (gradient training).
    """

    experience_fn: Callable[[np.ndarray, int], np.ndarray] | None = None
    gradient_fn: Callable[[np.ndarray, int, int], tuple[float, np.ndarray]] | None = None


@dataclass(frozen=True)
class OptionInfo:
    """One option of a method: its name, type text, default and help (for the CLI and docs)."""

    name: str
    type: str
    default: Any
    help: str

    def describe(self) -> str:
        """``name (type, default X): help``."""
        return f"{self.name} ({self.type}, default {self.default!r}): {self.help}"


@dataclass(frozen=True)
class TuningMethod:
    """A tuning method: how to build it, its options and presets.

    Parameters
    ----------
    name : str
        What ``method=`` and ``--method`` take.
    summary : str
        One line for ``wann tune --list-methods`` and the docs.
    params : tuple of dataclass types
        Frozen dataclasses whose fields are the method's options (their ``metadata["help"]``
        is the help text). :meth:`make` builds one instance of each from the options.
    build : callable
        ``build(net, params, hooks) -> Strategy`` with ``params`` the instances, in order.
    fixed : mapping, optional
        Field values the method sets itself (hidden from the options), e.g. the mutation
        operator of ``sm-r``.
    presets : mapping of str to mapping, optional
        Named option values; may also set :data:`LOOP_OPTIONS`. ``"default"`` is used when no
        preset is named (an empty one is added if missing).
    needs_experiences, needs_gradient : bool, default=False
        Whether the task must offer ``sample_inputs`` or ``loss_gradient``.
    """

    name: str
    summary: str
    params: tuple
    build: Callable[[WannNetwork, tuple, Hooks], Strategy]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    needs_experiences: bool = False
    needs_gradient: bool = False

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"TuningMethod.name must be a non-empty string, got {self.name!r}")
        for cls in self.params:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"TuningMethod {self.name!r}: params must be dataclass types, "
                                f"got {cls!r}")
        presets = {k: dict(v) for k, v in self.presets.items()}
        presets.setdefault("default", {})
        object.__setattr__(self, "presets", presets)
        for pname, values in presets.items():
            self.split(values, where=f"preset {pname!r}")

    def options(self) -> dict[str, OptionInfo]:
        """The method's options by name (fields of ``params`` minus ``fixed``)."""
        out: dict[str, OptionInfo] = {}
        for cls in self.params:
            for f in dataclasses.fields(cls):
                if f.name in self.fixed or f.name in out:
                    continue
                default = f.default if f.default is not dataclasses.MISSING else None
                helps = _docstring_help(cls)
                kind = f.type.__name__ if isinstance(f.type, type) else str(f.type)
                out[f.name] = OptionInfo(f.name, kind, default,
                                         f.metadata.get("help") or helps.get(f.name, ""))
        return out

    def split(self, values: Mapping[str, Any], *, where: str = "options"
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``values`` as (method options, loop options); unknown names raise with a hint."""
        opts = self.options()
        method, loop = {}, {}
        for key, value in values.items():
            if key in LOOP_OPTIONS:
                loop[key] = value
            elif key in opts:
                method[key] = value
            else:
                known = sorted(opts) + sorted(LOOP_OPTIONS)
                hint = difflib.get_close_matches(str(key), known, n=1)
                raise ValueError(
                    f"[{self.name}] {where}: unknown option {key!r}"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + f" (options: {', '.join(known)})")
        return method, loop

    def resolve(self, options: Mapping[str, Any] | None = None, preset: str = "default"
                ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The preset's values overridden by ``options``: (method options, loop options)."""
        if preset not in self.presets:
            hint = difflib.get_close_matches(str(preset), list(self.presets), n=1)
            raise ValueError(f"[{self.name}] preset == {preset!r}"
                             + (f"; did you mean {hint[0]!r}?" if hint else "")
                             + f" (presets: {', '.join(self.presets)})")
        return self.split({**self.presets[preset], **dict(options or {})})

    def make_params(self, options: Mapping[str, Any]) -> tuple:
        """One instance of each ``params`` class from method ``options`` (and ``fixed``)."""
        values = {**dict(options), **dict(self.fixed)}
        out = []
        for cls in self.params:
            names = {f.name for f in dataclasses.fields(cls)}
            out.append(cls(**{k: v for k, v in values.items() if k in names}))
        return tuple(out)

    def make(self, net: WannNetwork, options: Mapping[str, Any] | None = None, *,
             hooks: Hooks | None = None) -> Strategy:
        """The strategy for ``net`` with these method options (no loop options)."""
        method_opts, loop = self.split(dict(options or {}))
        if loop:
            raise ValueError(f"[{self.name}] {sorted(loop)} are loop options: pass them to "
                             "tune_weights, not to the strategy")
        hooks = hooks or Hooks()
        if self.needs_experiences and hooks.experience_fn is None:
            raise ValueError(f"method {self.name!r} needs experience_fn(conn_weights, seed) -> "
                             "inputs the network saw (see collect_experiences)")
        if self.needs_gradient and hooks.gradient_fn is None:
            raise ValueError(f"method {self.name!r} needs gradient_fn(conn_weights, seed, "
                             "batch_size) -> (loss, grad)")
        return self.build(net, self.make_params(method_opts), hooks)


def _docstring_help(cls: type) -> dict[str, str]:
    """First sentence of each entry of a numpy-style ``Parameters`` section, by name."""
    out: dict[str, str] = {}
    names: list[str] = []
    for line in (cls.__doc__ or "").splitlines():
        m = _PARAM_LINE.match(line)
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
            continue
        text = line.strip()
        if names and text and line.startswith("        "):
            for n in names:
                if n not in out:
                    out[n] = text.split(". ")[0].rstrip(".")
            names = []
    return out


_PARAM_LINE = re.compile(r"^    (\w+(?:, \w+)*) : ")

#: Registered tuning methods by name (filled by :mod:`wann_plugin.tuning.methods`).
TUNING_METHODS: dict[str, TuningMethod] = {}


def register_tuning_method(method: TuningMethod, *, replace: bool = False) -> TuningMethod:
    """Add ``method`` to :data:`TUNING_METHODS` (``replace=True`` to redefine a name)."""
    if not isinstance(method, TuningMethod):
        raise TypeError(f"expected a TuningMethod, got {type(method).__name__}")
    if method.name in TUNING_METHODS and not replace:
        raise ValueError(f"tuning method {method.name!r} is already registered; pass "
                         "replace=True to redefine it")
    TUNING_METHODS[method.name] = method
    return method


def get_tuning_method(name: str) -> TuningMethod:
    """The registered method ``name``; an unknown name raises with a close match."""
    if isinstance(name, TuningMethod):
        return name
    try:
        return TUNING_METHODS[name]
    except (KeyError, TypeError):
        hint = difflib.get_close_matches(str(name), list(TUNING_METHODS), n=1)
        raise ValueError(f"method == {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                         + f" (choices: {', '.join(TUNING_METHODS)})") from None


#: The value that asks the loop to choose an option itself (``sigma="auto"``: see
#: :func:`~wann_plugin.tuning.auto_sigma`), and the options that take it.
AUTO = "auto"
AUTO_OPTIONS = ("sigma",)

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def parse_option_value(info: OptionInfo, text: str) -> Any:
    """Convert command-line ``text`` to the option's type (``int``, ``float``, ``bool``,
    ``str``; ``none`` where the type allows ``None``)."""
    t = info.type.replace(" ", "")
    parts = t.split("|")
    value = text.strip()
    if info.name in AUTO_OPTIONS and value.lower() == AUTO:
        return AUTO
    if "None" in parts and value.lower() == "none":
        return None
    base = next((p for p in parts if p != "None"), "str")
    try:
        if base == "bool":
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError
        if base == "int":
            return int(value)
        if base == "float":
            return float(value)
    except ValueError:
        allowed = ({"bool": "true or false", "int": "an integer", "float": "a number"}[base]
                   + (" or none" if "None" in parts else "")
                   + (f" or {AUTO}" if info.name in AUTO_OPTIONS else ""))
        raise ValueError(f"option {info.name} == {text!r}, must be {allowed}") from None
    return value
