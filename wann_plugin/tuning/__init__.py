"""After the search: the best shared weight, and per-connection weights.

* :func:`best_shared_weight`: a sweep over ``[-2, 2]`` and a golden-section refinement.
* :func:`tune_weights`: individual weights by any method of :data:`TUNING_METHODS`: CMA-ES
  through DEAP (:class:`CmaEs`, the default), PEPG (:class:`Pepg`), a steady-state GA
  (:class:`SteadyStateGA`) with plain Gaussian or safe mutations (:class:`Mutation`: SM-R,
  SM-G-SUM, SM-G-ABS, SM-G-SO; Lehman et al. 2018), or gradient training
  (:class:`GradientTraining`) for differentiable tasks. :func:`register_tuning_method` adds
  one.

Every optimiser is ask/tell over frozen ``Params`` and ``State`` dataclasses, with all
randomness from the ``numpy.random.Generator`` passed as ``rng``.
"""

from wann_plugin.tuning._base import Strategy, centered_ranks
from wann_plugin.tuning.cma import CmaEs, CmaParams, CmaState
from wann_plugin.tuning.ga import GaParams, GaState, SteadyStateGA
from wann_plugin.tuning.gradient import GradientParams, GradientState, GradientTraining
from wann_plugin.tuning.pepg import Pepg, PepgParams, PepgState
from wann_plugin.tuning.registry import (
    LOOP_OPTIONS,
    TUNING_METHODS,
    Hooks,
    OptionInfo,
    TuningMethod,
    get_tuning_method,
    parse_option_value,
    register_tuning_method,
)
from wann_plugin.tuning.safe_mutations import (
    MUTATION_METHODS,
    Mutation,
    gaussian_mutation,
    output_divergence,
    output_sensitivity,
    rescale_to_divergence,
    sm_g_mutation,
    sm_r_mutation,
)
from wann_plugin.tuning.shared import DEFAULT_GRID, SharedWeightResult, best_shared_weight
from wann_plugin.tuning.tune import (
    GenerationRecord,
    TuningResult,
    auto_sigma,
    collect_experiences,
    evaluate_candidates,
    tune_weights,
)

__all__ = [
    "DEFAULT_GRID",
    "LOOP_OPTIONS",
    "TUNING_METHODS",
    "GradientParams",
    "GradientState",
    "GradientTraining",
    "Hooks",
    "OptionInfo",
    "TuningMethod",
    "auto_sigma",
    "get_tuning_method",
    "parse_option_value",
    "register_tuning_method",
    "MUTATION_METHODS",
    "CmaEs",
    "CmaParams",
    "CmaState",
    "GaParams",
    "GaState",
    "GenerationRecord",
    "Mutation",
    "Pepg",
    "PepgParams",
    "PepgState",
    "SharedWeightResult",
    "SteadyStateGA",
    "Strategy",
    "TuningResult",
    "best_shared_weight",
    "centered_ranks",
    "collect_experiences",
    "evaluate_candidates",
    "gaussian_mutation",
    "output_divergence",
    "output_sensitivity",
    "rescale_to_divergence",
    "sm_g_mutation",
    "sm_r_mutation",
    "tune_weights",
]
