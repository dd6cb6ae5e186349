"""aws.py against the emulator over HTTP, and the renewing Livy credentials."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from emulators import RunningEmulator, start_emulator

from jupyter_emr_roles.aws import Emr, make_session, role_session_name
from jupyter_emr_roles.credentials import LivyCredentials, LivyLogin
from jupyter_emr_roles.errors import AwsCallError, ClusterNotReady
from jupyter_emr_roles.identifiers import ClusterId, RoleArn

SALES = RoleArn("arn:aws:iam::123456789012:role/sales-data-access")
ELECTRONICS = RoleArn("arn:aws:iam::123456789012:role/electronics-data-access")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake",
                        "--no-tls") as running:
        yield running


@pytest.fixture
def emr(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Emr:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, emulator.env[name])
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return Emr(make_session())


def cluster_named(emr: Emr, name: str) -> ClusterId:
    clusters = emr.client.list_clusters()["Clusters"]
    return ClusterId(next(c["Id"] for c in clusters if c["Name"] == name))


def test_livy_url_follows_the_real_rule(emr: Emr) -> None:
    cluster = emr.describe(cluster_named(emr, "shared-analytics"))
    url = emr.livy_url(cluster)
    port = next(c["Properties"]["livy.server.port"] for c in cluster["Configurations"]
                if c["Classification"] == "livy-conf")
    assert url == f"https://localhost:{port}"


def test_livy_url_defaults_to_8998_and_never_http() -> None:
    cluster = {"Id": "j-ABC", "Status": {"State": "WAITING"}, "MasterPublicDnsName": "ip-10-0-0-1.ec2.internal"}
    assert Emr(boto3.Session(region_name="us-east-1")).livy_url(cluster) == \
        "https://ip-10-0-0-1.ec2.internal:8998"


def test_terminated_cluster_is_not_ready(emr: Emr) -> None:
    with pytest.raises(ClusterNotReady, match="is TERMINATED"):
        emr.livy_url(emr.describe(cluster_named(emr, "terminated")))


def test_session_credentials_from_the_emulator(emr: Emr) -> None:
    login = emr.session_credentials(cluster_named(emr, "shared-analytics"), SALES)
    assert login.expires_at > datetime.now(timezone.utc) + timedelta(minutes=50)
    assert login.password not in repr(login)


def test_denied_role_names_the_permission_and_condition(emr: Emr) -> None:
    with pytest.raises(AwsCallError) as caught:
        emr.session_credentials(cluster_named(emr, "shared-analytics"), ELECTRONICS)
    message = str(caught.value)
    assert "AWS denied GetClusterSessionCredentials" in message
    assert "elasticmapreduce:ExecutionRoleArn condition" in message and "\n" not in message


def test_emr_refusal_passes_the_reason_through(emr: Emr) -> None:
    with pytest.raises(AwsCallError, match="emr-6.9.0 or later"):
        emr.session_credentials(cluster_named(emr, "release-too-old"), SALES)


def test_unknown_key_and_unknown_profile(emulator: RunningEmulator, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.env["AWS_ENDPOINT_URL"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIMADETHISUP00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with pytest.raises(AwsCallError, match="did not accept your credentials"):
        Emr(make_session()).session_credentials(ClusterId("j-ABC"), SALES)
    with pytest.raises(AwsCallError, match="profile 'nope'"):
        make_session(profile="nope")


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    emr = Emr(make_session(region="us-east-1"))
    emr.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(AwsCallError, match="could not be reached"):
        emr.describe(ClusterId("j-ABC"))


def test_access_role_the_caller_may_not_assume(emr: Emr) -> None:
    with pytest.raises(AwsCallError, match="AWS denied assuming the access role"):
        make_session(access_role_arn=RoleArn("arn:aws:iam::123456789012:role/EMR_DefaultRole"))


def test_access_role_is_assumed_with_a_per_user_session_name(tmp_path, monkeypatch) -> None:
    with start_emulator(tmp_path / "open", "--spark", "fake", "--no-tls",
                        "--no-enforce-iam") as open_emulator:
        for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(name, open_emulator.env[name])
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "anything")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "anything")
        session = make_session(access_role_arn=RoleArn(
            "arn:aws:iam::123456789012:role/EMR_DefaultRole"))
        arn = session.client("sts").get_caller_identity()["Arn"]
        assert arn == f"arn:aws:sts::123456789012:assumed-role/EMR_DefaultRole/{role_session_name()}"
    assert role_session_name("alice smith/x") == "jupyter-emr-roles-alice-smith-x"
    assert len(role_session_name("a" * 100)) == 64


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def issuing(clock: Clock, ttl: timedelta) -> tuple[list[LivyLogin], LivyCredentials]:
    issued: list[LivyLogin] = []

    def fetch() -> LivyLogin:
        issued.append(LivyLogin(f"user-{len(issued)}", f"secret-{len(issued)}", clock.now + ttl))
        return issued[-1]

    return issued, LivyCredentials(fetch, now=clock)


def test_credentials_renew_ahead_of_expiry_not_on_every_call() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    first = credentials.current()
    clock.now += timedelta(minutes=54)
    assert credentials.current() is first  # 6 minutes left: outside the 5-minute margin
    clock.now += timedelta(minutes=2)
    assert credentials.current() is not first and len(issued) == 2


def test_short_lived_credentials_use_a_quarter_of_their_life_as_margin() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(seconds=20))
    credentials.current()
    clock.now += timedelta(seconds=14)
    credentials.current()
    assert len(issued) == 1
    clock.now += timedelta(seconds=2)  # 4 s left < 5 s (a quarter of 20 s)
    credentials.current()
    assert len(issued) == 2


def test_a_rejection_renews_once_even_when_many_threads_see_it() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    rejected = credentials.current()
    threads = [threading.Thread(target=credentials.renew_after_rejection, args=(rejected,))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(issued) == 2


def test_no_password_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    with caplog.at_level(logging.DEBUG):
        login = credentials.current()
    assert login.password not in repr(credentials) + repr(login) + caplog.text
    assert "renewed" in caplog.text and login.username not in caplog.text
