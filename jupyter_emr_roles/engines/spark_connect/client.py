"""The kernel's Spark Connect client: the one module that imports PySpark's Connect client and gRPC.

It is imported on the first Spark Connect connect only, so ``%load_ext`` stays
instant. The channel is TLS, trusted as botocore trusts AWS (the endpoint,
``https://<session id>.elasticmapreduce-services.<region>.amazonaws.com``, is
EMR's managed authentication proxy, not the cluster's Livy; EMR Serverless's is
``https://<session id>.s.emr-serverless-services.<region>.amazonaws.com``). Every
call carries ``x-aws-proxy-auth``, the session's token, read from a
:class:`TokenSource` at every call; EMR on EC2's proxy also wants
``authorization``, the session's ID exactly as StartSession gave it, which EMR
Serverless's proxy does not take. A renewed token is used by the
next call without rebuilding the user's session, so a notebook open for hours
keeps its ``spark`` and its DataFrames. The proxy answers an expired token with
``UNKNOWN`` "Stream removed" (not ``UNAUTHENTICATED``): either is taken for a
token problem, and the call is tried once more with a new token.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from ...errors import EmrRolesError

log = logging.getLogger(__name__)

INSTALL_LINE = "pip install 'jupyter-emr-roles[connect]'"
# How a call that could not get a token begins its error: PySpark's retries leave it alone
# (gRPC reports a failed credentials plugin as UNAVAILABLE, which they would retry for minutes).
NO_TOKEN = "No Spark Connect session token:"
# sc://HOST:PORT[/;param=value;...], https://HOST[:PORT] or HOST:PORT
_ENDPOINT = re.compile(r"^(?:(?P<scheme>sc|https)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:;\[\]\s]+)"
                       r"(?::(?P<port>\d{1,5}))?/?(?P<params>(?:;[^;=\s]+=[^;\s]*)*)$")
_DEFAULT_PORTS = {"sc": 15002, "https": 443, None: 443}
# A gRPC error as str() gives it when no RpcError object is at hand (PySpark wraps some).
_STATUS_TEXT = re.compile(r"StatusCode\.(?P<code>[A-Z_]+)")
_DETAILS_TEXT = re.compile(r'details = "(?P<details>[^"]*)"')
# What PySpark's own builder sets, and pyspark.sql.functions reads, to work against Connect.
CONNECT_MODE = "SPARK_CONNECT_MODE_ENABLED"
# PySpark's default retries wait up to a minute between tries; a shorter wait bounds how long a
# retry already asleep can hold up a close (no try follows it once the session is closing).
MAX_BACKOFF_MS = 5000


class TokenSource(Protocol):
    def current(self) -> str:
        """The token to send now (renewed first when it is about to expire or was refused)."""

    def refused(self) -> None:
        """The proxy refused the token last sent: the next :meth:`current` gets a new one."""


@dataclass(frozen=True)
class ClientNeed:
    """The Connect client a kind of session takes: PySpark ``oldest`` or newer, as installed
    by ``install``."""

    oldest: tuple[int, int]
    sessions: str
    install: str


# EMR's sessions run Spark 4 (emr-spark-8.x); EMR Serverless's run Spark 3.5 (7.13 and later),
# whose client, PySpark 3.5's, is the first that takes a channel builder of its own and only
# comes whole (pyspark[connect]: pyspark-client begins at 4.0).
CLUSTER_CLIENT = ClientNeed((4, 0), "EMR's Spark Connect sessions", INSTALL_LINE)
SERVERLESS_CLIENT = ClientNeed((3, 5), "EMR Serverless's Spark Connect sessions",
                               "pip install 'pyspark[connect]==3.5.*'")


def missing_client(need: ClientNeed = CLUSTER_CLIENT) -> str | None:
    """Why the kernel cannot use Spark Connect, or None when it can: a PySpark Connect client
    of ``need``'s line or newer, and gRPC, must both import."""
    try:
        found = importlib.util.find_spec("pyspark.sql.connect") is not None \
            and importlib.util.find_spec("grpc") is not None
    except (ImportError, ValueError):
        found = False
    oldest = ".".join(map(str, need.oldest))
    if not found:
        return (f"This kernel has no Spark Connect client: install it with `{need.install}` "
                f"(PySpark {oldest} or newer with its Connect client) and restart the kernel, "
                "or connect with --engine livy.")
    from pyspark.version import __version__

    if _client_line() < need.oldest:
        return (f"This kernel's PySpark is {__version__}; {need.sessions} need a PySpark "
                f"{oldest} or newer client: `{need.install}` (in place of pyspark "
                f"{__version__}), then restart the kernel, or connect with --engine livy.")
    return None


