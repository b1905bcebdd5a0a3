"""Shared test fixtures: the reference data lives in ../shared/reference/ beside the repo."""

import signal
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "wann"


def reference_path(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.fail(f"reference data {path} is missing: ../shared must sit beside the repo")
    return path


def load_reference_matrix(name: str):
    """(matrix, activation ids) of a reference .out champion."""
    data = np.loadtxt(reference_path(name), delimiter=",")
    return data[:, :-1], data[:, -1]


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE


def default_sigint() -> None:
    """``preexec_fn`` for a child process a test interrupts with SIGINT.

    A test run started in the background (``cmd &``, ``nohup``) hands its children SIGINT
    *ignored*, and Python then never raises KeyboardInterrupt; Ctrl-C in a terminal reaches a
    foreground run with the default disposition, which this restores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
