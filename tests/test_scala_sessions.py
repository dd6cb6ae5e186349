"""Scala sessions that really run: `%connect --language scala` against the emulator's real
engine, whose Livy sessions of kind `spark` are Spark's Scala interpreter in the session's JVM.

The role is shown from the JVM itself: a Scala cell signs an STS GetCallerIdentity and an
S3 GetObject with the credentials its session was given (SigV4 with the JDK's HMAC, as any
AWS SDK does), and the emulator checks the signature as AWS does. What is open on the
cluster is read from the emulator's status, never from our objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import nbformat
import pytest
from demo_world import MARKETING, MARKETING_ARN, SALES, SALES_ARN
from emulators import RunningEmulator, start_emulator
from helpers import REPO
from kernels import NotebookKernel, connected

pytestmark = pytest.mark.long  # JVMs starting: scheduled first (tests/conftest.py)

DEMO = REPO / "examples" / "emr-roles-demo.ipynb"
SPARK_KERNEL = "sparkmagic.kernels.sparkkernel.sparkkernel"
START_TIMEOUT = 180.0  # a JVM, a SparkContext and the Scala compiler, on a busy 2-core CI

# A signed AWS GET from the JVM: the session's own credentials, nothing of the kernel's.
SIGNED_GET = '''import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.security.MessageDigest
import java.time.{ZoneOffset, ZonedDateTime}
import java.time.format.DateTimeFormatter
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
def hex(bytes: Array[Byte]): String = bytes.map("%02x".format(_)).mkString
def sha(text: String): String = hex(MessageDigest.getInstance("SHA-256").digest(text.getBytes("UTF-8")))
def hmac(key: Array[Byte], text: String): Array[Byte] = { val mac = Mac.getInstance("HmacSHA256"); mac.init(new SecretKeySpec(key, "HmacSHA256")); mac.doFinal(text.getBytes("UTF-8")) }
def awsGet(service: String, path: String, query: String): (Int, String) = {
  val endpoint = URI.create(sys.env("AWS_ENDPOINT_URL"))
  val host = endpoint.getAuthority
  val stamp = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"))
  val region = sys.env.getOrElse("AWS_REGION", sys.env("AWS_DEFAULT_REGION"))
  val token = sys.env("AWS_SESSION_TOKEN")
  val signed = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
  val headers = s"host:$host\\nx-amz-content-sha256:${sha("")}\\nx-amz-date:$stamp\\nx-amz-security-token:$token\\n"
  val scope = s"${stamp.take(8)}/$region/$service/aws4_request"
  val toSign = s"AWS4-HMAC-SHA256\\n$stamp\\n$scope\\n" + sha(s"GET\\n$path\\n$query\\n$headers\\n$signed\\n${sha("")}")
  val key = Seq(region, service, "aws4_request").foldLeft(hmac(("AWS4" + sys.env("AWS_SECRET_ACCESS_KEY")).getBytes("UTF-8"), stamp.take(8)))(hmac)
  val authorization = s"AWS4-HMAC-SHA256 Credential=${sys.env("AWS_ACCESS_KEY_ID")}/$scope, SignedHeaders=$signed, Signature=${hex(hmac(key, toSign))}"
  val request = HttpRequest.newBuilder(URI.create(s"${sys.env("AWS_ENDPOINT_URL")}$path?$query")).header("x-amz-date", stamp).header("x-amz-content-sha256", sha("")).header("x-amz-security-token", token).header("Authorization", authorization).build()
  val answer = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
  (answer.statusCode, answer.body)
}'''
WHO_AM_I = ('"<Arn>(.*)</Arn>".r.findFirstMatchIn(awsGet("sts", "/", '
            '"Action=GetCallerIdentity&Version=2011-06-15")._2).map(_.group(1)).get')


def read(key: str) -> str:
    return f'awsGet("s3", "/demo-data/{key}", "")'


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("scala"), "--spark", "real") as running:
        yield running


def _demo_scala_cells() -> list[str]:
    """The demo notebook's Scala section, its session named as the rest of the test names it."""
    notebook = nbformat.read(DEMO, as_version=4)
    return [cell.source.replace("sales-scala", "sales") for cell in notebook.cells
            if cell.cell_type == "code" and "scala" in cell.metadata.get("tags", [])]


def test_scala_sessions_of_two_roles_compute_keep_state_and_show_their_role_from_the_jvm(
        real: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    """Sales in an IPython kernel through the demo notebook's Scala cells; Marketing in
    sparkmagic's Spark kernel, whose `%connect` is Scala by default and whose plain cells are
    Scala."""
    cluster = real.livy_cluster_ids()["shared-analytics"]
    kernel = notebook(real)
    kernel.ok(f"%load_ext jupyter_emr_roles\ncluster = {cluster!r}")
    connect, counted = (kernel.ok(cell, timeout=START_TIMEOUT) for cell in _demo_scala_cells())
    wrapped = notebook(real, module=SPARK_KERNEL)
    wrapped.ok("%load_ext jupyter_emr_roles")
    ids = {connected(connect, SALES, cluster, "sales"),
           connected(wrapped.ok(f"%connect --cluster-id {cluster} --role-arn {MARKETING} "
                                "--name mkt", timeout=START_TIMEOUT), MARKETING, cluster, "mkt")}
    assert {s["kind"] for s in real.open_sessions(cluster) if s["id"] in ids} == {"spark"}
    assert wrapped.ok("%emr_sessions").count("<td>scala</td>") == 1, "the kernel's language"

    kernel.ok("%%spark -s sales\nval kept = 41")
    assert counted.strip().endswith("Long = 334"), counted
    assert kernel.ok("%%spark -s sales\nkept + 1").strip().endswith("Int = 42")
    assert wrapped.ok("sc.parallelize(1 to 10).map(_ * 2).sum()").strip().endswith("110.0")
    kernel.ok(f"%%spark -s sales\n{SIGNED_GET}")
    wrapped.ok(SIGNED_GET)
    assert SALES_ARN in kernel.ok(f"%%spark -s sales\n{WHO_AM_I}")
    assert MARKETING_ARN in wrapped.ok(WHO_AM_I)
    assert '(200,"order_id' in kernel.ok(f"%%spark -s sales\n{read('sales/orders.csv')}")
    denied = wrapped.ok(read("sales/orders.csv"))
    assert "(403," in denied and "AccessDenied" in denied, denied
    assert "(200," in wrapped.ok(read("marketing/customers.csv"))
    _errors_are_one_block(kernel)

    kernel.ok("%disconnect --all")
    wrapped.ok("%disconnect --all")
    assert not {s["id"] for s in real.open_sessions(cluster)} & ids


def _errors_are_one_block(kernel: NotebookKernel) -> None:
    """A compile error and an exception, each one block as sparkmagic shows Livy's errors;
    the session goes on."""
    compile_error = kernel.run('%%spark -s sales\nval x: Int = "s"')
    thrown = kernel.run('%%spark -s sales\nthrow new IllegalStateException("no such table")')

    assert compile_error.output.count("error: type mismatch;") == 1, compile_error.output
    assert re.search(r'val x: Int = "s"\n\s+\^\n\s+found   : String\("s"\)\n\s+required: Int',
                     compile_error.output), compile_error.output
    assert "java.lang.IllegalStateException: no such table" in thrown.output
    for cell in (compile_error, thrown):
        assert "Traceback (most recent call last)" not in cell.output, cell.output
    assert kernel.ok("%%spark -s sales\nkept").strip().endswith("Int = 41"), "state kept"
