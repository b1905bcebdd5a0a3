import re
from pathlib import Path

import pytest

from wann_plugin.config import (
    EVALUATION_KEYS,
    RUN_KEYS,
    config_text,
    default_config_path,
    load_config,
    make_evaluator,
    save_config,
)
from wann_plugin.genome import GENOME_KEYS
from wann_plugin.reproduction import REPRODUCTION_KEYS, SPECIES_SET_KEYS
from wann_plugin.validation import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.rst"


def write(tmp_path, text, name="run.cfg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def default_text():
    return default_config_path().read_text()


def test_default_config_loads():
    config = load_config()
    assert config.pop_size == 128
    assert config.wann.task_name == "swingup"
    assert config.wann.weights == (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
    assert config.wann.n_repeats == 3
    assert config.genome_config.input_keys == [-1, -2, -3, -4, -5, -6]
    assert config.genome_config.bias_key == -6
    evaluator = make_evaluator(config)
    assert evaluator.n_repeats == 3 and evaluator.task.n_inputs == 5


def test_round_trip(tmp_path):
    config = load_config()
    path = save_config(config, tmp_path / "saved.cfg")
    again = load_config(path)
    assert config_text(again) == config_text(config)
    assert again.wann == config.wann
    assert again.reproduction_config.tournament_size == config.reproduction_config.tournament_size


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("[WannGenome]", "[WannGenom]", r"unknown section \[WannGenom\]; did you mean \[WannGenome\]"),
        ("[WannTask]\nname = swingup", "", r"missing section \[WannTask\]"),
        ("n_repeats = 3", "n_repeat = 3",
         r"\[WannEvaluation\] unknown key 'n_repeat'; did you mean 'n_repeats'"),
        ("n_repeats = 3", "n_repeats = 0", r"\[WannEvaluation\] n_repeats == 0, must be >= 1\."),
        ("n_repeats = 3", "n_repeats = three",
         r"\[WannEvaluation\] n_repeats == 'three', must be a whole number >= 1\."),
        ("weights   = -2 -1 -0.5 0.5 1 2", "weights = -2 x",
         r"\[WannEvaluation\] weights == '-2 x', must be one or more finite numbers"),
        ("weights   = -2 -1 -0.5 0.5 1 2", "weights = -2 nan", r"weights == '-2 nan', must be"),
        ("weights   = -2 -1 -0.5 0.5 1 2", "weights = inf", r"weights == 'inf', must be"),
        ("n_repeats = 3", "n_repeats = 3\non_error = skip",
         r"\[WannEvaluation\] on_error == 'skip', must be one of fail, worst\."),
        ("pop_size               = 128", "pop_size = 0", r"\[NEAT\] pop_size == 0, must be >= 1\."),
        ("pop_size               = 128", "pop_sise = 128",
         r"\[NEAT\] unknown key 'pop_sise'; did you mean 'pop_size'"),
        ("seed                   = 1", "seed = abc",
         r"\[NEAT\] seed == 'abc', must be a whole number >= 0 \(or left out\)\."),
        ("seed                   = 1", "seed = -1", r"\[NEAT\] seed == -1, must be >= 0\."),
        ("fitness_criterion      = max", "fitness_criterion = best",
         r"\[NEAT\] fitness_criterion == 'best', must be one of max, min, mean\."),
        ("species_fitness_func = max", "species_fitness_func = top",
         r"\[DefaultStagnation\] species_fitness_func == 'top', must be one of"),
        ("name = swingup", "name = swingupp", r"no task 'swingupp'; did you mean 'swingup'"),
        ("name = swingup", "name = swingup\nmax_step = 10",
         r"has no option 'max_step'; did you mean 'max_steps'"),
        ("name = swingup", "name = swingup\nmax_steps = ten",
         r"\[swingup\] max_steps == 'ten', must be a whole number\."),
        ("num_inputs              = 5", "num_inputs = 4", r"num_inputs = 4.*task 'swingup' has 5 inputs"),
        ("tournament_size     = 8", "tournament_size = 1", r"tournament_size"),
        ("prob_add_node           = 0.25", "prob_add_nodes = 0.25", r"prob_add_nodes"),
        ("generations = 100", "generations = 0", r"\[WannRun\] generations == 0, must be >= 1"),
    ],
)
def test_bad_files_name_file_section_and_key(tmp_path, old, new, message):
    text = default_text()
    assert old in text, old
    path = write(tmp_path, text.replace(old, new))
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path)
    if "unknown key" not in str(err.value) and "tournament" not in message and "prob_add" not in message:
        assert "run.cfg" in str(err.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="no such config file"):
        load_config("/nonexistent/wann.cfg")


def test_neat_speciation_section_is_accepted(tmp_path):
    text = default_text().replace("[WannSpeciesSet]", "[DefaultSpeciesSet]\ncompatibility_threshold = 3.0")
    config = load_config(write(tmp_path, text))
    assert config.species_set_type.__name__ == "DefaultSpeciesSet"


def test_config_reference_documents_every_key():
    doc = DOCS.read_text()
    keys = [k.name for k in GENOME_KEYS] + [k.name for k in REPRODUCTION_KEYS]
    keys += [k.name for k in SPECIES_SET_KEYS] + [k.name for k in EVALUATION_KEYS + RUN_KEYS]
    missing = [k for k in keys if not re.search(rf"``{k}``", doc)]
    assert not missing, f"docs/config.rst does not document {missing}"


def test_every_example_config_loads():
    examples = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/*.cfg"))
    assert any(p.parent.name == "swingup" for p in examples)
    for path in examples:
        config = load_config(path)
        assert config.pop_size >= 1, path


def test_swingup_example_has_reference_hyperparameters():
    path = Path(__file__).resolve().parents[1] / "examples" / "swingup" / "config.cfg"
    config = load_config(path)
    assert config.pop_size == 192
    assert config.reproduction_config.tournament_size == 8
    assert config.reproduction_config.elite_ratio == 0.2
    assert config.wann.n_repeats == 3 and config.wann.generations == 1024
