"""Fixtures shared by the matrix tests."""

from __future__ import annotations

import pytest

from integration.matrix import Matrix, default_matrix


@pytest.fixture(scope="session")
def matrix() -> Matrix:
    """The packaged default matrix."""
    return default_matrix()
