"""Identifiers parse exactly the documented shapes, and say why anything else fails."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from identifier_cases import (
    BAD_ACCOUNTS,
    BAD_APPLICATIONS,
    BAD_CLUSTERS,
    BAD_ROLE_ARNS,
    BAD_SESSION_NAMES,
    GOOD_ACCOUNTS,
    GOOD_APPLICATIONS,
    GOOD_CLUSTERS,
    GOOD_ROLE_ARNS,
    GOOD_SESSION_NAMES,
)

from jupyter_emr_roles.errors import EmrRolesError, InvalidIdentifier
from jupyter_emr_roles.identifiers import (
    AccountId,
    ApplicationId,
    ClusterId,
    RoleArn,
    SessionName,
    account_in_arn,
)

CASES = [
    (AccountId, GOOD_ACCOUNTS, BAD_ACCOUNTS),
    (ClusterId, GOOD_CLUSTERS, BAD_CLUSTERS),
    (RoleArn, GOOD_ROLE_ARNS, BAD_ROLE_ARNS),
    (SessionName, GOOD_SESSION_NAMES, BAD_SESSION_NAMES),
    (ApplicationId, GOOD_APPLICATIONS, BAD_APPLICATIONS),
]


def test_the_table_is_large_enough() -> None:
    for _, good, bad in CASES:
        assert len(good) >= 5 and len(good) + len(bad) >= 30


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, good, _ in CASES for v in good])
def test_good_values_parse_unchanged(kind: type[str], value: str) -> None:
    parsed = kind(value)
    assert parsed == value
    assert isinstance(parsed, kind)


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, _, bad in CASES for v in bad])
def test_bad_values_are_refused_with_value_source_and_shape(kind: type[str], value: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        kind(value, "the file ~/x.json, key accounts.1")
    message = str(caught.value)
    assert isinstance(caught.value, EmrRolesError)
    assert "from the file ~/x.json, key accounts.1" in message
    assert ascii(value[:100]) in message  # the value, escaped so it cannot break the line
    assert "Expected " in message
    assert "\n" not in message and message.isascii()


@pytest.mark.parametrize("value", [None, 123456789012, b"j-ABC", ["arn"]])
@pytest.mark.parametrize("kind", [AccountId, ApplicationId, ClusterId, RoleArn, SessionName])
def test_non_strings_are_refused(kind: type[str], value: object) -> None:
    with pytest.raises(InvalidIdentifier, match="not a string"):
        kind(value)


@pytest.mark.parametrize(("value", "reason"), [
    ("arn:aws:iam::123456789012:user/alice", "names an IAM 'user', not a role"),
    ("arn:aws:sts::123456789012:assumed-role/a/b", "service 'sts'"),
    ("arn:aws:iam::12345678901:role/x", "account '12345678901' is not 12 digits"),
    ("arn:aws-iso:iam::123456789012:role/x", "partition 'aws-iso'"),
    ("arn:aws:iam:eu-west-1:123456789012:role/x", "have no region"),
    ("arn:aws:iam::123456789012:role/s\u0430les", "non-ASCII"),
    ("arn:aws:iam::123456789012:role/" + "n" * 65, "1 to 64"),
])
def test_role_arn_errors_name_the_wrong_part(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        RoleArn(value)


def test_cluster_id_lower_case_hint() -> None:
    with pytest.raises(InvalidIdentifier, match="upper-case"):
        ClusterId("j-abcdef")


@pytest.mark.parametrize(("value", "reason"), [
    ("00FABCDEFGHIJ012", "upper-case"), ("j-1K48XXXXXXHCB", "--cluster-id")])
def test_application_id_hints(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        ApplicationId(value)


def test_account_lost_leading_zero_hint() -> None:
    with pytest.raises(InvalidIdentifier, match="leading zero"):
        AccountId("12345678901")


def test_role_arn_parts() -> None:
    arn = RoleArn("arn:aws-cn:iam::123456789012:role/service-role/team/emr-runtime")
    assert (arn.partition, arn.account, arn.path, arn.name) == (
        "aws-cn", "123456789012", "/service-role/team/", "emr-runtime")
    assert isinstance(arn.account, AccountId)
    assert RoleArn("arn:aws:iam::123456789012:role/x").path == "/"


IAM_CHARS = string.ascii_letters + string.digits + "+=,.@_-"
names = st.text(alphabet=IAM_CHARS, min_size=1, max_size=64)
paths = st.lists(st.text(alphabet=IAM_CHARS, min_size=1, max_size=20), max_size=5)
accounts = st.text(alphabet=string.digits, min_size=12, max_size=12)


@given(st.sampled_from(["aws", "aws-cn", "aws-us-gov"]), accounts, paths, names)
def test_every_documented_role_arn_parses_and_splits_back(
        partition: str, account: str, segments: list[str], name: str) -> None:
    path = "/" + "".join(segment + "/" for segment in segments)
    arn = RoleArn(f"arn:{partition}:iam::{account}:role{path}{name}")
    assert (arn.partition, arn.account, arn.path, arn.name) == (partition, account, path, name)


DANGEROUS = ["'", '"', ";", "$(", "`", "\n", "\r", "\t", " ", "\\", "|", "&", "<", ">", "*",
             "\x00", "\u0430", "\u2028", "\uff0f", "\u200b"]


@given(st.sampled_from(GOOD_ROLE_ARNS + GOOD_CLUSTERS + GOOD_ACCOUNTS + GOOD_APPLICATIONS),
       st.sampled_from(DANGEROUS), st.integers(min_value=0, max_value=200))
def test_no_dangerous_character_ever_parses(good: str, bad: str, position: int) -> None:
    position = min(position, len(good))
    value = good[:position] + bad + good[position:]
    for kind in (AccountId, ApplicationId, ClusterId, RoleArn):
        with pytest.raises(InvalidIdentifier):
            kind(value)


@given(st.text(max_size=80))
def test_arbitrary_text_either_parses_to_a_safe_value_or_raises_our_error(value: str) -> None:
    for kind in (AccountId, ApplicationId, ClusterId, RoleArn):
        try:
            parsed = kind(value)
        except InvalidIdentifier as exc:
            assert "\n" not in str(exc)
        else:
            assert parsed.isascii() and parsed.isprintable()
            assert not set(parsed) & set("'\";$`\\ |&<>*(){}")


def test_the_account_of_a_cluster_arn_is_parsed_like_any_account() -> None:
    arn = "arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/j-1K48XXXXXXHCB"
    assert account_in_arn(arn, "ListClusters") == "123456789012"
    assert isinstance(account_in_arn(arn, "ListClusters"), AccountId)
    assert account_in_arn("arn:aws:s3:::demo-data", "a bucket ARN") is None
    assert account_in_arn("", "an empty ARN") is None
    with pytest.raises(InvalidIdentifier, match="from ListClusters"):
        account_in_arn("arn:aws:elasticmapreduce:us-east-1:1234:cluster/j-1", "ListClusters")
