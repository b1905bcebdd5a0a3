"""wann_plugin: Weight Agnostic Neural Network search for neat-python.

Gaier & Ha (2019), "Weight Agnostic Neural Networks", NeurIPS. Plug our classes into
neat-python's own ``Population`` loop::

    import neat
    import wann_plugin as wp

    config = wp.load_config("examples/swingup/config.cfg")
    evaluator = wp.make_evaluator(config)
    population = neat.Population(config)
    population.add_reporter(evaluator)
    best = population.run(evaluator, 100)
"""

from wann_plugin.activations import (
    ACTIVATIONS,
    CLASSIFY_HIDDEN_ACTIVATIONS,
    WANN_HIDDEN_ACTIVATIONS,
    Activation,
    UnknownActivationError,
    activation_by_id,
    activation_by_name,
    register_activation,
)
from wann_plugin.analysis import ensemble_accuracy, ensemble_predict, four_condition_report
from wann_plugin.checkpoint import CheckpointError, find_checkpoint
from wann_plugin.config import RunSettings, default_config_path, load_config, make_evaluator, save_config
from wann_plugin.evaluation import DEFAULT_WEIGHTS, EvaluationError, EvaluationWarning, WannEvaluator
from wann_plugin.genome import GENOME_KEYS, MUTATION_OPERATORS, WannGenome, WannGenomeConfig
from wann_plugin.io import (
    LoadedNetwork,
    NetworkFileError,
    load_network,
    load_tuned_zoo,
    read_out,
    save_network,
    write_out,
)
from wann_plugin.network import NetworkError, WannNetwork, reference_activate
from wann_plugin.parallel import ProcessPool, SchedulerError, connect_dask, dask_executor, mpi_executor
from wann_plugin.ranking import Objectives, pareto_fronts, pareto_rank, rank_genomes, sort_genomes
from wann_plugin.reproduction import REPRODUCTION_KEYS, SPECIES_SET_KEYS, WannReproduction, WannSpeciesSet
from wann_plugin.runner import ProgressReporter, SearchResult, run_search
from wann_plugin.tasks import (
    TASKS,
    BipedTask,
    CarRacingTask,
    CartPoleSwingUpEnv,
    ClassifyTask,
    GymTask,
    PCAEncoder,
    SwingUpTask,
    Task,
    TaskError,
    UnknownTaskError,
    check_task,
    make_digits_task,
    make_mnist_task,
    make_task,
    register_task,
)
from wann_plugin.tuning import best_shared_weight, tune_weights
from wann_plugin.validation import (
    ConfigError,
    InvalidParameterError,
    Key,
    SectionConfig,
    UnknownConfigKeyError,
    validate_params,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "CLASSIFY_HIDDEN_ACTIVATIONS",
    "DEFAULT_WEIGHTS",
    "GENOME_KEYS",
    "REPRODUCTION_KEYS",
    "SPECIES_SET_KEYS",
    "InvalidParameterError",
    "Key",
    "SectionConfig",
    "validate_params",
    "MUTATION_OPERATORS",
    "TASKS",
    "WANN_HIDDEN_ACTIVATIONS",
    "Activation",
    "BipedTask",
    "CarRacingTask",
    "CartPoleSwingUpEnv",
    "ClassifyTask",
    "GymTask",
    "PCAEncoder",
    "SwingUpTask",
    "best_shared_weight",
    "ensemble_accuracy",
    "ensemble_predict",
    "four_condition_report",
    "make_digits_task",
    "make_mnist_task",
    "tune_weights",
    "ConfigError",
    "CheckpointError",
    "EvaluationError",
    "EvaluationWarning",
    "ProcessPool",
    "SchedulerError",
    "connect_dask",
    "dask_executor",
    "find_checkpoint",
    "mpi_executor",
    "LoadedNetwork",
    "NetworkError",
    "NetworkFileError",
    "Objectives",
    "ProgressReporter",
    "RunSettings",
    "SearchResult",
    "Task",
    "TaskError",
    "UnknownActivationError",
    "UnknownConfigKeyError",
    "UnknownTaskError",
    "WannEvaluator",
    "WannGenome",
    "WannGenomeConfig",
    "WannNetwork",
    "WannReproduction",
    "WannSpeciesSet",
    "activation_by_id",
    "activation_by_name",
    "check_task",
    "default_config_path",
    "load_config",
    "load_network",
    "load_tuned_zoo",
    "make_evaluator",
    "make_task",
    "pareto_fronts",
    "pareto_rank",
    "rank_genomes",
    "read_out",
    "reference_activate",
    "register_activation",
    "register_task",
    "run_search",
    "save_config",
    "save_network",
    "sort_genomes",
    "write_out",
]
