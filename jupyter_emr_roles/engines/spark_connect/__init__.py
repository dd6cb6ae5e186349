"""An EMR Spark Connect session: StartSession and its kin, and the PySpark client whose
calls carry a token renewed in place (the one module that imports pyspark and grpc)."""
