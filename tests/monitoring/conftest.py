"""The runtime under monitoring: the session's real bundle served by ``python -m serving``.

The bundle fixture is the serving tests' own (``tests/serving/conftest.py``): validate ->
featurize -> train on the bundled Telco data, nothing checked in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serving.conftest import Runtime, Trained, trained

__all__ = ["trained"]


@pytest.fixture(scope="module")
def served(trained: Trained) -> Iterator[Runtime]:
    """A lean runtime with gRPC on, for the metrics tests of one module."""
    runtime = Runtime(trained.path, "--enable_grpc=true")
    try:
        runtime.wait_ready()
        yield runtime
    finally:
        runtime.stop()
