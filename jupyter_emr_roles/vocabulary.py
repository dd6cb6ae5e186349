"""The words the kernel's faces and the Lab extension share, declared once here.

The ipywidgets picker (``magics/picker.py``) and the Lab dialog (``choiceFields.ts``)
label the engines alike; the status comm's target and the shape of its rows are the
kernel's (``magics/status_push.py``, ``sessions.py``) and the page's (``kernel.ts``,
``channel.ts``, ``status.ts``). The TypeScript side imports
``labextension/src/vocabulary.json``, which is this module's export, written by
``python -m jupyter_emr_roles.vocabulary > labextension/src/vocabulary.json`` and
committed; a test fails when the two differ.
"""

from __future__ import annotations

import sys
import typing
from typing import Any, TypedDict

from .jsonfile import lab_export_text

# The Jupyter comm the page opens and the kernel pushes its connections on (magics/status_push.py).
TARGET = "jupyter-emr-roles.connections"
# The class of the magics that hold a kernel's push (magics.EmrRolesMagics), as IPython's
# registry names it; the Lab extension asks for it too, to tell whether the magics are loaded.
MAGICS_CLASS = "EmrRolesMagics"


class ConnectionRow(TypedDict):
    """One connection as the status bar shows it (``sessions.Connection.summary``): the Lab
    extension's ``IConnectionRow`` is checked against this. Nothing secret."""

    name: str
    cluster: str
    cluster_name: str
    role: str
    who: str  # the person (access_roles.person): the source identity of access-role sessions
    language: str
    engine: str  # what runs the session ("Livy"), whose id is session_id
    session_id: int | str
    state: str
    reason: str  # why the service ended the session; "" while it runs
    credentials_expire: str  # ISO 8601, "" where the engine holds no expiring login


# Each engine as a picker offers it.
ENGINE_LABELS = {"auto": "Automatic", "livy": "Livy (%%spark cells, through sparkmagic)",
                 "spark-connect": "Spark Connect (spark in this kernel)"}
# "Automatic" once the cluster's readiness says which engine %connect will pick there.
AUTO_PICKS = "Automatic ({engine})"
# The engine auto picks, as AUTO_PICKS names it.
PICKED_NAMES = {"livy": "Livy", "spark-connect": "Spark Connect"}
# The engines that open sessions, as a sentence about a cluster names them ("can run ...").
ENGINE_NAMES = {"livy": "Livy", "spark-connect": "Spark Connect sessions"}

_JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean"}


def auto_label(picked: str) -> str:
    """The "Automatic" choice when %connect would pick ``picked`` (an engine's name)."""
    return AUTO_PICKS.format(engine=PICKED_NAMES[picked])


def _json_type(hint: Any) -> str:
    """A row field's Python type as JSON names it: "number|string" for ``int | str``."""
    return "|".join(sorted(_JSON_TYPES[arg] for arg in (typing.get_args(hint) or (hint,))))


def export() -> dict[str, Any]:
    """Everything the Lab extension reads from vocabulary.json."""
    return {
        "magics_class": MAGICS_CLASS,
        "status_target": TARGET,
        "connection_row": {name: _json_type(hint)
                           for name, hint in typing.get_type_hints(ConnectionRow).items()},
        "engine_labels": ENGINE_LABELS,
        "auto_picks": AUTO_PICKS,
        "picked_names": PICKED_NAMES,
        "engine_names": ENGINE_NAMES,
    }


def render() -> str:
    """vocabulary.json's text, exactly as committed."""
    return lab_export_text("jupyter_emr_roles.vocabulary", export())


if __name__ == "__main__":
    sys.stdout.write(render())
