"""Two hundred requests at once: every one answered, and the server's event loop answers its own
requests meanwhile (the extension's AWS calls run in the server's executor). Each AWS answer
waits 200 ms here (`--faults aws-latency=200ms`), so a loop blocked by them would answer
nothing else for the storm's whole length. The latencies are benchmarks/rest_load.py's
business: no time is asserted here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from emulators import RunningEmulator, module_emulator
from rest import RestClient, point_at
from tornado.httpclient import AsyncHTTPClient

AT_ONCE = 200


@pytest.fixture(scope="module")
def slow_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    yield from module_emulator(tmp_path_factory, "slow-aws", "--faults", "aws-latency=200ms")


async def test_two_hundred_requests_at_once_are_all_answered_while_the_loop_keeps_serving(
        rest: RestClient, slow_aws: RunningEmulator, monkeypatch: pytest.MonkeyPatch,
        jp_serverapp: Any, jp_http_port: int, jp_base_url: str,
        jp_auth_header: dict[str, str]) -> None:
    point_at(monkeypatch, slow_aws)
    # A client of its own: the shared one sends ten at a time.
    client = AsyncHTTPClient(force_instance=True, max_clients=AT_ONCE)
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    finished: list[float] = []
    loop = asyncio.get_running_loop()

    async def clusters() -> int:
        response = await client.fetch(base + "jupyter-emr-roles/clusters",
                                      headers=jp_auth_header, raise_error=False,
                                      request_timeout=300)
        finished.append(loop.time())
        assert "clusters" in json.loads(response.body), response.body[:200]
        return response.code

    try:
        storm = [asyncio.create_task(clusters()) for _ in range(AT_ONCE)]
        await asyncio.sleep(0.05)
        status = await AsyncHTTPClient(force_instance=True).fetch(base + "api/status",
                                                                  headers=jp_auth_header)
        answered = loop.time()
        codes = await asyncio.gather(*storm)
    finally:
        client.close()

    assert codes == [200] * AT_ONCE
    assert status.code == 200
    done_before = sum(when <= answered for when in finished)
    assert done_before < AT_ONCE / 2, \
        f"api/status waited for {done_before} of the storm's requests: the loop was blocked"
    assert (await rest.get("clusters")).status == 200
