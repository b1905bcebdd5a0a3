"""Lint of the docs sources: code fits its box, long constants are summarised, not dumped."""

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

#: The widest code line the Furo theme shows without a scroll bar at its default width.
MAX_CODE = 88

_BLOCK_START = re.compile(r"^(\s*)\.\. (code-block|code|sourcecode|literalinclude|doctest)::")


def code_lines(text: str):
    """``(line number, line)`` of every line inside a code block of reST ``text``: the
    ``.. code-block::`` directives, ``::`` literal blocks and ``>>>`` doctest lines."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _BLOCK_START.match(line)
        if m or (line.rstrip().endswith("::") and not line.lstrip().startswith("..")):
            indent = len(m.group(1)) if m else len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].lstrip().startswith(":")
                                      and m):
                j += 1
            block = []
            while j < len(lines) and (not lines[j].strip()
                                      or len(lines[j]) - len(lines[j].lstrip()) > indent):
                if lines[j].strip():
                    block.append((j + 1, lines[j].rstrip()))
                j += 1
            if block:
                cut = min(len(t) - len(t.lstrip()) for _, t in block)
                yield from ((n, t[cut:]) for n, t in block)
            i = j
            continue
        if line.lstrip().startswith((">>> ", "... ")):
            yield i + 1, line.strip()
        i += 1


def test_code_lines_detects_blocks():
    text = "Text::\n\n   a\n   b\n\nnext\n\n.. code-block:: bash\n   :caption: x\n\n   cmd\n"
    assert [t for _, t in code_lines(text)] == ["a", "b", "cmd"]


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.rst")), ids=lambda p: p.name)
def test_docs_code_fits_its_box(path):
    wide = [f"{path.name}:{n}: {len(t)} chars: {t[:60]}"
            for n, t in code_lines(path.read_text()) if len(t) > MAX_CODE]
    assert not wide, f"code lines wider than {MAX_CODE} chars:\n" + "\n".join(wide)


def _included_files() -> list[Path]:
    """Files the docs show with ``literalinclude`` (shown whole or in part: all of it is
    checked)."""
    found = set()
    for path in DOCS.glob("*.rst"):
        for name in re.findall(r"^\s*\.\. literalinclude:: (\S+)", path.read_text(), re.M):
            found.add((DOCS / name).resolve())
    return sorted(found)


@pytest.mark.parametrize("path", _included_files(), ids=lambda p: p.name)
def test_included_files_fit_the_box(path):
    wide = [f"{path.name}:{n}: {len(t)} chars: {t[:60]}"
            for n, t in enumerate(path.read_text().splitlines(), 1) if len(t) > MAX_CODE]
    assert not wide, f"lines wider than {MAX_CODE} chars:\n" + "\n".join(wide)


def _documented_modules() -> list[str]:
    names = set()
    for path in DOCS.glob("*.rst"):
        names.update(re.findall(r"^\.\. automodule:: (\S+)", path.read_text(), re.M))
    return sorted(names)


PACKAGE = DOCS.parent / "wann_plugin"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_docstring_examples_fit_their_box(path):
    """Examples and literal blocks of the docstrings (the API pages show them as code) fit
    the box too."""
    wide = [f"{path.name}:{n}: {t[:60]}" for n, t in code_lines(path.read_text())
            if len(t) > MAX_CODE]
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("module", _documented_modules())
def test_long_constants_hide_their_value(module):
    """A documented module-level constant whose repr would fill lines of the API page says
    ``:meta hide-value:`` in its ``#:`` comment (and summarises itself in words instead)."""
    from sphinx.pycode import ModuleAnalyzer

    mod = importlib.import_module(module)
    docs = ModuleAnalyzer.for_module(module).find_attr_docs()
    long = []
    for (scope, name), lines in docs.items():
        obj = mod
        for part in [p for p in (scope.split(".") if scope else []) + [name]]:
            obj = getattr(obj, part, None)
        if obj is not None and len(repr(obj)) > 160 and not any(
                ":meta hide-value:" in line for line in lines):
            long.append(f"{scope + '.' if scope else ''}{name} ({len(repr(obj))} chars)")
    assert not long, f"{module}: add ':meta hide-value:' and a summary to: {long}"
