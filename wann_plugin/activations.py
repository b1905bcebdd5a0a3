"""The WANN activation set: names, reference ids, vectorised functions and derivatives.

The ids and formulas are those of the reference implementation (Gaier & Ha, 2019,
``ind.py: applyAct``)::

    1 linear  x                 5 tanh     tanh(x)                 9 relu    max(0, x)
    2 step    1[x > 0]          6 sigmoid  (tanh(x/2) + 1) / 2    10 cos     cos(pi x)
    3 sin     sin(pi x)         7 inverse  -x                     11 square  x**2
    4 gaussian exp(-x^2 / 2)    8 abs      |x|

neat-python ships functions called ``sigmoid``, ``sin`` and ``tanh`` too, but scaled
differently (``sigmoid(5x)``, ``sin(5x)``, ``tanh(2.5x)``). A :class:`~wann_plugin.WannGenome`
config replaces them with the WANN formulas above, so a name in ``activation_options``
always means the WANN function.

Custom activations are added with :func:`register_activation`; they get ids from 32 up. With
a ``compiled`` form they run on the compiled kernels like the built-ins; without one, on the
numpy path.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "WANN_HIDDEN_ACTIVATIONS",
    "CLASSIFY_HIDDEN_ACTIVATIONS",
    "UnknownActivationError",
    "activation_by_id",
    "activation_by_name",
    "apply_activation",
    "apply_derivative",
    "register_activation",
]

ArrayFn = Callable[[np.ndarray], np.ndarray]


class UnknownActivationError(ValueError):
    """An activation name or id that is not registered."""


@dataclass(frozen=True)
class Activation:
    """One activation function of the WANN set.

    Attributes
    ----------
    id : int
        The reference id (1-11 for built-ins, 32 and up for registered ones).
    name : str
        The name used in config files (``activation_options``).
    func : callable
        Vectorised ``f(x) -> y`` over numpy arrays of any shape.
    derivative : callable
        Vectorised ``f'(x)`` (the step's derivative is taken as 0 everywhere).
    scalar : callable
        A one-argument plain-Python function of a float, the form neat-python's
        ``FeedForwardNetwork`` accepts.
    compiled : callable or None
        The form the compiled kernels call (:mod:`wann_plugin.compiled`): a function of one
        float that numba can compile (``math`` functions, arithmetic, ``if``). ``None`` for
        the built-ins 1..11, which the kernels compute as SIMD polynomials, and for
        activations that run on the numpy path only.
    """

    id: int
    name: str
    func: ArrayFn
    derivative: ArrayFn
    scalar: Callable[[float], float]
    compiled: Callable[[float], float] | None = None

    @property
    def is_compiled(self) -> bool:
        """True when the compiled kernels can compute this activation."""
        return self.id <= BUILTIN_MAX_ID or self.compiled is not None


# --- vectorised formulas ---------------------------------------------------------------------
def _linear(x):
    return np.asarray(x, dtype=float) * 1.0


def _d_linear(x):
    return np.ones_like(np.asarray(x, dtype=float))


def _step(x):
    return (np.asarray(x) > 0.0).astype(float)


def _d_zero(x):
    return np.zeros_like(np.asarray(x, dtype=float))


def _sin(x):
    return np.sin(np.pi * np.asarray(x, dtype=float))


def _d_sin(x):
    return np.pi * np.cos(np.pi * np.asarray(x, dtype=float))


def _gaussian(x):
    x = np.asarray(x, dtype=float)
    return np.exp(-x * x / 2.0)


def _d_gaussian(x):
    x = np.asarray(x, dtype=float)
    return -x * np.exp(-x * x / 2.0)


def _tanh(x):
    return np.tanh(np.asarray(x, dtype=float))


def _d_tanh(x):
    return 1.0 - np.tanh(np.asarray(x, dtype=float)) ** 2


def _sigmoid(x):
    return (np.tanh(np.asarray(x, dtype=float) / 2.0) + 1.0) / 2.0


def _d_sigmoid(x):
    s = _sigmoid(x)
    return s * (1.0 - s)


def _inverse(x):
    return -np.asarray(x, dtype=float)


def _d_inverse(x):
    return -np.ones_like(np.asarray(x, dtype=float))


def _abs(x):
    return np.abs(np.asarray(x, dtype=float))


def _d_abs(x):
    return np.sign(np.asarray(x, dtype=float))


def _relu(x):
    return np.maximum(0.0, np.asarray(x, dtype=float))


def _d_relu(x):
    return (np.asarray(x) > 0.0).astype(float)


def _cos(x):
    return np.cos(np.pi * np.asarray(x, dtype=float))


def _d_cos(x):
    return -np.pi * np.sin(np.pi * np.asarray(x, dtype=float))


def _square(x):
    x = np.asarray(x, dtype=float)
    return x * x


def _d_square(x):
    return 2.0 * np.asarray(x, dtype=float)


# --- scalar forms for neat-python (module level: picklable, one argument) ---------------------
def wann_linear(z):
    """WANN linear, ``z``."""
    return float(z)


def wann_step(z):
    """WANN unsigned step, ``1.0 * (z > 0)``."""
    return 1.0 if z > 0.0 else 0.0


def wann_sin(z):
    """WANN sine, ``sin(pi z)``."""
    return float(np.sin(np.pi * z))


def wann_gaussian(z):
    """WANN gaussian, ``exp(-z^2 / 2)``."""
    return float(np.exp(-z * z / 2.0))


def wann_tanh(z):
    """WANN tanh, ``tanh(z)``."""
    return float(np.tanh(z))


def wann_sigmoid(z):
    """WANN sigmoid, ``(tanh(z / 2) + 1) / 2``."""
    return float((np.tanh(z / 2.0) + 1.0) / 2.0)


def wann_inverse(z):
    """WANN inverse, ``-z``."""
    return -float(z)


def wann_abs(z):
    """WANN absolute value."""
    return abs(float(z))


def wann_relu(z):
    """WANN relu, ``max(0, z)``."""
    return z if z > 0.0 else 0.0


def wann_cos(z):
    """WANN cosine, ``cos(pi z)``."""
    return float(np.cos(np.pi * z))


def wann_square(z):
    """WANN square, ``z^2``."""
    return float(z) * float(z)


_BUILTINS = (
    Activation(1, "linear", _linear, _d_linear, wann_linear),
    Activation(2, "step", _step, _d_zero, wann_step),
    Activation(3, "sin", _sin, _d_sin, wann_sin),
    Activation(4, "gaussian", _gaussian, _d_gaussian, wann_gaussian),
    Activation(5, "tanh", _tanh, _d_tanh, wann_tanh),
    Activation(6, "sigmoid", _sigmoid, _d_sigmoid, wann_sigmoid),
    Activation(7, "inverse", _inverse, _d_inverse, wann_inverse),
    Activation(8, "abs", _abs, _d_abs, wann_abs),
    Activation(9, "relu", _relu, _d_relu, wann_relu),
    Activation(10, "cos", _cos, _d_cos, wann_cos),
    Activation(11, "square", _square, _d_square, wann_square),
)

#: Every registered activation by name: the 11 built-ins (ids 1-11, linear to square, listed
#: on :doc:`config`), then those added by :func:`register_activation`.
#:
#: :meta hide-value:
ACTIVATIONS: dict[str, Activation] = {a.name: a for a in _BUILTINS}
_BY_ID: dict[int, Activation] = {a.id: a for a in _BUILTINS}

#: Highest id of the built-in set; the compiled kernels compute ids 1..BUILTIN_MAX_ID as
#: SIMD polynomials (and other activations through their ``compiled`` form).
BUILTIN_MAX_ID = 11
_FIRST_CUSTOM_ID = 32

#: Hidden activations of the reference's control tasks (swing-up, biped, racing): ids 1-10.
WANN_HIDDEN_ACTIVATIONS = (
    "linear", "step", "sin", "gaussian", "tanh", "sigmoid", "inverse", "abs", "relu", "cos",
)
#: Hidden activations of the reference's classification tasks: ids 1, 3-10 (no step).
CLASSIFY_HIDDEN_ACTIVATIONS = tuple(a for a in WANN_HIDDEN_ACTIVATIONS if a != "step")


def _unknown(what: str, value, choices) -> UnknownActivationError:
    hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    msg = f"no WANN activation {what} {value!r}"
    if hint:
        msg += f"; did you mean {hint[0]!r}?"
    msg += f" (known: {', '.join(str(c) for c in choices)})"
    return UnknownActivationError(msg)


def activation_by_name(name: str) -> Activation:
    """Look up an activation by its config name.

    Raises
    ------
    UnknownActivationError
        If no activation of that name is registered; the message suggests a close match.

    Examples
    --------
    >>> activation_by_name("gaussian").id
    4
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise _unknown("name", name, list(ACTIVATIONS)) from None


