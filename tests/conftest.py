"""Shared fixtures: paths to the repository, its sample data and the EmoDB corpus."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# Hypothesis profiles. "ci" is derandomised (the same examples every run, no example database),
# so a green commit stays green; `.ci/run` selects it, and so does any run with CI set.
# Examples that a random run once found go into the tests as @example, where they run every time.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

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
