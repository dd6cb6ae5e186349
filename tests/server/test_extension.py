"""The extension as jupyter_server finds it, and what it must never import."""

from __future__ import annotations

import subprocess
import sys

import jupyter_emr_roles


def test_the_package_points_jupyter_server_at_the_extension() -> None:
    assert jupyter_emr_roles._jupyter_server_extension_points() == [
        {"module": "jupyter_emr_roles.server"}]


def test_the_server_side_never_imports_sparkmagic() -> None:
    """sparkmagic is the kernel's business; the server must load without it."""
    code = ("import sys, jupyter_emr_roles.server, jupyter_emr_roles.server.handlers; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sparkmagic'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"
