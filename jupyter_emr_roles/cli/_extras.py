"""What `jupyter-emr-roles local` and `demo` need beyond a plain install: the `local` extra.

`pip install jupyter-emr-roles` brings what a notebook user needs and leaves out the
emulator's stack (moto's server) and JupyterLab, so that installing into an image
keeps its JupyterLab. The two commands that need more check for it first: without
the check, the first `import moto` would end them with a traceback instead of
saying what to install.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec

from ..errors import EmrRolesError

INSTALL_LOCAL = "pip install 'jupyter-emr-roles[local]'"
# The modules of the extra that the emulator imports: moto, and the WSGI server it is served on.
EMULATOR_MODULES = ("moto", "werkzeug")


def require_local_extra(*, lab: bool = False) -> None:
    """Raise EmrRolesError, naming what is missing and the pip command, unless the `local`
    extra is installed. ``lab``: the command also opens JupyterLab, which must be 4 (the
    version the Lab extension is built for)."""
    missing = [name for name in EMULATOR_MODULES if find_spec(name) is None]
    if lab:
        missing += _missing_jupyterlab()
    if missing:
        listed = " and ".join(filter(None, [", ".join(missing[:-1]), missing[-1]]))
        raise EmrRolesError(
            f"This command needs the `local` extra of jupyter-emr-roles, and {listed} "
            f"{'is' if len(missing) == 1 else 'are'} missing: run {INSTALL_LOCAL} (moto's "
            "server for the emulator, JupyterLab 4 for the demo), then this command again.")


def _missing_jupyterlab() -> list[str]:
    """JupyterLab 4, as the missing-parts list words it: empty when it is installed."""
    try:
        installed = version("jupyterlab")
    except PackageNotFoundError:
        return ["JupyterLab 4"]
    major = installed.partition(".")[0]
    if major.isdigit() and int(major) >= 4:
        return []
    return [f"JupyterLab 4 ({installed} is installed)"]
