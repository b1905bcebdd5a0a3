"""The ``wann`` command as a package: one module per subcommand, shared options, registries."""

import subprocess
import sys

import pytest

from wann_plugin import __version__
from wann_plugin.cli import SUBCOMMANDS, build_parser, main
from wann_plugin.tasks import TASKS
from wann_plugin.tuning import TUNING_METHODS

WANN = [sys.executable, "-m", "wann_plugin.cli"]


def _subparsers(parser):
    action = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    return action.choices


def test_version_via_python_m():
    proc = subprocess.run([*WANN, "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"wann {__version__}"


def test_every_subcommand_is_a_module_and_lists_import(capsys):
    subs = _subparsers(build_parser())
    assert list(subs) == list(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "--import MODULE" in capsys.readouterr().out, name


def test_method_choices_are_the_tuning_registry():
    subs = _subparsers(build_parser())
    for name in ("tune", "report"):
        method = next(a for a in subs[name]._actions if a.dest == "method")  # noqa: SLF001
        assert tuple(method.choices) == tuple(TUNING_METHODS)


def test_task_help_lists_the_task_registry(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in TASKS:
        assert name in text


def test_import_registers_a_task_the_help_then_lists(tmp_path, capsys):
    module = tmp_path / "mytask.py"
    module.write_text("from wann_plugin.tasks import register_task, make_task\n"
                      "register_task('my_swing', lambda **kw: make_task('swingup', **kw))\n")
    try:
        with pytest.raises(SystemExit):
            main(["--import", str(module), "evaluate", "--help"])
        assert "my_swing" in capsys.readouterr().out
    finally:
        TASKS.pop("my_swing", None)
