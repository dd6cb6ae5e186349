"""jupyter-emr-roles: each notebook's Spark work on a shared EMR cluster, under the runtime role it chose."""

from typing import Any

from ._version import __version__

__all__ = ["__version__", "connections_json", "load_ipython_extension", "publish_connections"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_emr_roles``: register the magics; no AWS or Livy call is made."""
    from .magics.connect import EmrRolesMagics
    from .magics.steps import EmrStepMagics

    ipython.register_magics(EmrRolesMagics)
    ipython.register_magics(EmrStepMagics)


def connections_json() -> str:
    """This kernel's %connect sessions as JSON (name, cluster, role, last known state; never a
    secret), for scripts and tests; the status bar gets the same rows pushed."""
    from IPython import get_ipython

    from .magics.status_push import connections_json as rows_of

    return rows_of(get_ipython())


def publish_connections() -> None:
    """Push the connections to the Lab extension's status bar now, changed or not (pages open
    the status comm and get them at once; this serves scripts and older pages that ask)."""
    from IPython import get_ipython

    from .magics.status_push import publish_connections as publish

    publish(get_ipython())


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_emr_roles.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-emr-roles"}]
