"""The tuning registry: one declaration per method, read by tune_weights and the CLI."""

from dataclasses import dataclass

import numpy as np
import pytest
from tuning_helpers import teacher_task

from wann_plugin.cli import build_parser, main
from wann_plugin.tuning import (
    TUNING_METHODS,
    CmaEs,
    CmaParams,
    OptionInfo,
    TuningMethod,
    get_tuning_method,
    parse_option_value,
    register_tuning_method,
    tune_weights,
)


def test_option_names_are_shared_across_methods():
    for name, method in TUNING_METHODS.items():
        opts = method.options()
        assert not {"popsize", "sigma_init", "method"} & set(opts), name
        if not method.needs_gradient:
            assert {"pop_size", "sigma"} <= set(opts), name
        for info in opts.values():
            assert info.help, f"{name}.{info.name} has no help text"
    assert TUNING_METHODS["pepg"].presets["reference"] == {
        "pop_size": 64, "sigma": 0.1, "generations": 150, "n_repeats": 4}
    assert list(TUNING_METHODS)[:2] == ["cma", "pepg"]


def test_method_options_are_checked_with_hints():
    cma = get_tuning_method("cma")
    with pytest.raises(ValueError, match="unknown option 'sigma_init'; did you mean 'sigma'"):
        cma.split({"sigma_init": 0.1})
    method_opts, loop = cma.resolve({"pop_size": 8}, "reference")
    assert method_opts == {"pop_size": 8, "sigma": 0.5}
    assert loop == {"generations": 150, "n_repeats": 4}
    with pytest.raises(ValueError, match="did you mean 'cma'"):
        get_tuning_method("cmaa")
    with pytest.raises(ValueError, match=r"\[cma2\] preset 'bad': unknown option 'sigm'"):
        TuningMethod(name="cma2", summary="", params=(CmaParams,),
                     build=lambda net, p, h: CmaEs(p[0]), presets={"bad": {"sigm": 1}})


def test_parse_option_value_converts_by_declared_type():
    opts = get_tuning_method("cma").options()
    assert parse_option_value(opts["pop_size"], "12") == 12
    assert parse_option_value(opts["pop_size"], "none") is None
    assert parse_option_value(opts["sigma"], "0.25") == 0.25
    assert parse_option_value(opts["sigma"], "auto") == "auto"
    with pytest.raises(ValueError, match="pop_size == 'x', must be an integer or none"):
        parse_option_value(opts["pop_size"], "x")
    flag = OptionInfo("rank_fitness", "bool", True, "")
    assert parse_option_value(flag, "false") is False and parse_option_value(flag, "on") is True


@dataclass(frozen=True)
class HillParams:
    """Parameters.

    Parameters
    ----------
    pop_size : int, default=6
        Candidates per generation.
    sigma : float, default=0.2
        Step size.
    """

    pop_size: int = 6
    sigma: float = 0.2


class Hill:
    """A (1, lambda) hill climber: the smallest strategy a user could register."""

    name = "hill"

    def __init__(self, params):
        self.params = params

    def init(self, x0, *, rng):
        return {"x": np.array(x0, dtype=float)}

    def ask(self, state, *, rng):
        p = self.params
        return state["x"] + p.sigma * rng.standard_normal((p.pop_size, state["x"].size)), state

    def tell(self, state, samples, scores):
        return {"x": samples[int(np.argmax(scores))]}

    def current(self, state):
        return state["x"].copy()


def test_a_registered_method_is_one_declaration_for_library_and_cli(capsys):
    method = TuningMethod(name="hill", summary="a hill climber", params=(HillParams,),
                          build=lambda net, p, hooks: Hill(p[0]),
                          presets={"default": {"generations": 30, "n_repeats": 1}})
    register_tuning_method(method)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_tuning_method(method)
        task, net = teacher_task(0)
        res = tune_weights(task, net, method="hill", start=0.5, n_validation=16,
                           options={"sigma": 0.1}, rng=np.random.default_rng(0))
        assert res.method == "hill" and len(res.history) == 31 and res.improved
        assert res.options["sigma"] == 0.1 and res.options["generations"] == 30
        parser = build_parser()
        tune = next(a for a in parser._actions if a.dest == "command").choices["tune"]  # noqa: SLF001
        assert "hill" in next(a for a in tune._actions if a.dest == "method").choices  # noqa: SLF001
        with pytest.raises(SystemExit):
            main(["tune", "--list-methods"])
        text = capsys.readouterr().out
        assert "hill: a hill climber" in text
        assert "--option sigma (float, default 0.2): Step size" in text
    finally:
        TUNING_METHODS.pop("hill", None)
