"""What a Livy certificate is checked against, and what one TLS handshake with Livy tells.

Livy's trust is not AWS's. botocore reads ``AWS_CA_BUNDLE`` as its whole trust
store; the cluster's certificate comes from a CA the security configuration
installs. So the CA for Livy has its own chain of sources (``--ca-bundle``,
``JUPYTER_EMR_ROLES_CA_BUNDLE``, the account's ``ca_bundle`` in our roles file,
then the system store) and never reads ``AWS_CA_BUNDLE``,
``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``: requests lets the last two
replace ``verify=True``, so even "the system store" is handed over as a path.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import certifi
from cryptography import x509

from ...errors import LivyError

LIVY_CA_ENV = "JUPYTER_EMR_ROLES_CA_BUNDLE"
SYSTEM_STORE = "the system's CA store"


@dataclass(frozen=True)
class LivyTrust:
    """The CA bundle (file or folder) Livy's certificate must chain to, and where that choice
    came from; ``ca_bundle`` None means not verified (--no-verify)."""

    ca_bundle: str | None
    source: str

    @property
    def verify(self) -> str | bool:
        """What requests gets as ``verify``: always a path, or False."""
        return self.ca_bundle if self.ca_bundle is not None else False

    def context(self) -> ssl.SSLContext:
        if self.ca_bundle is None:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if Path(self.ca_bundle).is_dir():
            return ssl.create_default_context(capath=self.ca_bundle)
        return ssl.create_default_context(cafile=self.ca_bundle)


def livy_trust(ca_bundle: str | None = None, no_verify: bool = False,
               account_ca_bundle: tuple[str, str] | None = None) -> LivyTrust:
    """The first of ``--ca-bundle``, $JUPYTER_EMR_ROLES_CA_BUNDLE, the roles file's
    ``(ca_bundle, where)`` for the cluster's account, the system store."""
    if no_verify:
        return LivyTrust(None, "--no-verify")
    chosen = [(ca_bundle, "--ca-bundle"), (os.environ.get(LIVY_CA_ENV), LIVY_CA_ENV)]
    if account_ca_bundle is not None:
        chosen.append(account_ca_bundle)
    for path, source in chosen:
        if path:
            if not os.access(path, os.R_OK):
                raise LivyError(f"The CA bundle {path!r} from {source} is not a readable file; "
                                "give the PEM file of the CA that signed the cluster's "
                                "certificate (not AWS_CA_BUNDLE: that one is for AWS).")
            return LivyTrust(path, source)
    return LivyTrust(system_store(), SYSTEM_STORE)


def system_store() -> str:
    """The CA file (or folder) OpenSSL uses by default, else the bundle requests ships with."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.capath):
        if candidate and os.path.exists(candidate):
            return candidate
    return certifi.where()


@dataclass(frozen=True)
class Handshake:
    """What one TLS handshake with ``host:port`` showed."""

    host: str
    port: int
    outcome: Literal["verified", "untrusted", "plain-http", "unreachable"]
    detail: str = ""
    names: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.outcome == "untrusted":
            named = ", ".join(self.names) or "no name"
            return f"{self.host}:{self.port} (its certificate names {named}; {self.detail})"
        if self.outcome == "plain-http":
            return f"{self.host}:{self.port} (answered plain HTTP, not TLS)"
        return f"{self.host}:{self.port} ({self.outcome}: {self.detail})"


def handshake(host: str, port: int, trust: LivyTrust, timeout: float) -> Handshake:
    """Connect and shake hands as ``trust`` says; on failure, find out why (the certificate's
    names, or a server that speaks plain HTTP on that port)."""
    try:
        with socket.create_connection((host, port), timeout) as raw, \
                trust.context().wrap_socket(raw, server_hostname=host):
            return Handshake(host, port, "verified")
    except ssl.SSLCertVerificationError as exc:
        return Handshake(host, port, "untrusted", exc.verify_message or str(exc),
                         certificate_names(host, port, timeout))
    except (ssl.SSLError, TimeoutError) as exc:
        # A plain-HTTP server answers a TLS greeting with an HTTP error, or waits for the rest
        # of a request that never comes: ask it in HTTP before calling it a TLS failure.
        if speaks_plain_http(host, port, timeout):
            return Handshake(host, port, "plain-http")
        reason = getattr(exc, "reason", None) or str(exc) or "no answer to the TLS greeting"
        return Handshake(host, port, "unreachable", f"TLS failed: {reason}")
    except OSError as exc:
        return Handshake(host, port, "unreachable", exc.strerror or str(exc))


def certificate_names(host: str, port: int, timeout: float) -> tuple[str, ...]:
    """The DNS names and addresses a server's certificate is for, read without trusting it."""
    try:
        with socket.create_connection((host, port), timeout) as raw, \
                LivyTrust(None, "").context().wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError:
        return ()
    if not der:
        return ()
    certificate = x509.load_der_x509_certificate(der)
    try:
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return tuple(str(a.value) for a in certificate.subject.get_attributes_for_oid(
            x509.NameOID.COMMON_NAME))
    return (*names.get_values_for_type(x509.DNSName),
            *(str(address) for address in names.get_values_for_type(x509.IPAddress)))


def speaks_plain_http(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers an HTTP request without TLS (no credentials sent)."""
    try:
        with socket.create_connection((host, port), timeout) as raw:
            raw.sendall(f"GET /version HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii"))
            return raw.recv(5) == b"HTTP/"
    except OSError:
        return False


def is_private(host: str) -> bool:
    """Whether every address ``host`` stands for is private, loopback or link-local."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False
    return bool(found) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_private for address in found)