def activation_by_id(act_id: int) -> Activation:
    """Look up an activation by its reference id (as stored in ``.out`` files).

    Examples
    --------
    >>> activation_by_id(6).name
    'sigmoid'
    """
    try:
        return _BY_ID[int(act_id)]
    except (KeyError, ValueError, TypeError):
        raise _unknown("id", act_id, sorted(_BY_ID)) from None


def register_activation(
    name: str,
    func: ArrayFn,
    derivative: ArrayFn | None = None,
    scalar: Callable[[float], float] | None = None,
    *,
    compiled: Callable[[float], float] | None = None,
) -> Activation:
    """Register a custom activation so config files can name it: its numpy form and, if
    given, its compiled form, in one call.

    Parameters
    ----------
    name : str
        The name used in ``activation_options``; must not clash with a registered one.
    func : callable
        Vectorised ``f(x)`` over numpy arrays.
    derivative : callable, optional
        Vectorised ``f'(x)``; without it, gradient-based tuning (safe mutations) refuses
        networks that use the activation.
    scalar : callable, optional
        A one-argument Python function for neat-python's own networks; defaults to
        ``lambda z: float(func(np.float64(z)))`` wrapped at module level is not possible, so
        by default a small picklable wrapper class is used.
    compiled : callable, optional
        The same function of one float, written so numba can compile it (plain arithmetic,
        ``math`` functions, ``if``; a module-level ``def``). With it, networks that use the
        activation run on the compiled kernels of every task (each worker compiles it on
        first use); without it, they run on the numpy forward pass. It should compute what
        ``func`` computes: the compiled and numpy paths are tested against each other.

    Returns
    -------
    Activation
        The registered activation, with a fresh id (32 and up).

    Examples
    --------
    >>> import numpy as np
    >>> act = register_activation("softsign_doc", lambda x: x / (1 + np.abs(x)),
    ...                           lambda x: 1 / (1 + np.abs(x)) ** 2)
    >>> act.id >= 32
    True
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"activation name must be an identifier string, got {name!r}")
    if name in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is already registered (id {ACTIVATIONS[name].id})")
    if not callable(func):
        raise TypeError(f"activation {name!r}: func must be callable, got {type(func).__name__}")
    if compiled is not None and not callable(compiled):
        raise TypeError(f"activation {name!r}: compiled must be callable, got "
                        f"{type(compiled).__name__}")
    if derivative is None:
        derivative = _MissingDerivative(name)
    act_id = max(_FIRST_CUSTOM_ID - 1, max(_BY_ID)) + 1
    act = Activation(act_id, name, func, derivative, scalar or _ScalarWrapper(func),
                     compiled=getattr(compiled, "py_func", compiled))
    ACTIVATIONS[name] = act
    _BY_ID[act_id] = act
    return act


class _MissingDerivative:
    def __init__(self, name: str):
        self.name = name

    def __call__(self, x):
        raise NotImplementedError(
            f"activation {self.name!r} was registered without a derivative; pass derivative= "
            "to register_activation to use gradient-based tuning"
        )


class _ScalarWrapper:
    def __init__(self, func: ArrayFn):
        self.func = func

    def __call__(self, z):
        return float(self.func(np.asarray(z, dtype=float)))


def apply_activation(ids: np.ndarray | int, x: np.ndarray) -> np.ndarray:
    """Apply activation ``ids`` element-wise: ``ids`` broadcasts against ``x``.

    A single id is the common case (one node over a batch); an array of ids applies each
    column's activation (the reference ``act`` over a layer).

    Examples
    --------
    >>> apply_activation(3, np.array([0.5]))
    array([1.])
    """
    if np.ndim(ids) == 0:
        return activation_by_id(int(ids)).func(x)
    ids = np.broadcast_to(np.asarray(ids), np.shape(x))
    out = np.empty(np.shape(x), dtype=float)
    for act_id in np.unique(ids):
        mask = ids == act_id
        out[mask] = activation_by_id(int(act_id)).func(np.asarray(x)[mask])
    return out


def apply_derivative(ids: np.ndarray | int, x: np.ndarray) -> np.ndarray:
    """Derivative counterpart of :func:`apply_activation`."""
    if np.ndim(ids) == 0:
        return activation_by_id(int(ids)).derivative(x)
    ids = np.broadcast_to(np.asarray(ids), np.shape(x))
    out = np.empty(np.shape(x), dtype=float)
    for act_id in np.unique(ids):
        mask = ids == act_id
        out[mask] = activation_by_id(int(act_id)).derivative(np.asarray(x)[mask])
    return out
