"""The authenticating front of one Spark Connect session: TLS outside, the server inside.

EMR hands a session's Spark Connect endpoint out with a time-limited token
(GetSessionEndpoint) and accepts that token, not a password, as the gRPC
bearer token. Spark Connect's own server has no TLS and no changing tokens, so
each session's server listens on loopback only and this front, a gRPC server
with the emulator's AWS certificate, passes every call of the Spark Connect
service through to it, byte for byte, when its ``authorization`` metadata is
``Bearer`` and a token ``admits`` says is the session's current, unexpired one;
otherwise it answers UNAUTHENTICATED and the server never sees the call.
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
_HOP_METADATA = ("authorization", "user-agent")
REFUSED = ("The session token is missing, expired or not this session's; call "
           "GetSessionEndpoint for a new one.")


def _method_kinds() -> dict[str, tuple[bool, bool]]:
    """Each method of the service: (client streaming, server streaming), from Spark Connect's
    own protocol description, so a method Spark adds is passed through too."""
    from pyspark.sql.connect.proto import base_pb2

    service = base_pb2.DESCRIPTOR.services_by_name["SparkConnectService"]
    return {f"/{SERVICE}/{method.name}": (method.client_streaming, method.server_streaming)
            for method in service.methods}


class SessionFront:
    """A TLS gRPC server on a loopback port that admits the session's token only."""

    def __init__(self, backend_port: int, tls: LocalTls, admits: Callable[[str], bool],
                 activity: Callable[[int], None]) -> None:
        """``activity(+1)`` and ``activity(-1)`` are called as calls begin and end (busy/idle)."""
        self._backend = grpc.insecure_channel(f"127.0.0.1:{backend_port}",
                                              options=_CHANNEL_OPTIONS)
        self._server = grpc.server(ThreadPoolExecutor(max_workers=16, thread_name_prefix="front"),
                                   options=_CHANNEL_OPTIONS)
        self._server.add_generic_rpc_handlers([_Proxy(self._backend, admits, activity)])
        credentials = grpc.ssl_server_credentials(
            [(tls.server_key.read_bytes(), tls.server_certificate.read_bytes())])
        self.port = self._server.add_secure_port("127.0.0.1:0", credentials)
        self._server.start()

    def close(self) -> None:
        self._server.stop(grace=1).wait(5)
        self._backend.close()


class _Proxy(grpc.GenericRpcHandler):
    def __init__(self, backend: grpc.Channel, admits: Callable[[str], bool],
                 activity: Callable[[int], None]) -> None:
        self._backend = backend
        self._admits = admits
        self._activity = activity
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
        """The call's metadata for the server, once its token is admitted; else the call ends
        UNAUTHENTICATED here."""
        metadata = list(context.invocation_metadata())
        bearer = next((value for key, value in metadata if key == "authorization"), "")
        if not (isinstance(bearer, str) and bearer.startswith("Bearer ")
                and self._admits(bearer.removeprefix("Bearer "))):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)
        return [(key, value) for key, value in metadata if key not in _HOP_METADATA]

    def _unary(self, call: Any, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = self._admit(context)
        self._activity(1)
        try:
            return call(request, metadata=metadata, timeout=context.time_remaining())
        except grpc.RpcError as error:
            _fail(context, error)
        finally:
            self._activity(-1)

    def _stream(self, call: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        metadata = self._admit(context)
        self._activity(1)
        responses = call(request, metadata=metadata, timeout=context.time_remaining())
        context.add_callback(responses.cancel)
        try:
            yield from responses
        except grpc.RpcError as error:
            _fail(context, error)
        finally:
            self._activity(-1)


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
