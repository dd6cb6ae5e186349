"""GET doctor?application_id=: an EMR Serverless application's report through the server
extension, as `jupyter-emr-roles doctor --application-id --json` prints it."""

from __future__ import annotations

from emulators import RunningEmulator
from rest import RestClient, assert_error

from jupyter_emr_roles.doctor import APPLICATION_CHECK_IDS

SALES = "arn:aws:iam::123456789012:role/sales-data-access"


async def test_the_report_of_an_application(rest: RestClient, emulator: RunningEmulator) -> None:
    application_id = emulator.application_ids()["serverless-release-too-old"]
    answer = await rest.get("doctor", application_id=application_id)
    assert answer.status == 200, answer
    body = answer.body
    assert (body["application_id"], body["role_arn"], body["ready"]) == (
        application_id, SALES, False)
    assert "cluster_id" not in body
    assert [check["id"] for check in body["checks"]] == list(APPLICATION_CHECK_IDS)
    failed = {check["id"]: check for check in body["checks"] if check["status"] == "fail"}
    assert set(failed) == {"livy", "spark-connect"} and all(c["fix"] for c in failed.values())


async def test_a_bad_unknown_or_doubled_application_is_an_error(
        rest: RestClient, emulator: RunningEmulator) -> None:
    assert_error(await rest.get("doctor", application_id="Not-An-Id"), 400, "InvalidIdentifier")
    assert_error(await rest.get("doctor", application_id="00fabcdefghij012"), 404, "NotFound")
    assert_error(await rest.get("doctor", application_id="00fabcdefghij012",
                                cluster_id="j-1K48XXXXXXHCB"), 400, "BadRequest")
