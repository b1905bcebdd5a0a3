"""Shared test fixtures: the reference data lives in ../shared/reference/ beside the repo."""

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
