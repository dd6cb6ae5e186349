"""A Spark Connect session's life as AWS lives it, in a real kernel: StartSession's answer lost on
the way back, a token EMR's proxy calls expired ("Stream removed") while the kernel thinks it
good, and the session's maximum lifetime (24 h on EMR; 55 s here, room for the steps before it
on a loaded machine). The token's refusal once more for EMR Serverless, whose Spark is 3.5, in
a kernel with PySpark 3.5's client, which takes no retry policies.

The kernel's clock runs 30 s behind the emulator's (libfaketime, as on a laptop whose clock has
drifted): a 20 s token then looks good for 50 s, so the kernel sends it after the proxy stopped
taking it, and must renew it when the proxy says so rather than ahead of time.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from demo_world import SALES_ARN
from emulators import RunningEmulator, start_emulator
from kernels import NotebookKernel

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

TOKEN_LIFETIME = 20
SESSION_LIFETIME = 55
CLOCK_BEHIND = 30
FAKETIME_LIBRARY = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_emulator(tmp_path_factory.mktemp("session-life"), "--spark", "fake",
                             "--session-token-ttl", str(TOKEN_LIFETIME),
                             "--session-lifetime", str(SESSION_LIFETIME),
                             "--lose-first-answer", "StartSession")
    with running:
        yield running


def faketime_library() -> str:
    """libfaketime from Debian's faketime package (scripts/test.sh installs it)."""
    found = FAKETIME_LIBRARY if FAKETIME_LIBRARY.exists() else None
    if found is None and shutil.which("faketime"):
        found = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), None)
    assert found is not None, "libfaketime is missing: scripts/test.sh installs Debian's faketime"
    return str(found)


def test_a_session_lives_and_ends_as_emr_says(emulator: RunningEmulator,
                                              notebook: Callable[..., NotebookKernel]) -> None:
    cluster = emulator.cluster_ids()["connect-analytics"]
    emr = emulator.client("emr")
    kernel = notebook(emulator, LD_PRELOAD=faketime_library(), FAKETIME=f"-{CLOCK_BEHIND}s")
    kernel.ok("%load_ext jupyter_emr_roles")
    assert kernel.ok("import time; print(round(time.time()))")  # the kernel runs under faketime

    # The first StartSession is done, and its answer lost: botocore sends it again with the
    # same ClientRequestToken, and EMR starts no second session.
    output = kernel.ok(f"%connect --cluster-id {cluster} --engine spark-connect")
    sessions = emr.list_sessions(ClusterId=cluster)["Sessions"]
    assert len(sessions) == 1 and sessions[0]["Id"] in output, (sessions, output)
    assert emulator.status()["calls"]["StartSession"] == 2

    # The token expires at the proxy while the kernel's clock says it has 30 s to go.
    assert kernel.ok("print(spark.range(3).count())").strip() == "3"
    before = emulator.status()["calls"]["GetSessionEndpoint"]
    time.sleep(TOKEN_LIFETIME + 3)
    assert kernel.ok("print(spark.range(4).count())").strip() == "4"
    assert emulator.status()["calls"]["GetSessionEndpoint"] == before + 1

    # EMR ends the session at its maximum lifetime; the kernel says which end it met.
    started = time.monotonic()
    while "ended" not in (listed := kernel.ok("%emr_sessions")):
        assert time.monotonic() - started < SESSION_LIFETIME + 30, listed
        time.sleep(2)
    assert re.search(r"ended: Session reached its maximum lifetime of 55 seconds\.", listed), \
        listed
    kernel.ok("%disconnect spark")
    assert "No sessions" in kernel.ok("%emr_sessions")


def test_a_pyspark_3_5_kernel_gets_a_new_serverless_token_when_the_proxy_refuses_its_own(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    client_3_5 = Path(sys.prefix) / "pyspark-3.5"
    assert (client_3_5 / "pyspark").is_dir(), "scripts/test.sh installs PySpark 3.5 there"
    application = emulator.application_ids()["serverless-spark-connect"]
    kernel = notebook(emulator, LD_PRELOAD=faketime_library(), FAKETIME=f"-{CLOCK_BEHIND}s",
                      PYTHONPATH=str(client_3_5))
    kernel.ok("%load_ext jupyter_emr_roles")

    output = kernel.ok(f"%connect --application-id {application} --engine spark-connect")

    assert "Spark Connect id" in output and "PySpark is 3.5" not in output, output
    assert kernel.ok("import pyspark; print(pyspark.__version__)").startswith("3.5.")
    assert kernel.ok("print(spark.range(3).count())").strip() == "3"
    time.sleep(TOKEN_LIFETIME + 3)
    who = kernel.ok("from pyspark.sql import functions as F\n"
                    "@F.udf('string')\n"
                    "def who(_):\n"
                    "    import boto3\n"
                    "    return boto3.client('sts').get_caller_identity()['Arn']\n"
                    "print(spark.range(1).select(who('id')).first()[0])")
    assert who.strip().startswith(SALES_ARN), who
    kernel.ok("%disconnect spark")
    serverless = emulator.admin("emr-serverless")
    assert {s["state"] for s in serverless.list_sessions(applicationId=application)["sessions"]} \
        <= {"TERMINATING", "TERMINATED"}
