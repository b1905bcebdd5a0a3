"""One validation vocabulary: parameters declared once, checked the same way everywhere.

A :class:`Key` declares one parameter: its name, type, typed default, range or choices. The
same declaration serves

- a config file section (:func:`parse_section` converts the file's strings, rejects unknown
  keys with a close match, and :func:`write_section` writes the values back);
- a Python constructor (:func:`validate_params` checks already typed arguments);
- task options given as text (``[WannTask]`` keys, ``--task-option KEY=VALUE``):
  :func:`key_for_default` declares a key from a keyword's default, and :meth:`Key.parse`
  converts the text with the one set of true/false words (:data:`TRUE_WORDS`,
  :data:`FALSE_WORDS`).

Every rejected value gets one message format, naming where it came from, the key, the value
and what is allowed::

    [WannReproduction] tournament_size == 1, must be a whole number >= 2.

Defaults are typed Python values, never strings, so an omitted boolean cannot come back as the
truthy string ``'false'`` (neat-python 2.0's ``single_structural_mutation`` bug).

Examples
--------
>>> keys = [Key("n_repeats", int, 1, low=1), Key("on_error", str, "fail",
...                                               choices=("fail", "worst"))]
>>> parse_section("WannEvaluation", {"n_repeats": "3"}, keys)
{'n_repeats': 3, 'on_error': 'fail'}
>>> try:
...     validate_params("WannEvaluator", keys, {"n_repeats": 0})
... except InvalidParameterError as exc:
...     print(exc)
[WannEvaluator] n_repeats == 0, must be >= 1.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from neat.config import UnknownConfigItemError

__all__ = [
    "FALSE_WORDS",
    "REQUIRED",
    "TRUE_WORDS",
    "ConfigError",
    "InvalidParameterError",
    "Key",
    "SectionConfig",
    "UnknownConfigKeyError",
    "check_known_keys",
    "key_for_default",
    "parse_bool",
    "parse_section",
    "validate_params",
    "write_section",
]

#: The words read as true and false, in config files and task options alike.
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


class InvalidParameterError(ValueError, TypeError):
    """A parameter value that cannot be used (both a ``ValueError`` and a ``TypeError``, as
    scikit-learn's); the message names ``[owner] key``, the value and what is allowed."""


class ConfigError(InvalidParameterError):
    """A config value that cannot be used; the message names ``[section] key`` and the value."""


class UnknownConfigKeyError(ConfigError, UnknownConfigItemError):
    """A key the section does not know (also a neat-python ``UnknownConfigItemError``)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks a key without a default: the config file (or the caller) must give it.
REQUIRED: Any = _Required()


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        return f"{float(x):g}"
    return repr(x)


def parse_bool(text: Any) -> bool | None:
    """``True``/``False`` for a true/false word (any case, surrounding space ignored) or a
    ``bool``; ``None`` for anything else."""
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


@dataclass(frozen=True)
class Key:
    """One parameter: name, type, typed default and what values are allowed.

    Attributes
    ----------
    name : str
        The key as written in the file or the keyword (lower case).
    type : type
        ``int``, ``float``, ``bool``, ``str`` or ``tuple`` (space-separated words; their type
        is ``item``).
    default : object
        The typed default, or :data:`REQUIRED`.
    low, high : float or None
        Bounds (``None``: unbounded); inclusive unless ``low_open`` / ``high_open``.
    high_open, low_open : bool
        Exclude the bound itself.
    choices : tuple of str, optional
        The allowed values of a ``str`` key.
    optional : bool
        ``None`` is allowed (and means "not given").
    finite : bool
        For ``float``: reject ``inf`` too (``nan`` is always rejected).
    item : type
        The type of a ``tuple`` key's items: ``str`` or ``float``.
    doc : str
        One line for the config reference.
    """

    name: str
    type: type
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    doc: str = ""
    choices: tuple | None = None
    optional: bool = False
    finite: bool = True
    low_open: bool = False
    item: type = str

    def range_text(self) -> str:
        """The allowed range in words, e.g. ``in [0, 1]`` or ``>= 2``."""
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        if self.low is not None and self.high is not None:
            return f"in {lo}{_num(self.low)}, {_num(self.high)}{hi}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {_num(self.high)}"
        return ""

    def requirement(self) -> str:
        """What the value must be, in words: ``a whole number >= 1``, ``one of fail, worst``."""
        if self.choices is not None:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        elif self.type is bool:
            text = "true or false"
        elif self.type is int:
            text = "a whole number"
        elif self.type is float:
            text = "a finite number" if self.finite else "a number (not nan)"
        elif self.type is tuple:
            text = ("one or more finite numbers" if self.item is float
                    else "one or more words") + " separated by spaces"
        else:
            text = "a non-empty text"
        rng = self.range_text() if self.type in (int, float) else ""
        return f"{text} {rng}".strip() + (" (or left out)" if self.optional else "")

    def error(self, section: str, value: Any, error: type = ConfigError,
              must: str | None = None) -> Exception:
        """The one-line error for ``value``: ``[section] key == value, must be ...``."""
        return error(f"[{section}] {self.name} == {_num(value)}, "
                     f"must be {must or self.requirement()}.")

    # -- from text (config files, task options, command lines) -------------------------
    def parse(self, section: str, raw: Any, error: type = ConfigError) -> Any:
        """Typed value of ``raw`` (text from a file, or an already typed value).

        Raises
        ------
        ConfigError
            (or ``error``) If ``raw`` is not of this key's type or not allowed.
        """
        if raw is None and self.optional:
            return None
        value = self._convert(section, raw, error)
        self.check(section, value, error)
        return value

    def _convert(self, section: str, raw: Any, error: type) -> Any:
        if self.type is bool:
            value = parse_bool(raw)
            if value is None:
                raise self.error(section, raw, error)
            return value
        if self.type is int:
            if isinstance(raw, bool):
                raise self.error(section, raw, error)
            if isinstance(raw, numbers.Integral):
                return int(raw)
            try:
                return int(str(raw).strip())
            except ValueError:
                raise self.error(section, raw, error) from None
        if self.type is float:
            if isinstance(raw, bool):
                raise self.error(section, raw, error)
            try:
                return float(raw if isinstance(raw, numbers.Real) else str(raw).strip())
            except ValueError:
                raise self.error(section, raw, error) from None
        if self.type is tuple:
            words = (tuple(raw) if isinstance(raw, (tuple, list))
                     else tuple(str(raw).replace(",", " ").split() if self.item is float
                                else str(raw).split()))
            if self.item is float:
                try:
                    return tuple(float(w) for w in words)
                except (TypeError, ValueError):
                    raise self.error(section, raw, error) from None
            return words
        if self.type is str:
            return str(raw).strip()
        raise TypeError(f"key {self.name!r}: unsupported type {self.type!r}")

    # -- typed values (Python constructors) ----------------------------------------------
    def check(self, section: str, value: Any, error: type = ConfigError) -> None:
        """Raise ``error`` if the typed ``value`` is not allowed (range, choices, finite)."""
        if value is None and self.optional:
            return
        if self.type in (int, float):
            if self.type is float and (math.isnan(value) or (self.finite
                                                             and not math.isfinite(value))):
                raise self.error(section, value, error)
            too_low = self.low is not None and (value <= self.low if self.low_open
                                                else value < self.low)
            too_high = self.high is not None and (value >= self.high if self.high_open
                                                  else value > self.high)
            if too_low or too_high:
                raise self.error(section, value, error, must=self.range_text())
        elif self.type is tuple:
            if not value or (self.item is float and not all(math.isfinite(v) for v in value)):
                raise self.error(section, " ".join(_num(v) for v in value) or "", error)
        elif self.type is str:
            if not value or (self.choices is not None and value not in self.choices):
                raise self.error(section, value, error)

    def validate(self, section: str, value: Any, error: type = InvalidParameterError) -> Any:
        """``value`` checked strictly as a Python argument (no text conversion); returns it
        normalised (``numpy`` scalars to ``int``/``float``, sequences to tuples)."""
        if value is None and self.optional:
            return None
        ok = {
            bool: lambda v: isinstance(v, (bool,)) or type(v).__name__ == "bool_",
            int: lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool),
            float: lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
            str: lambda v: isinstance(v, str),
            tuple: lambda v: isinstance(v, (tuple, list)) or type(v).__name__ == "ndarray",
        }[self.type](value)
        if not ok:  # the value as given (8.0 for an int key, not the 8 of _num)
            raise error(f"[{section}] {self.name} == {value!r}, must be {self.requirement()}.")
        if self.type is tuple:
            value = tuple(value)
            if self.item is float:
                if not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           for v in value):
                    raise self.error(section, value, error)
                value = tuple(float(v) for v in value)
        elif self.type in (int, float, bool):
            value = self.type(value)
        self.check(section, value, error)
        return value

    def format(self, value: Any) -> str:
        """The value as written back to a config file (parses back to ``value``)."""
        if self.type is tuple:
            return " ".join(repr(float(v)) if self.item is float else str(v) for v in value)
        if self.type is bool:
            return "true" if value else "false"
        if self.type is float:
            return repr(float(value))
        return str(value)


def key_for_default(name: str, default: Any) -> Key | None:
    """The :class:`Key` a keyword argument's default implies (``bool``, ``int``, ``float``,
    ``str``), or ``None`` when the default says nothing about the type (``None``, objects).
    Task options given as text convert through it."""
    for kind in (bool, int, float, str):
        if isinstance(default, kind):
            return Key(name, kind, default, finite=False) if kind is float else Key(
                name, kind, default)
    return None


def check_known_keys(
    section: str,
    params: Iterable[str],
    keys: Iterable[Key],
    hints: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`UnknownConfigKeyError` for the first key of ``params`` not in ``keys``.

    Parameters
    ----------
    section : str
        Section name for the message.
    params : iterable of str
        The keys found in the file.
    keys : iterable of Key
        The section's declared keys.
    hints : mapping, optional
        Extra advice for known foreign keys (e.g. a neat-python key with a WANN equivalent).

    Examples
    --------
    >>> try:
    ...     check_known_keys("S", ["tournament_sise"], [Key("tournament_size", int, 8)])
    ... except UnknownConfigKeyError as exc:
    ...     print(str(exc)[:66])
    [S] unknown key 'tournament_sise'; did you mean 'tournament_size'?
    """
    names = [k.name for k in keys]
    for name in params:
        if name in names:
            continue
        msg = f"[{section}] unknown key {name!r}"
        if hints and name in hints:
            msg += f"; {hints[name]}"
        else:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            if close:
                msg += f"; did you mean {close[0]!r}?"
        raise UnknownConfigKeyError(msg + f" (known keys: {', '.join(names)})")


