"""Shared test fixtures.

Tests may read ``../shared`` (the project's shared folder beside the checkout); package code
never does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def skip_or_fail(reason: str) -> None:
    """Skip outside CI; in CI (``CI=true``) a missing prerequisite is a failure, so that a test
    that needs the shared data or a browser can never pass there by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder beside the checkout; tests that need it skip with a reason if absent
    (and fail in CI, which lays it beside the clone)."""
    if not SHARED_DIR.is_dir():
        skip_or_fail(f"shared data folder not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save artefacts (screenshots, figures) for people to look at."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
