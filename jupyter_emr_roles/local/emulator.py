"""`jupyter-emr-roles local up`: the control plane, the seeded world and the Livy gateway in one process.

The control plane (a router over the emulated services, and moto) serves on a werkzeug thread;
the Livy gateway runs on the asyncio loop of the main thread. A small admin
API beside the AWS endpoint (``/_jupyter_emr_roles/status`` and ``/shutdown``,
guarded by a token kept in a 0600 state file) lets `local status` and
`local down` talk to a running emulator.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl
from pathlib import Path
from typing import Any, Literal

from moto import settings as moto_settings
from moto.sts.models import sts_backends
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ..errors import EmrRolesError
from ..jsonfile import dumps, write_atomically
from .connect.book import ENDPOINT_DOMAIN, MAX_LIFETIME_SECONDS, BookSettings, SessionBook
from .control_plane import ControlPlane
from .emr import EmrSettings, LivyPlacement, PrimaryNames, end_cluster
from .faults import Dice, FaultPlan, Injector
from .issued import CredentialRegistry, Identity
from .livy.gateway import LivyGateway
from .livy.sessions import ClusterBehaviour
from .runtime_roles import refusal_of
from .serverless import ServerlessSettings, role_refusal
from .serverless_livy import PREFIX as SERVERLESS_LIVY_PREFIX
from .serverless_livy import ServerlessLivy
from .serverless_sessions import ENDPOINT_DOMAIN as SERVERLESS_ENDPOINT_DOMAIN
from .state import ADMIN_PREFIX, LIVY_CA_ENV, SERVERLESS_LIVY_URL_ENV, STATE_FILE
from .operations import Call
from .steps import StepSettings
from .studio import StudioDomain, StudioSpace
from .tls import LocalTls, make_local_tls
from .world import SeededWorld, World, seed

log = logging.getLogger(__name__)

LIVY_HOST = "localhost"
# What makes PySpark build Spark Connect clients instead of local Spark: a notebook kernel that
# used a Spark Connect session has them set, and an emulator started from it must not pass them
# on to its sessions' own Spark (each a driver, as on a cluster).
_CONNECT_CLIENT_VARIABLES = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED",
                             "SPARK_CONNECT_AUTHENTICATE_TOKEN")
# The primary node's "public" name when the names are split: an address Livy's certificate
# does not name, as a public EC2 name is not named by a certificate for *.ec2.internal.
PUBLIC_HOST = "127.0.0.1"


class _NoDelayHandler(WSGIRequestHandler):
    """http.server waits ~40 ms per response for delayed ACKs unless Nagle is off."""

    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s", self.requestline, code)


def check_engine(spark: str) -> None:
    """Refuse the real engine up front, with the fix, when PySpark or Java is missing."""
    if spark != "real":
        return
    missing = []
    if importlib.util.find_spec("pyspark") is None:
        missing.append("PySpark (pip install 'jupyter-emr-roles[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("Java 17 (Debian: apt-get install openjdk-17-jre-headless)")
    if missing:
        raise EmrRolesError("The real Spark engine needs " + " and ".join(missing)
                            + "; install it, or start the emulator with --spark fake.")


@dataclass
class EmulatorOptions:
    """How the emulator behaves. The strict settings copy what real clusters do that a kind
    emulator would hide: ``split_names`` (the primary's public name in
    ``MasterPublicDnsName``, its private one in ListInstances and in Livy's certificate),
    ``credential_propagation`` (Livy answers 401 to fresh credentials for that long),
    ``aws_tls`` (the AWS endpoint over HTTPS with a CA of its own, not Livy's) and
    ``access_role_ttl`` (assumed roles' keys expire that soon) and ``trail_delay``
    (CloudTrail's LookupEvents shows a call that long after it). ``session_token_ttl`` is how
    long a Spark Connect session's token (GetSessionEndpoint) is accepted, and
    ``session_lifetime`` how long such a session may live (EMR: 24 hours). ``lose_answers``
    names EMR operations whose first answer is lost after the call is done; ``faults`` are
    injected into Livy's requests (``faults.py``).
    ``serverless_minute`` is how many seconds a minute of an EMR Serverless application's
    idle timeout lasts (60; less to watch an auto-stop), ``serverless_transition`` how long
    each of its state changes takes once the world is up."""

    world: World
    state_dir: Path
    port: int = 0
    spark: Literal["fake", "real"] = "fake"
    credential_ttl: timedelta = timedelta(hours=1)
    tls: bool = True
    filler_clusters: int = 0
    enforce_iam: bool = True
    session_timeout: float = 3600.0
    split_names: bool = False
    credential_propagation: float = 0.0
    aws_tls: bool = False
    access_role_ttl: float | None = None
    trail_delay: float = 0.0
    session_token_ttl: float = 3600.0
    session_lifetime: float = MAX_LIFETIME_SECONDS
    lose_answers: tuple[str, ...] = ()
    faults: FaultPlan = field(default_factory=FaultPlan)
    serverless_minute: float = 60.0
    serverless_transition: float = 0.5

    @property
    def names(self) -> PrimaryNames:
        return PrimaryNames(private=LIVY_HOST, public=PUBLIC_HOST if self.split_names
                            else LIVY_HOST)


@dataclass
class Emulator:
    """One running emulator; ``start`` returns when every endpoint answers."""

    options: EmulatorOptions
    registry: CredentialRegistry = field(default_factory=CredentialRegistry)
    placements: dict[str, LivyPlacement] = field(default_factory=dict)
    plain_http: dict[str, bool] = field(default_factory=dict)
    tls: LocalTls | None = None
    aws_tls: LocalTls | None = None
    seeded: SeededWorld | None = None
    endpoint: str = ""
    serverless_livy_url: str = ""  # the Livy endpoints' URL template, {application_id} in it
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _server: BaseWSGIServer | None = None
    _gateway: LivyGateway | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _dice: Dice = field(default_factory=lambda: Dice(None))
    _emr_settings: EmrSettings | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        options = self.options
        self._dice = Dice(options.faults.seed)
        check_engine(options.spark)
        for name in _CONNECT_CLIENT_VARIABLES:
            os.environ.pop(name, None)
        self.registry.propagation = options.credential_propagation
        self.sessions = SessionBook(BookSettings(None, self._worker_env,
                                                 options.state_dir / "sessions",
                                                 options.session_token_ttl,
                                                 max_lifetime=options.session_lifetime))
        emr = EmrSettings(self.registry, credential_ttl=options.credential_ttl,
                          livy=self.placements.get, names=options.names,
                          created=self._cluster_created, terminated=self._cluster_terminated,
                          steps=StepSettings(self._worker_env, options.spark,
                                             options.state_dir / "steps"),
                          sessions=self.sessions)
        serverless = ServerlessSettings(minute=options.serverless_minute,
                                        transition=options.serverless_transition,
                                        role_credentials=self._role_env, engine=options.spark,
                                        folder=options.state_dir / "job-runs")
        self._emr_settings = emr
        self.control_plane = ControlPlane(emr, enforce_iam=False,
                                          access_role_ttl=options.access_role_ttl,
                                          trail_delay=options.trail_delay,
                                          studio=_studio_domain(options.world),
                                          serverless=serverless)
        self.control_plane.router.lose_answers.update(options.lose_answers)
        self._serve_control_plane()
        self.sessions.settings.tls = self.aws_tls
        self.seeded = await self._seed(serverless)
        self._open_to_users()
        await self._serve_livy()
        await self._serve_serverless_livy(serverless)
        for name in self.seeded.users:
            write_atomically(self.roles_path(name), dumps(self.seeded.roles_file(name)))
        self._write_state()
        log.info("emulator ready at %s", self.endpoint)

    def _open_to_users(self) -> None:
        """Once seeded: IAM enforced (where asked) and the injected faults on, for the world's
        users, not for the admin who seeded it."""
        router = self.control_plane.router
        router.injector = Injector(self.options.faults.of("aws"), self._dice)
        if self.options.enforce_iam:
            moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
            router.enforce_iam = True

    async def _seed(self, serverless: ServerlessSettings) -> SeededWorld:
        """The world as admins made it long before anyone connects: its Serverless applications
        reach their states at once, and move at AWS's pace from then on."""
        serverless.transition, pace = 0.0, serverless.transition
        try:
            return await asyncio.to_thread(
                seed, self.options.world, self.endpoint, self.options.filler_clusters,
                str(self.aws_tls.ca_bundle) if self.aws_tls else True)
        finally:
            serverless.transition = pace

    def _serve_control_plane(self) -> None:
        """The AWS endpoint on a werkzeug thread; over HTTPS with its own CA when asked."""
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        # AWS's managed policies exist in every account (an admin script attaches them);
        # moto has them only when asked, read when it first builds an account's IAM.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        tls_folder = self.options.state_dir / "tls"
        # The AWS certificate also names the Spark Connect sessions' endpoints, as AWS's names
        # *.elasticmapreduce-services.REGION.amazonaws.com and
        # *.s.emr-serverless-services.REGION.amazonaws.com.
        sessions = tuple("*." + domain.format(region=self.options.world.region)
                         for domain in (ENDPOINT_DOMAIN, SERVERLESS_ENDPOINT_DOMAIN))
        self.aws_tls = make_local_tls(tls_folder, ("127.0.0.1", "localhost", *sessions),
                                      "aws") if self.options.aws_tls else None
        self._server = make_server(
            "127.0.0.1", self.options.port, self._wsgi, threaded=True,
            request_handler=_NoDelayHandler,
            ssl_context=self.aws_tls.server_context() if self.aws_tls else None)
        scheme = "https" if self.aws_tls else "http"
        self.endpoint = f"{scheme}://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="control-plane",
                         daemon=True).start()

    async def _serve_livy(self) -> None:
        """One Livy port per cluster that is up and runs Livy, with a certificate naming the
        private name only (and the loopback address too unless the names are split)."""
        options = self.options
        assert self.seeded is not None
        hosts = (LIVY_HOST,) if options.split_names else (LIVY_HOST, "127.0.0.1")
        self.tls = make_local_tls(options.state_dir / "tls", hosts, "livy") if options.tls \
            else None
        self._gateway = LivyGateway(self.registry, self._worker_env, engine=options.spark,
                                    ssl_context=self.tls.server_context() if self.tls else None,
                                    session_timeout=options.session_timeout,
                                    faults=options.faults.of("livy"), dice=self._dice)
        for _, cluster in options.world.all_clusters():
            cluster_id = self.seeded.clusters[cluster.name]
            if cluster.state == "TERMINATED" or "Livy" not in cluster.applications:
                continue
            behaviour = ClusterBehaviour(cluster.session_start_seconds, cluster.statement_seconds,
                                         cluster.sessions_tied_to_login)
            port = _closed_port() if cluster.livy == "unreachable" else \
                await self._gateway.add_cluster(cluster_id, behaviour=behaviour,
                                                tls=cluster.livy != "http")
            self.placements[cluster_id] = LivyPlacement(port, cluster.livy_port_in)
            self.plain_http[cluster_id] = cluster.livy == "http" or self.tls is None

    async def _serve_serverless_livy(self, serverless: ServerlessSettings) -> None:
        """Every EMR Serverless application's Livy endpoint, on one port of the gateway with
        the AWS endpoint's certificate (it is an AWS endpoint, not a cluster's Livy)."""
        assert self.seeded is not None and self._gateway is not None
        front = ServerlessLivy(self._gateway, self.control_plane.applications.backends,
                               self.seeded.region,
                               self.control_plane.router, self.control_plane.sts.identities,
                               self._serverless_env)
        serverless.interactive.append(front)
        port = await self._gateway.serve(front, SERVERLESS_LIVY_PREFIX, ssl_context=(
            self.aws_tls.server_context() if self.aws_tls else None))
        scheme = "https" if self.aws_tls else "http"
        self.serverless_livy_url = f"{scheme}://127.0.0.1:{port}/{{application_id}}"

    def _cluster_created(self, call: Call, cluster_id: str) -> None:
        """A cluster created through the API once the world is up (an admin's script, say)
        is served as a seeded one is: a Livy with the port in its livy-conf when it runs Livy.
        Seeding's own clusters are served by ``_serve_livy``."""
        if self._gateway is None or self._loop is None:
            return
        assert self.seeded is not None
        self.seeded.clusters[call.params.get("Name", cluster_id)] = cluster_id
        self.seeded.cluster_accounts[cluster_id] = call.caller.account
        applications = call.params.get("Applications", [])
        if "livy" not in {application.get("Name", "").lower() for application in applications}:
            return
        port = asyncio.run_coroutine_threadsafe(self._gateway.add_cluster(cluster_id),
                                                self._loop).result(timeout=30)
        self.placements[cluster_id] = LivyPlacement(port)
        self.plain_http[cluster_id] = self.tls is None

    def _cluster_terminated(self, cluster_id: str) -> None:
        """A terminated cluster's Livy is gone, and its sessions with it."""
        if self._gateway is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._gateway.remove_cluster(cluster_id),
                                             self._loop).result(timeout=30)

    async def stop(self) -> None:
        await asyncio.to_thread(self.sessions.close)
        await asyncio.to_thread(self.control_plane.close)
        if self._gateway is not None:
            await self._gateway.close()
        if self._server is not None:
            await asyncio.to_thread(self._server.shutdown)
        (self.options.state_dir / STATE_FILE).unlink(missing_ok=True)
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        self.stopped.set()

    def roles_path(self, user: str) -> Path:
        """The user's roles file, as a lifecycle script would write it for them."""
        assert self.seeded is not None
        return self.options.state_dir / ("demo-roles.json" if user == self.seeded.demo_user
                                         else f"roles-{user}.json")

    def env(self, user: str | None = None) -> dict[str, str]:
        """The variables that point boto3, sparkmagic and jupyter-emr-roles at this emulator,
        as ``user`` (the demo user by default)."""
        assert self.seeded is not None
        env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": self.seeded.region,
               "AWS_REGION": self.seeded.region}
        user = user or self.seeded.demo_user
        if user:
            env["JUPYTER_EMR_ROLES_FILE"] = str(self.roles_path(user))
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = \
                self.seeded.users[user].access_key
        if self.aws_tls:
            env["AWS_CA_BUNDLE"] = str(self.aws_tls.ca_bundle)
        if self.tls:
            env[LIVY_CA_ENV] = str(self.tls.ca_bundle)
        env[SERVERLESS_LIVY_URL_ENV] = self.serverless_livy_url
        return env

    def status(self) -> dict[str, Any]:
        assert self.seeded is not None and self._gateway is not None
        names = {cluster_id: name for name, cluster_id in self.seeded.clusters.items()}
        sessions = self._gateway.sessions_summary()
        requests = self._gateway.request_counts()
        return {
            "endpoint": self.endpoint, "pid": os.getpid(), "started": self._started.isoformat(),
            "spark": self.options.spark, "enforce_iam": self.options.enforce_iam,
            "credential_ttl_seconds": int(self.options.credential_ttl.total_seconds()),
            "credential_propagation_seconds": self.options.credential_propagation,
            "access_role_ttl_seconds": self.options.access_role_ttl,
            "trail_delay_seconds": self.options.trail_delay,
            "split_names": self.options.split_names, "aws_tls": self.options.aws_tls,
            "credentials_issued": self.registry.issued_count,
            "calls": dict(self.control_plane.router.calls),
            "livy_faults_injected": self._gateway.injected_faults(),
            "aws_faults_injected": self.control_plane.router.injector.counts(),
            "clusters": [{"name": names[cluster_id], "id": cluster_id,
                          "account": self.seeded.cluster_accounts[cluster_id],
                          "livy_url": self._livy_url(cluster_id),
                          "livy_requests": requests.get(cluster_id, 0)}
                         for cluster_id in self.placements],
            "filler_clusters": self.options.filler_clusters,
            "roles": self.seeded.roles,
            "partner_accounts": [{"account": p.account, "access_role": p.access_role,
                                  "roles": p.roles} for p in self.seeded.partners],
            "sessions": sessions,
            "serverless_livy_url": self.serverless_livy_url,
        }

    def _livy_url(self, cluster_id: str) -> str:
        scheme = "http" if self.plain_http[cluster_id] else "https"
        return f"{scheme}://{LIVY_HOST}:{self.placements[cluster_id].port}"

    def _write_state(self) -> None:
        """The state file, whole or not at all: `local up --detach` polls for it while it is
        written, and it holds the admin token, so it is made 0600 (mkstemp's mode) and renamed
        into place."""
        assert self.seeded is not None
        state = {"pid": os.getpid(), "endpoint": self.endpoint, "token": self._token,
                 "env": self.env(), "users": {name: self.env(name) for name in self.seeded.users}}
        folder = self.options.state_dir
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{STATE_FILE}.")
        with os.fdopen(descriptor, "w") as stream:
            json.dump(state, stream)
        os.replace(temporary, folder / STATE_FILE)

    def _worker_env(self, identity: Identity) -> dict[str, str]:
        """Credentials of the runtime role, as the cluster's instance profile would assume it:
        refused here, as the session starts, where the profile may not assume it."""
        assert self.seeded is not None
        refused = refusal_of(identity)
        if refused is not None:
            raise PermissionError(refused)
        session_name = _session_name(identity)
        env = self._role_env(identity.role_arn, session_name)
        self.control_plane.runtime_role_assumed(identity, session_name, env["AWS_ACCESS_KEY_ID"])
        return env

    def _serverless_env(self, identity: Identity) -> dict[str, str]:
        """Credentials of a Serverless Livy session's role, as EMR Serverless assumes it:
        refused here, as the session starts, where the role does not trust the service."""
        refused = role_refusal(identity.role_arn)
        if refused is not None:
            raise PermissionError(refused)
        return self._role_env(identity.role_arn, _session_name(identity))

    def _role_env(self, role_arn: str, session_name: str) -> dict[str, str]:
        """The variables of a worker that runs as the role: its credentials (an STS session
        named ``session_name``) and this emulator's endpoint."""
        assert self.seeded is not None
        assumed = sts_backends[role_arn.split(":")[4]]["aws"].assume_role(
            region_name=self.seeded.region, role_session_name=session_name.ljust(2, "-"),
            role_arn=role_arn, policy="", duration=3600, external_id="")
        env = {"AWS_ACCESS_KEY_ID": assumed.access_key_id,
               "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
               "AWS_SESSION_TOKEN": assumed.session_token,
               "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": self.seeded.region,
               "AWS_REGION": self.seeded.region}
        if self.aws_tls:
            env["AWS_CA_BUNDLE"] = str(self.aws_tls.ca_bundle)
        return env

    def _fault(self, start_response: Any, fault: str, environ: dict[str, Any]) -> list[bytes]:
        """`local fault`: Livy restarted, the cluster terminated (as TerminateJobFlows does
        it), or one session killed by an admin (a Livy session, or a Spark Connect one)."""
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        cluster_id, session_id = query.get("cluster_id", ""), query.get("session_id", "")
        assert self._loop and self._gateway and self.seeded and self._emr_settings
        if fault not in FAULTS or cluster_id not in self.seeded.cluster_accounts:
            return _reply(start_response, "404 Not Found", {
                "message": f"no fault {fault!r} for cluster {cluster_id!r}: faults are "
                           f"{', '.join(FAULTS)}, on a cluster of `local status`"})
        if fault == "terminate-cluster":
            end_cluster(self._emr_settings, self.seeded.cluster_accounts[cluster_id],
                        self.seeded.region, cluster_id)
            return _reply(start_response, "200 OK", {"message": f"terminated {cluster_id}"})
        if fault == "kill-session" and session_id.startswith("is-"):
            self.sessions.terminate(cluster_id, session_id)
            return _reply(start_response, "200 OK", {"message": f"terminated {session_id}"})
        work = self._gateway.restart(cluster_id) if fault == "restart-livy" else \
            self._gateway.kill(cluster_id, int(session_id or -1))
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)
        return _reply(start_response, "200 OK", {"message": f"{fault} done on {cluster_id}"})

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(ADMIN_PREFIX):
            return self.control_plane(environ, start_response)
        token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        if not hmac.compare_digest(token, self._token):
            return _reply(start_response, "403 Forbidden", {"message": "a valid token is needed"})
        command = path.removeprefix(ADMIN_PREFIX)
        assert self._loop is not None
        if command == "status":
            return _reply(start_response, "200 OK", self.status())
        if command.startswith("fault/") and environ["REQUEST_METHOD"] == "POST":
            return self._fault(start_response, command.removeprefix("fault/"), environ)
        if command == "shutdown" and environ["REQUEST_METHOD"] == "POST":
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.stop()))
            return _reply(start_response, "202 Accepted", {"message": "stopping"})
        return _reply(start_response, "404 Not Found", {"message": f"no admin command {command}"})


FAULTS = ("restart-livy", "terminate-cluster", "kill-session")


def _session_name(identity: Identity) -> str:
    """The STS session name of a worker's role: the caller's own name, in STS's characters."""
    return re.sub(r"[^\w+=,.@-]", "-", identity.caller_arn.rsplit("/", 1)[-1])[:64]


def _closed_port() -> int:
    """A loopback port nothing listens on (the OS just handed it out and took it back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _reply(start_response: Any, status: str, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _studio_domain(world: World) -> StudioDomain | None:
    """The world's Studio domain as the control plane answers for it."""
    domain = world.studio_domain
    if domain is None:
        return None
    settings = (lambda emr: emr.model_dump() if emr is not None else None)
    return StudioDomain(world.account, world.region, domain.domain_id,
                        settings(domain.default_emr_settings),
                        {name: settings(emr) for name, emr in domain.user_profiles.items()},
                        settings(domain.default_space_emr_settings),
                        {name: StudioSpace(space.sharing, space.owner)
                         for name, space in domain.spaces.items()})
