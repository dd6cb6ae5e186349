"""One Spark Connect session's server: ``python -m jupyter_emr_roles.local.connect.server``.

The session book starts one of these per session with the runtime role's
credentials in its environment (so S3 reads and Python UDFs run as the role),
and the Spark Connect plugin of PySpark 4 listening on a loopback port that
only the session's front reaches. It prints one JSON line once the server
answers (``{"ready": true, "appId": ...}``) and runs until its standard input
closes, as EMR ends a session's driver when the session ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="Loopback port to serve on.")
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
        "spark.connect.grpc.binding.port": str(options.port),
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
    print(json.dumps({"ready": True, "appId": spark.sparkContext.applicationId}), flush=True)
    sys.stdin.read()
    spark.stop()


if __name__ == "__main__":
    main()
