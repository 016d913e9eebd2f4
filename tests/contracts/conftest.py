"""The fixture worlds every contract test runs on: the documented one and the generated unseen
ones (`tests/support/world.py`), each with its four mocks in process."""

from __future__ import annotations

from typing import Any

import pytest

from mocks import MockSystem, build_mock
from mocks.contracts import FIXTURES
from tests.support.world import World, build_world, extra_worlds


def worlds() -> list[Any]:
    params = [pytest.param(None, id="default")]
    params += [pytest.param(w, id=f"seed{w[0]}@{w[1]}") for w in extra_worlds()]
    return params


@pytest.fixture(scope="module", params=worlds())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    if request.param is None:
        return World("default", FIXTURES)
    seed, anchor = request.param
    directory = build_world(tmp_path_factory.mktemp(f"world{seed}"), seed, anchor)
    return World(f"seed {seed}", directory)


@pytest.fixture
def mocks(world: World) -> dict[str, MockSystem]:
    return {
        name: build_mock(name, world.directory)
        for name in ("policy-admin", "claims", "editique", "crm")
    }
