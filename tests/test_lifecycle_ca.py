"""The lifecycle script's Livy CA bundles (EMR_CA_BUNDLES): each account's CA is fetched and
checked before anything is written, written beside the roles file, named there as the
account's ``ca_bundle``, and what `jupyter-emr-roles` then verifies Livy with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_world import ACCOUNT, SALES as DEMO_SALES
from emulators import RunningEmulator
from helpers import CLI
from lifecycle_script import (A1, A2, OWN, SALES, SHARED, STUDIO, dumps, fake_aws, make_home,
                              one_error, run, snapshot, write_mapping, write_old_files)

from jupyter_emr_roles.roles.formats import parse_own, render

pytestmark = pytest.mark.lifecycle

PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Ex\n-----END CERTIFICATE-----\n")
ROLES = f"{A1} {SALES} Sales\n{A2} {SHARED}\n"
AWS = shutil.which("aws", path=str(Path(sys.executable).parent))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


def pem_file(tmp_path: Path, name: str, text: str = PEM) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def ca_path(home: Path, account: str) -> Path:
    return home / ".jupyter" / f"emr-livy-ca-{account}.pem"


def test_each_accounts_ca_bundle_is_written_and_named_in_its_roles(home: Path,
                                                                   tmp_path: Path) -> None:
    other = PEM.replace("Q2Ex", "T3Ro")
    bundles = (f"# the CAs of our clusters\n{A1} {pem_file(tmp_path, 'a1.pem')}\n"
               f"{A2} file://{pem_file(tmp_path, 'a2.pem', other)}\n"
               f"999999999999 {tmp_path / 'not-fetched-for-this-user.pem'}\n")

    proc = run(home, {"EMR_ROLES": ROLES, "EMR_CA_BUNDLES": bundles})

    assert proc.returncode == 0, proc.stderr
    own = (home / OWN).read_text()
    assert own == dumps({"version": 1, "accounts": {
        A1: {"roles": [{"arn": SALES, "label": "Sales"}], "ca_bundle": str(ca_path(home, A1))},
        A2: {"roles": [{"arn": SHARED}], "ca_bundle": str(ca_path(home, A2))}}})
    assert render(parse_own(json.loads(own), str(OWN))) == own
    assert ca_path(home, A1).read_text() == PEM and ca_path(home, A2).read_text() == other
    assert not ca_path(home, "999999999999").exists()
    assert (home / STUDIO).read_text() == dumps(
        {"emr-execution-role-arns": {A1: [SALES], A2: [SHARED]}})

    again = run(home, {"EMR_ROLES": ROLES, "EMR_CA_BUNDLES": bundles})
    assert again.returncode == 0 and "already in" in again.stdout


def test_a_ca_bundle_goes_with_a_mapping_too(home: Path, tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path / "mapping.json", {"version": 1, "users": {
        "alice": {A1: {"roles": [{"arn": SALES}]}}}})

    proc = run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice",
                      "EMR_CA_BUNDLES": f"{A1} {pem_file(tmp_path, 'a1.pem')}"})

    assert proc.returncode == 0, proc.stderr
    assert json.loads((home / OWN).read_text())["accounts"][A1]["ca_bundle"] == str(
        ca_path(home, A1))


def test_a_home_with_quotes_and_backslashes_is_named_as_json_writes_it(tmp_path: Path) -> None:
    home = tmp_path / 'we "said" \\ home'
    home.mkdir()

    proc = run(home, {"EMR_ROLES": ROLES, "EMR_CA_BUNDLES": f"{A1} {pem_file(tmp_path, 'a.pem')}"})

    assert proc.returncode == 0, proc.stderr
    own = (home / OWN).read_text()
    assert render(parse_own(json.loads(own), str(OWN))) == own
    assert Path(json.loads(own)["accounts"][A1]["ca_bundle"]).read_text() == PEM


@pytest.mark.parametrize("location, argv", [
    ("s3://my-config/emr/livy-ca.pem", ["s3", "cp", "s3://my-config/emr/livy-ca.pem", "-"]),
    ("ssm:/emr/livy-ca", ["ssm", "get-parameter", "--name", "/emr/livy-ca", "--with-decryption",
                          "--query", "Parameter.Value", "--output", "text"]),
])
def test_a_ca_bundle_fetched_with_the_aws_cli(home: Path, tmp_path: Path, location: str,
                                              argv: list[str]) -> None:
    fake_aws(tmp_path / "bin", argv, f"printf %s '{PEM}'")

    proc = run(home, {"EMR_ROLES": ROLES, "EMR_CA_BUNDLES": f"{A1} {location}"},
               bin_dir=tmp_path / "bin")

    assert proc.returncode == 0, proc.stderr
    assert ca_path(home, A1).read_text() == PEM
    assert list((tmp_path / "tmp").iterdir()) == []  # the downloaded copy is removed


@pytest.mark.parametrize("bundles, status, expected", [
    ("{A1} {tmp}/not-a-pem.txt", 2, "EMR_CA_BUNDLES line 1: {tmp}/not-a-pem.txt holds no PEM "
     "certificate; expected -----BEGIN CERTIFICATE-----"),
    ("{A1} {tmp}/missing.pem", 1, "cannot read the CA bundle {tmp}/missing.pem"),
    ("{A1} {tmp}/a.pem\n{A1} {tmp}/b.pem", 2, "EMR_CA_BUNDLES line 2: {tmp}/b.pem is a 2nd CA "
     "bundle for {A1}; expected one ({tmp}/a.pem)"),
    ("{A1} ftp://server/ca.pem", 2, "EMR_CA_BUNDLES line 1: location ftp://server/ca.pem is not "
     "valid; expected s3://BUCKET/KEY, ssm:NAME, /path or file:///path"),
    ("1234 {tmp}/a.pem", 2, "EMR_CA_BUNDLES line 1: account ID 1234 is not valid; expected 12 "
     "digits"),
    ("{A1} {tmp}/a.pem extra", 2, "EMR_CA_BUNDLES line 1: line 123456789012\\ {tmp}/a.pem\\ "
     "extra is not valid; expected 'ACCOUNT_ID s3://BUCKET/KEY|ssm:NAME|/path'"),
], ids=["not-pem", "missing", "second", "location", "account", "extra-field"])
def test_a_bad_ca_bundle_is_one_error_and_changes_nothing(tmp_path: Path, bundles: str,
                                                          status: int, expected: str) -> None:
    home = make_home(tmp_path)
    old = write_old_files(home)
    pem_file(tmp_path, "a.pem")
    pem_file(tmp_path, "b.pem")
    pem_file(tmp_path, "not-a-pem.txt", "MIIBszCCAVmgAwIBAgIUQ2Ex\n")

    proc = run(home, {"EMR_ROLES": ROLES,
                      "EMR_CA_BUNDLES": bundles.format(A1=A1, tmp=tmp_path)})

    assert one_error(proc, status) == "emr-roles-lcc: error: " + expected.format(A1=A1,
                                                                               tmp=tmp_path)
    assert snapshot(home) == old


def test_an_aws_cli_failure_fetching_a_ca_bundle_changes_nothing(home: Path,
                                                                 tmp_path: Path) -> None:
    old = write_old_files(home)
    fake_aws(tmp_path / "bin", ["s3", "cp", "s3://my-config/ca.pem", "-"],
             'echo "An error occurred (NoSuchKey) when calling the GetObject operation" >&2; '
             "exit 1")

    proc = run(home, {"EMR_ROLES": ROLES, "EMR_CA_BUNDLES": f"{A2} s3://my-config/ca.pem"},
               bin_dir=tmp_path / "bin")

    assert one_error(proc, 1) == (
        "emr-roles-lcc: error: cannot fetch the CA bundle s3://my-config/ca.pem with the aws "
        "CLI: An error occurred (NoSuchKey) when calling the GetObject operation")
    assert snapshot(home) == old


# --- against the emulator: the real AWS CLI fetches the CA, and the doctor verifies Livy with it

def doctor_livy(emulator: RunningEmulator, home: Path, cluster_id: str) -> dict:
    """The doctor's Livy check as the demo user whose only roles file is the one in ``home``,
    with no CA given any other way."""
    env = {key: value for key, value in {**os.environ, **emulator.env}.items()
           if key not in ("JUPYTER_EMR_ROLES_CA_BUNDLE", "JUPYTER_EMR_ROLES_FILE")}
    proc = subprocess.run([CLI, "doctor", "--cluster-id", cluster_id, "--role-arn", DEMO_SALES,
                           "--json"], capture_output=True, text=True, timeout=120,
                          env={**env, "HOME": str(home)}, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stderr
    return next(check for check in json.loads(proc.stdout)["checks"] if check["id"] == "livy")


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")
def test_the_written_ca_is_what_verifies_the_clusters_livy(emulator: RunningEmulator,
                                                           clusters: dict[str, str],
                                                           tmp_path: Path) -> None:
    admin = emulator.env_of("platform-admin")
    s3 = emulator.client("s3", aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"])
    s3.create_bucket(Bucket="demo-config")
    s3.put_object(Bucket="demo-config", Key="livy/ca.pem",
                  Body=Path(emulator.livy_ca).read_bytes())
    with_ca, without = make_home(tmp_path), tmp_path / "without"
    without.mkdir()
    roles = f"{ACCOUNT} {DEMO_SALES}"

    proc = run(with_ca, {"EMR_ROLES": roles, **admin,
                         "EMR_CA_BUNDLES": f"{ACCOUNT} s3://demo-config/livy/ca.pem"},
               bin_dir=Path(AWS).parent)
    assert proc.returncode == 0, proc.stderr
    assert run(without, {"EMR_ROLES": roles}).returncode == 0

    assert ca_path(with_ca, ACCOUNT).read_bytes() == Path(emulator.livy_ca).read_bytes()
    cluster = clusters["shared-analytics"]
    assert doctor_livy(emulator, with_ca, cluster)["status"] == "pass"
    refused = doctor_livy(emulator, without, cluster)
    assert refused["status"] == "fail" and "certificate" in refused["message"]