def parse_section(
    section: str,
    params: Mapping[str, Any],
    keys: Iterable[Key],
    hints: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Typed values of every declared key: the file's value, else the default.

    Raises
    ------
    UnknownConfigKeyError
        For a key that is not declared.
    ConfigError
        For a missing required key or a bad value.
    """
    keys = list(keys)
    check_known_keys(section, params, keys, hints)
    values = {}
    for key in keys:
        if key.name in params and params[key.name] is not None:
            values[key.name] = key.parse(section, params[key.name])
        elif key.default is REQUIRED:
            raise ConfigError(f"[{section}] {key.name} is missing, must be "
                              f"{key.requirement()}" + (f" ({key.doc})" if key.doc else "") + ".")
        else:
            values[key.name] = key.default
    return values


def validate_params(owner: str, keys: Iterable[Key], values: Mapping[str, Any],
                    error: type = InvalidParameterError) -> dict[str, Any]:
    """Check a constructor's typed arguments against declared keys; returns them normalised.

    Parameters
    ----------
    owner : str
        The class (or function) name the message puts in brackets.
    keys : iterable of Key
        The declarations; every name in ``values`` must be declared.
    values : mapping
        ``{keyword: value}``.
    error : type, default=InvalidParameterError
        The exception class to raise (a task passes its ``TaskError``).
    """
    by_name = {k.name: k for k in keys}
    return {name: by_name[name].validate(owner, value, error) for name, value in values.items()}


def write_section(f: IO[str], values: Mapping[str, Any], keys: Iterable[Key]) -> None:
    """Write ``key = value`` lines in declaration order, aligned like neat-python's; a
    ``None`` value of an optional key is left out."""
    keys = [k for k in keys if not (k.optional and values[k.name] is None)]
    if not keys:
        return
    width = max(len(k.name) for k in keys)
    for key in keys:
        f.write(f"{key.name.ljust(width)} = {key.format(values[key.name])}\n")


class SectionConfig:
    """Typed settings of one section; what ``parse_config`` returns for our non-genome classes.

    Every declared key becomes an attribute. :meth:`save` writes them back so that
    ``neat.Config.save`` round-trips.

    Parameters
    ----------
    section : str
        Section name (the class name, as neat-python looks it up).
    params : mapping
        The section's ``{key: string}`` dict from the file.
    keys : iterable of Key
        Declared keys.
    """

    def __init__(self, section: str, params: Mapping[str, Any], keys: Iterable[Key]):
        self._section_name = section
        self._keys = tuple(keys)
        for name, value in parse_section(section, params, self._keys).items():
            setattr(self, name, value)

    def values(self) -> dict[str, Any]:
        """The typed settings by key."""
        return {k.name: getattr(self, k.name) for k in self._keys}

    def save(self, f: IO[str]) -> None:
        """Write the section's keys (not the ``[section]`` header)."""
        write_section(f, self.values(), self._keys)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        return f"SectionConfig[{self._section_name}]({args})"
