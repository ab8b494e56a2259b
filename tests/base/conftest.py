"""Fixtures of the store tests: overlays of every kind, Redis stores on one node and on a Redis Cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.base.overlay import OverlayStore, SeededBase
from tests.base.test_overlay_store import BASE
from tests.support import RedisStores


def _redis_stores(request: pytest.FixtureRequest, base: SeededBase) -> RedisStores:
    if request.param == "cluster":
        return RedisStores(request.getfixturevalue("redis_cluster_url"), base, cluster=True)
    return RedisStores(request.getfixturevalue("redis_url"), base)


@pytest.fixture(scope="module", params=["memory", "redis", "cluster"])
def overlay_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[SeededBase], Any]]:
    """Makes a new, empty overlay over a base: the memory ``OverlayStore``, or a ``RedisOverlayStore`` on
    a sandbox id of its own in the session's Redis or Redis Cluster (its keys dropped after the module)."""
    if request.param == "memory":
        yield OverlayStore
        return
    stores = _redis_stores(request, BASE)
    yield lambda base: stores(base=base)
    stores.close()


@pytest.fixture(params=["redis", "cluster"])
def stores(request: pytest.FixtureRequest) -> Iterator[RedisStores]:
    """Redis stores over the test base, on one Redis node or on a Redis Cluster (tests/support.py)."""
    made = _redis_stores(request, BASE)
    yield made
    made.close()
