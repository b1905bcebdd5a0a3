import numpy as np
import pytest

from wann_plugin.activations import (
    ACTIVATIONS,
    CLASSIFY_HIDDEN_ACTIVATIONS,
    WANN_HIDDEN_ACTIVATIONS,
    UnknownActivationError,
    activation_by_id,
    activation_by_name,
    apply_activation,
    apply_derivative,
    register_activation,
)

X = np.array([-3.0, -1.5, -0.5, -0.25, 0.0, 0.3, 0.5, 1.0, 2.5])

# the reference table (WANN_SPEC.md section d), written out independently
EXPECTED = {
    1: X,
    2: np.array([0, 0, 0, 0, 0, 1, 1, 1, 1.0]),
    3: np.sin(np.pi * X),
    4: np.exp(-X * X / 2.0),
    5: np.tanh(X),
    6: 1.0 / (1.0 + np.exp(-X)),
    7: -X,
    8: np.abs(X),
    9: np.maximum(0.0, X),
    10: np.cos(np.pi * X),
    11: X**2,
}


@pytest.mark.parametrize("act_id", sorted(EXPECTED))
def test_formulas_match_reference(act_id):
    np.testing.assert_allclose(activation_by_id(act_id).func(X), EXPECTED[act_id], rtol=1e-12, atol=1e-15)


def test_spot_values():
    assert activation_by_name("sin").func(np.array(0.5)) == pytest.approx(1.0)
    assert activation_by_name("gaussian").func(np.array(0.0)) == 1.0
    assert activation_by_name("sigmoid").func(np.array(0.0)) == 0.5
    assert activation_by_name("cos").func(np.array(1.0)) == pytest.approx(-1.0)
    assert activation_by_name("step").func(np.array(0.0)) == 0.0  # strictly greater than 0


@pytest.mark.parametrize("name", list(ACTIVATIONS)[:11])
def test_scalar_form_equals_vector_form(name):
    act = ACTIVATIONS[name]
    for x in X:
        assert act.scalar(float(x)) == pytest.approx(float(act.func(np.array(x))), abs=1e-12)


@pytest.mark.parametrize("name", [n for n in list(ACTIVATIONS)[:11] if n != "step"])
def test_derivatives_against_finite_differences(name):
    act = ACTIVATIONS[name]
    x = X[np.abs(X) > 1e-3]  # keep away from the kinks of abs/relu at 0
    eps = 1e-6
    numeric = (act.func(x + eps) - act.func(x - eps)) / (2 * eps)
    np.testing.assert_allclose(act.derivative(x), numeric, rtol=1e-5, atol=1e-6)


def test_ids_and_sets():
    assert [ACTIVATIONS[n].id for n in WANN_HIDDEN_ACTIVATIONS] == list(range(1, 11))
    assert "step" not in CLASSIFY_HIDDEN_ACTIVATIONS and len(CLASSIFY_HIDDEN_ACTIVATIONS) == 9
    assert activation_by_id(11).name == "square"


def test_unknown_names_suggest_a_fix():
    with pytest.raises(UnknownActivationError, match="did you mean 'gaussian'"):
        activation_by_name("gausian")
    with pytest.raises(UnknownActivationError, match="no WANN activation id 12"):
        activation_by_id(12)


def test_apply_with_an_id_per_column():
    x = np.array([[0.5, 0.5, -2.0]])
    out = apply_activation(np.array([3, 7, 9]), x)
    np.testing.assert_allclose(out, [[1.0, -0.5, 0.0]])
    d = apply_derivative(np.array([1, 7, 5]), np.array([[2.0, 2.0, 0.0]]))
    np.testing.assert_allclose(d, [[1.0, -1.0, 1.0]])


def test_register_custom_activation():
    act = register_activation("softsign_test", lambda x: x / (1 + np.abs(x)),
                              lambda x: 1 / (1 + np.abs(x)) ** 2)
    assert act.id >= 32 and activation_by_id(act.id) is act
    assert act.scalar(1.0) == 0.5
    with pytest.raises(ValueError, match="already registered"):
        register_activation("softsign_test", np.tanh)
    with pytest.raises(ValueError, match="identifier"):
        register_activation("not a name", np.tanh)
    nod = register_activation("noderiv_test", np.tanh)
    with pytest.raises(NotImplementedError, match="without a derivative"):
        nod.derivative(np.zeros(2))
