"""The one validation vocabulary: Key declarations for files, constructors and task options."""

import io

import numpy as np
import pytest

from wann_plugin.tasks import TaskError, make_task
from wann_plugin.validation import (
    FALSE_WORDS,
    TRUE_WORDS,
    ConfigError,
    InvalidParameterError,
    Key,
    UnknownConfigKeyError,
    key_for_default,
    parse_section,
    validate_params,
    write_section,
)

KEYS = (
    Key("n", int, 1, low=1),
    Key("ratio", float, 0.2, 0.0, 1.0, high_open=True),
    Key("flag", bool, False),
    Key("mode", str, "fail", choices=("fail", "worst")),
    Key("weights", tuple, (-1.0, 1.0), item=float),
    Key("size", int, None, low=1, optional=True),
)


@pytest.mark.parametrize("key, raw, message", [
    ("n", "0", "[S] n == 0, must be >= 1."),
    ("n", "2.5", "[S] n == '2.5', must be a whole number >= 1."),
    ("ratio", "1", "[S] ratio == 1, must be in [0, 1)."),
    ("ratio", "nan", "[S] ratio == nan, must be a finite number in [0, 1)."),
    ("ratio", "inf", "[S] ratio == inf, must be a finite number in [0, 1)."),
    ("flag", "maybe", "[S] flag == 'maybe', must be true or false."),
    ("mode", "skip", "[S] mode == 'skip', must be one of fail, worst."),
    ("weights", "1 x", "[S] weights == '1 x', must be one or more finite numbers separated "
                       "by spaces."),
    ("weights", "", "[S] weights == '', must be one or more finite numbers separated by spaces."),
    ("size", "0", "[S] size == 0, must be >= 1."),
])
def test_text_errors_have_one_format(key, raw, message):
    with pytest.raises(ConfigError) as err:
        parse_section("S", {key: raw}, KEYS)
    assert str(err.value) == message


def test_parse_and_write_round_trip():
    values = parse_section("S", {"n": " 3 ", "flag": "YES", "weights": "-2, 0.5 1"}, KEYS)
    assert values == {"n": 3, "ratio": 0.2, "flag": True, "mode": "fail",
                      "weights": (-2.0, 0.5, 1.0), "size": None}
    buf = io.StringIO()
    write_section(buf, values, KEYS)
    text = buf.getvalue()
    assert "size" not in text  # an optional key left out stays out
    back = dict(line.split(" = ") for line in text.splitlines())
    assert parse_section("S", {k.strip(): v for k, v in back.items()}, KEYS) == values


def test_unknown_key_gets_a_close_match():
    with pytest.raises(UnknownConfigKeyError, match=r"\[S\] unknown key 'mdoe'; did you mean"):
        parse_section("S", {"mdoe": "fail"}, KEYS)


@pytest.mark.parametrize("values, error", [
    ({"n": 0}, "[C] n == 0, must be >= 1."),
    ({"n": True}, "[C] n == True, must be a whole number >= 1."),
    ({"n": "3"}, "[C] n == '3', must be a whole number >= 1."),
    ({"ratio": float("nan")}, "[C] ratio == nan, must be a finite number in [0, 1)."),
    ({"weights": [1.0, "a"]}, "[C] weights == (1.0, 'a'), must be one or more finite numbers "
                              "separated by spaces."),
    ({"weights": [1.0, np.inf]}, "[C] weights == '1 inf', must be one or more finite numbers "
                                 "separated by spaces."),
])
def test_constructor_values_are_checked_strictly(values, error):
    with pytest.raises(InvalidParameterError) as err:
        validate_params("C", KEYS, values)
    assert str(err.value) == error
    assert isinstance(err.value, ValueError) and isinstance(err.value, TypeError)


def test_constructor_values_are_normalised():
    out = validate_params("C", KEYS, {"n": np.int64(4), "ratio": 0, "weights": np.array([1, 2]),
                                      "size": None})
    assert out == {"n": 4, "ratio": 0.0, "weights": (1.0, 2.0), "size": None}
    assert type(out["n"]) is int and type(out["ratio"]) is float


def test_task_options_use_the_same_words():
    assert key_for_default("x", True).type is bool and key_for_default("x", None) is None
    for word in TRUE_WORDS:
        assert make_task("swingup", exact_math=word.upper()).exact_math is True
    for word in FALSE_WORDS:
        assert make_task("swingup", exact_math=f" {word} ").exact_math is False
    with pytest.raises(TaskError, match=r"^\[swingup\] exact_math == 'si', must be true or "
                                        r"false\.$"):
        make_task("swingup", exact_math="si")


@pytest.mark.parametrize("build, message", [
    (lambda: make_task("swingup", max_steps=-3), r"^\[swingup\] max_steps == -3, must be >= 1\.$"),
    (lambda: make_task("swingup", max_steps="-3"), r"max_steps == -3, must be >= 1\."),
    (lambda: make_task("gym", env_id="Pendulum-v1", max_envs=0),
     r"^\[gym\] max_envs == 0, must be >= 1\.$"),
    (lambda: make_task("biped", max_steps=-5), r"^\[biped\] max_steps == -5, must be >= 0\.$"),
    (lambda: make_task("digits", batch_size=0), r"^\[digits\] batch_size == 0, must be >= 1\.$"),
])
def test_task_constructors_use_the_vocabulary(build, message):
    with pytest.raises(TaskError, match=message):
        build()


def test_one_class_data_and_nan_weights_are_refused():
    from wann_plugin.network import WannNetwork
    from wann_plugin.tasks import ClassifyTask

    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(TaskError, match=r"y has one class only \(3\)"):
        ClassifyTask(X, np.full(40, 3))
    task = ClassifyTask(X, np.arange(40) % 2)
    net = WannNetwork.from_edges(3, 2, [1] * 6, [(i, j) for i in range(4) for j in (4, 5)])
    with pytest.raises(TaskError, match="finite"):
        task.predict(net, X, float("nan"))
    assert task.predict(net, X, 1.0).shape == (40,)
