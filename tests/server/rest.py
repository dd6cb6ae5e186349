"""The REST client of the server tests: every call goes through jupyter_server with its token,
and every answer body is checked for secrets, so each test also proves nothing secret left."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from emulators import RunningEmulator
from tornado.httpclient import HTTPClientError

# Words that would mean a credential reached a response body.
SECRET_WORDS = ("Password", "SessionToken", "SecretAccessKey")


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


def assert_error(answer: Answer, status: int, code: str) -> str:
    """The contract's error shape: the status, the code, one paragraph; returns the message."""
    assert (answer.status, answer.body.get("code")) == (status, code), answer
    message = answer.body["message"]
    assert message and "\n" not in message
    return message
