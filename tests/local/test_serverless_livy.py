"""The emulated EMR Serverless Livy endpoint over HTTPS, called as AWS's sample client calls
AWS's: Livy's REST API at the URL the emulator's template gives an application, every
request SigV4-signed with botocore's SigV4Auth for ``emr-serverless``.

Sessions on the world's Livy application are deleted by the tests that open them; a test
that needs an application in another state creates its own."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from demo_world import ACCOUNT, MARKETING, MARKETING_ARN, PARTNER_ACCESS, SALES, SALES_ARN
from emulators import RunningEmulator, start_emulator

ROLE_CONF = "emr-serverless.session.executionRoleArn"
URL_TEMPLATE = "JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL"
WHO_AM_I = 'import boto3\nboto3.client("sts").get_caller_identity()["Arn"]'
MISMATCH = "The request signature we calculated does not match the signature you provided."


@dataclass
class SignedLivy:
    """Livy at one application's endpoint, each request signed by ``credentials``."""

    url: str
    credentials: Credentials
    region: str
    verify: str | bool

    def send(self, method: str, path: str, body: Any = None,
             change: Callable[[AWSRequest], None] | None = None) -> requests.Response:
        """The answer to a signed request; ``change`` alters the request after it is signed."""
        request = AWSRequest(method=method, url=self.url + path,
                             data=json.dumps(body) if body is not None else None,
                             headers={"Content-Type": "application/json"})
        SigV4Auth(self.credentials, "emr-serverless", self.region).add_auth(request)
        if change is not None:
            change(request)
        prepared = request.prepare()
        return requests.request(method, prepared.url, headers=dict(prepared.headers),
                                data=prepared.body, verify=self.verify, timeout=30)

    def start(self, role_arn: str) -> int:
        """A new pyspark session running as ``role_arn``; its ID."""
        answer = self.send("POST", "/sessions", {"kind": "pyspark", "conf": {
            ROLE_CONF: role_arn}})
        assert answer.status_code == 201, answer.text
        assert answer.headers["Location"] == f"/sessions/{answer.json()['id']}"
        return int(answer.json()["id"])

    def settled(self, session_id: int, timeout: float = 120) -> dict[str, Any]:
        """The session once it is idle, dead or error."""
        deadline = time.monotonic() + timeout
        while True:
            session = self.send("GET", f"/sessions/{session_id}").json()
            if session["state"] in ("idle", "dead", "error", "killed"):
                return session
            assert time.monotonic() < deadline, session
            time.sleep(0.1)

    def run(self, session_id: int, code: str, timeout: float = 120) -> str:
        """What a statement printed, once it is available."""
        answer = self.send("POST", f"/sessions/{session_id}/statements", {"code": code})
        assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + timeout
        while (statement := self.send("GET", f"/sessions/{session_id}/statements/"
                                             f"{answer.json()['id']}").json())["state"] \
                != "available":
            assert time.monotonic() < deadline, statement
            time.sleep(0.1)
        assert statement["output"]["status"] == "ok", statement
        return str(statement["output"]["data"]["text/plain"])


def livy_of(emulator: RunningEmulator, application_id: str,
            credentials: Credentials | None = None) -> SignedLivy:
    """The application's Livy endpoint, signed for as the demo user unless ``credentials``
    say."""
    env = emulator.env
    return SignedLivy(env[URL_TEMPLATE].format(application_id=application_id),
                      credentials or Credentials(env["AWS_ACCESS_KEY_ID"],
                                                 env["AWS_SECRET_ACCESS_KEY"]),
                      env["AWS_DEFAULT_REGION"], env.get("AWS_CA_BUNDLE", True))


