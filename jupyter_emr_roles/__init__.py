"""jupyter-emr-roles: each notebook's Spark work on a shared EMR cluster, under the runtime role it chose."""

from typing import Any

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_emr_roles``: register the magics; no AWS or Livy call is made."""
    from .magics import EmrRolesMagics

    ipython.register_magics(EmrRolesMagics)
