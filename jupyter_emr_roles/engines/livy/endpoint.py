"""Where a cluster's Livy answers: the one URL rule, written once.

EMR gives two names for the primary node: its private DNS name (ListInstances)
and ``MasterPublicDnsName``, which is the public name in a public subnet. The
certificate the security configuration installs usually names the private one,
so, as AWS's own notebook client does, the private name is tried first, then
the public one. The port is ``livy.server.port`` of ``livy-conf`` in the
cluster's configurations, else in the primary instance group's (or fleet's),
else 8998. The first name whose TLS handshake verifies is used, and remembered
for the cluster while it keeps answering, so the probe is paid once per kernel;
so is the check of a URL the user gave.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...aws.clients import READY_STATES, Emr
from ...connect_request import ConnectRequest
from ...errors import ClusterNotReady, LivyError
from .tls import Handshake, LivyTrust, handshake, is_private, livy_trust
from ...roles import AccountChoices

DEFAULT_LIVY_PORT = 8998
HANDSHAKE_TIMEOUT = 5.0
_ENABLE_TLS = ("Enable TLS for Livy: in-transit encryption in the cluster's security "
               "configuration, which EMR 7.4 and later apply to Livy; on EMR 6.9 to 7.3 also "
               "Livy's own TLS settings in livy-conf (livy.keystore). Or, on a private network "
               "only, connect with --allow-insecure-http.")


@dataclass(frozen=True)
class LivyEndpoint:
    """Livy's base URL, whether it is plain HTTP by the user's explicit choice, and whether it
    was remembered from an earlier connect (rather than probed just now)."""

    url: str
    insecure_http: bool = False
    remembered: bool = False


@dataclass(frozen=True)
class LivyRequest:
    """How the user wants Livy found: an explicit URL (``--livy-url`` or the roles file's
    entry for the cluster), and whether plain HTTP is acceptable."""

    url: str | None = None
    url_source: str = "--livy-url"
    allow_insecure_http: bool = False


_Key = tuple[str, str | None, str | None, bool]


class _Remembered:
    """Endpoints found per (cluster, URL the user gave, trust, HTTP choice); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[_Key, LivyEndpoint] = {}

    def get(self, key: _Key) -> LivyEndpoint | None:
        with self._lock:
            return self._found.get(key)

    def keep(self, key: _Key, endpoint: LivyEndpoint) -> None:
        with self._lock:
            self._found[key] = endpoint

    def forget(self, cluster_id: str) -> None:
        with self._lock:
            self._found = {k: v for k, v in self._found.items() if k[0] != cluster_id}


REMEMBERED = _Remembered()


def trust_for(request: ConnectRequest, account: AccountChoices | None) -> LivyTrust:
    """What verifies Livy for this request: its --ca-bundle, the environment's, the roles
    file's ca_bundle of the cluster's account, or the system store."""
    listed = None
    if account is not None and account.ca_bundle is not None:
        path, source = account.ca_bundle
        listed = (str(Path(path).expanduser()),
                  f"the ca_bundle of account {account.account} in {source}")
    return livy_trust(request.ca_bundle, request.no_verify, listed)


def wanted_for(request: ConnectRequest, account: AccountChoices | None) -> LivyRequest:
    """How the user wants Livy found: --livy-url, else the roles file's livy_url of the
    cluster, else by the rule."""
    listed = account.livy_urls.get(request.cluster_id) if account else None
    if request.livy_url is None and listed is not None:
        return LivyRequest(listed[0], f"the livy_url of cluster {request.cluster_id} in "
                           f"{listed[1]}", request.allow_insecure_http)
    return LivyRequest(request.livy_url, "--livy-url", request.allow_insecure_http)


def find_livy(emr: Emr, cluster: dict[str, Any], trust: LivyTrust,
              wanted: LivyRequest = LivyRequest(), fresh: bool = False) -> LivyEndpoint:
    """The URL of the cluster's Livy that ``trust`` verifies, or one paragraph saying why none.
    ``fresh`` probes even where an endpoint is remembered (the doctor looks now)."""
    _check_state(cluster)
    key = (cluster["Id"], wanted.url, trust.ca_bundle, wanted.allow_insecure_http)
    endpoint = None if fresh else REMEMBERED.get(key)
    if endpoint is not None:
        return replace(endpoint, remembered=True)
    endpoint = _explicit(wanted, trust) if wanted.url is not None else \
        _probe_candidates(emr, cluster, trust, wanted.allow_insecure_http)
    REMEMBERED.keep(key, endpoint)
    return endpoint


def forget(cluster_id: str) -> None:
    """Livy stopped answering where it was found: find it again on the next connect."""
    REMEMBERED.forget(cluster_id)


def _check_state(cluster: dict[str, Any]) -> None:
    state = cluster["Status"]["State"]
    if state not in READY_STATES:
        raise ClusterNotReady(
            f"Cluster {cluster['Id']} ({cluster.get('Name', '')}) is {state}; a notebook "
            "session needs it RUNNING or WAITING. Pick another cluster, or wait until it is "
            "ready.")


def candidate_hosts(emr: Emr, cluster: dict[str, Any]) -> list[str]:
    """The primary node's private DNS name(s), then ``MasterPublicDnsName``, each once."""
    names = [instance.get("PrivateDnsName") for instance in emr.primary_instances(cluster)]
    names.append(cluster.get("MasterPublicDnsName"))
    hosts = list(dict.fromkeys(name for name in names if name))
    if not hosts:
        raise ClusterNotReady(f"Cluster {cluster['Id']} reports no DNS name for its primary node "
                              "yet; wait until it is RUNNING or WAITING, then connect again.")
    return hosts


