"""Buffers that compiled kernels reach through raw addresses stay alive until the kernel ends.

numba frees an array allocated inside a kernel right after the last use of its *name*; taking
its address (``lanes.addr``) is the last such use in a kernel whose loops then read and write
through the address. Without ``lanes.keep_alive`` at the end, the loops use freed memory: the
next allocation reuses it (silently wrong numbers) or, for a buffer large enough to be mapped,
it is unmapped (a segfault seen once in the full suite).
"""

import ast
from pathlib import Path

import numba
import numpy as np
import pytest

from wann_plugin.compiled.lanes import addr, int_at, keep_alive

PACKAGE = Path(__file__).resolve().parents[1] / "wann_plugin"


@numba.njit
def _sum_through_address(n):
    a = np.arange(n)
    at = addr(a)
    b = np.full(n, 7)  # would take a's memory if a had been freed after addr(a)
    s = 0
    for i in range(n):
        s += int_at(at, i)
    keep_alive(a)
    return s, b[0]


@pytest.mark.parametrize("n", [4, 100, 1000, 100_000])
def test_keep_alive_keeps_a_buffer_read_through_its_address(n):
    total, seven = _sum_through_address(n)
    assert total == n * (n - 1) // 2
    assert seven == 7


def _kernels_taking_addresses():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
            taken = {
                node.args[0].id
                for node in ast.walk(fn)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "addr" and node.args
                and isinstance(node.args[0], ast.Name) and node.args[0].id not in params
            }
            if taken:
                yield path.relative_to(PACKAGE.parent), fn, taken


def test_every_kernel_keeps_its_local_buffers_alive_after_its_loops():
    found = list(_kernels_taking_addresses())
    assert found, "no kernel takes the address of a local buffer: the scan is broken"
    for path, fn, taken in found:
        last_loop = max((i for i, st in enumerate(fn.body) if isinstance(st, (ast.For, ast.While))),
                        default=-1)
        kept = {
            st.value.args[0].id
            for st in fn.body[last_loop + 1:]
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)
            and isinstance(st.value.func, ast.Name) and st.value.func.id == "keep_alive"
        }
        missing = sorted(taken - kept)
        assert not missing, (f"{path}:{fn.lineno} {fn.name} reads {missing} through addr() "
                             "but does not keep_alive() them after its loops")
