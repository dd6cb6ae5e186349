"""A JupyterHub ``pre_spawn_hook`` writing a user's EMR runtime roles before their server starts.

It runs ``emr-roles-lcc.sh`` (the same script Studio lifecycle configurations
use) for the user being spawned, with ``EMR_ROLES_HOME`` set to that user's
home folder and ``JUPYTERHUB_USER`` to their name, so a per-user mapping
(``EMR_ROLES_MAPPING``) finds their entry. If the script fails, the hook
raises :class:`EmrRolesHookError` with the script's error line, so the spawn
fails visibly instead of starting a server without roles.

In ``jupyterhub_config.py``::

    import sys
    sys.path.insert(0, "/etc/jupyterhub")
    from emr_roles_spawner_hook import make_pre_spawn_hook

    c.Spawner.pre_spawn_hook = make_pre_spawn_hook(
        script="/etc/jupyterhub/emr-roles-lcc.sh",
        env={"EMR_ROLES_MAPPING": "s3://my-admin-bucket/emr-roles-mapping.json"},
    )

The hook is a coroutine (JupyterHub awaits it), so a slow ``aws s3 cp`` does
not block the Hub's event loop. It only needs the standard library, so this
module imports without JupyterHub installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

#: Where the hook looks for the script unless ``make_pre_spawn_hook(script=...)`` says otherwise.
SCRIPT = "/etc/jupyterhub/emr-roles-lcc.sh"
#: Seconds the script may take (fetching a mapping from S3 or SSM included) before the spawn fails.
TIMEOUT = 120.0

# The Hub's own variables the script may need: PATH for bash, python3 and aws; HOME, AWS_* and
# the proxy settings for the aws CLI's credentials and endpoints. Nothing else of the Hub's
# environment (its secrets, or EMR_* variables meant for something else) reaches the script.
_INHERITED = ("PATH", "HOME", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
              "http_proxy", "https_proxy", "no_proxy")


class EmrRolesHookError(RuntimeError):
    """The lifecycle script failed, timed out or could not be started for a user."""


def default_home(username: str) -> str:
    """The home folder of the system account named like the JupyterHub user."""
    try:
        return pwd.getpwnam(username).pw_dir
    except KeyError:
        raise EmrRolesHookError(
            f"emr-roles: there is no system account {username!r} to find the home folder of; "
            "pass home_for= to make_pre_spawn_hook to say where the user's files go") from None


def script_environment(username: str, home: str, config: Mapping[str, str],
                       inherited: Mapping[str, str] | None = None) -> dict[str, str]:
    """The complete environment of one run of the script."""
    source = os.environ if inherited is None else inherited
    env = {name: value for name, value in source.items()
           if name in _INHERITED or name.startswith("AWS_")}
    env.update(config)
    env["EMR_ROLES_HOME"] = home
    env["JUPYTERHUB_USER"] = username
    return env


def make_pre_spawn_hook(
    script: str | os.PathLike[str] = SCRIPT,
    env: Mapping[str, str] | None = None,
    home_for: Callable[[str], str] = default_home,
    timeout: float = TIMEOUT,
) -> Callable[[Any], Awaitable[None]]:
    """Build a ``pre_spawn_hook`` that runs ``script`` for each spawned user.

    ``env`` holds the script's configuration (``EMR_ROLES``, ``EMR_ROLES_MAPPING``, ...);
    values left out fall back to the defaults edited into the script itself.
    ``home_for`` maps a JupyterHub user name to the folder the files are written to.
    """
    config = {str(name): str(value) for name, value in (env or {}).items()}
    command = ["bash", os.fspath(script)]

    async def pre_spawn_hook(spawner: Any) -> None:
        username = spawner.user.name
        home = home_for(username)
        try:
            process = await asyncio.create_subprocess_exec(
                *command, env=script_environment(username, home, config),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise EmrRolesHookError(
                f"emr-roles: cannot run {' '.join(command)} for {username!r}: {exc}") from None
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)  # the script and whatever it started
            await process.wait()
            raise EmrRolesHookError(
                f"emr-roles: {command[1]} did not finish within {timeout:g} s for {username!r}"
            ) from None
        errors = err.decode("utf-8", "replace").strip()
        if process.returncode != 0:
            raise EmrRolesHookError(
                f"emr-roles: {command[1]} failed for {username!r} "
                f"(exit status {process.returncode}): {errors or 'no message'}")
        logger = getattr(spawner, "log", log)
        if errors:
            logger.warning("%s", errors)
        logger.info("%s", out.decode("utf-8", "replace").strip())

    return pre_spawn_hook


#: A hook with the defaults: the script at ``SCRIPT``, configured by its own edited defaults.
pre_spawn_hook = make_pre_spawn_hook()
