"""Shared fixtures: paths to the repository, its sample data and the EmoDB corpus."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
EMODB = REPO.parent / "shared" / "data" / "emodb"


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The small sample recordings shipped in data/."""
    return REPO / "data"


@pytest.fixture(scope="session")
def emodb() -> Path:
    """The EmoDB corpus beside the project; the test is skipped when it is absent."""
    if not (EMODB / "metadata.csv").exists():
        pytest.skip(f"EmoDB corpus not found at {EMODB}")
    return EMODB
