"""An EMR Spark Connect session, on a cluster or an EMR Serverless application: StartSession
and its kin (``emr_sessions.py``, ``serverless.py``), and the PySpark client whose calls carry a
token renewed in place (the one module that imports pyspark and grpc)."""
