"""The jupyter_server extension: the REST API the JupyterLab extension talks to.

It reads the roles files and lists and checks clusters as the server's own AWS
identity; it never asks for Livy credentials (only the kernel does), so no
secret can reach the browser through it. It never imports sparkmagic.
"""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Called by jupyter_server at start-up: route ``{base_url}jupyter-emr-roles/``."""
    from .handlers import setup_handlers

    setup_handlers(serverapp.web_app)
    serverapp.log.info("jupyter-emr-roles: REST API at %sjupyter-emr-roles/",
                       serverapp.web_app.settings["base_url"])
