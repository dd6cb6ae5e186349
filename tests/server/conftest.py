"""A real jupyter_server with the extension, in this process, reaching AWS at the emulator.

pytest-jupyter's fixtures are imported here rather than registered as a plugin,
so its event loop and hooks apply to these tests only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulators import RunningEmulator, start_emulator
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures and hooks, this folder only)
from rest import RestClient, point_at


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A fake-engine emulator with the default world, shared by the server tests."""
    with start_emulator(tmp_path_factory.mktemp("server-emulator"), "--spark", "fake") as running:
        yield running


@pytest.fixture(scope="session")
def cluster_ids(emulator: RunningEmulator) -> dict[str, str]:
    """Name → ID of every cluster of the default world, terminated ones included."""
    return emulator.cluster_ids()


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_emr_roles": True}}}


@pytest.fixture
def rest(jp_fetch: Any, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RestClient:
    point_at(monkeypatch, emulator)
    return RestClient(jp_fetch, [emulator.env["AWS_SECRET_ACCESS_KEY"]])
