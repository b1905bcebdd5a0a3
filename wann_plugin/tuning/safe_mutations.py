"""Safe mutations: perturb weights so the network's outputs change by a controlled amount.

Lehman, Chen, Clune & Stanley (2018), "Safe mutations for deep and recurrent neural networks
through output gradients", GECCO (arXiv:1712.06563); SAFE_MUTATIONS.md. A plain Gaussian
mutation changes every weight by the same amount, but a weight deep in a chain of large weights
moves the outputs far more than one near the outputs; in a deep network one such mutation can
wreck the behaviour. The safe mutations measure how much each weight matters on the parent's
own **experiences** ``X = {x_1..x_T}`` (inputs the parent saw, ``T <= 100``) and scale the
perturbation accordingly.

Notation: ``w`` the parent's connection weights (``P`` of them), ``NN_k(x; w)`` output ``k``
(``K`` outputs), ``J_t = dNN(x_t; w)/dw`` the ``K x P`` Jacobian (exact, reverse mode:
:meth:`~wann_plugin.WannNetwork.output_jacobian`).

``gaussian`` (control)
    ``w' = w + delta``, ``delta ~ N(0, sigma^2 I)``.
``sm-r`` (rescaling; paper section 3.1)
    Draw a unit direction ``d``; choose ``alpha`` so that the divergence
    ``D(alpha) = mean_{t,k} (NN_k(x_t; w + alpha d) - NN_k(x_t; w))^2`` hits
    ``target_divergence``; ``w' = w + alpha d``. Gradient-free: only forward passes.
``sm-g-sum`` (paper eq. 3)
    ``s_i = sqrt( sum_k ( sum_t dNN_k(x_t)/dw_i )^2 )``
``sm-g-abs`` (paper section 3.2, "SM-G-ABS")
    ``s_i = sqrt( sum_k ( (1/T) sum_t |dNN_k(x_t)/dw_i| )^2 )``
``sm-g-so`` (second order; paper section 3.3)
    ``s = sqrt(| H d |)`` with ``H`` the Hessian of ``D(w') = (1/T) sum_t ||NN(x_t; w') -
    NN(x_t; w)||^2`` at ``w' = w`` and ``d = delta / ||delta||``. At ``w' = w`` the residual is
    zero, so ``H`` is exactly the Gauss-Newton matrix and ``H d = (2/T) sum_t J_t^T (J_t d)``.

In every SM-G variant (SAFE_MUTATIONS.md section 2.4): ``s_i <- 1`` where ``s_i = 0`` (a weight
without effect is left unscaled), ``s_i <- floor`` where ``s_i < floor`` (amplification at most
``1/floor``), ``delta'_i = clip(delta_i / s_i, -c, c)``, ``w' = w + delta'``. A non-finite
sensitivity (the parent's outputs are not finite) leaves that weight unchanged.

Unlike the reference code, the perturbation size ``sigma`` and the SM-R target divergence are
separate parameters, and SM-R solves ``D(alpha) = target`` by bracketing and interpolation on
``log alpha`` (``D`` grows like ``alpha^2`` near 0) instead of minimising
``(D - target)^2`` with Brent; it uses at most the same 15 forward passes.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tuning._base import check_float, check_int

__all__ = [
    "MUTATION_METHODS",
    "Mutation",
    "gaussian_mutation",
    "output_divergence",
    "output_sensitivity",
    "rescale_to_divergence",
    "sm_g_mutation",
    "sm_r_mutation",
]

#: The mutation operators, by name (``--method`` of ``wann tune`` adds ``ga`` = ``gaussian``).
MUTATION_METHODS = ("gaussian", "sm-r", "sm-g-sum", "sm-g-abs", "sm-g-so")
_SENSITIVITY_KINDS = ("sum", "abs", "so")


# ----------------------------------------------------------------------------- measurements
def _experiences(net: WannNetwork, experiences: np.ndarray) -> np.ndarray:
    x = np.asarray(experiences, dtype=float)
    if x.ndim != 2 or x.shape[1] != net.n_inputs or x.shape[0] < 1:
        raise ValueError(
            f"experiences must have shape (n_experiences >= 1, n_inputs={net.n_inputs}), got "
            f"{x.shape}"
        )
    return x


def output_divergence(net: WannNetwork, weights: np.ndarray, candidates: np.ndarray,
                      experiences: np.ndarray) -> np.ndarray:
    """Mean squared output change of each candidate against the parent, over the experiences.

    ``D(c) = mean_{t,k} (NN_k(x_t; c) - NN_k(x_t; w))^2``  (SAFE_MUTATIONS.md, section 2.3).

    Parameters
    ----------
    net : WannNetwork
    weights : ndarray of shape (n_connections,)
        The parent ``w``.
    candidates : ndarray of shape (n_candidates, n_connections) or (n_connections,)
    experiences : ndarray of shape (n_experiences, n_inputs)

    Returns
    -------
    ndarray of shape (n_candidates,) (or a float for one candidate)
        ``inf`` where an output is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from wann_plugin import WannNetwork
    >>> net = WannNetwork.from_edges(1, 1, [1, 1, 1], [(0, 2), (1, 2)])  # y = w0 + w1 x
    >>> before, after = np.array([0.0, 1.0]), np.array([0.5, 1.0])
    >>> float(output_divergence(net, before, after, np.ones((3, 1))))
    0.25
    """
    x = _experiences(net, experiences)
    w = np.asarray(weights, dtype=float)
    cand = np.asarray(candidates, dtype=float)
    single = cand.ndim == 1
    cand = np.atleast_2d(cand)
    base = net.activate_weights(x, w)                                   # (T, K)
    out = net.activate_weights(x[None, :, :], cand[:, None, :])         # (m, T, K)
    with np.errstate(all="ignore"):
        div = np.mean((out - base) ** 2, axis=(1, 2))
    div = np.where(np.isfinite(div), div, np.inf)
    return float(div[0]) if single else div


def output_sensitivity(net: WannNetwork, weights: np.ndarray, experiences: np.ndarray,
                       kind: str = "abs", direction: np.ndarray | None = None) -> np.ndarray:
    """Per-weight sensitivity ``s`` of the outputs over the experiences (before the floor).

    Parameters
    ----------
    net : WannNetwork
    weights : ndarray of shape (n_connections,)
    experiences : ndarray of shape (n_experiences, n_inputs)
    kind : {"sum", "abs", "so"}
        ``sum``: ``sqrt(sum_k (sum_t J_tki)^2)``; ``abs``: ``sqrt(sum_k (mean_t |J_tki|)^2)``;
        ``so``: ``sqrt(|(2/T) sum_t J_t^T (J_t d)|)`` (Lehman et al. 2018, section 3).
    direction : ndarray of shape (n_connections,), optional
        The perturbation direction ``d`` for ``so`` (normalised here); required for ``so``.

    Returns
    -------
    ndarray of shape (n_connections,)
        Non-negative; ``inf`` where a derivative is not finite.
    """
    if kind not in _SENSITIVITY_KINDS:
        raise ValueError(f"kind == {kind!r}, must be one of {_SENSITIVITY_KINDS}")
    x = _experiences(net, experiences)
    w = np.asarray(weights, dtype=float)
    jac = net.output_jacobian(x, w)                                     # (T, K, P)
    n_t = jac.shape[0]
    bad = ~np.all(np.isfinite(jac), axis=(0, 1))
    jac = np.where(np.isfinite(jac), jac, 0.0)
    with np.errstate(all="ignore"):
        if kind == "sum":
            s = np.sqrt(np.sum(jac.sum(axis=0) ** 2, axis=0))
        elif kind == "abs":
            s = np.sqrt(np.sum(np.abs(jac).mean(axis=0) ** 2, axis=0))
        else:
            if direction is None:
                raise ValueError("kind='so' needs the perturbation direction (direction=...)")
            d = np.asarray(direction, dtype=float)
            if d.shape != w.shape:
                raise ValueError(f"direction must have shape {w.shape}, got {d.shape}")
            norm = np.linalg.norm(d)
            d = d / norm if norm > 0 else d
            jd = np.einsum("tkp,p->tk", jac, d)
            hd = (2.0 / n_t) * np.einsum("tkp,tk->p", jac, jd)
            s = np.sqrt(np.abs(hd))
    s = np.where(np.isfinite(s), s, np.inf)
    s[bad] = np.inf
    return s


# ----------------------------------------------------------------------------- operators
def gaussian_mutation(weights: np.ndarray, *, sigma: float,
                      rng: np.random.Generator) -> np.ndarray:
    """The control: ``w + N(0, sigma^2 I)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = gaussian_mutation(np.zeros(1000), sigma=0.1, rng=np.random.default_rng(0))
    >>> round(float(w.std()), 1)
    0.1
    """
    check_float("gaussian_mutation", "sigma", sigma, 0, None)
    w = np.asarray(weights, dtype=float)
    return w + rng.normal(0.0, sigma, size=w.shape)


def sm_g_mutation(net: WannNetwork, weights: np.ndarray, experiences: np.ndarray, *,
                  kind: str, sigma: float, rng: np.random.Generator,
                  sensitivity_floor: float = 0.01, clip: float = 1.0) -> np.ndarray:
    """SM-G: a Gaussian perturbation divided by each weight's output sensitivity.

    Parameters
    ----------
    net, weights, experiences
        As in :func:`output_sensitivity`.
    kind : {"sum", "abs", "so"}
    sigma : float
        Standard deviation of the raw perturbation ``delta``.
    rng : numpy.random.Generator
    sensitivity_floor : float, default=0.01
        Sensitivities below it are raised to it (at most ``1/floor`` amplification).
    clip : float, default=1.0
        Per-weight bound on the scaled step ``delta'``.

    Returns
    -------
    ndarray of shape (n_connections,)
        The child's weights.
    """
    check_float("sm_g_mutation", "sigma", sigma, 0, None)
    check_float("sm_g_mutation", "sensitivity_floor", sensitivity_floor, 0, None, low_open=True)
    check_float("sm_g_mutation", "clip", clip, 0, None, low_open=True)
    w = np.asarray(weights, dtype=float)
    delta = rng.normal(0.0, sigma, size=w.shape)
    s = output_sensitivity(net, w, experiences, kind, direction=delta if kind == "so" else None)
    s = np.where(s == 0.0, 1.0, s)
    s = np.maximum(s, sensitivity_floor)
    with np.errstate(all="ignore"):
        step = np.clip(delta / s, -clip, clip)
    return w + step


def rescale_to_divergence(net: WannNetwork, weights: np.ndarray, direction: np.ndarray,
                          experiences: np.ndarray, *, target: float, initial_step: float,
                          max_iter: int = 15, rtol: float = 0.1) -> tuple[float, float]:
    """Step size ``alpha`` along ``direction`` whose divergence ``D(alpha)`` hits ``target``.

    Solves ``D(alpha) = target`` on ``log alpha``: from ``initial_step`` it jumps by the
    quadratic model ``alpha * sqrt(target / D)`` (``D ~ alpha^2`` for small steps), bisects
    geometrically once the root is bracketed, and stops within ``rtol`` (relative) of the
    target or after ``max_iter`` forward passes. A non-finite ``D`` counts as too far.

    Returns
    -------
    (alpha, divergence) : tuple of float
        The evaluated step closest to the target (in ``|log(D / target)|``). If no step moved
        the outputs at all, ``(initial_step, 0.0)``; if every step that moved them broke them
        (non-finite outputs), the largest harmless step (``0.0`` if there was none).
    """
    check_float("rescale_to_divergence", "target", target, 0, None, low_open=True)
    check_float("rescale_to_divergence", "initial_step", initial_step, 0, None, low_open=True)
    check_int("rescale_to_divergence", "max_iter", max_iter, 1)
    x = _experiences(net, experiences)
    w = np.asarray(weights, dtype=float)
    d = np.asarray(direction, dtype=float)
    lo, hi = 0.0, math.inf
    best = (math.inf, None, 0.0)
    alpha = initial_step
    for _ in range(max_iter):
        div = output_divergence(net, w, w + alpha * d, x)
        if math.isfinite(div) and div > 0:
            err = abs(math.log(div / target))
            if err < best[0]:
                best = (err, alpha, div)
            if err <= math.log1p(rtol):
                break
        if math.isfinite(div) and div < target:
            lo = alpha
        else:
            hi = alpha
        # next guess: quadratic model if it lands inside the bracket, else bisect/expand
        guess = alpha * math.sqrt(target / div) if math.isfinite(div) and div > 0 else None
        if guess is not None and lo < guess < hi and guess != alpha:
            alpha = guess
        elif lo > 0 and math.isfinite(hi):
            alpha = math.sqrt(lo * hi)
        elif math.isfinite(hi):
            alpha = hi / 4.0
        else:
            alpha = lo * 4.0
    if best[1] is not None:
        return float(best[1]), float(best[2])
    if not math.isfinite(hi):  # no step changed the outputs at all
        return float(initial_step), 0.0
    return float(lo), 0.0  # the largest harmless step (0 when every step broke the outputs)


def sm_r_mutation(net: WannNetwork, weights: np.ndarray, experiences: np.ndarray, *,
                  target_divergence: float, rng: np.random.Generator,
                  initial_step: float = 0.1, max_iter: int = 15,
                  rtol: float = 0.1) -> np.ndarray:
    """SM-R: a random unit direction, scaled so the output divergence hits the target.

    Parameters
    ----------
    net, weights, experiences
        As in :func:`output_divergence`.
    target_divergence : float
        The mean squared output change ``D`` to aim for.
    rng : numpy.random.Generator
    initial_step : float, default=0.1
        First ``alpha`` tried (the norm of the perturbation).
    max_iter : int, default=15
        Forward passes allowed (the reference's ``maxiter``).
    rtol : float, default=0.1
        Relative tolerance on the divergence.

    Returns
    -------
    ndarray of shape (n_connections,)
    """
    w = np.asarray(weights, dtype=float)
    u = rng.standard_normal(w.shape)
    d = u / np.linalg.norm(u)
    alpha, _ = rescale_to_divergence(net, w, d, experiences, target=target_divergence,
                                     initial_step=initial_step, max_iter=max_iter, rtol=rtol)
    return w + alpha * d


# ----------------------------------------------------------------------------- the operator
@dataclass(frozen=True)
class Mutation:
    """A mutation operator for :class:`~wann_plugin.tuning.SteadyStateGA`.

    Parameters
    ----------
    method : {"gaussian", "sm-r", "sm-g-sum", "sm-g-abs", "sm-g-so"}, default="gaussian"
    sigma : float, default=0.1
        Standard deviation of the Gaussian perturbation (``gaussian`` and ``sm-g-*``); for
        ``sm-r`` only the first step tried, ``sigma * sqrt(n_connections)``.
    target_divergence : float, default=0.01
        ``sm-r``: the mean squared output change each child should have.
    sensitivity_floor : float, default=0.01
        ``sm-g-*``: smallest sensitivity used to divide.
    clip : float, default=1.0
        ``sm-g-*``: bound on each weight's scaled step.
    max_iter : int, default=15
        ``sm-r``: forward passes of the line search.
    rtol : float, default=0.1
        ``sm-r``: relative tolerance on the divergence.
    n_experiences : int, default=100
        Experiences used per parent (a random subset when more are given).

    Examples
    --------
    >>> import numpy as np
    >>> from wann_plugin import WannNetwork
    >>> net = WannNetwork.from_edges(1, 1, [1, 1, 5], [(0, 2), (1, 2)])
    >>> x = np.linspace(-1, 1, 20)[:, None]
    >>> child = Mutation("sm-r", target_divergence=1e-3)(net, np.ones(2), x,
    ...                                                 rng=np.random.default_rng(0))
    >>> d = output_divergence(net, np.ones(2), child, x)   # within rtol=10% of the target
    >>> bool(0.9e-3 <= d <= 1.1e-3)
    True
    """

    method: str = "gaussian"
    sigma: float = 0.1
    target_divergence: float = 0.01
    sensitivity_floor: float = 0.01
    clip: float = 1.0
    max_iter: int = 15
    rtol: float = 0.1
    n_experiences: int = 100

    def __post_init__(self) -> None:
        own = "Mutation"
        if self.method not in MUTATION_METHODS:
            hint = difflib.get_close_matches(str(self.method), MUTATION_METHODS, n=1)
            raise ValueError(
                f"[{own}] method == {self.method!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" (choices: {', '.join(MUTATION_METHODS)})"
            )
        check_float(own, "sigma", self.sigma, 0, None, low_open=True)
        check_float(own, "target_divergence", self.target_divergence, 0, None, low_open=True)
        check_float(own, "sensitivity_floor", self.sensitivity_floor, 0, None, low_open=True)
        check_float(own, "clip", self.clip, 0, None, low_open=True)
        check_int(own, "max_iter", self.max_iter, 1)
        check_float(own, "rtol", self.rtol, 0, None, low_open=True)
        check_int(own, "n_experiences", self.n_experiences, 1)

    @property
    def needs_experiences(self) -> bool:
        """True for the safe mutations (they look at the parent's inputs)."""
        return self.method != "gaussian"

    def __call__(self, net: WannNetwork, weights: np.ndarray,
                 experiences: np.ndarray | None = None, *,
                 rng: np.random.Generator) -> np.ndarray:
        """A child of ``weights`` (shape ``(n_connections,)``)."""
        w = np.asarray(weights, dtype=float)
        if w.shape != (net.n_connections,):
            raise ValueError(f"weights must have shape ({net.n_connections},), got {w.shape}")
        if self.method == "gaussian":
            return gaussian_mutation(w, sigma=self.sigma, rng=rng)
        if experiences is None:
            raise ValueError(f"mutation {self.method!r} needs the parent's experiences "
                             "(inputs it saw), shape (n_experiences, n_inputs)")
        x = _experiences(net, experiences)
        if x.shape[0] > self.n_experiences:
            x = x[np.sort(rng.choice(x.shape[0], self.n_experiences, replace=False))]
        if self.method == "sm-r":
            return sm_r_mutation(net, w, x, target_divergence=self.target_divergence, rng=rng,
                                 initial_step=self.sigma * math.sqrt(max(1, w.size)),
                                 max_iter=self.max_iter, rtol=self.rtol)
        kind = self.method.rsplit("-", 1)[1]
        return sm_g_mutation(net, w, x, kind=kind, sigma=self.sigma, rng=rng,
                             sensitivity_floor=self.sensitivity_floor, clip=self.clip)
