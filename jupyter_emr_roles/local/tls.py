"""Throwaway certificate authorities for the emulator: one for Livy, one for the AWS endpoint.

EMR's Livy speaks HTTPS with a certificate from a private CA that the
security configuration installs, while the AWS API is signed by a public CA
that botocore trusts (or, behind a TLS-inspecting proxy, by whatever
``AWS_CA_BUNDLE`` names). The two trusts are different things, and a client
that mixes them breaks on a real cluster. So every `local up` makes two new
CAs and prints their paths apart: ``JUPYTER_EMR_ROLES_CA_BUNDLE`` for Livy,
``AWS_CA_BUNDLE`` for the AWS endpoint. The keys are never reused.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=7)
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class LocalTls:
    """A CA certificate and one server certificate + key it signed, as files."""

    ca_bundle: Path
    server_certificate: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_certificate, self.server_key)
        return context


@dataclass(frozen=True)
class _Authority:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jupyter-emr-roles local"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name,
             key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE).not_valid_after(now + VALIDITY))


def _authority(common_name: str) -> _Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False)
    certificate = (_builder(name, name, key)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(usage, critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    return _Authority(name, key, certificate)


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _server_certificate(authority: _Authority, hosts: tuple[str, ...],
                        key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return (_builder(_name(hosts[0]), authority.name, key)
            .add_extension(x509.SubjectAlternativeName([_alt_name(h) for h in hosts]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                authority.key.public_key()), critical=False)
            .sign(authority.key, hashes.SHA256()))


def make_local_tls(folder: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
                   purpose: str = "livy") -> LocalTls:
    """A new CA (``{purpose}-ca.pem``) and a certificate + key for ``hosts`` in ``folder``.

    The server certificate names exactly ``hosts``: a host it does not list fails
    verification, as it would against a real cluster's certificate."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    authority = _authority(f"jupyter-emr-roles local {purpose} CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    certificate = _server_certificate(authority, hosts, server_key)
    tls = LocalTls(folder / f"{purpose}-ca.pem", folder / f"{purpose}-server.pem",
                   folder / f"{purpose}-server.key")
    tls.ca_bundle.write_bytes(authority.certificate.public_bytes(serialization.Encoding.PEM))
    tls.server_certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(tls.server_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(server_key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return tls
