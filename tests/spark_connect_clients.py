"""PySpark's own Spark Connect client, dialling an emulated session's endpoint as AWS's pages say
(the https URL's host on its port, TLS) with the given gRPC metadata on every call and no
retries, so a refusal shows as the front gave it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import grpc


@contextlib.contextmanager
def remote_spark(endpoint: str, metadata: dict[str, str], ca_bundle: str) -> Iterator[Any]:
    """A SparkSession of the endpoint's server; its client closed after."""
    from pyspark.sql.connect.client import ChannelBuilder
    from pyspark.sql.connect.session import SparkSession

    url = urlsplit(endpoint)
    target = f"{url.hostname}:{url.port or 443}"
    with open(ca_bundle, "rb") as stream:
        roots = stream.read()

    def plugin(_context: Any, callback: Callable[..., None]) -> None:
        callback(tuple(metadata.items()), None)

    class Builder(ChannelBuilder):
        host = url.hostname

        def toChannel(self) -> Any:
            credentials = grpc.composite_channel_credentials(
                grpc.ssl_channel_credentials(roots), grpc.metadata_call_credentials(plugin))
            return self._secure_channel(target, credentials)

    session = SparkSession.builder.channelBuilder(Builder()).create()
    session.client.set_retry_policies([])
    try:
        yield session
    finally:
        session.client.close()
