"""aws/clients.py and aws/access_roles.py against the strict emulator over HTTPS: EMR calls, their
failures as one paragraph, and access roles that renew themselves under the person's name."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from demo_world import PARTNER_ACCESS, PARTNER_ROLE, SALES
from emulators import RunningEmulator, start_changed_world, start_emulator

from jupyter_emr_roles.aws.access_roles import STUDIO_METADATA_ENV, person
from jupyter_emr_roles.aws.clients import Emr, make_session
from jupyter_emr_roles.engines.livy.credentials import session_login
from jupyter_emr_roles.errors import AwsCallError
from jupyter_emr_roles.identifiers import ClusterId, RoleArn

ELECTRONICS = RoleArn("arn:aws:iam::123456789012:role/electronics-data-access")
_AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                  "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE")


def use(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process becomes the notebook's: the emulator's AWS variables, nothing else."""
    for name in _AWS_VARIABLES:
        monkeypatch.setenv(name, emulator.env[name])
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "JUPYTERHUB_USER", STUDIO_METADATA_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emr(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Emr:
    use(emulator, monkeypatch)
    return Emr(make_session())


def cluster_named(emr: Emr, name: str) -> ClusterId:
    clusters = emr.client.list_clusters()["Clusters"]
    return ClusterId(next(c["Id"] for c in clusters if c["Name"] == name))


def test_session_credentials_from_the_emulator(emr: Emr) -> None:
    login = session_login(emr, cluster_named(emr, "shared-analytics"), SALES)
    assert login.expires_at > datetime.now(timezone.utc) + timedelta(minutes=50)
    assert login.password not in repr(login)


def test_denied_role_names_the_permission_and_condition(emr: Emr) -> None:
    with pytest.raises(AwsCallError) as caught:
        session_login(emr, cluster_named(emr, "shared-analytics"), ELECTRONICS)
    message = str(caught.value)
    assert "AWS denied GetClusterSessionCredentials" in message
    assert "elasticmapreduce:ExecutionRoleArn condition" in message and "\n" not in message


def test_emr_refusal_passes_the_reason_through(emr: Emr) -> None:
    with pytest.raises(AwsCallError, match="emr-6.9.0 or later"):
        session_login(emr, cluster_named(emr, "release-too-old"), SALES)


def test_unknown_key_and_unknown_profile(emulator: RunningEmulator, monkeypatch) -> None:
    use(emulator, monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIMADETHISUP00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    with pytest.raises(AwsCallError, match="did not accept your credentials"):
        session_login(Emr(make_session()), ClusterId("j-ABC"), SALES)
    with pytest.raises(AwsCallError, match="profile 'nope'"):
        make_session(profile="nope")


def test_the_livy_ca_in_aws_ca_bundle_breaks_aws_calls_with_a_paragraph_that_says_so(
        emulator: RunningEmulator, monkeypatch) -> None:
    """The mistake the README used to recommend: AWS_CA_BUNDLE naming the cluster's CA."""
    use(emulator, monkeypatch)
    monkeypatch.setenv("AWS_CA_BUNDLE", emulator.livy_ca)
    with pytest.raises(AwsCallError) as caught:
        Emr(make_session()).describe(ClusterId("j-ABC"))
    assert caught.value.code == "Tls"
    assert "never the cluster's Livy CA" in str(caught.value)
    assert "JUPYTER_EMR_ROLES_CA_BUNDLE" in str(caught.value)


def test_access_role_the_caller_may_not_assume(emr: Emr) -> None:
    with pytest.raises(AwsCallError, match="AWS denied assuming the access role"):
        make_session(access_role_arn=RoleArn("arn:aws:iam::123456789012:role/EMR_DefaultRole"))


def caller_arn(session) -> str:
    return session.client("sts").get_caller_identity()["Arn"]


def test_the_access_role_session_is_named_after_the_person(
        emulator: RunningEmulator, monkeypatch, tmp_path: Path) -> None:
    use(emulator, monkeypatch)
    monkeypatch.setenv("JUPYTERHUB_USER", "alice smith/x")
    assert person() == "alice-smith-x"
    arn = caller_arn(make_session(access_role_arn=PARTNER_ACCESS))
    assert arn.endswith(":assumed-role/emr-notebook-access/alice-smith-x"), arn
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text(json.dumps({"UserProfileName": "bob", "SpaceName": "shared"}))
    monkeypatch.setenv(STUDIO_METADATA_ENV, str(metadata))
    assert person() == "bob", "Studio's user profile comes before JupyterHub's user"
    monkeypatch.delenv("JUPYTERHUB_USER")
    monkeypatch.setenv(STUDIO_METADATA_ENV, str(tmp_path / "missing.json"))
    assert person() and person() != "bob"
    monkeypatch.setenv("JUPYTERHUB_USER", "x" * 100)
    assert len(person()) == 64


def test_an_access_role_whose_trust_refuses_source_identity_is_assumed_without_it(
        tmp_path: Path, monkeypatch) -> None:
    """The emulator refuses SourceIdentity unless the trust allows sts:SetSourceIdentity, as STS
    does; the session is then made without it, instead of failing."""
    def no_source_identity(world: dict) -> None:
        world["partner_accounts"][0]["access_role_allows_source_identity"] = False

    with start_changed_world(tmp_path / "no-source-identity", no_source_identity,
                             "--spark", "fake") as strict:
        use(strict, monkeypatch)
        monkeypatch.setenv("JUPYTERHUB_USER", "carol")
        sts = strict.client("sts")
        with pytest.raises(Exception, match="sts:SetSourceIdentity"):
            sts.assume_role(RoleArn=PARTNER_ACCESS, RoleSessionName="carol",
                            SourceIdentity="carol")
        session = make_session(access_role_arn=PARTNER_ACCESS)
        assert caller_arn(session).endswith("assumed-role/emr-notebook-access/carol")


@pytest.fixture(scope="module")
def short_access(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("short-access"), "--spark", "fake",
                        "--access-role-ttl", "8") as running:
        yield running


def test_access_role_credentials_renew_before_they_expire(
        short_access: RunningEmulator, monkeypatch) -> None:
    """Keys of 8 s: a session used over 20 s keeps working, because botocore's refreshable
    credentials assume the role again; frozen keys would meet ExpiredTokenException."""
    use(short_access, monkeypatch)
    session = make_session(access_role_arn=PARTNER_ACCESS)
    emr = Emr(session)
    cluster = ClusterId(short_access.livy_cluster_ids()["partner-analytics"])
    frozen = session.get_credentials().get_frozen_credentials()
    started = time.monotonic()
    while time.monotonic() - started < 20:
        session_login(emr, cluster, PARTNER_ROLE)
        time.sleep(2)
    assert session.get_credentials().get_frozen_credentials().access_key != frozen.access_key
    old = short_access.client("emr", aws_access_key_id=frozen.access_key,
                              aws_secret_access_key=frozen.secret_key,
                              aws_session_token=frozen.token)
    with pytest.raises(Exception, match="ExpiredTokenException"):
        old.describe_cluster(ClusterId=cluster)
