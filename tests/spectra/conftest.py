"""Fixtures for the spectra tests: synthetic spectra with known ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from hccbm.spectra.synthetic import tof_grid

# 24 well-separated peaks (≥ 3 % apart) spanning 1.1–9 kDa: ground truth for recovery tests
KNOWN_MZ = np.exp(np.linspace(np.log(1100.0), np.log(9000.0), 24))


@pytest.fixture(scope="session")
def grid() -> np.ndarray:
    return tof_grid(1000.0, 10000.0, 20000)
