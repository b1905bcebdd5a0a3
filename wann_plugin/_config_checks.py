"""Declarative config keys: one list per section, parsed, checked and written back the same way.

neat-python hands each section to its class as a dict of strings. The helpers here turn such a
dict into typed values, and reject what neat-python's genome section silently accepts:

- an unknown or misspelt key raises :class:`UnknownConfigKeyError`, naming the section, the key
  and a close match;
- a value of the wrong type or out of range raises :class:`ConfigError`, naming
  ``[section] key``, the value and the allowed range.

Defaults are typed Python values, never strings, so an omitted boolean cannot come back as the
truthy string ``'false'`` (neat-python 2.0's ``single_structural_mutation`` bug).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from neat.config import UnknownConfigItemError

__all__ = [
    "REQUIRED",
    "ConfigError",
    "Key",
    "SectionConfig",
    "UnknownConfigKeyError",
    "check_known_keys",
    "parse_section",
    "write_section",
]


class ConfigError(ValueError):
    """A config value that cannot be used; the message names ``[section] key`` and the value."""


class UnknownConfigKeyError(ConfigError, UnknownConfigItemError):
    """A key the section does not know (also a neat-python ``UnknownConfigItemError``)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks a key without a default: the config file must give it.
REQUIRED: Any = _Required()

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class Key:
    """One config key: name, type, typed default and allowed range.

    Attributes
    ----------
    name : str
        The key as written in the file (lower case).
    type : type
        ``int``, ``float``, ``bool``, ``str`` or ``tuple`` (space-separated words).
    default : object
        The typed default, or :data:`REQUIRED`.
    low, high : float or None
        Inclusive bounds (``None``: unbounded).
    high_open : bool
        Exclude ``high`` itself.
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

    def range_text(self) -> str:
        """The allowed range in words, e.g. ``in [0, 1]`` or ``>= 2``."""
        if self.low is not None and self.high is not None:
            return f"in [{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f">= {_num(self.low)}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {_num(self.high)}"
        return ""

    def parse(self, section: str, raw: Any) -> Any:
        """Typed value of ``raw`` (a string from the file, or an already typed value).

        Raises
        ------
        ConfigError
            If ``raw`` is not of this key's type or lies outside its range.
        """
        value = self._convert(section, raw)
        self.check(section, value)
        return value

    def check(self, section: str, value: Any) -> None:
        """Raise :class:`ConfigError` if the typed ``value`` lies outside the range."""
        if self.type not in (int, float):
            return
        too_low = self.low is not None and value < self.low
        too_high = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        if too_low or too_high:
            raise ConfigError(
                f"[{section}] {self.name} == {_num(value)}, must be {self.range_text()}."
            )

    def format(self, value: Any) -> str:
        """The value as written back to a config file (parses back to ``value``)."""
        if self.type is tuple:
            return " ".join(str(v) for v in value)
        if self.type is bool:
            return "true" if value else "false"
        if self.type is float:
            return repr(float(value))
        return str(value)

    def _convert(self, section: str, raw: Any) -> Any:
        where = f"[{section}] {self.name} = {raw!r}"
        if self.type is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ConfigError(f"{where} is not a boolean; write true or false.")
        if self.type is int:
            if isinstance(raw, bool):
                raise ConfigError(f"{where} is not a whole number.")
            try:
                return int(str(raw).strip())
            except ValueError:
                raise ConfigError(f"{where} is not a whole number.") from None
        if self.type is float:
            try:
                value = float(str(raw).strip())
            except ValueError:
                raise ConfigError(f"{where} is not a number.") from None
            if not math.isfinite(value):
                raise ConfigError(f"{where} is not a finite number.")
            return value
        if self.type is tuple:
            words = tuple(raw) if isinstance(raw, (tuple, list)) else tuple(str(raw).split())
            if not words:
                raise ConfigError(f"[{section}] {self.name} is empty; give at least one value.")
            return words
        if self.type is str:
            text = str(raw).strip()
            if not text:
                raise ConfigError(f"[{section}] {self.name} is empty.")
            return text
        raise TypeError(f"config key {self.name!r}: unsupported type {self.type!r}")


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


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
            raise ConfigError(f"[{section}] {key.name} is required ({key.doc or 'no default'}).")
        else:
            values[key.name] = key.default
    return values


def write_section(f: IO[str], values: Mapping[str, Any], keys: Iterable[Key]) -> None:
    """Write ``key = value`` lines in declaration order, aligned like neat-python's."""
    keys = list(keys)
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
