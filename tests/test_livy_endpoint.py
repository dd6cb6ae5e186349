"""Finding Livy as a real cluster needs it found: against the strict emulator (two names for
the primary, a certificate for the private one, a port on the instance group, plain HTTP), and
botocore's Stubber for the answers no emulator cluster gives (a port that is not a number)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from emulators import RunningEmulator

from jupyter_emr_roles.aws.clients import Emr, make_session
from jupyter_emr_roles.errors import ClusterNotReady, LivyError
from jupyter_emr_roles.engines.livy.endpoint import (
    LivyRequest,
    candidate_hosts,
    find_livy,
    forget,
    livy_port,
)
from jupyter_emr_roles.engines.livy.tls import LIVY_CA_ENV, SYSTEM_STORE, LivyTrust, livy_trust


@pytest.fixture
def emr(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Emr:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE"):
        monkeypatch.setenv(name, emulator.env[name])
    for name in ("AWS_PROFILE", LIVY_CA_ENV, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return Emr(make_session())


@pytest.fixture
def clusters(emulator: RunningEmulator) -> dict[str, str]:
    ids = emulator.cluster_ids()
    for cluster_id in ids.values():
        forget(cluster_id)
    return ids


def trusted(emulator: RunningEmulator) -> LivyTrust:
    return livy_trust(emulator.livy_ca)


def port_of(emulator: RunningEmulator, cluster_id: str) -> int:
    url = next(c["livy_url"] for c in emulator.status()["clusters"] if c["id"] == cluster_id)
    return int(url.rsplit(":", 1)[1])


def test_the_private_name_comes_first_and_its_certificate_verifies(
        emulator: RunningEmulator, emr: Emr, clusters: dict[str, str]) -> None:
    cluster = emr.describe(clusters["shared-analytics"])
    assert cluster["MasterPublicDnsName"] == "127.0.0.1"
    assert candidate_hosts(emr, cluster) == ["localhost", "127.0.0.1"]
    endpoint = find_livy(emr, cluster, trusted(emulator))
    port = port_of(emulator, clusters["shared-analytics"])
    assert (endpoint.url, endpoint.remembered) == (f"https://localhost:{port}", False)


def test_the_endpoint_is_remembered_so_the_probe_is_paid_once(
        emulator: RunningEmulator, emr: Emr, clusters: dict[str, str]) -> None:
    cluster = emr.describe(clusters["shared-analytics"])
    find_livy(emr, cluster, trusted(emulator))
    listed = emulator.status()["calls"].get("ListInstances", 0)
    again = find_livy(emr, cluster, trusted(emulator))
    assert again.remembered and emulator.status()["calls"].get("ListInstances", 0) == listed
    forget(clusters["shared-analytics"])
    assert not find_livy(emr, cluster, trusted(emulator)).remembered


def test_a_port_set_only_on_the_primary_instance_group_is_found(
        emulator: RunningEmulator, emr: Emr, clusters: dict[str, str]) -> None:
    cluster_id = clusters["livy-port-on-instance-group"]
    cluster = emr.describe(cluster_id)
    assert not [c for c in cluster.get("Configurations", []) if c["Classification"] == "livy-conf"]
    assert livy_port(emr, cluster) == port_of(emulator, cluster_id)
    port = port_of(emulator, cluster_id)
    assert find_livy(emr, cluster, trusted(emulator)).url == f"https://localhost:{port}"


def test_when_no_name_verifies_the_paragraph_names_each_name_and_what_its_certificate_names(
        emr: Emr, clusters: dict[str, str]) -> None:
    """The system store does not know the cluster's CA: both names fail, and say why."""
    cluster = emr.describe(clusters["shared-analytics"])
    with pytest.raises(LivyError) as caught:
        find_livy(emr, cluster, livy_trust())
    message = str(caught.value)
    assert "\n" not in message and SYSTEM_STORE in message
    assert "localhost:" in message and "127.0.0.1:" in message
    assert "its certificate names localhost" in message
    assert "--ca-bundle" in message and "JUPYTER_EMR_ROLES_CA_BUNDLE" in message
    assert "--livy-url" in message


