"""The one compiled activation dispatch (``wann_plugin.compiled``) against numpy's formulas.

Every kernel (swing-up, the batched forward of the gym and classification tasks) computes its
nodes through :func:`~wann_plugin.compiled.dispatch.make_activate_node`;
:func:`~wann_plugin.compiled.activate_array` runs that same dispatch on an array, so these
tests measure the math every task uses: ulp bounds on dense grids and special values (inf,
nan, subnormals, huge arguments) for the SIMD polynomials, bit-equality with libm under
``exact_math``, and the batched forward against :meth:`WannNetwork.activate`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wann_plugin.activations import activation_by_id
from wann_plugin.compiled import BatchedForward, activate_array
from wann_plugin.network import WannNetwork

FAST_EXACT_IDS = [1, 2, 7, 8, 9, 11]  # no polynomial: the default math equals numpy
TRANSCENDENTAL = [3, 4, 5, 6, 10]


def ulps(got, want):
    """|got - want| in units of the last place of the larger; 0 where equal (nan == nan)."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore"):
        err = np.abs(got - want) / np.spacing(np.maximum(np.abs(got), np.abs(want)))
    return np.where(same, 0.0, err)


def grid(seed=0):
    """Dense samples of every range a node input can take, and the awkward points."""
    rng = np.random.default_rng(seed)
    sign = lambda n: rng.choice([-1.0, 1.0], n)  # noqa: E731
    halves = np.arange(-4000, 4001) / 2.0  # sin(pi x) and cos(pi x) zeros and extrema
    near_quadrants = np.round(rng.uniform(1, 2**38, 20_000)) * (np.pi / 2) / np.pi
    parts = [
        rng.uniform(-1, 1, 200_000), rng.uniform(-40, 40, 200_000),
        rng.uniform(-1e6, 1e6, 50_000),
        np.exp(rng.uniform(np.log(1e-320), np.log(1e300), 200_000)) * sign(200_000),
        halves, np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf),
        near_quadrants, np.nextafter(near_quadrants, np.inf),
        np.array([0.0, -0.0, 5e-324, -5e-324, 2.2e-308, 1e-300, 0.5, 1.0, 1.5, 2.0, 3.0,
                  19.0, 20.0, 37.4, 38.0, 708.0, 709.78, 1e3, 1e15, 1e16, 2.0**52, 1e20,
                  1e300, np.finfo(float).max, 2.0**40 / np.pi, np.nextafter(2.0**40 / np.pi, 0),
                  np.nextafter(2.0**40 / np.pi, np.inf)]),
    ]
    x = np.concatenate(parts)
    return np.concatenate([x, -x])


NUMPY_ACT = {a: activation_by_id(a).func for a in range(1, 12)}


@pytest.mark.parametrize("act_id,max_ulp", [(3, 1), (4, 1), (5, 2), (10, 1)])
def test_polynomial_activations_within_ulps_of_numpy(act_id, max_ulp):
    x = grid()
    with np.errstate(all="ignore"):
        want = NUMPY_ACT[act_id](x)
    got = activate_array(act_id, x)
    err = ulps(got, want)
    assert err.max() <= max_ulp, x[np.argmax(err)]
    assert np.mean(err > 0) < 0.2  # most results equal to the last bit


