"""The client's copy of EMR's runtime-role rules (the doctor's cluster checks, which the
pickers' readiness shows) and the emulator's own (local/runtime_roles.py, AWS's side) are kept
apart on purpose, so a wrong rule in one can fail a test: over HTTP, for clusters on each side
of every rule, the client calls a cluster ready exactly when the emulated EMR hands out
credentials for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demo_world import SALES
from emulators import RunningEmulator, start_changed_world

from jupyter_emr_roles.aws.clients import Emr, make_session
from jupyter_emr_roles.clusters import assess
from jupyter_emr_roles.identifiers import ClusterId

# The checks GetClusterSessionCredentials makes; the pickers also check Spark, Livy and TLS,
# which EMR leaves to the session's start.
SHARED_CHECKS = {"cluster-state", "release", "single-primary", "runtime-roles"}
EDGES = [
    {"name": "release-6.8.1", "release": "emr-6.8.1"},
    {"name": "release-6.9.0", "release": "emr-6.9.0"},
    {"name": "release-6.10.0", "release": "emr-6.10.0"},
    {"name": "release-7.0.0", "release": "emr-7.0.0"},
    {"name": "release-6.7.0", "release": "emr-6.7.0"},
    {"name": "release-spark-8.0.0", "release": "emr-spark-8.0.0"},
    {"name": "release-8.0.0", "release": "emr-8.0.0"},  # no such label: unknown to the client
    {"name": "three-primaries", "primary_nodes": 3},
    {"name": "encryption-only", "security_configuration": "encryption-only"},
    {"name": "no-security-configuration", "security_configuration": None},
    {"name": "ready"},
]


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_changed_world(tmp_path_factory.mktemp("edges"),
                             lambda world: world.update(clusters=EDGES), "--spark",
                             "fake") as running:
        yield running


def emr_gives_credentials(emulator: RunningEmulator, cluster_id: str) -> bool:
    try:
        emulator.client("emr").get_cluster_session_credentials(ClusterId=cluster_id,
                                                               ExecutionRoleArn=SALES)
    except Exception as exc:  # botocore's ClientError: EMR refused, and says why
        assert "InvalidRequestException" in str(exc), exc
        return False
    return True


def test_the_pickers_readiness_agrees_with_emr_on_every_edge(
        edges: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE"):
        monkeypatch.setenv(name, edges.env[name])
    emr = Emr(make_session())
    verdicts = {}
    for name, cluster_id in edges.cluster_ids().items():
        readiness = assess(emr, ClusterId(cluster_id))
        client_ready = all(check.status in ("pass", "warn") for check in readiness.checks
                           if check.id in SHARED_CHECKS)
        verdicts[name] = (client_ready, emr_gives_credentials(edges, cluster_id))
    assert all(client == emr for client, emr in verdicts.values()), verdicts
    assert verdicts["release-6.9.0"] == (True, True) and verdicts["release-6.8.1"] == (False, False)
    assert verdicts["release-spark-8.0.0"] == (True, True)