def user_keys(emulator: RunningEmulator, statements: list[dict[str, Any]]) -> Credentials:
    """The keys of a new user the platform admin made, allowed ``statements`` alone."""
    iam = emulator.admin("iam")
    user = f"livy-user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def new_application(emulator: RunningEmulator, **overrides: Any) -> str:
    """A Livy-enabled application of the test's own, as the platform admin creates it."""
    return emulator.admin("emr-serverless").create_application(
        name=f"livy-{uuid.uuid4().hex[:8]}", releaseLabel="emr-7.1.0", type="SPARK",
        interactiveConfiguration={"livyEndpointEnabled": True}, **overrides)["applicationId"]


def started(emulator: RunningEmulator, application_id: str, timeout: float = 30) -> None:
    """Start the application and wait until it is STARTED."""
    serverless = emulator.admin("emr-serverless")
    deadline = time.monotonic() + timeout
    while (state := serverless.get_application(applicationId=application_id)[
            "application"]["state"]) != "STARTED":
        assert time.monotonic() < deadline, state
        if state in ("CREATED", "STOPPED"):
            serverless.start_application(applicationId=application_id)
        time.sleep(0.1)


@pytest.fixture(scope="module")
def applications(emulator: RunningEmulator) -> dict[str, str]:
    """The world's applications by name."""
    pages = emulator.admin("emr-serverless").get_paginator("list_applications").paginate()
    return {app["name"]: app["id"] for page in pages for app in page["applications"]}


@pytest.fixture
def livy(emulator: RunningEmulator, applications: dict[str, str]) -> Iterator[SignedLivy]:
    """The world's Livy application's endpoint as the demo user; the sessions it opened are
    deleted after the test."""
    endpoint = livy_of(emulator, applications["serverless-livy"])
    before = {s["id"] for s in endpoint.send("GET", "/sessions").json()["sessions"]}
    yield endpoint
    for session in endpoint.send("GET", "/sessions").json()["sessions"]:
        if session["id"] not in before:
            endpoint.send("DELETE", f"/sessions/{session['id']}")


def test_each_session_runs_as_the_role_its_conf_names(livy: SignedLivy) -> None:
    """Two roles on one application, each session its own identity, both the caller's."""
    sales, marketing = livy.start(SALES), livy.start(MARKETING)
    for session_id in (sales, marketing):
        assert livy.settled(session_id)["state"] == "idle"
    assert livy.run(sales, WHO_AM_I).strip("'").startswith(SALES_ARN)
    assert livy.run(marketing, WHO_AM_I).strip("'").startswith(MARKETING_ARN)
    listed = {s["id"] for s in livy.send("GET", "/sessions").json()["sessions"]}
    assert {sales, marketing} <= listed


def test_a_session_is_the_caller_s_alone(emulator: RunningEmulator, livy: SignedLivy) -> None:
    """Another principal, even one that may do anything, does not reach it."""
    session_id = livy.start(SALES)
    admin = emulator.env_of("platform-admin")
    other = livy_of(emulator, livy.url.rsplit("/", 1)[1], Credentials(
        admin["AWS_ACCESS_KEY_ID"], admin["AWS_SECRET_ACCESS_KEY"]))
    assert other.send("GET", f"/sessions/{session_id}").status_code == 404
    assert session_id not in {s["id"] for s in other.send("GET", "/sessions").json()["sessions"]}


def test_an_unsigned_request_is_refused(livy: SignedLivy) -> None:
    answer = requests.get(livy.url + "/sessions", verify=livy.verify, timeout=30)
    assert (answer.status_code, answer.json()) == (403, {"message": "Missing Authentication Token"})


