"""Every way AWS fails before EMR answers is a JSON error with a code and one paragraph, never
a 500 with the story in the server log only. The same failures as the notebook's
(tests/aws_failures.py), made for real in the server's own environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_failures import aws_failures
from emulators import RunningEmulator
from rest import RestClient, assert_error


@pytest.mark.parametrize("case", range(5))
async def test_an_aws_failure_is_a_json_error_with_its_code(
        rest: RestClient, emulator: RunningEmulator, cluster_ids: dict[str, str],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: int) -> None:
    code, settings, expected = aws_failures(emulator, tmp_path)[case]
    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    for path in (("clusters",), ("clusters", cluster_ids["shared-analytics"])):
        message = assert_error(await rest.get(*path), 502, code)
        assert expected in message, message
