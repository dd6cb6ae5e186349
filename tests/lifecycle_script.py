"""Running lifecycle-configs/emr-roles-lcc.sh under real bash: a clean environment, a
throw-away home folder, and what the script leaves there."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "lifecycle-configs" / "emr-roles-lcc.sh"
SOURCE = REPO / "lifecycle-configs" / "src" / "emr-roles-lcc.sh.in"
HOOK = REPO / "lifecycle-configs" / "jupyterhub" / "emr_roles_spawner_hook.py"
OWN = Path(".jupyter/emr-roles.json")
STUDIO = Path(".sagemaker-analytics-configuration-DO_NOT_DELETE",
              "emr-configurations-DO_NOT_DELETE.json")
CROSS = Path(".cross-account-configuration-DO_NOT_DELETE",
             "emr-discovery-iam-role-arns-DO_NOT_DELETE.json")
TARGETS = (OWN, STUDIO, CROSS)
# CreateStudioLifecycleConfig takes the script base64-encoded, at most this many characters.
STUDIO_LCC_LIMIT = 16384

A1, A2 = "123456789012", "210987654321"
SALES = f"arn:aws:iam::{A1}:role/sales-data-access"
ELECTRONICS = f"arn:aws:iam::{A1}:role/electronics-data-access"
SHARED = f"arn:aws:iam::{A1}:role/analytics/shared"
PLAIN = f"arn:aws-cn:iam::{A2}:role/plain"
ACCESS = f"arn:aws:iam::{A2}:role/emr-access"


def dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def run(home: Path, env: dict[str, str] | None = None, *, bin_dir: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the script with a clean environment: PATH, HOME, TMPDIR, a UTF-8 locale and ``env``."""
    return subprocess.run(["bash", str(SCRIPT)], env=script_env(home, env, bin_dir), check=False,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="surrogateescape", timeout=timeout)


def script_env(home: Path, env: dict[str, str] | None = None,
               bin_dir: Path | None = None) -> dict[str, str]:
    path = os.environ["PATH"] if bin_dir is None else f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    tmp = home.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    return {"PATH": path, "HOME": str(home), "TMPDIR": str(tmp), "LC_ALL": "C.UTF-8",
            "EMR_RESOURCE_METADATA": str(home.parent / "no-metadata.json"), **(env or {})}


def one_error(proc: subprocess.CompletedProcess[str], status: int = 2) -> str:
    """Assert the script failed with exactly one error line and return it."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert lines[0].startswith("emr-roles-lcc: error: "), lines[0]
    return lines[0]


def snapshot(home: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every path under ``home`` with its bytes (None for folders) and permission bits."""
    return {str(path.relative_to(home)): (None if path.is_dir() else path.read_bytes(),
                                          stat.S_IMODE(path.lstat().st_mode))
            for path in sorted(home.rglob("*"))}


def make_home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


OLD_OWN = dumps({"version": 1,
                 "accounts": {A1: {"roles": [{"arn": f"arn:aws:iam::{A1}:role/old"}]}}})
OLD_STUDIO = dumps({"emr-execution-role-arns": {A1: [f"arn:aws:iam::{A1}:role/old"]}})
OLD_CROSS = dumps({A2: f"arn:aws:iam::{A2}:role/old-access"})


def write_old_files(home: Path) -> dict[str, tuple[bytes | None, int]]:
    """The three files as an earlier run left them (our own file with mode 0600)."""
    for target, text, mode in ((OWN, OLD_OWN, 0o600), (STUDIO, OLD_STUDIO, 0o644),
                               (CROSS, OLD_CROSS, 0o644)):
        (home / target).parent.mkdir(mode=0o700, exist_ok=True)
        (home / target).write_text(text, encoding="utf-8")
        (home / target).chmod(mode)
    return snapshot(home)


def write_mapping(path: Path, document: Any) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document),
                    encoding="utf-8", errors="surrogatepass")
    return path


def fake_aws(bin_dir: Path, expected: list[str], body: str) -> Path:
    """An ``aws`` that insists on exactly ``expected`` as its arguments, then runs ``body``."""
    bin_dir.mkdir(exist_ok=True)
    aws = bin_dir / "aws"
    aws.write_text(
        "#!/usr/bin/env bash\n"
        f"expected=({' '.join(shlex.quote(arg) for arg in expected)})\n"
        'if [[ "$*" != "${expected[*]}" || $# -ne ${#expected[@]} ]]; then\n'
        '  echo "fake aws: unexpected arguments: $*" >&2; exit 99\n'
        "fi\n"
        f"{body}\n")
    aws.chmod(0o755)
    return aws
