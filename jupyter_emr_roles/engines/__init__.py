"""What runs a Spark session: the interface (``base``) and one package per engine."""