def livy_port(emr: Emr, cluster: dict[str, Any]) -> int:
    """livy-conf's port in the cluster's configurations, else the primary group's or fleet's."""
    port = _configured_port(cluster.get("Configurations", []), "the cluster's configurations")
    if port is not None:
        return port
    for group in emr.primary_groups(cluster):
        lists = [group.get("Configurations", []),
                 *(spec.get("Configurations", []) for spec in group.get(
                     "InstanceTypeSpecifications", []))]
        for configurations in lists:
            port = _configured_port(configurations, "the primary node's configurations")
            if port is not None:
                return port
    return DEFAULT_LIVY_PORT


def _configured_port(configurations: Iterable[dict[str, Any]], where: str) -> int | None:
    for configuration in configurations:
        if configuration.get("Classification") != "livy-conf":
            continue
        value = (configuration.get("Properties") or {}).get("livy.server.port")
        if value is None:
            continue
        if not str(value).strip().isdigit() or not 0 < int(value) < 65536:
            raise ClusterNotReady(
                f"livy-conf in {where} sets livy.server.port to {str(value)[:40]!r}, which is not "
                "a port number, so Livy's address is unknown. Ask the cluster's admin to fix the "
                "configuration, or give the address with --livy-url https://HOST:PORT.")
        return int(value)
    return None


def _probe_candidates(emr: Emr, cluster: dict[str, Any], trust: LivyTrust,
                      allow_http: bool) -> LivyEndpoint:
    hosts = candidate_hosts(emr, cluster)
    port = livy_port(emr, cluster)
    tried: list[Handshake] = []
    for host in hosts:
        shake = handshake(host, port, trust, HANDSHAKE_TIMEOUT)
        if shake.outcome == "verified":
            return LivyEndpoint(f"https://{_bracketed(host)}:{port}")
        tried.append(shake)
        if shake.outcome == "plain-http":
            break  # the other names lead to the same Livy
    plain = [shake for shake in tried if shake.outcome == "plain-http"]
    if plain:
        return _plain_http(plain[0].host, port, allow_http, f"cluster {cluster['Id']}")
    raise LivyError(_none_verified(cluster["Id"], tried, trust))


def _none_verified(cluster_id: str, tried: list[Handshake], trust: LivyTrust) -> str:
    listed = "; ".join(shake.describe() for shake in tried)
    untrusted = [shake for shake in tried if shake.outcome == "untrusted"]
    if not untrusted:
        return (f"Livy of cluster {cluster_id} could not be reached at any of its names: "
                f"{listed}. Check that the primary node's security group allows inbound TCP "
                "from this notebook's network to Livy's port, and that Livy runs on the cluster.")
    return (f"No name of cluster {cluster_id}'s primary node has a Livy certificate that "
            f"verifies with {trust.source} ({trust.ca_bundle}): tried {listed}. If the "
            "certificate is signed by your cluster's own CA, give that CA's PEM file with "
            "--ca-bundle PATH or JUPYTER_EMR_ROLES_CA_BUNDLE (not AWS_CA_BUNDLE, which is "
            "botocore's); if it names none of these hosts, reach Livy by a name it does name "
            "with --livy-url https://HOST:PORT (an SSH tunnel or DNS entry).")


def _plain_http(host: str, port: int, allow_http: bool, whose: str) -> LivyEndpoint:
    if not allow_http:
        raise LivyError(f"Livy of {whose} at {host}:{port} answered plain HTTP, not HTTPS, so "
                        f"its login would cross the network readable. {_ENABLE_TLS}")
    _refuse_public(host, "--allow-insecure-http")
    return LivyEndpoint(f"http://{_bracketed(host)}:{port}", insecure_http=True)


def _refuse_public(host: str, why: str) -> None:
    if not is_private(host):
        raise LivyError(f"{why} is only for private networks, but {host} is a public name or "
                        "address (or does not resolve), so the Livy login would cross the "
                        f"internet readable. {_ENABLE_TLS.split(' Or,')[0]}")


def _explicit(wanted: LivyRequest, trust: LivyTrust) -> LivyEndpoint:
    """--livy-url (or the roles file's entry): checked for shape, scheme and a verified
    handshake like a found one."""
    assert wanted.url is not None
    parts = urlsplit(wanted.url)
    try:
        port = parts.port or DEFAULT_LIVY_PORT
    except ValueError:
        port = 0
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or not port or \
            parts.path.strip("/") or parts.query or parts.username:
        raise LivyError(f"The Livy URL {wanted.url[:200]!r} from {wanted.url_source} is not of the "
                        "form https://HOST:PORT.")
    if parts.scheme == "http":
        if not wanted.allow_insecure_http:
            raise LivyError(f"The Livy URL {wanted.url} from {wanted.url_source} is plain HTTP, "
                            "which sends the Livy login readable; use https://, or add "
                            "--allow-insecure-http on a private network.")
        _refuse_public(host, "--allow-insecure-http")
        return LivyEndpoint(f"http://{_bracketed(host)}:{port}", insecure_http=True)
    shake = handshake(host, port, trust, HANDSHAKE_TIMEOUT)
    if shake.outcome == "plain-http":
        return _plain_http(host, port, wanted.allow_insecure_http, f"the URL from "
                           f"{wanted.url_source}")
    if shake.outcome == "unreachable" or (shake.outcome == "untrusted" and trust.ca_bundle):
        raise LivyError(f"Livy at {wanted.url} from {wanted.url_source} cannot be used: "
                        f"{shake.describe()}. Check the address, and give the CA that signed its "
                        "certificate with --ca-bundle PATH or JUPYTER_EMR_ROLES_CA_BUNDLE.")
    return LivyEndpoint(f"https://{_bracketed(host)}:{port}")


def _bracketed(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host
