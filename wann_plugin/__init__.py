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
from wann_plugin.network import NetworkError, WannNetwork
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
    # activations
    "ACTIVATIONS", "CLASSIFY_HIDDEN_ACTIVATIONS", "WANN_HIDDEN_ACTIVATIONS", "Activation",
    "UnknownActivationError", "activation_by_id", "activation_by_name", "register_activation",
    # networks
    "NetworkError", "WannNetwork",
    # genome, ranking, reproduction
    "GENOME_KEYS", "MUTATION_OPERATORS", "WannGenome", "WannGenomeConfig", "Objectives",
    "pareto_fronts", "pareto_rank", "rank_genomes", "sort_genomes", "REPRODUCTION_KEYS",
    "SPECIES_SET_KEYS", "WannReproduction", "WannSpeciesSet",
    # tasks
    "TASKS", "Task", "TaskError", "UnknownTaskError", "check_task", "make_task",
    "register_task", "CartPoleSwingUpEnv", "SwingUpTask", "GymTask", "BipedTask",
    "CarRacingTask", "PCAEncoder", "ClassifyTask", "make_digits_task", "make_mnist_task",
    # parallel, evaluation, checkpoints
    "ProcessPool", "SchedulerError", "connect_dask", "dask_executor", "mpi_executor",
    "DEFAULT_WEIGHTS", "EvaluationError", "EvaluationWarning", "WannEvaluator",
    "CheckpointError", "find_checkpoint",
    # tuning and analysis
    "best_shared_weight", "tune_weights", "ensemble_accuracy", "ensemble_predict",
    "four_condition_report",
    # config files, validation, runs
    "ConfigError", "InvalidParameterError", "Key", "SectionConfig", "UnknownConfigKeyError",
    "validate_params", "RunSettings", "default_config_path", "load_config", "make_evaluator",
    "save_config", "ProgressReporter", "SearchResult", "run_search",
    # files
    "LoadedNetwork", "NetworkFileError", "load_network", "load_tuned_zoo", "read_out",
    "save_network", "write_out",
]
