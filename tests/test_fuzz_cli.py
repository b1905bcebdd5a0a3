"""Fuzzing the real ``wann`` command and loaders with hypothesis.

Config files, network files, checkpoints and command-line values are mutated at random and
handed to the real CLI (``wann_plugin.cli.main``, the function the console script runs; a
few cases also as real subprocesses). Every rejected input must exit non-zero with one line
naming the file, section, key or flag, and no traceback; nothing in an existing output folder
may change. The counts of distinct bad inputs tried are printed at the end of the module (and
written to ``$WANN_FUZZ_COUNTS`` when set).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _parallel_helpers import write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wann_plugin.cli import main
from wann_plugin.config import EVALUATION_KEYS, NEAT_KEYS, RUN_KEYS, load_config
from wann_plugin.genome import GENOME_KEYS
from wann_plugin.reproduction import REPRODUCTION_KEYS
from wann_plugin.validation import ConfigError

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
COUNTS: dict[str, set] = {"config": set(), "network": set(), "checkpoint": set(), "flags": set()}


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    counts = {k: len(v) for k, v in COUNTS.items()}
    counts["total"] = sum(counts.values())
    print(f"\nfuzz: distinct bad inputs tried {counts}", file=sys.stderr)
    if os.environ.get("WANN_FUZZ_COUNTS"):
        Path(os.environ["WANN_FUZZ_COUNTS"]).write_text(json.dumps(counts, indent=1) + "\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A finished toy run (with checkpoints) whose folder must never change."""
    root = tmp_path_factory.mktemp("fuzz")
    cfg = write_config(root / "run.cfg", pop_size=8, generations=2, max_steps=20)
    out = root / "run"
    assert main(["run", str(cfg), "--out", str(out), "--champion-episodes", "1",
                 "--checkpoint-every", "1"]) == 0
    return {"root": root, "cfg": cfg, "out": out, "snapshot": _snapshot(out)}