def test_a_request_changed_after_signing_is_refused(livy: SignedLivy) -> None:
    def other_role(request: AWSRequest) -> None:
        request.data = json.dumps({"kind": "pyspark", "conf": {ROLE_CONF: MARKETING}})

    answer = livy.send("POST", "/sessions", {"kind": "pyspark", "conf": {ROLE_CONF: SALES}},
                       change=other_role)
    assert answer.status_code == 403 and answer.json()["message"].startswith(MISMATCH)
    assert answer.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_a_wrong_secret_or_an_unknown_key_is_refused(livy: SignedLivy) -> None:
    wrong = SignedLivy(livy.url, Credentials(livy.credentials.access_key, "not-the-secret"),
                       livy.region, livy.verify)
    assert wrong.send("GET", "/sessions").json()["message"].startswith(MISMATCH)
    unknown = SignedLivy(livy.url, Credentials("AKIAXXXXXXXXXXXXXXXX", "secret"), livy.region,
                         livy.verify)
    answer = unknown.send("GET", "/sessions")
    assert (answer.status_code, answer.json()) == (
        403, {"message": "The security token included in the request is invalid."})


def test_a_signature_of_another_time_or_region_is_refused(livy: SignedLivy) -> None:
    def an_hour_ago(request: AWSRequest) -> None:
        """Signed again as a client whose clock is an hour behind."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
        auth = SigV4Auth(livy.credentials, "emr-serverless", livy.region)
        request.context["timestamp"] = stamp
        request.headers.replace_header("X-Amz-Date", stamp)
        del request.headers["Authorization"]
        signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(
            request)), request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={auth.scope(request)}, SignedHeaders="
            f"{auth.signed_headers(auth.headers_to_sign(request))}, Signature={signature}")

    answer = livy.send("GET", "/sessions", change=an_hour_ago)
    assert answer.status_code == 403 and answer.json()["message"].startswith("Signature expired")
    elsewhere = SignedLivy(livy.url, livy.credentials, "eu-west-1", livy.verify)
    assert "scoped to a valid region" in elsewhere.send("GET", "/sessions").json()["message"]


def test_a_session_needs_its_role_in_the_conf(livy: SignedLivy) -> None:
    for conf in ({}, {ROLE_CONF: "sales-data-access"}):
        answer = livy.send("POST", "/sessions", {"kind": "pyspark", "conf": conf})
        assert answer.status_code == 400 and ROLE_CONF in answer.json()["msg"]


def test_the_caller_needs_access_livy_endpoints(emulator: RunningEmulator,
                                                applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    keys = user_keys(emulator, [{"Effect": "Allow", "Action": "emr-serverless:GetApplication",
                                 "Resource": "*"}])
    answer = livy_of(emulator, application_id, keys).send("GET", "/sessions")
    assert answer.status_code == 403
    assert (f"is not authorized to perform: emr-serverless:AccessLivyEndpoints on resource: "
            f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/{application_id}"
            ) in answer.json()["Message"]


def test_a_session_needs_iam_pass_role_on_its_role(emulator: RunningEmulator,
                                                   applications: dict[str, str]) -> None:
    keys = user_keys(emulator, [{"Effect": "Allow", "Action": "emr-serverless:*",
                                 "Resource": "*"}])
    livy = livy_of(emulator, applications["serverless-livy"], keys)
    assert livy.send("GET", "/sessions").status_code == 200
    answer = livy.send("POST", "/sessions", {"kind": "pyspark", "conf": {ROLE_CONF: SALES}})
    assert answer.status_code == 403
    assert f"iam:PassRole on resource: {SALES}" in answer.json()["Message"]
    assert livy.send("GET", "/sessions").json()["sessions"] == []


def test_an_application_without_a_livy_endpoint_refuses(emulator: RunningEmulator,
                                                        applications: dict[str, str]) -> None:
    answer = livy_of(emulator, applications["serverless-spark-connect"]).send("GET", "/sessions")
    assert answer.status_code == 400 and "livyEndpointEnabled" in answer.json()["message"]


def test_an_application_not_started_refuses(emulator: RunningEmulator) -> None:
    """AWS's own client looks for these words to start the application first."""
    answer = livy_of(emulator, new_application(emulator)).send("GET", "/sessions")
    assert (answer.status_code, answer.json()) == (
        400, {"message": "Application must be started to access livy endpoint"})


