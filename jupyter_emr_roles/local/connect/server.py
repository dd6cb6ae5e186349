"""One Spark Connect session's server: ``python -m jupyter_emr_roles.local.connect.server``.

The session book starts one of these per session with the runtime role's
credentials in its environment (so S3 reads and Python UDFs run as the role),
and the Spark Connect plugin of PySpark 4 listening on a loopback port that
only the session's front reaches. The port is the one the server binds itself
(port 0), never one probed free and bound seconds later, which another
process may take while the JVM starts. It prints one JSON line once the
server answers (``{"ready": true, "appId": ..., "port": ...}``) and runs until
its standard input closes, as EMR ends a session's driver when the session
ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="The Spark application's name.")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="A Spark property of the session (EngineConfigurations).")
    options = parser.parse_args()
    # Spark's Python workers (UDFs) must use this interpreter and its role's credentials.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[2]").appName(options.name)
    for key, value in {
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": "0",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # Short sessions: the quick C1 compiler halves the time to the first result.
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        **dict(item.split("=", 1) for item in options.conf),
    }.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    print(json.dumps({"ready": True, "appId": spark.sparkContext.applicationId,
                      "port": _bound_port(spark)}), flush=True)
    sys.stdin.read()
    spark.stop()


def _bound_port(spark: Any) -> int:
    """The port the Spark Connect service bound: PySpark has no public call for it, so it is
    read from the service object in the driver's JVM."""
    jvm = spark.sparkContext._jvm
    service = getattr(getattr(jvm.org.apache.spark.sql.connect.service, "SparkConnectService$"),
                      "MODULE$")
    return int(service.localPort())


if __name__ == "__main__":
    main()
