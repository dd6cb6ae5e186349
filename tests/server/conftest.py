"""A real jupyter_server with the extension, in this process, reaching AWS at the emulator.

pytest-jupyter's fixtures are imported here rather than registered as a plugin,
so its event loop and hooks apply to these tests only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from emulators import RunningEmulator, start_emulator
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures and hooks, this folder only)
from tornado.httpclient import HTTPClientError

# Words that would mean a credential reached a response body.
SECRET_WORDS = ("Password", "SessionToken", "SecretAccessKey")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A fake-engine emulator with the default world, shared by the server tests."""
    running = start_emulator(tmp_path_factory.mktemp("server-emulator"), "--spark", "fake")
    yield running
    running.cli("down")


@pytest.fixture(scope="session")
def cluster_ids(emulator: RunningEmulator) -> dict[str, str]:
    """Name → ID of every cluster of the default world, terminated ones included."""
    pages = emulator.client("emr").get_paginator("list_clusters").paginate()
    return {c["Name"]: c["Id"] for page in pages for c in page["Clusters"]}


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_emr_roles": True}}}


def point_at(monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator) -> None:
    """The server runs in this process, so its AWS settings are this process's environment."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_EMR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class RestClient:
    """Calls ``jupyter-emr-roles/...`` with the server's token and checks every body for
    secrets, so each test also proves that nothing secret left the server."""

    def __init__(self, jp_fetch: Any, secrets: list[str]) -> None:
        self._fetch = jp_fetch
        self._secrets = secrets

    async def call(self, *path: str, **kwargs: Any) -> Answer:
        try:
            response = await self._fetch("jupyter-emr-roles", *path, **kwargs)
        except HTTPClientError as exc:
            assert exc.response is not None, exc
            response = exc.response
        text = response.body.decode()
        for secret in (*self._secrets, *SECRET_WORDS):
            assert secret not in text, f"{secret[:4]}... in the body of {path}"
        assert "Traceback" not in text
        return Answer(response.code, json.loads(text))

    async def get(self, *path: str, **params: str) -> Answer:
        return await self.call(*path, params=params)

    async def post(self, *path: str, body: Any, **kwargs: Any) -> Answer:
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return await self.call(*path, method="POST", body=data, **kwargs)


@pytest.fixture
def rest(jp_fetch: Any, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RestClient:
    point_at(monkeypatch, emulator)
    return RestClient(jp_fetch, [emulator.env["AWS_SECRET_ACCESS_KEY"]])


def assert_error(answer: Answer, status: int, code: str) -> str:
    """The contract's error shape: the status, the code, one paragraph; returns the message."""
    assert (answer.status, answer.body.get("code")) == (status, code), answer
    message = answer.body["message"]
    assert message and "\n" not in message
    return message
