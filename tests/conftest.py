"""Shared test fixtures.

Tests may read ``../shared`` (the project's shared folder beside the checkout); package code
never does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder beside the checkout; tests that need it skip with a reason if absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DIR} (CI lays it beside the clone)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save artefacts (screenshots, figures) for people to look at."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
