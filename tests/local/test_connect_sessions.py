"""The emulator's Spark Connect sessions over the wire, as boto3 and PySpark's own client meet
them: EMR's checks and errors, and a front that admits a session's own tokens only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import grpc
import pytest
from demo_world import ELECTRONICS, SALES
from emulators import RunningEmulator

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


def version_with(endpoint: str, token: str | None, ca_bundle: str) -> str:
    """``spark.version`` through PySpark's Connect client, sending ``token`` (or none)."""
    from pyspark.sql.connect.client import ChannelBuilder
    from pyspark.sql.connect.session import SparkSession

    target = endpoint.removeprefix("sc://").split("/")[0]
    with open(ca_bundle, "rb") as stream:
        roots = stream.read()

    class Builder(ChannelBuilder):
        host = target

        def toChannel(self) -> Any:
            credentials = grpc.ssl_channel_credentials(roots)
            if token is not None:
                credentials = grpc.composite_channel_credentials(
                    credentials, grpc.access_token_call_credentials(token))
            return self._secure_channel(target, credentials)

    session = SparkSession.builder.channelBuilder(Builder()).create()
    try:
        return session.version
    finally:
        session.client.close()


def test_emr_refuses_sessions_where_it_would(emulator: RunningEmulator,
                                             clusters: dict[str, str]) -> None:
    emr = emulator.client("emr")

    old = refusal(lambda: emr.start_session(ClusterId=clusters["shared-analytics"],
                                            ExecutionRoleArn=SALES))
    denied = refusal(lambda: emr.start_session(ClusterId=clusters["connect-analytics"],
                                               ExecutionRoleArn=ELECTRONICS))
    no_role = refusal(lambda: emr.start_session(ClusterId=clusters["connect-analytics"]))
    unknown = refusal(lambda: emr.get_session(ClusterId=clusters["connect-analytics"],
                                              SessionId="sc-NOSUCHSESSION0000"))

    assert old[0] == "InvalidRequestException" and "emr-spark-8.0.0" in old[1]
    assert lake_formation[0] == "InvalidRequestException" and "Lake Formation" in lake_formation[1]
    assert denied[0] == "AccessDeniedException" and "StartSession" in denied[1]
    assert no_role[0] == "InvalidRequestException" and "ExecutionRoleArn" in no_role[1]
    assert unknown[0] == "InvalidRequestException" and "not found" in unknown[1]
    assert not emr.describe_cluster(ClusterId=clusters["shared-analytics"])["Cluster"][
        "SessionEnabled"]
    assert emr.list_sessions(ClusterId=clusters["connect-analytics"])["Sessions"] == []

    lake_formation = refusal(lambda: emr.start_session(
        ClusterId=clusters["lake-formation-sessions"], ExecutionRoleArn=SALES))

def test_the_front_admits_a_sessions_own_token_only(emulator: RunningEmulator,
                                                    clusters: dict[str, str]) -> None:
    cluster_id = clusters["connect-analytics"]
    emr = emulator.client("emr")
    ca_bundle = emulator.env["AWS_CA_BUNDLE"]
    first, second = started(emulator, cluster_id), started(emulator, cluster_id)
    try:
        one = emr.get_session_endpoint(ClusterId=cluster_id, SessionId=first)
        other = emr.get_session_endpoint(ClusterId=cluster_id, SessionId=second)
        renewed = emr.get_session_endpoint(ClusterId=cluster_id, SessionId=first)

        assert one["Endpoint"] != other["Endpoint"] and one["AuthToken"] != renewed["AuthToken"]
        assert version_with(one["Endpoint"], one["AuthToken"], ca_bundle).startswith("4.")
        assert version_with(one["Endpoint"], renewed["AuthToken"], ca_bundle).startswith("4.")
        for token in (other["AuthToken"], None, "not-a-token"):
            with pytest.raises(Exception, match="token is missing, expired or not this "
                                                "session's"):
                version_with(one["Endpoint"], token, ca_bundle)
    finally:
        for session_id in (first, second):
            emr.terminate_session(ClusterId=cluster_id, SessionId=session_id)
    ended = emr.get_session(ClusterId=cluster_id, SessionId=first)["Session"]
    assert ended["State"] in ("TERMINATING", "TERMINATED")
    with pytest.raises(botocore.exceptions.ClientError):
        emr.get_session_endpoint(ClusterId=cluster_id, SessionId=first)
