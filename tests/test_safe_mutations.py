"""Safe mutations (Lehman et al. 2018): sensitivities against finite differences, the gradient
washout case, SM-R's line search, and each operator's effect on output divergence."""

import numpy as np
import pytest
from tuning_helpers import layered_network

from wann_plugin.network import WannNetwork
from wann_plugin.tuning import (
    Mutation,
    gaussian_mutation,
    output_divergence,
    output_sensitivity,
    rescale_to_divergence,
    sm_g_mutation,
    sm_r_mutation,
)

SMOOTH = [5, 3, 4, 6, 1, 10]  # tanh, sin, gaussian, sigmoid, linear, cos


def smooth_net(seed):
    rng = np.random.default_rng(seed)
    net = layered_network(3, [4, 3], 2, list(rng.choice(SMOOTH, size=2)))
    w = rng.uniform(-1.5, 1.5, net.n_connections)
    x = rng.uniform(-1, 1, (7, 3))
    return net, w, x


def fd_jacobian(net, w, x, h=1e-6):
    jac = np.empty((x.shape[0], net.n_outputs, w.size))
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        jac[:, :, i] = (net.activate_weights(x, w + e) - net.activate_weights(x, w - e)) / (2 * h)
    return jac


@pytest.mark.parametrize("seed", range(4))
def test_sum_and_abs_sensitivities_match_finite_differences(seed):
    net, w, x = smooth_net(seed)
    jac = fd_jacobian(net, w, x)
    want_sum = np.sqrt((jac.sum(axis=0) ** 2).sum(axis=0))
    want_abs = np.sqrt((np.abs(jac).mean(axis=0) ** 2).sum(axis=0))
    np.testing.assert_allclose(output_sensitivity(net, w, x, "sum"), want_sum,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(output_sensitivity(net, w, x, "abs"), want_abs,
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_second_order_sensitivity_is_the_hessian_vector_product_of_the_divergence(seed):
    """s = sqrt(|H d|), H the Hessian of D(w') at w' = w, by a pure finite-difference stencil
    on the divergence itself (no gradients involved)."""
    net, w, x = smooth_net(seed)
    d = np.random.default_rng(100 + seed).normal(size=w.size)
    d /= np.linalg.norm(d)
    h = 1e-4

    def div(v):
        return output_divergence(net, w, v, x)

    hd = np.empty(w.size)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        hd[i] = (div(w + e + h * d) - div(w + e - h * d) - div(w - e + h * d)
                 + div(w - e - h * d)) / (4 * h * h)
    # output_divergence averages over outputs too; the SO form sums over them (D of the spec)
    hd *= net.n_outputs
    got = output_sensitivity(net, w, x, "so", direction=3.0 * d)  # direction is normalised
    np.testing.assert_allclose(got, np.sqrt(np.abs(hd)), rtol=2e-3, atol=2e-4)


def washout_net():
    """y0 = w0 * x0, y1 = w1 * x1 with experiences x = +-(100, 0.1) (SAFE_MUTATIONS 2.4)."""
    net = WannNetwork.from_edges(2, 2, [1, 1, 1, 1, 1], [(1, 3), (2, 4)])
    x = np.array([[100.0, 0.1], [-100.0, -0.1]])
    return net, np.array([1.0, 1.0]), x


def test_gradient_washout_sum_fails_abs_and_so_damp():
    net, w, x = washout_net()
    s_sum = output_sensitivity(net, w, x, "sum")
    s_abs = output_sensitivity(net, w, x, "abs")
    d = np.array([0.6, 0.8])
    s_so = output_sensitivity(net, w, x, "so", direction=d)
    np.testing.assert_allclose(s_sum, [0.0, 0.0], atol=1e-12)   # gradients cancel over t
    np.testing.assert_allclose(s_abs, [100.0, 0.1])
    np.testing.assert_allclose(s_so, [np.sqrt(2 * 100**2 * 0.6), np.sqrt(2 * 0.1**2 * 0.8)])
    # so a SUM child moves y0 by 100 * delta, an ABS or SO child does not
    divs = {}
    for kind in ("sum", "abs", "so"):
        children = np.array([sm_g_mutation(net, w, x, kind=kind, sigma=0.1, clip=10.0,
                                           rng=np.random.default_rng(i)) for i in range(50)])
        divs[kind] = np.median(output_divergence(net, w, children, x))
    assert divs["sum"] > 100 * divs["abs"]
    assert divs["sum"] > 100 * divs["so"]


def test_sm_g_floor_zero_reset_and_clip():
    net, w, x = washout_net()
    rng = np.random.default_rng(0)
    delta = np.random.default_rng(0).normal(0, 0.5, 2)
    # ABS: s = (100, 0.1): w0 scaled by 1/100, w1 by 1/0.1 then clipped to 0.3
    child = sm_g_mutation(net, w, x, kind="abs", sigma=0.5, clip=0.3, rng=rng)
    np.testing.assert_allclose(child - w, [delta[0] / 100, np.clip(delta[1] / 0.1, -0.3, 0.3)])
    # a floor of 1 caps the amplification of w1 at 1x
    child = sm_g_mutation(net, w, x, kind="abs", sigma=0.5, clip=10.0, sensitivity_floor=1.0,
                          rng=np.random.default_rng(0))
    np.testing.assert_allclose(child - w, [delta[0] / 100, delta[1]])
    # SUM: both sensitivities are 0 -> reset to 1 -> the raw Gaussian step
    child = sm_g_mutation(net, w, x, kind="sum", sigma=0.5, clip=10.0,
                          rng=np.random.default_rng(0))
    np.testing.assert_allclose(child - w, delta)


@pytest.mark.parametrize("target", [1e-4, 1e-2, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_sm_r_hits_the_target_divergence(seed, target):
    net, w, x = smooth_net(seed)
    child = sm_r_mutation(net, w, x, target_divergence=target, rng=np.random.default_rng(seed))
    got = output_divergence(net, w, child, x)
    assert target / 1.1 <= got <= target * 1.1


def test_rescale_reports_step_and_divergence_and_handles_dead_directions():
    net, w, x = smooth_net(0)
    d = np.random.default_rng(1).normal(size=w.size)
    d /= np.linalg.norm(d)
    alpha, div = rescale_to_divergence(net, w, d, x, target=0.01, initial_step=1.0)
    assert div == pytest.approx(output_divergence(net, w, w + alpha * d, x))
    assert 0.01 / 1.1 <= div <= 0.01 * 1.1
    # a direction that touches no connection leading to an output leaves D at 0
    net2 = WannNetwork.from_edges(1, 1, [1, 1, 1, 1], [(1, 2), (1, 3)])  # node 2 is a dead end
    alpha, div = rescale_to_divergence(net2, np.ones(2), np.array([1.0, 0.0]),
                                       np.ones((3, 1)), target=0.1, initial_step=0.5)
    assert (alpha, div) == (0.5, 0.0)


def test_safe_mutations_keep_divergence_near_target_where_gaussian_breaks_a_deep_net():
    """A deep chain: the plain mutation's divergence spans orders of magnitude, SM-R's and
    SM-G-ABS's stay tight around their scale."""
    net = layered_network(2, [3] * 6, 1, [1] * 6)   # deep linear: gradients multiply
    rng = np.random.default_rng(0)
    w = rng.uniform(0.8, 1.6, net.n_connections)
    x = rng.uniform(-1, 1, (50, 2))
    ops = {
        "gaussian": Mutation("gaussian", sigma=0.05),
        "sm-r": Mutation("sm-r", target_divergence=0.01),
        "sm-g-abs": Mutation("sm-g-abs", sigma=0.05),
    }
    spread = {}
    median = {}
    for name, op in ops.items():
        r = np.random.default_rng(1)
        divs = np.array([output_divergence(net, w, op(net, w, x, rng=r), x) for _ in range(40)])
        median[name] = np.median(divs)
        spread[name] = np.log10(np.percentile(divs, 90) / np.percentile(divs, 10))
    assert median["gaussian"] > 100 * median["sm-g-abs"]
    assert median["gaussian"] > 100 * median["sm-r"]
    assert spread["sm-r"] < 0.1
    assert abs(np.log10(median["sm-r"] / 0.01)) < 0.05


def test_non_finite_parent_leaves_weights_unchanged():
    net = WannNetwork.from_edges(1, 1, [1, 1, 11], [(0, 2), (1, 2)])  # square
    x = np.array([[1e200]])
    s = output_sensitivity(net, np.ones(2), x, "abs")
    assert np.all(np.isinf(s))
    child = sm_g_mutation(net, np.ones(2), x, kind="abs", sigma=0.1,
                          rng=np.random.default_rng(0))
    np.testing.assert_array_equal(child, np.ones(2))


def test_gaussian_mutation_is_seeded():
    a = gaussian_mutation(np.zeros(5), sigma=0.1, rng=np.random.default_rng(3))
    b = gaussian_mutation(np.zeros(5), sigma=0.1, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_mutation_validation_messages():
    with pytest.raises(ValueError, match="did you mean 'sm-g-abs'"):
        Mutation("sm-g-ab")
    with pytest.raises(ValueError, match=r"\[Mutation\] sigma == -1"):
        Mutation(sigma=-1)
    with pytest.raises(ValueError, match="target_divergence"):
        Mutation("sm-r", target_divergence=0.0)
    with pytest.raises(ValueError, match="sensitivity_floor"):
        Mutation(sensitivity_floor=0)
    net, w, x = smooth_net(0)
    with pytest.raises(ValueError, match="needs the parent's experiences"):
        Mutation("sm-g-so")(net, w, None, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="experiences must have shape"):
        Mutation("sm-g-so")(net, w, np.ones((4, 7)), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="direction"):
        output_sensitivity(net, w, x, "so")


def test_mutation_caps_experiences():
    net, w, x = smooth_net(0)
    xs = np.random.default_rng(0).uniform(-1, 1, (500, 3))
    op = Mutation("sm-g-abs", n_experiences=10)
    a = op(net, w, xs, rng=np.random.default_rng(5))
    b = op(net, w, xs, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