def test_sigmoid_within_half_an_ulp_of_one_of_numpy():
    """(tanh(x/2) + 1) / 2 cancels for negative x (in numpy too): absolute error bound."""
    x = grid(1)
    with np.errstate(all="ignore"):
        want = NUMPY_ACT[6](x)
    got = activate_array(6, x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.max(np.abs(got[ok] - want[ok])) <= 2.0**-53
    assert ulps(got, want)[np.abs(want) >= 0.5].max() <= 2


@pytest.mark.parametrize("act_id", FAST_EXACT_IDS)
def test_arithmetic_activations_equal_numpy(act_id):
    x = grid(2)
    with np.errstate(all="ignore"):
        want = NUMPY_ACT[act_id](x)
    np.testing.assert_array_equal(activate_array(act_id, x), want)


def _libm_periodic(fn):
    def f(v):
        y = math.pi * v
        return fn(y) if math.isfinite(y) else math.nan
    return f


LIBM = {3: _libm_periodic(math.sin), 4: lambda v: math.exp(-v * v / 2.0), 5: math.tanh,
        6: lambda v: (math.tanh(v / 2.0) + 1.0) / 2.0, 10: _libm_periodic(math.cos)}


@pytest.mark.parametrize("act_id", TRANSCENDENTAL)
def test_exact_math_activations_are_libm(act_id):
    x = grid(3)[::37]
    want = np.array([LIBM[act_id](float(v)) for v in x])
    np.testing.assert_array_equal(activate_array(act_id, x, exact_math=True), want)


def test_special_values():
    inf, nan = np.inf, np.nan
    x = np.array([0.0, -0.0, inf, -inf, nan, 5e-324, -5e-324])
    got = {a: activate_array(a, x) for a in TRANSCENDENTAL}
    np.testing.assert_array_equal(got[3], [0.0, -0.0, nan, nan, nan, np.pi * 5e-324,
                                           -np.pi * 5e-324])
    assert np.signbit(got[3][1]) and not np.signbit(got[3][0])
    np.testing.assert_array_equal(got[10], [1.0, 1.0, nan, nan, nan, 1.0, 1.0])
    np.testing.assert_array_equal(got[4], [1.0, 1.0, 0.0, 0.0, nan, 1.0, 1.0])
    np.testing.assert_array_equal(got[5], [0.0, -0.0, 1.0, -1.0, nan, 5e-324, -5e-324])
    assert np.signbit(got[5][1])
    np.testing.assert_array_equal(got[6], [0.5, 0.5, 1.0, 0.0, nan, 0.5, 0.5])
    # gaussian underflows through the subnormals to 0 as numpy's exp does
    t = -np.linspace(700.0, 746.0, 4001)
    x = np.sqrt(-2.0 * t)
    with np.errstate(under="ignore"):
        want = NUMPY_ACT[4](x)
    assert ulps(activate_array(4, x), want).max() <= 1
    # sin and cos of huge arguments: libm, as numpy
    big = np.array([2.0**40 / np.pi * 1.5, 1e20, -3e300, 2.0**60 + 1.0])
    np.testing.assert_array_equal(activate_array(3, big), np.sin(np.pi * big))
    np.testing.assert_array_equal(activate_array(10, big), np.cos(np.pi * big))


def test_lanes_are_independent():
    """One lane's value never depends on its neighbours (a nan or a libm fallback included)."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-5, 5, 64)
    for a in range(1, 12):
        alone = np.array([activate_array(a, x[i:i + 1])[0] for i in range(len(x))])
        x2 = x.copy()
        x2[1::3] = np.nan
        x2[2::5] = 1e20
        mixed = activate_array(a, x2)
        keep = np.ones(len(x), bool)
        keep[1::3] = keep[2::5] = False
        np.testing.assert_array_equal(activate_array(a, x), alone)
        np.testing.assert_array_equal(mixed[keep], alone[keep])




# ---------------------------------------------------------------------------- batched forward
WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


def random_net(n_in, n_out, n_hidden, p, seed, acts=tuple(range(1, 12))):
    rng = np.random.default_rng(seed)
    n = 1 + n_in + n_hidden + n_out
    act = [1] * (1 + n_in) + [int(a) for a in rng.choice(acts, n_hidden + n_out)]
    edges = [(s, d) for d in range(1 + n_in, n) for s in range(min(d, n - n_out))
             if rng.random() < p]
    return WannNetwork.from_edges(n_in, n_out, act, edges)


@pytest.mark.parametrize("n_rows", [1, 30, 200])  # one partial lane group .. several blocks
def test_batched_forward_matches_numpy_on_every_activation(n_rows):
    net = random_net(24, 4, 40, 0.15, seed=9)
    x = np.random.default_rng(0).normal(size=(n_rows, 24)) * 2
    rows, cols = np.arange(n_rows), np.arange(n_rows) % 6
    fast = BatchedForward(net, weights=WEIGHTS)(x, rows, cols)
    slow = BatchedForward(net, weights=WEIGHTS, engine="numpy")(x, rows, cols)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast, net.activate(x, WEIGHTS[cols]), rtol=1e-12, atol=1e-12)
    cw = np.random.default_rng(1).normal(size=(6, net.n_connections))
    fast = BatchedForward(net, conn_weights=cw)(x, rows, cols)
    np.testing.assert_allclose(fast, net.activate_weights(x, cw[cols]), rtol=1e-12, atol=1e-12)


def test_batched_forward_equals_numpy_bit_for_bit_where_the_math_is_the_same():
    """Arithmetic activations (any math) and libm under exact_math: numpy's values exactly,
    for rows gathered out of order and weight columns in any order."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 6)) * 3
    rows, cols = rng.integers(0, 50, 150), rng.integers(0, 6, 150)
    for acts, exact in ((FAST_EXACT_IDS, False), ((1, 2, 3, 7, 8, 9, 10, 11), True)):
        net = random_net(6, 3, 12, 0.3, seed=4, acts=acts)
        # few sources per node: numpy sums rows of <= 8 terms left to right as the kernel
        got = BatchedForward(net, weights=WEIGHTS, exact_math=exact)(x, rows, cols)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(got, net.activate(x[rows], WEIGHTS[cols]))


def test_batched_forward_uses_the_dispatch_math():
    """A single sin node: the default forward gives the polynomial's value, exact_math libm's
    (the same values activate_array gives)."""
    net = WannNetwork.from_edges(1, 1, [1, 1, 3], [(1, 2)])
    x = np.linspace(-3, 3, 97)[:, None]
    rows, cols = np.arange(97), np.zeros(97, dtype=int)
    one = np.ones(1)
    np.testing.assert_array_equal(BatchedForward(net, weights=one)(x, rows, cols)[:, 0],
                                  activate_array(3, x[:, 0]))
    np.testing.assert_array_equal(
        BatchedForward(net, weights=one, exact_math=True)(x, rows, cols)[:, 0],
        activate_array(3, x[:, 0], exact_math=True))


def test_batched_forward_needs_one_kind_of_weights():
    net = WannNetwork.from_edges(1, 1, [1, 1, 1], [(1, 2)])
    with pytest.raises(ValueError, match="exactly one of weights= and conn_weights="):
        BatchedForward(net)


# ---------------------------------------------------------------------------- registered forms
def softsign(v):
    """The compiled form: one float (numba compiles it once per process)."""
    return v / (1.0 + abs(v))


def _softsign_np(x):
    x = np.asarray(x, dtype=float)
    return x / (1.0 + np.abs(x))


def _registered(name, **kw):
    from wann_plugin.activations import ACTIVATIONS, register_activation

    return ACTIVATIONS[name] if name in ACTIVATIONS else register_activation(name, _softsign_np,
                                                                             **kw)


def test_a_custom_activation_with_a_compiled_form_runs_in_the_kernels():
    act = _registered("compiled_softsign", compiled=softsign)
    plain = _registered("numpy_softsign")
    assert act.is_compiled and not plain.is_compiled
    x = np.concatenate([np.linspace(-50, 50, 1001), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(activate_array(act.id, x), act.func(x))
    with pytest.raises(ValueError, match="without a compiled form"):
        activate_array(plain.id, x)
    # a network using it: compiled forward, the numpy path's numbers exactly
    net = WannNetwork.from_edges(2, 1, [1, 1, 1, act.id, 9, act.id],
                                 [(1, 3), (2, 3), (0, 4), (3, 4), (3, 5), (4, 5)])
    assert net.uses_compiled_activations and not net.uses_builtin_activations
    fwd = BatchedForward(net, weights=WEIGHTS)
    assert fwd.compiled
    x2 = np.random.default_rng(2).normal(size=(40, 2)) * 3
    rows, cols = np.arange(40), np.arange(40) % 6
    np.testing.assert_array_equal(fwd(x2, rows, cols), net.activate(x2, WEIGHTS[cols]))
    other = WannNetwork.from_edges(2, 1, [1, 1, 1, plain.id], [(1, 3)])
    assert not BatchedForward(other, weights=WEIGHTS).compiled   # numpy path


def _not_numba(v):
    return float(np.asarray([v], dtype=object)[0])


def test_a_compiled_form_numba_cannot_compile_is_a_clear_error():
    """Raised where a batch needs the form; other batches are unaffected."""
    act = _registered("uncompilable_form", compiled=_not_numba)
    with pytest.raises(TypeError, match="'uncompilable_form': numba cannot compile"):
        activate_array(act.id, np.ones(3))
    np.testing.assert_array_equal(activate_array(9, np.array([-1.0, 2.0])), [0.0, 2.0])
