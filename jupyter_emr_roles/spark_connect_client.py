"""The kernel's Spark Connect client: the one module that imports PySpark's Connect client and gRPC.

It is imported on the first Spark Connect connect only, so ``%load_ext`` stays
instant. The channel is TLS, trusted as botocore trusts AWS (the endpoint is
EMR's, not the cluster's Livy), and its bearer token is read from a
:class:`TokenSource` at every call: a renewed token is used by the next call
without rebuilding the user's session, so a notebook open for hours keeps its
``spark`` and its DataFrames.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable
from typing import Any, Protocol

from .errors import EmrRolesError

INSTALL_LINE = "pip install 'jupyter-emr-roles[connect]'"
# How a call that could not get a token begins its error: PySpark's retries leave it alone
# (gRPC reports a failed credentials plugin as UNAVAILABLE, which they would retry for minutes).
NO_TOKEN = "No Spark Connect session token:"
# sc://HOST:PORT[/;param=value;...], https://HOST[:PORT] or HOST:PORT
_ENDPOINT = re.compile(r"^(?:(?P<scheme>sc|https)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:;\[\]\s]+)"
                       r"(?::(?P<port>\d{1,5}))?/?(?P<params>(?:;[^;=\s]+=[^;\s]*)*)$")
_DEFAULT_PORTS = {"sc": 15002, "https": 443, None: 443}


class TokenSource(Protocol):
    def current(self) -> str:
        """The token to send now (renewed first when it is about to expire)."""


def missing_client() -> str | None:
    """Why the kernel cannot use Spark Connect, or None when it can: PySpark 4's Connect client
    (from ``pyspark-client`` or ``pyspark[connect]``) and gRPC must both import."""
    try:
        found = importlib.util.find_spec("pyspark.sql.connect") is not None \
            and importlib.util.find_spec("grpc") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return (f"This kernel has no Spark Connect client: install it with `{INSTALL_LINE}` "
                "(PySpark 4's pyspark-client; pyspark[connect] 4.x works too) and restart the "
                "kernel, or connect with --engine livy.")
    from pyspark.version import __version__

    if int(__version__.split(".")[0]) < 4:
        return (f"This kernel's PySpark is {__version__}; EMR's Spark Connect sessions need a "
                f"PySpark 4 client: `{INSTALL_LINE}` (in place of pyspark {__version__}), then "
                "restart the kernel, or connect with --engine livy.")
    return None


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


def build_session(url: str, tokens: TokenSource, roots: bytes | None, user_id: str) -> Any:
    """A PySpark Connect session on ``url`` that sends ``tokens.current()`` with every call.

    ``SPARK_CONNECT_MODE_ENABLED`` is what PySpark's own builder sets: ``pyspark.sql.functions``
    (``F.udf`` and friends) then work against Connect sessions."""
    from pyspark.sql.connect.session import SparkSession

    from pyspark.sql.connect.client.retries import DefaultPolicy

    class NotForTokens(DefaultPolicy):  # type: ignore[misc]
        """PySpark's retries, except for a call that had no token to send."""

        def can_retry(self, exception: BaseException) -> bool:
            return NO_TOKEN not in str(exception) and bool(super().can_retry(exception))

    builder = _channel_builder_class()(*endpoint_target(url), tokens, roots, user_id)
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    session = SparkSession.builder.channelBuilder(builder).create()
    session.client.set_retry_policies([NotForTokens()])
    return session


def _channel_builder_class() -> type:
    import grpc
    from pyspark.sql.connect.client import ChannelBuilder

    class EmrChannelBuilder(ChannelBuilder):  # type: ignore[misc]
        """A TLS channel whose call credentials read the current token."""

        def __init__(self, host: str, port: int, tokens: TokenSource, roots: bytes | None,
                     user_id: str) -> None:
            super().__init__(params={ChannelBuilder.PARAM_USER_ID: user_id,
                                     ChannelBuilder.PARAM_USER_AGENT: "jupyter-emr-roles"})
            self._target, self._host = f"{host}:{port}", host
            self._tokens, self._roots = tokens, roots

        @property
        def host(self) -> str:
            return self._host

        def toChannel(self) -> Any:
            credentials = grpc.composite_channel_credentials(
                grpc.ssl_channel_credentials(root_certificates=self._roots),
                grpc.metadata_call_credentials(_bearer(self._tokens.current)))
            return self._secure_channel(self._target, credentials)

    return EmrChannelBuilder


def _bearer(current: Callable[[], str]) -> Any:
    def plugin(_context: Any, callback: Callable[..., None]) -> None:
        try:
            callback((("authorization", f"Bearer {current()}"),), None)
        except Exception as exc:  # gRPC ends the call with it, and the cell shows it
            callback((), EmrRolesError(f"{NO_TOKEN} {exc}"))

    return plugin