def _snapshot(folder: Path) -> dict:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest()[:16], p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def _cli(argv: list[str]) -> tuple[int, str]:
    """Run ``wann ARGV`` in-process; ``(exit code, stderr)``. An exception escaping ``main``
    fails the test (that would be a traceback)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def _one_line_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert re.match(r"wann( \w+)?: error: ", lines[0]), lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- config files
_SECTION_KEYS = {"NEAT": NEAT_KEYS, "WannGenome": GENOME_KEYS,
                 "WannReproduction": REPRODUCTION_KEYS, "WannEvaluation": EVALUATION_KEYS,
                 "WannRun": RUN_KEYS}
_BAD_VALUES = st.one_of(
    st.sampled_from(["", "nan", "inf", "-inf", "-1", "0", "1e400", "abc", "true", "2.5", "-0",
                     "1 2", "%(x)s", "99999999999999999999", "0x10", "yes"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
            max_size=12).map(lambda t: t.replace("[", "(")),
)


@st.composite
def _config_mutations(draw):
    kind = draw(st.sampled_from(["value", "value", "value", "unknown_key", "drop_key",
                                 "unknown_section", "bytes", "task_option"]))
    if kind in ("value", "drop_key"):
        section = draw(st.sampled_from(sorted(_SECTION_KEYS)))
        key = draw(st.sampled_from([k.name for k in _SECTION_KEYS[section]]))
        return kind, section, key, draw(_BAD_VALUES)
    if kind == "unknown_key":
        section = draw(st.sampled_from(sorted(_SECTION_KEYS)))
        return kind, section, draw(st.from_regex(r"[a-z_]{3,12}", fullmatch=True)), "1"
    if kind == "unknown_section":
        return kind, draw(st.from_regex(r"[A-Za-z]{3,12}", fullmatch=True)), "", ""
    if kind == "task_option":
        return kind, "WannTask", draw(st.sampled_from(["max_steps", "engine", "exact_math",
                                                        "bogus"])), draw(_BAD_VALUES)
    return kind, "", "", draw(st.binary(min_size=1, max_size=8))


def _apply(text: str, mutation) -> bytes:
    kind, section, key, value = mutation
    lines = text.splitlines()
    if kind == "bytes":
        return text.encode() + b"\n# " + value + b"\xff\xfe\n"
    if kind == "unknown_section":
        return (text + f"\n[{section}]\nx = 1\n").encode()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    body = [ln for ln in lines[start + 1:end] if ln.split("=")[0].strip() != key]
    if kind != "drop_key":
        body.append(f"{key} = {value}")
    return "\n".join(lines[:start + 1] + body + lines[end:]).encode("utf-8") + b"\n"


@FUZZ
@given(mutation=_config_mutations())
def test_fuzz_config_files(world, mutation):
    path = world["root"] / "fuzzed.cfg"
    data = _apply(world["cfg"].read_text(), mutation)
    path.write_bytes(data)
    try:
        load_config(path)
        rejected = None
    except ConfigError as exc:
        rejected = str(exc)
    if rejected is not None:
        COUNTS["config"].add(data)
        assert "\n" not in rejected and rejected.startswith(str(path)), rejected
        kind, section, key, _ = mutation
        assert (f"[{section}]" in rejected or key in rejected or "UTF-8" in rejected
                or "INI" in rejected), rejected
    # the CLI: a bad config is one line; a good one is refused by the existing run folder
    code, err = _cli(["run", str(path), "--out", str(world["out"])])
    line = _one_line_error(err)
    assert code == 2
    assert (rejected in line) if rejected is not None else ("--out" in line), line
    assert _snapshot(world["out"]) == world["snapshot"]


# ----------------------------------------------------------------------------- network files
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats()
                     | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


@st.composite
def _network_mutations(draw, doc):
    choice = draw(st.sampled_from(["replace", "replace", "delete", "truncate", "out"]))
    if choice == "truncate":
        return "truncate", draw(st.integers(0, 400))
    if choice == "out":
        rows = draw(st.lists(st.lists(st.floats(allow_nan=True) | st.integers(-5, 12),
                                      min_size=1, max_size=9), min_size=0, max_size=6))
        return "out", "\n".join(",".join(repr(v) for v in r) for r in rows)
    paths = [p for p in _paths(doc) if p]
    return choice, draw(st.sampled_from(paths)), draw(_JSON)


def _mutate_network(text: str, mutation) -> bytes:
    if mutation[0] == "truncate":
        return text.encode()[: mutation[1]]
    if mutation[0] == "out":
        return mutation[1].encode()
    doc = json.loads(text)
    _, path, value = mutation
    target = doc
    for p in path[:-1]:
        target = target[p]
    if mutation[0] == "delete":
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def champion_text(world):
    return (world["out"] / "champion.json").read_text()


@FUZZ
@given(data=st.data())
def test_fuzz_network_files(world, champion_text, data):
    mutation = data.draw(_network_mutations(json.loads(champion_text)))
    suffix = ".out" if mutation[0] == "out" else ".json"
    path = world["root"] / f"fuzzed{suffix}"
    raw = _mutate_network(champion_text, mutation)
    path.write_bytes(raw)
    argv = ["evaluate", str(path), "--episodes", "1", "--weights", "1", "--json"]
    if suffix == ".out":
        argv += ["--task", "swingup"]
    code, err = _cli(argv)
    if code != 0:
        COUNTS["network"].add(raw)
        line = _one_line_error(err)
        assert str(path) in line or path.name in line or "task" in line, line


# ----------------------------------------------------------------------------- checkpoints
@FUZZ
@given(data=st.data())
def test_fuzz_checkpoints(world, data, tmp_path_factory):
    source = sorted(world["out"].glob("checkpoint-*.wann"))[-1]
    raw = bytearray(source.read_bytes())
    how = data.draw(st.sampled_from(["flip", "truncate", "garbage", "insert"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "insert":
        i = data.draw(st.integers(0, len(raw)))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        raw = bytearray(data.draw(st.binary(max_size=64)))
    folder = tmp_path_factory.mktemp("ckpt")
    shutil.copy(world["out"] / "config.cfg", folder / "config.cfg")
    (folder / source.name).write_bytes(bytes(raw))
    COUNTS["checkpoint"].add(bytes(raw))
    before = _snapshot(folder)
    code, err = _cli(["run", "--resume", str(folder)])
    assert code == 2, err  # a changed checkpoint never runs
    line = _one_line_error(err)
    assert source.name in line or str(folder) in line, line
    assert _snapshot(folder) == before


# ----------------------------------------------------------------------------- flag values
_FLAGS = {
    "run": ["--generations", "--seed", "--champion-episodes", "--workers", "--checkpoint-every",
            "--scheduler-timeout", "--set", "--task-option"],
    "evaluate": ["--episodes", "--seed", "--weights", "--weight-bias", "--task-option"],
    "tune": ["--generations", "--seed", "--repeats", "--pop-size", "--sigma", "--restarts",
             "--validation-episodes", "--test-episodes", "--option", "--preset", "--method"],
    "report": ["--episodes", "--hidden", "--repeats", "--method"],
}
_FLAG_VALUES = st.one_of(
    st.sampled_from(["", "-1", "0", "nan", "inf", "-inf", "1e999", "abc", "2.5", "-0.0", "=",
                     "x=", "=1", "a.b", "NEAT.pop_size=0", "nan,1", "1,,2", "--", " "]),
    st.integers(-10**9, 0).map(str),
    st.floats(allow_nan=True).map(repr),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10),
)


@FUZZ
@given(command=st.sampled_from(sorted(_FLAGS)), data=st.data())
def test_fuzz_flag_values(world, command, data):
    flag = data.draw(st.sampled_from(_FLAGS[command]))
    value = data.draw(_FLAG_VALUES)
    target = {"run": [str(world["cfg"]), "--out", str(world["out"])],
              "evaluate": [str(world["out"] / "champion.json")],
              "tune": [str(world["out"] / "champion.json"), "--out",
                       str(world["out"] / "champion.json")],
              "report": [str(world["out"] / "champion.json"), "--out", str(world["out"])]}
    argv = [command, *target[command], f"{flag}={value}"]
    code, err = _cli(argv)
    if command == "evaluate" and code == 0:
        return  # a value that happens to be valid: evaluate writes nothing
    COUNTS["flags"].add((command, flag, value))
    assert code == 2, (argv, err)  # a bad flag, or the existing output is refused
    line = _one_line_error(err)
    assert flag in line or "--out" in line or "[" in line, line
    assert _snapshot(world["out"]) == world["snapshot"]


# ----------------------------------------------------------------------------- real processes
@pytest.mark.parametrize("argv", [
    ["run", "--seed", "-1"],
    ["run", "--set", "NEAT.pop_size=0"],
    ["evaluate", "NET", "--episodes", "0"],
    ["evaluate", "NET", "--weights", "nan"],
    ["run", "CFGBYTES"],
])
def test_real_processes_print_one_line(world, argv):
    bad = world["root"] / "latin1.cfg"
    bad.write_bytes(world["cfg"].read_bytes() + "# caf\xe9\n".encode("latin-1"))
    argv = [a.replace("NET", str(world["out"] / "champion.json"))
            .replace("CFGBYTES", str(bad)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "wann_plugin.cli", *argv], capture_output=True,
                          text=True, timeout=120, cwd=world["root"],
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert proc.returncode == 2
    _one_line_error(proc.stderr)
