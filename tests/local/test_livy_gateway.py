"""The emulator's Livy gateway over real HTTP: sessions, statements, auth, ownership,
timeouts, TLS, and real sparkmagic as the client.

The gateway runs on its own asyncio loop in a background thread, with real
worker processes (the fake engine unless a test says otherwise) and a real
CredentialRegistry whose credentials the tests issue themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import ipaddress
import json
import logging
import os
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from helpers import wait_until

from jupyter_emr_roles.local.issued import CredentialRegistry, Identity, IssuedCredential
from jupyter_emr_roles.local.livy import LivyGateway

CLUSTER = "j-LIVYTEST00001"
OTHER_CLUSTER = "j-LIVYTEST00002"
ACCOUNT = "123456789012"
SALES = f"arn:aws:iam::{ACCOUNT}:role/sales"
ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics"
UNTRUSTED = f"arn:aws:iam::{ACCOUNT}:role/untrusted"
ALICE = f"arn:aws:iam::{ACCOUNT}:role/studio-alice"
BOB = f"arn:aws:iam::{ACCOUNT}:role/studio-bob"
CAROL = f"arn:aws:iam::{ACCOUNT}:role/studio-carol"  # owns nothing but this test's sessions
TTL = dt.timedelta(minutes=15)

T = TypeVar("T")


def role_env(identity: Identity) -> dict[str, str]:
    """Stands in for the emulator's STS AssumeRole: distinct fake keys per role; one role is refused."""
    if identity.role_arn == UNTRUSTED:
        raise RuntimeError("AccessDenied: the role's trust policy does not trust the cluster")
    name = identity.role_arn.rsplit("/", 1)[1]
    return {"AWS_ACCESS_KEY_ID": f"ASIA{name.upper()}", "AWS_SECRET_ACCESS_KEY": f"secret-{name}",
            "AWS_SESSION_TOKEN": f"token-{name}", "AWS_DEFAULT_REGION": "us-east-1"}


