"""The one-line warning of a kernel whose Spark Connect client is of another line than the
session's Spark names the package that line comes in: PySpark's client-only package begins at
4.0, so EMR Serverless's Spark 3.5 wants the whole of PySpark 3.5."""

from __future__ import annotations

from pyspark.version import __version__ as client_version

from jupyter_emr_roles.engines.spark_connect.client import version_mismatch

CLIENT_LINE = ".".join(client_version.split(".")[:2])


def test_a_session_of_the_clients_line_is_no_warning() -> None:
    assert version_mismatch(f"{CLIENT_LINE}.9-amzn-0") is None


def test_emr_serverless_spark_3_5_asks_for_pyspark_connect_3_5() -> None:
    warning = version_mismatch("3.5.6-amzn-2")

    assert warning is not None
    assert f"client is {client_version} and the session's Spark is 3.5.6-amzn-2" in warning
    assert "`pip install 'pyspark[connect]==3.5.*'`" in warning


def test_emr_8_spark_4_0_asks_for_pyspark_client_4_0() -> None:
    assert not CLIENT_LINE.startswith("4.0"), "the venv's PySpark must be of another line"
    warning = version_mismatch("4.0.2-amzn-0")

    assert warning is not None and "`pip install 'pyspark-client==4.0.*'`" in warning
