"""The emulator's Spark Connect sessions over the wire, as boto3 and PySpark's own client meet
them: EMR's checks and errors, and a front that admits a session's own tokens only."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
from demo_world import ELECTRONICS, SALES
from emulators import RunningEmulator
from spark_connect_clients import remote_spark

LIVE = ("STARTED", "IDLE", "BUSY")


def refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def started(emulator: RunningEmulator, cluster_id: str, role: str = SALES) -> str:
    emr = emulator.client("emr")
    session_id = emr.start_session(ClusterId=cluster_id, ExecutionRoleArn=role)["Id"]
    deadline = time.monotonic() + 120
    while (state := emr.get_session(ClusterId=cluster_id, SessionId=session_id)[
            "Session"]["State"]) not in LIVE:
        assert state not in ("FAILED", "TERMINATED") and time.monotonic() < deadline, state
        time.sleep(0.2)
    return session_id


def version_with(endpoint: str, metadata: dict[str, str], ca_bundle: str) -> str:
    """``spark.version`` through PySpark's Connect client with ``metadata`` on every call."""
    with remote_spark(endpoint, metadata, ca_bundle) as spark:
        return spark.version


def proxy_auth(session_id: str, token: str) -> dict[str, str]:
    return {"x-aws-proxy-auth": token, "authorization": session_id}


def test_emr_refuses_sessions_where_it_would(emulator: RunningEmulator,
                                             clusters: dict[str, str]) -> None:
    emr = emulator.client("emr")
    before = emr.list_sessions(ClusterId=clusters["connect-analytics"])["Sessions"]

    old = refusal(lambda: emr.start_session(ClusterId=clusters["shared-analytics"],
                                            ExecutionRoleArn=SALES))
    denied = refusal(lambda: emr.start_session(ClusterId=clusters["connect-analytics"],
                                               ExecutionRoleArn=ELECTRONICS))
    no_role = refusal(lambda: emr.start_session(ClusterId=clusters["connect-analytics"]))
    lake_formation = refusal(lambda: emr.start_session(
        ClusterId=clusters["lake-formation-sessions"], ExecutionRoleArn=SALES))
    unknown = refusal(lambda: emr.get_session(ClusterId=clusters["connect-analytics"],
                                              SessionId="is-NOSUCHSESSION0"))

    assert old[0] == "InvalidRequestException" and "emr-spark-8.0.0" in old[1]
    assert lake_formation[0] == "InvalidRequestException" and "Lake Formation" in lake_formation[1]
    assert denied[0] == "AccessDeniedException" and "StartSession" in denied[1]
    assert no_role[0] == "InvalidRequestException" and "ExecutionRoleArn" in no_role[1]
    assert unknown[0] == "InvalidRequestException" and "not found" in unknown[1]
    assert not emr.describe_cluster(ClusterId=clusters["shared-analytics"])["Cluster"][
        "SessionEnabled"]
    assert emr.list_sessions(ClusterId=clusters["connect-analytics"])["Sessions"] == before, \
        "a refused StartSession starts nothing"


def test_the_front_is_emrs_proxy_header_by_header(emulator: RunningEmulator,
                                                  clusters: dict[str, str]) -> None:
    """x-aws-proxy-auth carries the token and authorization the session ID as StartSession gave
    it; a Bearer token, a missing, lower-cased or other session's ID, another session's token or
    none at all is refused before Spark sees the call."""
    cluster_id = clusters["connect-analytics"]
    emr = emulator.client("emr")
    ca_bundle = emulator.env["AWS_CA_BUNDLE"]
    first, second = started(emulator, cluster_id), started(emulator, cluster_id)
    try:
        one = emr.get_session_endpoint(ClusterId=cluster_id, SessionId=first)
        other = emr.get_session_endpoint(ClusterId=cluster_id, SessionId=second)
        renewed = emr.get_session_endpoint(ClusterId=cluster_id, SessionId=first)

        assert re.fullmatch(r"is-[A-Z0-9]{13}", first), first
        assert re.fullmatch(rf"https://{first.lower()}\.elasticmapreduce-services\.us-east-1\."
                            r"localhost:\d+", one["Endpoint"]), one["Endpoint"]
        assert one["Endpoint"] != other["Endpoint"] and one["AuthToken"] != renewed["AuthToken"]
        for token in (one["AuthToken"], renewed["AuthToken"]):
            assert version_with(one["Endpoint"], proxy_auth(first, token),
                                ca_bundle).startswith("4.")
        for metadata in ({"authorization": f"Bearer {one['AuthToken']}"},
                         {"x-aws-proxy-auth": one["AuthToken"]},
                         proxy_auth(first.lower(), one["AuthToken"]),
                         proxy_auth(second, one["AuthToken"]),
                         proxy_auth(first, other["AuthToken"]),
                         proxy_auth(first, "not-a-token"), {}):
            with pytest.raises(Exception, match="UNAUTHENTICATED") as refused:
                version_with(one["Endpoint"], metadata, ca_bundle)
            assert "x-aws-proxy-auth" in str(refused.value)
    finally:
        for session_id in (first, second):
            emr.terminate_session(ClusterId=cluster_id, SessionId=session_id)
    ended = emr.get_session(ClusterId=cluster_id, SessionId=first)["Session"]
    assert ended["State"] in ("TERMINATING", "TERMINATED")
    with pytest.raises(botocore.exceptions.ClientError):
        emr.get_session_endpoint(ClusterId=cluster_id, SessionId=first)


def test_a_server_that_cannot_start_fails_its_session_with_the_reason(
        emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    emr = emulator.client("emr")
    cluster_id = clusters["connect-analytics"]
    session_id = emr.start_session(
        ClusterId=cluster_id, ExecutionRoleArn=SALES,
        EngineConfigurations=[{"Classification": "spark-defaults",
                               "Properties": {"spark.plugins": "org.example.NoSuchPlugin"}}])["Id"]
    deadline = time.monotonic() + 120
    while (session := emr.get_session(ClusterId=cluster_id, SessionId=session_id)["Session"])[
            "State"] not in ("FAILED", "TERMINATED", *LIVE):
        assert time.monotonic() < deadline, session
        time.sleep(0.2)

    assert session["State"] == "FAILED"
    assert re.search(r"exited with code \d+ before it was ready: .*org\.example\.NoSuchPlugin",
                     session["StateChangeReason"]), session
