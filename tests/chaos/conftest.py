"""The chaos tests' marker: `chaos` tests take minutes and run in `make chaos`
(PHOTOBUS_CHAOS=1), not in the default `make test` run."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: minutes long; runs in `make chaos` (PHOTOBUS_CHAOS=1)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PHOTOBUS_CHAOS"):
        return
    skip = pytest.mark.skip(
        reason="chaos: runs in `make chaos` (set PHOTOBUS_CHAOS=1 to run it here)"
    )
    for item in items:
        if item.get_closest_marker("chaos") is not None:
            item.add_marker(skip)
