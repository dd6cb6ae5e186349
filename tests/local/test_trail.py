"""The emulator's CloudTrail: SourceIdentity kept along a role chain, and LookupEvents with
CloudTrail's filters, pages, errors and delivery delay."""

from __future__ import annotations

import json
import time

import boto3
import botocore.exceptions
from botocore.config import Config
import pytest
from emulators import RunningEmulator

ACCOUNT = "123456789012"
# `local up --strict`'s CloudTrail delivery delay (tests/emulators.py starts every emulator so).
STRICT_TRAIL_DELAY = 2.0
PARTNER_ACCESS = "arn:aws:iam::210987654321:role/emr-notebook-access"


def error_code(call, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def assumed_keys(emulator: RunningEmulator, source_identity: str) -> dict[str, str]:
    """The demo user's keys for the partner's access role, assumed with a source identity."""
    answer = emulator.client("sts").assume_role(
        RoleArn=PARTNER_ACCESS, RoleSessionName="chain", SourceIdentity=source_identity)
    assert answer["SourceIdentity"] == source_identity, "STS answers with the source identity"
    credentials = answer["Credentials"]
    return {"aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def visible(trail, name: str, since: float = 0, timeout: float = 15) -> list[dict]:
    """The events of ``name`` from ``since`` on (the emulator may be shared with modules that
    made the same call), once the trail has delivered at least one."""
    deadline = time.monotonic() + timeout
    while True:
        events = trail.lookup_events(StartTime=since, LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
        if events or time.monotonic() > deadline:
            return [json.loads(event["CloudTrailEvent"]) for event in events]
        time.sleep(0.25)


def test_calls_show_the_source_identity_of_their_session(emulator: RunningEmulator) -> None:
    keys = assumed_keys(emulator, "bob")
    partner_emr = emulator.client("emr", **keys)
    cluster = partner_emr.list_clusters()["Clusters"][0]["Id"]
    trail = emulator.client("cloudtrail", **keys)
    started = time.time()
    partner_emr.describe_cluster(ClusterId=cluster)
    early = trail.lookup_events(StartTime=started, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "DescribeCluster"}])["Events"]
    if time.time() - started < STRICT_TRAIL_DELAY:  # a loaded machine may take longer
        assert not early, "delivered late, as CloudTrail delivers"
    [record, *_] = visible(trail, "DescribeCluster", since=started)
    assert record["userIdentity"]["sessionContext"]["sourceIdentity"] == "bob"
    assert record["userIdentity"]["type"] == "AssumedRole"
    assert record["requestParameters"] == {"clusterId": cluster}
    assert record["recipientAccountId"] == "210987654321"


def test_a_source_identity_cannot_change_along_a_chain(emulator: RunningEmulator) -> None:
    sts = emulator.client("sts", **assumed_keys(emulator, "carol"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sts.assume_role(RoleArn=PARTNER_ACCESS, RoleSessionName="again",
                        SourceIdentity="mallory")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied" and "cannot be changed" in error["Message"]


def test_lookup_events_takes_one_attribute_and_pages_of_fifty(
        emulator: RunningEmulator) -> None:
    trail = emulator.client("cloudtrail")
    assert error_code(trail.lookup_events, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "A"},
        {"AttributeKey": "Username", "AttributeValue": "B"}]) == "InvalidLookupAttributesException"
    assert error_code(trail.lookup_events, MaxResults=51) == "InvalidMaxResultsException"
    assert error_code(trail.lookup_events, StartTime=time.time(),
                      EndTime=time.time() - 60) == "InvalidTimeRangeException"
    emr = emulator.client("emr")
    for _ in range(3):
        emr.list_clusters()
    time.sleep(2.5)
    first = trail.lookup_events(MaxResults=2, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "ListClusters"}])
    assert len(first["Events"]) == 2 and first["NextToken"]
    assert first["Events"][0]["EventTime"] >= first["Events"][1]["EventTime"], "newest first"


def test_lookup_events_needs_its_permission(emulator: RunningEmulator) -> None:
    env = emulator.env_of("new-analyst")
    trail = emulator.client("cloudtrail", aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    assert error_code(trail.lookup_events) == "AccessDeniedException"


def test_each_event_keeps_the_user_agent_of_its_call(emulator: RunningEmulator) -> None:
    """CloudTrail's userAgent is the caller's User-Agent header, extras included: how the audit
    tells the doctor's probe from a notebook's login."""
    env = emulator.env
    tagged = boto3.client("emr", endpoint_url=env["AWS_ENDPOINT_URL"],
                          region_name=env["AWS_DEFAULT_REGION"],
                          verify=env.get("AWS_CA_BUNDLE", True),
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                          config=Config(user_agent_extra="trail-test-agent/1.0"))
    cluster = emulator.client("emr").list_clusters()["Clusters"][0]["Id"]
    started = time.time()
    tagged.list_bootstrap_actions(ClusterId=cluster)
    [record, *_] = visible(emulator.client("cloudtrail"), "ListBootstrapActions", since=started)
    assert record["userAgent"].startswith("Boto3/"), record["userAgent"]
    assert record["userAgent"].endswith(" trail-test-agent/1.0"), record["userAgent"]