class LoopThread:
    """An asyncio loop in a daemon thread: the gateway lives there, the tests talk HTTP to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="gateway-loop",
                                        daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[[], T]) -> T:
        async def call() -> T:
            return function()

        return self.run(call())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class Served:
    """A running gateway, the ports of its clusters and the registry it checks against."""

    loop: LoopThread
    gateway: LivyGateway
    registry: CredentialRegistry
    ports: dict[str, int] = field(default_factory=dict)

    def issue(self, role: str, caller: str = ALICE, cluster: str = CLUSTER,
              ttl: dt.timedelta = TTL) -> IssuedCredential:
        return self.registry.issue(Identity(cluster, role, caller, None), ttl)


class Livy:
    """A small Livy client on requests that keeps every response body for secret checks."""

    def __init__(self, base_url: str, credential: IssuedCredential | None,
                 transcript: list[str], verify: str | bool = True) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.trust_env = False  # the machine's CA bundle variables are no business here
        self.http.verify = verify
        if credential is not None:
            self.http.auth = (credential.username, credential.password)
        self.transcript = transcript

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, self.base_url + path, timeout=30, **kwargs)
        self.transcript.append(response.text)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)

    def create(self, **body: Any) -> dict[str, Any]:
        response = self.post("/sessions", {"kind": "pyspark", **body})
        assert response.status_code == 201, response.text
        return response.json()

    def wait_for(self, session_id: int, *states: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            session = self.get(f"/sessions/{session_id}").json()
            if session["state"] in states or time.monotonic() > deadline:
                assert session["state"] in states, session
                return session
            time.sleep(0.05)

    def started(self, **body: Any) -> int:
        session_id = self.create(**body)["id"]
        self.wait_for(session_id, "idle")
        return session_id

    def statement(self, session_id: int, statement_id: int, *states: str,
                  timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/sessions/{session_id}/statements/{statement_id}")
            assert response.status_code == 200, response.text
            statement = response.json()
            if statement["state"] in states or time.monotonic() > deadline:
                assert statement["state"] in states, statement
                return statement
            time.sleep(0.05)

    def submit(self, session_id: int, code: str, **extra: Any) -> int:
        response = self.post(f"/sessions/{session_id}/statements", {"code": code, **extra})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def run(self, session_id: int, code: str, **extra: Any) -> dict[str, Any]:
        statement_id = self.submit(session_id, code, **extra)
        return self.statement(session_id, statement_id, "available", "error", "cancelled")

    def text(self, session_id: int, code: str) -> str:
        output = self.run(session_id, code)["output"]
        assert output["status"] == "ok", output
        return output["data"]["text/plain"]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


def _serve(loop: LoopThread, clusters: tuple[str, ...], **options: Any) -> Served:
    registry = CredentialRegistry()
    gateway = loop.call(lambda: LivyGateway(registry, role_env, **options))
    served = Served(loop, gateway, registry)
    for cluster in clusters:
        served.ports[cluster] = loop.run(gateway.add_cluster(cluster))
    return served


@pytest.fixture(scope="module")
def served(loop: LoopThread) -> Iterator[Served]:
    served = _serve(loop, (CLUSTER, OTHER_CLUSTER))
    yield served
    loop.run(served.gateway.close())


@pytest.fixture
def transcript() -> list[str]:
    return []


@pytest.fixture
def livy(served: Served, transcript: list[str]) -> Callable[..., Livy]:
    """``livy(role, caller)``: a client of the first cluster with freshly issued credentials."""

    def client(role: str = SALES, caller: str = ALICE) -> Livy:
        credential = served.issue(role, caller)
        return Livy(f"http://127.0.0.1:{served.ports[CLUSTER]}", credential, transcript)

    return client


# ----- sessions and statements


def test_a_session_runs_python_statements_like_livys_pyspark_shell(
        livy: Callable[..., Livy]) -> None:
    client = livy()
    created = client.create(name="first", heartbeatTimeoutInSecond=60, unknownField=True)
    assert created["state"] in ("not_started", "starting")
    assert created["kind"] == "pyspark" and created["name"] == "first"
    assert set(created) >= {"id", "appId", "owner", "proxyUser", "appInfo", "log"}
    session = client.wait_for(created["id"], "idle")
    sid = session["id"]
    assert session["appId"] and session["owner"] == ALICE

    assert client.text(sid, "1+1") == "2"
    assert client.text(sid, "print('hello')\nprint('world')") == "hello\nworld"
    assert client.text(sid, "x = 41") == ""
    assert client.text(sid, "x += 1\nx") == "42"
    assert client.text(sid, "None") == ""

    statement = client.run(sid, "def f():\n    raise ValueError('no such table')\nf()")
    assert statement["state"] == "available" and statement["completed"] >= statement["started"] > 0
    output = statement["output"]
    assert output["status"] == "error"
    assert (output["ename"], output["evalue"]) == ("ValueError", "no such table")
    assert output["traceback"][0].startswith("Traceback")
    assert output["traceback"][-1] == "ValueError: no such table\n"
    assert not any("worker.py" in line for line in output["traceback"]), output["traceback"]
    assert client.text(sid, "x") == "42", "an error does not lose the session's state"

    listing = client.get(f"/sessions/{sid}/statements").json()
    assert listing["total_statements"] == len(listing["statements"]) == 7
    assert [s["id"] for s in listing["statements"]] == list(range(7))
    assert listing["statements"][0]["output"] == {
        "status": "ok", "execution_count": 0, "data": {"text/plain": "2"}}
    assert listing["statements"][0]["progress"] == 1.0


def test_statements_queue_in_order_and_cancel(livy: Callable[..., Livy]) -> None:
    client = livy()
    sid = client.started()
    sleeper = client.submit(sid, "import time\ntime.sleep(3600)")
    queued = client.submit(sid, "'never runs'")
    client.statement(sid, sleeper, "running")
    assert client.get(f"/sessions/{sid}/state").json() == {"id": sid, "state": "busy"}

    assert client.post(f"/sessions/{sid}/statements/{queued}/cancel", {}).json() == {
        "msg": "canceled"}
    assert client.statement(sid, queued, "cancelled")["output"] is None
    response = client.post(f"/sessions/{sid}/statements/{sleeper}/cancel", {})
    assert response.status_code == 200
    # Cancelled long before its hour's sleep ends: the worker was interrupted, not waited for
    # (the deadline is generous: a loaded machine may take seconds to deliver the interrupt).
    assert client.statement(sid, sleeper, "cancelled", timeout=120)["state"] == "cancelled"
    client.wait_for(sid, "idle")
    assert client.text(sid, "'still alive'") == "'still alive'"

    finished = client.run(sid, "1")
    again = client.post(f"/sessions/{sid}/statements/{finished['id']}/cancel", {})
    assert again.status_code == 200
    assert client.statement(sid, finished["id"], "available")["output"]["data"] == {
        "text/plain": "1"}, "cancelling a finished statement changes nothing"
    assert client.text(sid, "2") == "2", "a late SIGINT does not kill the worker"


def test_list_get_state_log_and_delete(livy: Callable[..., Livy]) -> None:
    client = livy(caller=CAROL)
    first, second = client.started(), client.started(kind="sql")
    listing = client.get("/sessions").json()
    assert listing["from"] == 0 and listing["total"] == 2
    assert [s["id"] for s in listing["sessions"]] == [first, second]
    page = client.get("/sessions", params={"from": 1, "size": 5}).json()
    assert (page["from"], page["total"], [s["id"] for s in page["sessions"]]) == (1, 2, [second])
    assert client.get(f"/sessions/{second}").json()["kind"] == "sql"
    assert client.get(f"/sessions/{first}/state").json() == {"id": first, "state": "idle"}

    log = client.get(f"/sessions/{first}/log", params={"from": 0, "size": 1}).json()
    assert log["id"] == first and log["from"] == 0 and len(log["log"]) == 1
    assert log["total"] >= 2
    tail = client.get(f"/sessions/{first}/log").json()
    assert any("ready" in line for line in tail["log"])

    pid = int(client.text(first, "import os\nos.getpid()"))
    assert process_exists(pid)
    deleted = client.delete(f"/sessions/{first}")
    assert (deleted.status_code, deleted.json()) == (200, {"msg": "deleted"})
    assert not process_exists(pid)
    assert client.get(f"/sessions/{first}").status_code == 404
    assert client.delete(f"/sessions/{first}").status_code == 404
    assert [s["id"] for s in client.get("/sessions").json()["sessions"]] == [second]


def test_sql_statements_need_the_real_engine(livy: Callable[..., Livy]) -> None:
    client = livy()
    sid = client.started(kind="sql")
    output = client.run(sid, "SELECT 1")["output"]
    assert output["status"] == "error" and output["ename"] == "NotSupported"
    assert "--spark real" in output["evalue"]
    shared = client.started(kind="shared")
    assert client.run(shared, "1+2", kind="pyspark")["output"]["data"] == {"text/plain": "3"}
    missing_kind = client.post(f"/sessions/{shared}/statements", {"code": "1"})
    assert missing_kind.status_code == 400


def test_r_sessions_are_refused_saying_why(livy: Callable[..., Livy]) -> None:
    response = livy().post("/sessions", {"kind": "sparkr"})
    assert response.status_code == 400
    message = response.json()["msg"]
    assert message.startswith("Session kind 'sparkr' is not supported by the local engine: "
                              "SparkR's R package is in no registry")
    assert message.endswith("Use pyspark, spark (Scala) or sql.")


def test_the_fake_engine_answers_scala_with_needs_real_spark(livy: Callable[..., Livy]) -> None:
    client = livy()
    sid = client.started(kind="spark")
    output = client.run(sid, "spark.range(3).count()")["output"]
    assert output["status"] == "error" and output["ename"] == "NotSupported"
    assert "Scala needs real Spark" in output["evalue"] and "--spark real" in output["evalue"]
    assert client.run(sid, "1 + 2", kind="pyspark")["output"]["data"] == {"text/plain": "3"}


def test_bad_requests_get_livy_style_errors(livy: Callable[..., Livy]) -> None:
    client = livy()
    bad_json = client.request("POST", "/sessions", data="{not json",
                              headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["msg"]
    assert client.post("/sessions", ["pyspark"]).status_code == 400
    assert client.post("/sessions", {"kind": "pyspark", "conf": "x"}).status_code == 400
    assert client.get("/nowhere").status_code == 404
    assert "msg" in client.get("/nowhere").json()
    assert client.get("/sessions/999").json() == {"msg": "Session '999' not found."}
    wrong_method = client.request("PUT", "/sessions")
    assert wrong_method.status_code == 405 and "msg" in wrong_method.json()
    assert client.get("/sessions", params={"from": "x"}).status_code == 400
    sid = client.started()
    assert client.get(f"/sessions/{sid}/statements/5").status_code == 404
    assert client.post(f"/sessions/{sid}/statements", {"code": 7}).status_code == 400


# ----- identities


def test_credentials_are_required_and_never_echoed(
        served: Served, livy: Callable[..., Livy], transcript: list[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = livy()
    sid = good.started()
    assert good.text(sid, "'ok'") == "'ok'"
    url = good.base_url
    credential = served.issue(SALES)
    expiring = served.issue(SALES, ttl=dt.timedelta(seconds=1))
    other_cluster = served.issue(SALES, cluster=OTHER_CLUSTER)
    attempts = {
        "no auth": None,
        "wrong password": (credential.username, credential.password[::-1]),
        "unknown user": ("emr-0000000000000000", credential.password),
        "other cluster": (other_cluster.username, other_cluster.password),
        "bearer": "Bearer abc",
        "not base64": "Basic !!!",
    }
    messages = {}
    for name, auth in attempts.items():
        headers = {"Authorization": auth} if isinstance(auth, str) else {}
        for method, path in (("GET", "/sessions"), ("GET", f"/sessions/{sid}"),
                             ("POST", "/sessions"), ("DELETE", f"/sessions/{sid}")):
            response = requests.request(method, url + path, timeout=10, headers=headers,
                                        auth=auth if isinstance(auth, tuple) else None)
            transcript.append(response.text)
            assert response.status_code == 401, (name, method, path, response.text)
            assert response.headers["WWW-Authenticate"] == 'Basic realm="Livy"'
            messages[name] = response.json()["msg"]
    assert "another cluster" in messages["other cluster"]
    assert "wrong password" in messages["wrong password"]

    assert wait_until(lambda: dt.datetime.now(dt.UTC) > expiring.expires_at, 3)
    expired = requests.get(url + "/sessions", auth=(expiring.username, expiring.password),
                           timeout=10)
    transcript.append(expired.text)
    assert expired.status_code == 401 and "expired" in expired.json()["msg"]

    transcript.extend(good.get(f"/sessions/{sid}/log", params={"from": 0}).json()["log"])
    assert good.get(f"/sessions/{sid}").json()["state"] == "idle", "refused requests change nothing"
    secrets = [c.password for c in (credential, expiring, other_cluster)]
    secrets += [credential.password[::-1], good.http.auth[1]]
    for secret in secrets:
        assert not any(secret in text for text in transcript)
        assert secret not in caplog.text


def test_sessions_belong_to_role_and_caller_not_to_user_name(livy: Callable[..., Livy]) -> None:
    alice_sales = livy(SALES, ALICE)
    sid = alice_sales.started()
    alice_sales.text(sid, "secret_table = 'sales-2024'")
    for stranger in (livy(ELECTRONICS, ALICE), livy(SALES, BOB)):
        assert stranger.get(f"/sessions/{sid}").status_code == 404
        assert stranger.get(f"/sessions/{sid}/state").status_code == 404
        posted = stranger.post(f"/sessions/{sid}/statements", {"code": "secret_table"})
        assert posted.status_code == 404
        assert stranger.delete(f"/sessions/{sid}").status_code == 404
        assert sid not in [s["id"] for s in stranger.get("/sessions").json()["sessions"]]

    renewed = livy(SALES, ALICE)
    assert renewed.http.auth[0] != alice_sales.http.auth[0], "a renewal brings a new user name"
    assert renewed.text(sid, "secret_table") == "'sales-2024'"
    assert sid in [s["id"] for s in renewed.get("/sessions").json()["sessions"]]


def test_each_session_runs_in_its_own_process_with_its_roles_credentials(
        livy: Callable[..., Livy], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "the-gateways-own-profile")
    sales, electronics = livy(SALES), livy(ELECTRONICS)
    sales_sid, electronics_sid = sales.started(), electronics.started()
    probe = "import os\nos.environ['AWS_ACCESS_KEY_ID'], os.environ.get('AWS_PROFILE'), os.getpid()"
    sales_key, sales_profile, sales_pid = eval(sales.text(sales_sid, probe))
    electronics_key, electronics_profile, electronics_pid = eval(
        electronics.text(electronics_sid, probe))
    assert (sales_key, electronics_key) == ("ASIASALES", "ASIAELECTRONICS")
    assert sales_profile is None and electronics_profile is None, "the gateway's AWS_* stay out"
    assert sales_pid != electronics_pid
    assert sales.text(sales_sid, "os.environ['PYTHONUNBUFFERED']") == "'1'"


def test_a_worker_that_dies_takes_its_session_with_it(livy: Callable[..., Livy]) -> None:
    client = livy()
    sid = client.started()
    statement = client.run(sid, "import os\nos._exit(3)")
    assert statement["state"] == "error" and statement["output"]["ename"] == "SessionDied"
    session = client.wait_for(sid, "dead")
    assert any("exited with code 3" in line for line in session["log"]), session["log"]


def test_a_role_that_cannot_be_assumed_gives_a_dead_session_with_the_reason(
        livy: Callable[..., Livy]) -> None:
    client = livy(UNTRUSTED)
    session = client.wait_for(client.create()["id"], "dead")
    assert any("AccessDenied" in line for line in session["log"]), session["log"]
    refused = client.post(f"/sessions/{session['id']}/statements", {"code": "1"})
    assert refused.status_code == 400 and refused.json()["msg"] == "Session is in state dead"


# ----- heartbeat and idle timeout


def test_a_session_without_heartbeat_dies_and_stays_listed(
        served: Served, livy: Callable[..., Livy]) -> None:
    client = livy()
    sid = client.started(heartbeatTimeoutInSecond=2)
    pid = int(client.text(sid, "import os\nos.getpid()"))
    time.sleep(1.2)
    assert client.get(f"/sessions/{sid}/state").json()["state"] == "idle", "access is a heartbeat"
    last_access = time.monotonic()

    def state() -> str:
        rows = [r for r in served.gateway.sessions_summary()
                if r["cluster_id"] == CLUSTER and r["id"] == sid]
        return rows[0]["state"]

    assert wait_until(lambda: state() == "dead", 8)
    assert time.monotonic() - last_access >= 2, "not before its heartbeat timeout"
    assert wait_until(lambda: not process_exists(pid), 5)
    session = client.get(f"/sessions/{sid}").json()
    assert session["state"] == "dead"
    assert any("timed out" in line for line in session["log"])
    summary = next(r for r in served.gateway.sessions_summary()
                   if r["id"] == sid and r["cluster_id"] == CLUSTER)
    assert summary["role_arn"] == SALES and summary["owner"] == ALICE
    assert set(summary) == {"cluster_id", "id", "state", "kind", "role_arn", "owner", "created",
                            "last_activity"}


# ----- gateway life cycle


def test_remove_cluster_and_close_kill_every_worker(loop: LoopThread) -> None:
    served = _serve(loop, (CLUSTER, OTHER_CLUSTER))
    pids = {}
    for cluster in (CLUSTER, OTHER_CLUSTER):
        client = Livy(f"http://127.0.0.1:{served.ports[cluster]}",
                      served.issue(SALES, cluster=cluster), [])
        sid = client.started()
        pids[cluster] = int(client.text(sid, "import os\nos.getpid()"))
    assert loop.run(served.gateway.add_cluster(CLUSTER)) == served.ports[CLUSTER]

    loop.run(served.gateway.remove_cluster(OTHER_CLUSTER))
    assert not process_exists(pids[OTHER_CLUSTER]) and process_exists(pids[CLUSTER])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{served.ports[OTHER_CLUSTER]}/sessions", timeout=5)
    assert {r["cluster_id"] for r in served.gateway.sessions_summary()} == {CLUSTER}

    loop.run(served.gateway.close())
    assert not process_exists(pids[CLUSTER])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{served.ports[CLUSTER]}/sessions", timeout=5)


# ----- TLS


def _write_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost and 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livy test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                            crl_sign=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    server_cert = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                   .issuer_name(ca_name).public_key(server_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([
                       x509.DNSName("localhost"),
                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(server_cert.public_bytes(pem))
    key_file.write_bytes(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return ca_file, cert_file, key_file


def test_tls_with_a_private_ca(loop: LoopThread, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    ca_file, cert_file, key_file = _write_ca_and_server_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    served = _serve(loop, (CLUSTER,), ssl_context=context)
    try:
        credential = served.issue(SALES)
        for host in ("localhost", "127.0.0.1"):
            url = f"https://{host}:{served.ports[CLUSTER]}"
            client = Livy(url, credential, [], verify=str(ca_file))
            assert client.get("/sessions").json()["total"] == 0
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(url + "/sessions", auth=(credential.username, credential.password),
                             timeout=10)
        sid = client.started()
        assert client.text(sid, "6*7") == "42"
    finally:
        loop.run(served.gateway.close())



def test_a_plain_http_port_answers_a_tls_hello_at_once_as_jetty_does(served: Served) -> None:
    """A client that tries HTTPS first on a plain-HTTP Livy gets a protocol error, not a
    time-out: the handshake fails with an SSL error (before the socket's time-out) because
    the answer is Jetty's HTTP 400 to the hello's first byte."""
    port = served.ports[CLUSTER]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="localhost")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x05hello")
        answer = raw.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 400 Illegal character CNTL=0x16\r\n"), answer
    unauthenticated = requests.get(f"http://127.0.0.1:{port}/sessions", timeout=30)
    assert unauthenticated.status_code == 401, "HTTP on the same port is still Livy"

# ----- real sparkmagic as the client

SPARKMAGIC_CONFIG = {
    # sparkmagic calls logging.config.dictConfig on every logger it builds: keep other loggers on
    # and write nowhere, instead of the default file handler under ~/.sparkmagic.
    "logging_config": {
        "version": 1, "disable_existing_loggers": False,
        "handlers": {"magicsHandler": {"class": "logging.NullHandler"}},
        "loggers": {"magicsLogger": {"handlers": ["magicsHandler"], "level": "DEBUG",
                                     "propagate": 0}},
    },
    "retry_policy": "configurable",
    "retry_seconds_to_sleep_list": [0.2, 0.5],
    "configurable_retry_policy_max_retries": 3,
    "livy_session_startup_timeout_seconds": 60,
    "wait_for_idle_timeout_seconds": 30,
    "livy_server_heartbeat_timeout_seconds": 60,
    "heartbeat_refresh_seconds": 1,
    "heartbeat_retry_seconds": 1,
}


@pytest.fixture
def sparkmagic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """sparkmagic configured from a temporary folder; restores whatever configuration it found."""
    conf_dir = tmp_path / "sparkmagic"
    conf_dir.mkdir()
    (conf_dir / "config.json").write_text(json.dumps(SPARKMAGIC_CONFIG))
    monkeypatch.setenv("SPARKMAGIC_CONF_DIR", str(conf_dir))
    import sparkmagic.utils.configuration as conf

    previous = dict(conf.d)
    conf.override_all(SPARKMAGIC_CONFIG)  # in case another test imported sparkmagic first
    yield conf
    conf.override_all(previous)


def _sparkmagic_controller(url: str, credential: IssuedCredential) -> tuple[Any, Any]:
    from hdijupyterutils.ipythondisplay import IpythonDisplay
    from sparkmagic.auth.basic import Basic
    from sparkmagic.livyclientlib.endpoint import Endpoint
    from sparkmagic.livyclientlib.sparkcontroller import SparkController

    # The same arguments %spark add -t Basic_Access -u ... -p ... parses.
    auth = Basic(argparse.Namespace(url=url, user=credential.username,
                                    password=credential.password))
    return SparkController(IpythonDisplay()), Endpoint(url, auth)


def test_sparkmagic_drives_a_session_end_to_end(
        served: Served, sparkmagic: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from sparkmagic.livyclientlib.command import Command

    url = f"http://127.0.0.1:{served.ports[CLUSTER]}"
    credential = served.issue(ELECTRONICS, BOB)
    controller, endpoint = _sparkmagic_controller(url, credential)
    controller.add_session("demo", endpoint, False, {"kind": "pyspark"})
    session = controller.get_session_by_name_or_default("demo")
    assert session.status == "idle" and session.sql_context_variable_name == "spark"
    assert controller.run_command(Command("1+1"), "demo") == (True, "2", "text/plain")
    assert controller.run_command(Command("import os\nos.environ['AWS_ACCESS_KEY_ID']"),
                                  "demo") == (True, "'ASIAELECTRONICS'", "text/plain")
    success, message, _ = controller.run_command(Command("1/0"), "demo")
    assert not success and message.startswith("division by zero\n")
    assert "ZeroDivisionError" in message
    assert "ready" in controller.get_logs("demo")
    # sparkmagic starts a heartbeat thread for every session it lists and never stops it.
    sparkmagic.override("livy_server_heartbeat_timeout_seconds", 0)
    infos = controller.get_all_sessions_endpoint_info(endpoint)
    assert len(infos) == 1 and "Kind: pyspark" in infos[0] and "State: idle" in infos[0]

    session_id = session.id
    controller.delete_session_by_name("demo")
    direct = Livy(url, served.issue(ELECTRONICS, BOB), [])
    assert direct.get(f"/sessions/{session_id}").status_code == 404
    assert "Starting Spark application" in capsys.readouterr().out


# ----- the real engine (PySpark on a local JVM), when this machine has both

needs_spark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
    reason="the real engine needs pyspark installed and java on PATH")


@needs_spark
def test_real_engine_runs_pyspark_scala_and_sql(loop: LoopThread, sparkmagic: Any) -> None:
    from sparkmagic.livyclientlib.command import Command
    from sparkmagic.livyclientlib.sqlquery import SQLQuery

    served = _serve(loop, (CLUSTER,), engine="real")
    try:
        url = f"http://127.0.0.1:{served.ports[CLUSTER]}"
        credential = served.issue(SALES)
        controller, endpoint = _sparkmagic_controller(url, credential)
        controller.add_session("real", endpoint, False, {
            "kind": "pyspark", "driverMemory": "512m",
            "conf": {"spark.sql.shuffle.partitions": "2"}})
        assert controller.run_command(Command("spark.range(5).count()"), "real") == (
            True, "5", "text/plain")
        assert controller.run_command(
            Command("sc.getConf().get('spark.driver.memory'), sc.appName"), "real")[1] == (
            "('512m', 'livy-session-0')")
        client = Livy(url, credential, [])
        session_id = controller.get_session_id_for_client("real")
        job = client.submit(session_id, "spark.range(10**11).selectExpr('sum(id * id)').collect()")
        client.statement(session_id, job, "running")
        time.sleep(1)
        client.post(f"/sessions/{session_id}/statements/{job}/cancel", {})
        assert client.statement(session_id, job, "cancelled", timeout=10)["output"] is None
        # With one core, this job could not finish in time behind the first one had it survived.
        assert client.text(session_id, "spark.range(3).count()") == "3"

        # Scala in this Python session, as in Livy: its interpreter starts at the first
        # Scala statement; a cancel ends a Scala statement as it ends a Python one.
        scala = client.run(session_id, "spark.range(4).count()", kind="spark")["output"]
        assert scala["data"]["text/plain"].endswith("Long = 4"), scala
        sleeper = client.submit(session_id, "Thread.sleep(60000)", kind="spark")
        client.statement(session_id, sleeper, "running")
        client.post(f"/sessions/{session_id}/statements/{sleeper}/cancel", {})
        assert client.statement(session_id, sleeper, "cancelled", timeout=10)["output"] is None
        again = client.run(session_id, "1 + 1", kind="spark")["output"]
        assert again["data"]["text/plain"].endswith("Int = 2"), again

        frame = controller.run_sqlquery(SQLQuery("SELECT id, id * 2 AS twice FROM range(3)"),
                                        "real")
        assert frame["twice"].tolist() == [0, 2, 4]

        output = client.run(session_id, "SELECT 'a' AS letter", kind="sql")["output"]
        assert output["status"] == "ok"
        assert output["data"]["application/json"]["data"] == [["a"]]
        assert output["data"]["application/json"]["schema"]["fields"][0]["name"] == "letter"
        controller.delete_session_by_name("real")
    finally:
        loop.run(served.gateway.close(), timeout=60)