def _client_line() -> tuple[int, int]:
    """This kernel's PySpark as (major, minor)."""
    from pyspark.version import __version__

    major, minor = (*_line(__version__), "0")[:2]
    return int(major), int(re.match(r"\d*", minor)[0] or 0)  # type: ignore[index]


def endpoint_target(url: str) -> tuple[str, int]:
    """HOST and PORT of a session's endpoint as GetSessionEndpoint gives it."""
    match = _ENDPOINT.fullmatch(url.strip())
    if match is None:
        raise EmrRolesError(f"EMR gave the session endpoint {url[:200]!r}, which is not of the "
                            "form sc://HOST:PORT or https://HOST[:PORT].")
    params = dict(part.split("=", 1) for part in match["params"].split(";") if part)
    if params.get("use_ssl", "true").lower() == "false":
        raise EmrRolesError(f"EMR gave the session endpoint {url[:200]!r} without TLS; its token "
                            "would cross the network readable, so it is not used.")
    port = int(match["port"]) if match["port"] else _DEFAULT_PORTS[match["scheme"]]
    return match["host"].strip("[]"), port


def trusted_roots(session: Any) -> bytes | None:
    """The CA bundle botocore trusts for AWS (AWS_CA_BUNDLE, the profile's ca_bundle), for an
    endpoint EMR serves; None is gRPC's own roots, as certifi is botocore's."""
    path = session._session.get_config_variable("ca_bundle") if session is not None else None
    if not path:
        return None
    try:
        with open(os.path.expanduser(path), "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise EmrRolesError(f"Cannot read the AWS CA bundle {path} ({exc.strerror}), which "
                            "verifies the Spark Connect endpoint as it verifies AWS.") from None


def grpc_status(error: BaseException) -> tuple[str, str] | None:
    """The gRPC status name and details behind ``error`` (PySpark wraps gRPC's errors, and
    the first line of their text says nothing), or None when it is not a gRPC error."""
    seen: BaseException | None = error
    while seen is not None:
        code, details = getattr(seen, "code", None), getattr(seen, "details", None)
        if callable(code) and callable(details):
            try:
                return str(getattr(code(), "name", code())), str(details() or "")
            except Exception:  # noqa: BLE001  a wrapper whose code() needs arguments
                pass
        # What a wrapper was raised from, or while handling (unless it said `from None`, as
        # PySpark does once it has turned a server error into its own exception).
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    found = _STATUS_TEXT.search(str(error))
    if found is None:
        return None
    details = _DETAILS_TEXT.search(str(error))
    return found["code"], details["details"] if details else ""


def token_problem(error: BaseException) -> bool:
    """Whether EMR's proxy refused the call for its token: UNAUTHENTICATED, or what it answers
    to an expired token, UNKNOWN "Stream removed"."""
    status = grpc_status(error)
    return status is not None and (status[0] == "UNAUTHENTICATED" or (
        status[0] == "UNKNOWN" and "stream removed" in status[1].lower()))


