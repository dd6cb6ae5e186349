"""jupyter-emr-roles: each notebook's Spark work on a shared EMR cluster, under the runtime role it chose."""

from ._version import __version__

__all__ = ["__version__"]
