"""The built-in tuning methods, registered in :data:`~wann_plugin.tuning.TUNING_METHODS`.

``cma`` (the default)
    CMA-ES (:class:`~wann_plugin.tuning.CmaEs`). Its default preset is sized for the engine's
    throughput: 64 samples a generation, each on 16 episodes, a step size ``sigma`` scaled to
    the network (``sigma="auto"``: see :func:`auto_sigma`), two shared-weight peaks raced for
    150 generations, the better one going on to 1200 generations. ``short`` is the earlier
    default: one start, 300 generations.
``pepg``
    :class:`~wann_plugin.tuning.Pepg`; the preset ``reference`` is the WANN reference's
    fine-tuning (``WANNTool``: 64 samples, sigma 0.1, 4 episodes each).
``ga``, ``sm-r``, ``sm-g-sum``, ``sm-g-abs``, ``sm-g-so``
    :class:`~wann_plugin.tuning.SteadyStateGA` with Gaussian or safe mutations.
``adam``
    Gradient training of the connection weights (:class:`~wann_plugin.tuning.GradientTraining`)
    for tasks with a loss gradient (classification).
"""

from __future__ import annotations

from wann_plugin.tuning.cma import CmaEs, CmaParams
from wann_plugin.tuning.ga import GaParams, SteadyStateGA
from wann_plugin.tuning.gradient import GradientParams, GradientTraining
from wann_plugin.tuning.pepg import Pepg, PepgParams
from wann_plugin.tuning.registry import TuningMethod, register_tuning_method
from wann_plugin.tuning.safe_mutations import Mutation

__all__: list[str] = []

register_tuning_method(TuningMethod(
    name="cma",
    summary="CMA-ES (Hansen & Ostermeier 2001) through DEAP's update, seeded sampling",
    params=(CmaParams,),
    build=lambda net, p, hooks: CmaEs(p[0]),
    presets={
        "default": {"pop_size": 64, "sigma": "auto", "generations": 1200, "n_repeats": 16,
                    "n_validation": 256, "starts": 2, "probe_generations": 150},
        "short": {"pop_size": 64, "sigma": "auto", "generations": 300, "n_repeats": 16},
        "reference": {"pop_size": 32, "sigma": 0.5, "generations": 150, "n_repeats": 4},
    },
))

register_tuning_method(TuningMethod(
    name="pepg",
    summary="parameter-exploring policy gradients (Sehnke et al. 2010), the reference's tuner",
    params=(PepgParams,),
    build=lambda net, p, hooks: Pepg(p[0]),
    presets={
        "default": {"generations": 300, "n_repeats": 16},
        "reference": {"pop_size": 64, "sigma": 0.1, "generations": 150, "n_repeats": 4},
    },
))


def _ga(operator: str, summary: str) -> TuningMethod:
    return TuningMethod(
        name="ga" if operator == "gaussian" else operator,
        summary=summary,
        params=(GaParams, Mutation),
        fixed={"method": operator},
        build=lambda net, p, hooks: SteadyStateGA(net, p[1], p[0],
                                                  experience_fn=hooks.experience_fn),
        presets={"default": {"generations": 300, "n_repeats": 16}},
        needs_experiences=operator != "gaussian",
    )


register_tuning_method(_ga("gaussian", "steady-state GA with Gaussian mutation (the control)"))
register_tuning_method(_ga("sm-r", "steady-state GA, safe mutation by rescaling (Lehman 2018)"))
register_tuning_method(_ga("sm-g-sum", "steady-state GA, safe mutation by summed gradients"))
register_tuning_method(_ga("sm-g-abs", "steady-state GA, safe mutation by absolute gradients"))
register_tuning_method(_ga("sm-g-so", "steady-state GA, second-order safe mutation"))

register_tuning_method(TuningMethod(
    name="adam",
    summary="gradient training of the weights: cross-entropy, Adam, mini-batches",
    params=(GradientParams,),
    build=lambda net, p, hooks: GradientTraining(p[0], hooks.gradient_fn),
    presets={"default": {"generations": 300, "n_repeats": 1, "validate_every": 10,
                         "n_validation": 8}},
    needs_gradient=True,
))