def test_the_public_name_alone_does_not_verify(emulator: RunningEmulator, emr: Emr,
                                               clusters: dict[str, str]) -> None:
    cluster_id = clusters["shared-analytics"]
    port = port_of(emulator, cluster_id)
    with pytest.raises(LivyError, match="certificate names localhost"):
        find_livy(emr, emr.describe(cluster_id), trusted(emulator),
                  LivyRequest(f"https://127.0.0.1:{port}"))
    tunnel = find_livy(emr, emr.describe(cluster_id), trusted(emulator),
                       LivyRequest(f"https://localhost:{port}"))
    assert tunnel.url == f"https://localhost:{port}"


def test_plain_http_livy_gets_its_own_paragraph_and_never_the_ca_advice(
        emr: Emr, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    cluster_id = clusters["livy-plain-http"]
    cluster = emr.describe(cluster_id)
    with pytest.raises(LivyError) as caught:
        find_livy(emr, cluster, trusted(emulator))
    message = str(caught.value)
    assert "answered plain HTTP" in message and "Enable TLS for Livy" in message
    assert "--ca-bundle" not in message and "--allow-insecure-http" in message
    allowed = find_livy(emr, cluster, trusted(emulator), LivyRequest(allow_insecure_http=True))
    assert allowed.insecure_http and allowed.url.startswith("http://localhost:")


def test_insecure_http_is_refused_for_a_public_address(emr: Emr, emulator: RunningEmulator,
                                                       clusters: dict[str, str]) -> None:
    cluster = emr.describe(clusters["shared-analytics"])
    with pytest.raises(LivyError, match="only for private networks, but 8.8.8.8"):
        find_livy(emr, cluster, trusted(emulator),
                  LivyRequest("http://8.8.8.8:8998", allow_insecure_http=True))
    with pytest.raises(LivyError, match="plain HTTP"):
        find_livy(emr, cluster, trusted(emulator), LivyRequest("http://localhost:8998"))
    with pytest.raises(LivyError, match="not of the form https://HOST:PORT"):
        find_livy(emr, cluster, trusted(emulator), LivyRequest("https://localhost:8998/x?y"))


def test_a_cluster_that_is_not_running_is_not_probed(emr: Emr, emulator: RunningEmulator,
                                                     clusters: dict[str, str]) -> None:
    with pytest.raises(ClusterNotReady, match="is TERMINATED"):
        find_livy(emr, emr.describe(clusters["terminated"]), trusted(emulator))


def stubbed(groups: list[dict]) -> Emr:
    emr = Emr(boto3.Session(region_name="us-east-1", aws_access_key_id="a",
                            aws_secret_access_key="b"))
    stubber = Stubber(emr.client)
    stubber.add_response("list_instance_groups", {"InstanceGroups": groups},
                         {"ClusterId": "j-ABC"})
    stubber.activate()
    return emr


def test_a_port_that_is_not_a_number_is_one_paragraph() -> None:
    cluster = {"Id": "j-ABC", "Status": {"State": "WAITING"},
               "Configurations": [{"Classification": "livy-conf",
                                   "Properties": {"livy.server.port": "eighty"}}]}
    with pytest.raises(ClusterNotReady) as caught:
        livy_port(stubbed([]), cluster)
    assert "'eighty'" in str(caught.value) and "--livy-url" in str(caught.value)


def test_no_port_anywhere_means_livys_default() -> None:
    cluster = {"Id": "j-ABC", "Status": {"State": "WAITING"}}
    primary = {"Id": "ig-1", "InstanceGroupType": "MASTER",
               "Configurations": [{"Classification": "spark-defaults", "Properties": {}}]}
    assert livy_port(stubbed([primary]), cluster) == 8998
