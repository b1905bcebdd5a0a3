"""The `wann` command, run as a user runs it (a real subprocess) and through main()."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import reference_path

from wann_plugin.cli import main

WANN = [sys.executable, "-m", "wann_plugin.cli"]


def run(args, **kw):
    return subprocess.run(WANN + args, capture_output=True, text=True, timeout=300, **kw)


def test_evaluate_reference_tuned_weights_scores_932():
    """Acceptance (issue 2): the reference's tuned swing-up weights score 932 +/- 6 over 100
    episodes, as the reference README states."""
    proc = run(["evaluate", str(reference_path("swing.out")), "--task", "swingup", "--tuned",
                str(reference_path("zoo/cartpole_swingup.wann.json")), "--weight-bias", "-1.5",
                "--json"])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["task"] == "swingup" and out["episodes"] == 100
    assert out["mean"] == pytest.approx(932, abs=1.0)
    assert out["std"] == pytest.approx(6, abs=1.0)
    # pinned to what this implementation measures (episode seeds 0..99)
    assert out["mean"] == pytest.approx(931.9606, abs=1e-3)
    assert out["std"] == pytest.approx(6.2794, abs=1e-3)


def test_evaluate_shared_weights_of_swing_out_pinned(capsys):
    assert main(["evaluate", str(reference_path("swing.out")), "--task", "swingup", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["weights"] == [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]
    # the default engine (polynomial activations, within 1-2 ulp of numpy's); only w = +/-2, the
    # chaotic regime, differ from libm's: --task-option exact_math=true gives 551.456, 689.125
    expected = [555.161, 687.828, 521.017, 521.633, 701.545, 688.839]
    assert out["per_weight_mean"] == pytest.approx(expected, abs=1e-2)
    assert out["mean"] == pytest.approx(612.670, abs=1e-2)
    assert len(out["per_weight_std"]) == 6


def test_exact_math_reproduces_the_libm_figures(capsys):
    assert main(["evaluate", str(reference_path("swing.out")), "--task", "swingup", "--json",
                 "--task-option", "exact_math=true"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = [551.456, 687.828, 521.017, 521.633, 701.545, 689.125]
    assert out["per_weight_mean"] == pytest.approx(expected, abs=1e-2)
    assert out["mean"] == pytest.approx(612.101, abs=1e-2)


def test_evaluate_text_output_and_options(capsys):
    assert main(["evaluate", str(reference_path("swing.out")), "--task", "swingup",
                 "--weights", "-1,1", "--episodes", "5", "--seed", "3",
                 "--task-option", "max_steps=200"]) == 0
    text = capsys.readouterr().out
    assert "weight  -1.00" in text and "weight  +1.00" in text and "5 episodes from seed 3" in text


@pytest.mark.parametrize(
    "args,message",
    [
        (["evaluate", "/nonexistent.out", "--task", "swingup"], "no such network file"),
        (["evaluate", "SWING", "--task", "swingupp"], "did you mean 'swingup'"),
        (["evaluate", "SWING", "--task", "swingup", "--task-option", "bogus=1"], "no option 'bogus'"),
        (["evaluate", "SWING", "--task", "swingup", "--task-option", "novalue"], "expected KEY=VALUE"),
        (["evaluate", "BIPED", "--task", "swingup"], "is the task right for this network"),
        (["run", "/nonexistent.cfg"], "no such config file"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, args, message):
    args = [a.replace("SWING", str(reference_path("swing.out")))
            .replace("BIPED", str(reference_path("biped.out"))) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith(f"wann {args[0]}: error:")


def test_run_default_config_end_to_end(tmp_path):
    proc = run(["run", "--generations", "3", "--seed", "5", "--out", str(tmp_path / "out")])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("gen ") for line in lines) == 3
    assert any("score per shared weight" in line for line in lines)
    assert lines[-2] == (f"saved to {tmp_path / 'out' / 'champion.json'} (learning curves: "
                         f"{tmp_path / 'out' / 'curves.png'})")
    assert lines[-1].startswith("done in ")
    for name in ("champion.json", "stats.csv", "config.cfg"):
        assert (tmp_path / "out" / name).is_file()
    # the champion file is what `wann evaluate` reads
    proc = run(["evaluate", str(tmp_path / "out" / "champion.json"), "--task", "swingup",
                "--episodes", "3", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["per_weight_mean"]) == 6


def test_import_makes_a_subclass_config_runnable(tmp_path):
    """`--import FILE.py` loads user code, and load_config finds the subclass's section."""
    from wann_plugin.config import default_config_path

    text = default_config_path().read_text().replace(
        "[WannReproduction]", "[HiddenBudgetReproduction]\nmax_hidden_nodes = 1")
    cfg = tmp_path / "budget.cfg"
    cfg.write_text(text)
    script = str(Path(__file__).resolve().parents[1] / "examples" / "extending" / "hidden_budget.py")
    proc = run(["run", str(cfg), "--import", script, "--generations", "2",
                "--out", str(tmp_path / "out")])
    assert proc.returncode == 0, proc.stderr
    assert "[HiddenBudgetReproduction]" in (tmp_path / "out" / "config.cfg").read_text()
    # without the import the section is unknown, and the error says how to fix it
    proc = run(["run", str(cfg), "--generations", "1", "--out", str(tmp_path / "out2")])
    assert proc.returncode == 2
    assert "unknown section [HiddenBudgetReproduction]" in proc.stderr and "--import" in proc.stderr