def build_session(url: str, session_id: str | None, tokens: TokenSource, roots: bytes | None,
                  user_id: str, closing: threading.Event) -> Any:
    """A PySpark Connect session on ``url`` whose every call sends ``tokens.current()`` and,
    unless ``session_id`` is None (EMR Serverless), names the session as ``authorization``;
    once ``closing`` is set, no call is tried again.

    ``SPARK_CONNECT_MODE_ENABLED`` is set while a session is open, as PySpark's own builder
    sets it: ``pyspark.sql.functions`` (``F.udf`` and friends) then work against Connect
    sessions. :func:`release` gives it back as it was once the last session is let go."""
    from pyspark.sql.connect.session import SparkSession

    builder = _channel_builder_class()(*endpoint_target(url), session_id, tokens, roots, user_id)
    _CONNECT_MODE.enter()
    try:
        session = SparkSession.builder.channelBuilder(builder).create()
    except BaseException:
        _CONNECT_MODE.leave()
        raise
    if _client_line() < (4, 0):
        # PySpark 3.5 releases each result from a shared thread pool whose shutdown (on close)
        # can deadlock with a result collected meanwhile (SPARK-52076, SPARK-55406, fixed in
        # 4.x): without reattachable execution, a result streams once and nothing is released.
        session.client.disable_reattachable_execute()
        _legacy_retries(session.client, tokens, closing)
    else:
        session.client.set_retry_policies(_retry_policies(tokens, closing))
    return session


class _ConnectMode:
    """PySpark's Connect mode, on while any session :func:`build_session` made is open, and
    then as the kernel had it before (a local PySpark of the user's works again)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._before: str | None = None

    def enter(self) -> None:
        with self._lock:
            if self._open == 0:
                self._before = os.environ.get(CONNECT_MODE)
            self._open += 1
            os.environ[CONNECT_MODE] = "1"

    def leave(self) -> None:
        with self._lock:
            self._open = max(0, self._open - 1)
            if self._open:
                return
            if self._before is None:
                os.environ.pop(CONNECT_MODE, None)
            else:
                os.environ[CONNECT_MODE] = self._before


_CONNECT_MODE = _ConnectMode()


def _retry_policies(tokens: TokenSource, closing: threading.Event) -> list[Any]:
    """One more try with a new token for a call the proxy refused for its token; PySpark's own
    retries for the rest, except a call that had no token to send (its reason is final) and
    any call once the session is closing (its endpoint may be gone)."""
    from pyspark.sql.connect.client.retries import DefaultPolicy, RetryPolicy

    class NewToken(RetryPolicy):  # type: ignore[misc]
        def can_retry(self, exception: BaseException) -> bool:
            if closing.is_set() or not token_problem(exception):
                return False
            tokens.refused()
            return True

    class Transient(DefaultPolicy):  # type: ignore[misc]
        def can_retry(self, exception: BaseException) -> bool:
            return not closing.is_set() and NO_TOKEN not in str(exception) \
                and not token_problem(exception) and bool(super().can_retry(exception))

    return [NewToken(max_retries=1, initial_backoff=0), Transient(max_backoff=MAX_BACKOFF_MS)]


def _legacy_retries(client: Any, tokens: TokenSource, closing: threading.Event) -> None:
    """The same retries on PySpark 3.5, which takes no retry policies: its client asks its own
    ``_retrying()`` for every call, and the waits of its retries come from ``_retry_policy``.
    Both are private, of a line that only has patch releases now."""
    from pyspark.sql.connect.client.core import Retrying, SparkConnectClient

    client._retry_policy["max_backoff"] = MAX_BACKOFF_MS

    def retrying() -> Any:
        renewed: list[bool] = []

        def can_retry(exception: BaseException) -> bool:
            if closing.is_set():
                return False
            if token_problem(exception):
                if renewed:
                    return False
                renewed.append(True)
                tokens.refused()
                return True
            return NO_TOKEN not in str(exception) and \
                bool(SparkConnectClient.retry_exception(exception))

        return Retrying(can_retry=can_retry, **client._retry_policy)

    client._retrying = retrying


def release(session: Any, deadline: float) -> None:
    """Let go of a PySpark Connect session whose EMR session was terminated: close its channel
    without asking the server to release it (the endpoint may be gone, and PySpark would retry
    that for minutes), and give up waiting after ``deadline`` seconds."""
    session.release_session_on_close = False
    _CONNECT_MODE.leave()
    worker = threading.Thread(target=session.stop, name="spark-connect-release", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        log.warning("the Spark Connect client did not close within %g s; left to exit with "
                    "the kernel", deadline)


def version_mismatch(server: str) -> str | None:
    """A one-line warning when this kernel's PySpark client is of another major.minor line
    than the session's Spark ``server`` (``4.0.2-amzn-0``), else None."""
    from pyspark.version import __version__

    line = _line(server)
    if _line(__version__) == line:
        return None
    # PySpark's client-only package begins at 4.0; an older line comes whole.
    package = "pyspark-client" if line[0].isdigit() and int(line[0]) >= 4 else "pyspark[connect]"
    return (f"This kernel's PySpark client is {__version__} and the session's Spark is "
            f"{server}: Spark Connect wants the same major.minor line (`pip install "
            f"'{package}=={'.'.join(line)}.*'`), and Python UDFs the same Python minor version "
            "as the cluster's.")