def test_an_application_of_no_such_id_is_not_found(emulator: RunningEmulator) -> None:
    answer = livy_of(emulator, "00fabcdefghij012").send("GET", "/sessions")
    assert answer.status_code == 404 and "00fabcdefghij012" in answer.json()["message"]


def test_a_role_emr_serverless_may_not_assume_ends_the_session(
        emulator: RunningEmulator, applications: dict[str, str]) -> None:
    """A role trusting only the clusters' instance profile: the session dies as it starts,
    STS's refusal in its log (the platform admin may pass any role)."""
    iam = emulator.admin("iam")
    role = iam.create_role(RoleName=f"cluster-only-{uuid.uuid4().hex[:8]}",
                           AssumeRolePolicyDocument=json.dumps({
                               "Version": "2012-10-17", "Statement": [{
                                   "Effect": "Allow", "Action": "sts:AssumeRole",
                                   "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    admin = emulator.env_of("platform-admin")
    livy = livy_of(emulator, applications["serverless-livy"], Credentials(
        admin["AWS_ACCESS_KEY_ID"], admin["AWS_SECRET_ACCESS_KEY"]))
    session = livy.settled(livy.start(role["Role"]["Arn"]))
    assert session["state"] == "dead"
    assert any("emr-serverless.amazonaws.com is not authorized to perform: sts:AssumeRole"
               in line for line in session["log"]), session["log"]
    livy.send("DELETE", f"/sessions/{session['id']}")


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator whose access roles' keys live 5 s and whose applications' minute of idle
    time is a fifth of a second."""
    with start_emulator(tmp_path_factory.mktemp("fast"), "--spark", "fake",
                        "--access-role-ttl", "5", "--serverless-minute", "0.2") as running:
        yield running


@pytest.mark.long
def test_an_expired_session_key_is_refused(fast: RunningEmulator) -> None:
    """Keys of an assumed role work until STS's expiry, and are refused after it."""
    sts = boto3.client("sts", endpoint_url=fast.env["AWS_ENDPOINT_URL"],
                       region_name=fast.env["AWS_DEFAULT_REGION"],
                       aws_access_key_id=fast.env["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=fast.env["AWS_SECRET_ACCESS_KEY"],
                       verify=fast.env.get("AWS_CA_BUNDLE", True))
    assumed = sts.assume_role(RoleArn=PARTNER_ACCESS, RoleSessionName="livy")["Credentials"]
    livy = livy_of(fast, "00fabcdefghij012", Credentials(
        assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"]))
    assert livy.send("GET", "/sessions").status_code in (403, 404)
    assert "expired" not in livy.send("GET", "/sessions").text
    time.sleep(max(0.0, assumed["Expiration"].timestamp() - time.time()) + 1)
    answer = livy.send("GET", "/sessions")
    assert (answer.status_code, answer.json()) == (
        403, {"message": "The security token included in the request is expired"})


@pytest.mark.long
def test_a_live_session_keeps_its_application_up_until_it_is_stopped(
        fast: RunningEmulator) -> None:
    """An idle timeout of a minute (a fifth of a second here) passes many times while a
    session lives; stopping the application ends the session."""
    application_id = new_application(fast, autoStopConfiguration={
        "enabled": True, "idleTimeoutMinutes": 1})
    started(fast, application_id)
    livy = livy_of(fast, application_id)
    session_id = livy.start(SALES)
    assert livy.settled(session_id)["state"] == "idle"
    time.sleep(2)
    serverless = fast.admin("emr-serverless")
    assert serverless.get_application(applicationId=application_id)["application"][
        "state"] == "STARTED"
    serverless.stop_application(applicationId=application_id)
    deadline = time.monotonic() + 30
    while (ended := [s for s in fast.status()["sessions"]
                     if s.get("application_id") == application_id])[0]["state"] != "dead":
        assert time.monotonic() < deadline, ended
        time.sleep(0.1)
