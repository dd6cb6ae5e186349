"""Where a running emulator leaves word of itself, for `local status`, `env` and `down`.

Kept apart from the emulator so those commands need not import moto.
"""

from __future__ import annotations

import os
from pathlib import Path

ADMIN_PREFIX = "/_jupyter_emr_roles/"
STATE_FILE = "state.json"
STATE_DIR_ENV = "JUPYTER_EMR_ROLES_LOCAL_DIR"
# The client's variable for the CA of Livy's certificate; the emulator prints it for its own CA.
LIVY_CA_ENV = "JUPYTER_EMR_ROLES_CA_BUNDLE"
# The client's template of an EMR Serverless application's Livy endpoint URL ({application_id},
# {region}); the emulator serves every application on one port, the ID as the path's first
# segment, where AWS gives each a host name of its own.
SERVERLESS_LIVY_URL_ENV = "JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL"


def default_state_dir() -> Path:
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir()) / "jupyter-emr-roles-local"
