"""The authenticating front of one Spark Connect session: TLS outside, the server inside.

EMR hands a session's Spark Connect endpoint out with a time-limited token
(GetSessionEndpoint), and its managed authentication proxy takes two gRPC
metadata entries on every call: ``x-aws-proxy-auth``, the token, and
``authorization``, the session's ID exactly as StartSession gave it (not
``Bearer <token>``); EMR Serverless's proxy takes the token alone, so which
entries a call needs is the ``check``'s to say. Spark Connect's own server has no TLS and no changing
tokens, so each session's server listens on loopback only and this front, a
gRPC server with the emulator's AWS certificate, passes every call of the
Spark Connect service through to it, byte for byte, once ``check`` admits the
pair. An expired token is answered as AWS's proxy answers it, ``UNKNOWN``
"Stream removed"; any other refusal is ``UNAUTHENTICATED``; either way the
server never sees the call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from ..tls import LocalTls

log = logging.getLogger(__name__)

SERVICE = "spark.connect.SparkConnectService"
# Spark Connect's own limit (its clients' default): a result batch can be large.
_MESSAGE_LIMIT = 128 * 1024 * 1024
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", _MESSAGE_LIMIT),
                    ("grpc.max_receive_message_length", _MESSAGE_LIMIT)]
# Metadata that belongs to one hop, not to the call: never passed to the server.
_HOP_METADATA = ("authorization", "x-aws-proxy-auth", "user-agent")
# Seconds beyond which a call's time remaining means it has no deadline at all.
_NO_DEADLINE = 10.0 ** 9
# What AWS's proxy answers to a token that has expired (not UNAUTHENTICATED).
EXPIRED = (grpc.StatusCode.UNKNOWN, "Stream removed")
# check(the call's metadata) -> "admitted", "expired" or "refused"
Check = Callable[[dict[str, str]], str]


def refused(id_header: str | None) -> str:
    """What a refused call is told: the entries the proxy wants (``id_header``: the one that
    carries the session's ID, where it wants one)."""
    wanted = "x-aws-proxy-auth (a token GetSessionEndpoint gave for this session)"
    if id_header:
        wanted += f" and {id_header} (the session's ID)"
    return f"The request needs {wanted}; call GetSessionEndpoint for a new token."


def _method_kinds() -> dict[str, tuple[bool, bool]]:
    """Each method of the service: (client streaming, server streaming), from Spark Connect's
    own protocol description, so a method Spark adds is passed through too."""
    from pyspark.sql.connect.proto import base_pb2

    service = base_pb2.DESCRIPTOR.services_by_name["SparkConnectService"]
    return {f"/{SERVICE}/{method.name}": (method.client_streaming, method.server_streaming)
            for method in service.methods}


class SessionFront:
    """A TLS gRPC server on a loopback port that admits the session's token only."""

    def __init__(self, backend_port: int, tls: LocalTls, check: Check,
                 activity: Callable[[int], None], refusal: str) -> None:
        """``activity(+1)`` and ``activity(-1)`` are called as statements begin and end
        (busy/idle); ``refusal`` is what a call the check refuses is told."""
        self._backend = grpc.insecure_channel(f"127.0.0.1:{backend_port}",
                                              options=_CHANNEL_OPTIONS)
        self._server = grpc.server(ThreadPoolExecutor(max_workers=16, thread_name_prefix="front"),
                                   options=_CHANNEL_OPTIONS)
        self._server.add_generic_rpc_handlers([_Proxy(self._backend, check, activity,
                                                      refusal)])
        credentials = grpc.ssl_server_credentials(
            [(tls.server_key.read_bytes(), tls.server_certificate.read_bytes())])
        self.port = self._server.add_secure_port("127.0.0.1:0", credentials)
        self._server.start()

    def close(self) -> None:
        self._server.stop(grace=1).wait(5)
        self._backend.close()


class _Proxy(grpc.GenericRpcHandler):
    def __init__(self, backend: grpc.Channel, check: Check, activity: Callable[[int], None],
                 refusal: str) -> None:
        self._backend = backend
        self._check = check
        self._activity = activity
        self._refusal = refusal
        self._kinds = _method_kinds()

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        kind = self._kinds.get(method)
        if kind is None:
            return None
        client_streaming, server_streaming = kind
        if server_streaming:
            stream = (self._backend.stream_stream if client_streaming
                      else self._backend.unary_stream)(method)
            handler = (grpc.stream_stream_rpc_method_handler if client_streaming
                       else grpc.unary_stream_rpc_method_handler)
            return handler(lambda request, context: self._stream(stream, request, context))
        unary = (self._backend.stream_unary if client_streaming
                 else self._backend.unary_unary)(method)
        handler = (grpc.stream_unary_rpc_method_handler if client_streaming
                   else grpc.unary_unary_rpc_method_handler)
        return handler(lambda request, context: self._unary(unary, request, context))

    def _admit(self, context: grpc.ServicerContext) -> list[tuple[str, Any]]:
        """The call's metadata for the server, once the proxy admits it; else the call ends
        here as AWS's proxy ends it."""
        metadata = list(context.invocation_metadata())
        sent = {key: value for key, value in metadata if isinstance(value, str)}
        verdict = self._check(sent)
        if verdict == "expired":
            context.abort(*EXPIRED)
        if verdict != "admitted":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, self._refusal)
        return [(key, value) for key, value in metadata if key not in _HOP_METADATA]

    def _unary(self, call: Any, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = self._admit(context)
        try:
            return call(request, metadata=metadata, timeout=_timeout(context))
        except grpc.RpcError as error:
            _fail(context, error)

    def _stream(self, call: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """A statement (ExecutePlan, or a reattachment to one): the session is BUSY meanwhile;
        the unary calls around statements (analysis, config, releases) leave it as it is."""
        metadata = self._admit(context)
        self._activity(1)
        responses = call(request, metadata=metadata, timeout=_timeout(context))
        context.add_callback(responses.cancel)
        try:
            yield from responses
        except grpc.RpcError as error:
            _fail(context, error)
        finally:
            self._activity(-1)


def _timeout(context: grpc.ServicerContext) -> float | None:
    """The call's own deadline for the hop inward; None where the client set none (gRPC then
    reports ~9e18 seconds, which as a timeout overflows into an instant DEADLINE_EXCEEDED)."""
    remaining = context.time_remaining()
    return remaining if remaining is not None and remaining < _NO_DEADLINE else None


def _fail(context: grpc.ServicerContext, error: Any) -> None:
    """The server's error as the server gave it, its details in the trailers included (Spark
    Connect's client builds AnalysisException and the like from them)."""
    context.set_trailing_metadata(tuple(error.trailing_metadata() or ()))
    context.abort(error.code(), error.details() or "")


class Activity:
    """Calls in flight, and a callback when the count goes from 0 to 1 or from 1 to 0."""

    def __init__(self, changed: Callable[[bool], None]) -> None:
        self._count = 0
        self._lock = threading.Lock()
        self._changed = changed

    def __call__(self, delta: int) -> None:
        with self._lock:
            before = self._count
            self._count = after = before + delta
        if (before == 0) != (after == 0):
            self._changed(after > 0)