def _line(version: str) -> tuple[str, ...]:
    return tuple(re.split(r"[.\-+]", version)[:2])


def _channel_builder_class() -> type:
    """A channel builder of this kernel's PySpark: 4's takes its parameters, 3.5's parses them
    from a URL and keeps the host as a plain attribute."""
    return _legacy_channel_builder() if _client_line() < (4, 0) else _channel_builder()


def _builder_params(user_id: str) -> dict[str, str]:
    from pyspark.sql.connect.client import ChannelBuilder

    return {ChannelBuilder.PARAM_USER_ID: user_id,
            ChannelBuilder.PARAM_USER_AGENT: "jupyter-emr-roles"}


def _channel_builder() -> type:
    from pyspark.sql.connect.client import ChannelBuilder

    class EmrChannelBuilder(ChannelBuilder):  # type: ignore[misc]
        """A TLS channel whose call credentials read the current token."""

        def __init__(self, host: str, port: int, session_id: str | None, tokens: TokenSource,
                     roots: bytes | None, user_id: str) -> None:
            super().__init__(params=_builder_params(user_id))
            self._host, self._target = host, f"{host}:{port}"
            self._credentials = _channel_credentials(session_id, tokens, roots)

        @property
        def host(self) -> str:
            return self._host

        def toChannel(self) -> Any:
            return self._secure_channel(self._target, self._credentials)

    return EmrChannelBuilder


def _legacy_channel_builder() -> type:
    import grpc
    from pyspark.sql.connect.client import ChannelBuilder

    class LegacyEmrChannelBuilder(ChannelBuilder):  # type: ignore[misc]
        """The same on PySpark 3.5."""

        def __init__(self, host: str, port: int, session_id: str | None, tokens: TokenSource,
                     roots: bytes | None, user_id: str) -> None:
            super().__init__(f"sc://endpoint:{port}/;" + ";".join(
                f"{key}={quote(value, safe='')}"
                for key, value in _builder_params(user_id).items()))
            self.host, self.port, self._target = host, port, f"{host}:{port}"
            self._credentials = _channel_credentials(session_id, tokens, roots)

        def toChannel(self) -> Any:
            return grpc.secure_channel(self._target, self._credentials,
                                       options=self._channel_options)

    return LegacyEmrChannelBuilder


def _channel_credentials(session_id: str | None, tokens: TokenSource,
                         roots: bytes | None) -> Any:
    """TLS trusted as ``roots`` say, with the proxy's metadata on every call."""
    import grpc

    return grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=roots),
        grpc.metadata_call_credentials(_proxy_auth(session_id, tokens.current)))


def _proxy_auth(session_id: str | None, current: Callable[[], str]) -> Any:
    """The metadata EMR's authentication proxy reads on every call: the token, and the session's
    ID where the proxy wants it."""
    named = (("authorization", session_id),) if session_id is not None else ()

    def plugin(_context: Any, callback: Callable[..., None]) -> None:
        try:
            callback((("x-aws-proxy-auth", current()), *named), None)
        except Exception as exc:  # gRPC ends the call with it, and the cell shows it
            callback((), EmrRolesError(f"{NO_TOKEN} {exc}"))

    return plugin
