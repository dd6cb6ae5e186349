"""``GET orphans`` and ``POST orphans/close``: what kernels that are gone left open, for the
Lab extension's one-time offer to close it.

Listing reads the ledgers in Jupyter's runtime folder (no secret is kept there). Closing
needs a Livy login or the role's AWS credentials for each session, and the server never
holds a Livy login: so it runs ``jupyter-emr-roles sessions --orphans --close --json`` as a
child process, the very command a user would type, and answers what it printed. The
credentials live and die in that child.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ..errors import EmrRolesError
from ..ledger import Orphan, orphans

# Each orphan costs a login and a DELETE; a service that does not answer costs its retries.
CLOSE_TIMEOUT = 300.0
_CLOSE = [sys.executable, "-m", "jupyter_emr_roles", "sessions", "--orphans", "--close",
          "--json"]


class CloseFailed(EmrRolesError):
    """The closing command did not finish, or did not answer as it should."""


def orphans_json() -> dict[str, Any]:
    """``GET orphans``: the sessions of every kernel of this user that is gone."""
    return {"orphans": [_row(orphan) for orphan in orphans()]}


def close_json() -> dict[str, Any]:
    """``POST orphans/close``: close them all; a line for each and how many failed."""
    try:
        done = subprocess.run(_CLOSE, capture_output=True, text=True, timeout=CLOSE_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise CloseFailed(f"Closing the sessions dead kernels left took more than "
                          f"{CLOSE_TIMEOUT:.0f} s; run `jupyter-emr-roles sessions --orphans "
                          "--close` in a terminal to see where it waits.") from None
    try:
        answer = json.loads(done.stdout)
        return {"lines": [str(line) for line in answer["lines"]], "failed": int(answer["failed"])}
    except (ValueError, KeyError, TypeError):
        said = done.stderr.strip().splitlines()[-1:] or ["it printed nothing"]
        raise CloseFailed(f"Could not close the sessions dead kernels left: {said[0]} (run "
                          "`jupyter-emr-roles sessions --orphans --close` in a terminal for "
                          "more).") from None


def _row(orphan: Orphan) -> dict[str, Any]:
    left = orphan.session
    return {"key": f"{orphan.ledger.name}/{left.name}", "name": left.name,
            "engine": left.engine, "session_id": left.session_id, "place": left.place,
            "role_arn": left.role_arn, "opened": left.opened, "kernel_pid": orphan.pid}
