"""The rules of ``engines/livy/resilience.py`` on a scripted Livy: what is sent again, what is
never sent twice, and the one paragraph once the faults outlast the budget. The whole client
rides real faults in tests/test_livy_faults.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from jupyter_emr_roles.engines.livy import resilience
from jupyter_emr_roles.errors import LivyError
from jupyter_emr_roles.polling import PollPolicy

QUICK = resilience.FaultPolicy(budget=0.5, waits=PollPolicy(floor=0.01, ceiling=0.05))


class ScriptedLivy:
    """Answers (a status) or failures (an exception) in order; records what was sent."""

    def __init__(self, *outcomes: int | Exception) -> None:
        self._outcomes: Iterator[int | Exception] = iter(outcomes)
        self.sent: list[tuple[str, str]] = []

    def __call__(self, method: str, path: str, body: Any) -> requests.Response:
        self.sent.append((method, path))
        outcome = next(self._outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        response = requests.Response()
        response.status_code, response._content = outcome, b'{"id": 7}'
        return response


DROPPED = requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected")


def test_a_read_is_sent_again_through_502_503_504_and_dropped_connections() -> None:
    livy = ScriptedLivy(502, DROPPED, 503, requests.exceptions.ReadTimeout("slow"), 504, 200)
    answer = resilience.read(livy, "GET", "/sessions/1", "reading", QUICK)
    assert answer.status == 200 and len(livy.sent) == 6


def test_a_read_answered_otherwise_is_the_callers_to_judge() -> None:
    livy = ScriptedLivy(404)
    assert resilience.read(livy, "GET", "/sessions/1", "reading", QUICK).status == 404
    assert len(livy.sent) == 1


def test_faults_past_the_budget_are_one_paragraph_with_the_last_cause() -> None:
    livy = ScriptedLivy(*[503] * 1000)
    with pytest.raises(LivyError) as raised:
        resilience.read(livy, "GET", "/sessions/1", "reading statement 3", QUICK)
    message = str(raised.value)
    assert "when reading statement 3 (last: HTTP 503)" in message and "\n" not in message


def test_a_post_whose_answer_was_lost_is_not_sent_again_when_livy_took_it() -> None:
    livy = ScriptedLivy(DROPPED)
    found = resilience.Answer(201, '{"id": 4}')
    answer = resilience.post_once(livy, "/sessions/1/statements", {"code": "1"},
                                  lambda: found, "sending", QUICK)
    assert answer is found and livy.sent == [("POST", "/sessions/1/statements")]


def test_a_post_livy_did_not_take_is_sent_again() -> None:
    livy = ScriptedLivy(504, 201)
    answer = resilience.post_once(livy, "/sessions", {}, lambda: None, "starting", QUICK)
    assert answer.status == 201 and len(livy.sent) == 2


def test_a_post_answered_4xx_is_not_sent_again() -> None:
    livy = ScriptedLivy(400)
    answer = resilience.post_once(livy, "/sessions", {}, lambda: pytest.fail("not lost"),
                                  "starting", QUICK)
    assert answer.status == 400 and len(livy.sent) == 1


def test_a_certificate_that_does_not_verify_is_no_network_fault() -> None:
    livy = ScriptedLivy(requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(requests.exceptions.SSLError):
        resilience.read(livy, "GET", "/sessions", "listing", QUICK)
    assert len(livy.sent) == 1
