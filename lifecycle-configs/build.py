#!/usr/bin/env python3
"""Build the attachable lifecycle script from its readable source.

    python lifecycle-configs/build.py            # write lifecycle-configs/emr-roles-lcc.sh
    python lifecycle-configs/build.py --check    # fail unless it is up to date and fits Studio

src/emr-roles-lcc.sh.in is the script as it is meant to be read and changed (a
template: ``@mapping.py@`` marks where the mapping reader goes), and
src/mapping.py the mapping reader as a Python program of its own. Studio takes a
lifecycle configuration base64-encoded, at most 16,384 characters, with the
admin's inline roles in it, so the attachable emr-roles-lcc.sh is the source
with its configuration section as it is (an admin edits that part) and, below
it, no comments, blank lines or indentation, with mapping.py minified by
python-minifier (pinned, so a build gives the same bytes) as a quoted
here-document. The test suite runs --check.
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

import python_minifier

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src" / "emr-roles-lcc.sh.in"
MAPPING = HERE / "src" / "mapping.py"
TARGET = HERE / "emr-roles-lcc.sh"
END_OF_CONFIGURATION = "# ---- End of configuration ----\n"
INCLUDE = "@mapping.py@"
HEREDOC_END = "PYTHON"
# CreateStudioLifecycleConfig's content: base64, at most this many characters; and what is
# kept free of it for an admin's inline role lines (five lines of about 70 bytes).
STUDIO_LIMIT = 16384
ROOM_FOR_ROLES = 500


def minified_mapping() -> str:
    code = python_minifier.minify(MAPPING.read_text("utf-8"), remove_literal_statements=True,
                                  rename_globals=True, hoist_literals=False)
    if HEREDOC_END in code.splitlines():
        raise SystemExit(f"the minified mapping has a line {HEREDOC_END!r}, which would end "
                         "its here-document early")
    return code.rstrip("\n")


def build() -> str:
    head, end, body = SOURCE.read_text("utf-8").partition(END_OF_CONFIGURATION)
    if not end:
        raise SystemExit(f"{SOURCE}: no line {END_OF_CONFIGURATION.strip()!r}")
    lines = []
    for line in body.splitlines():
        code = line.strip()
        if code == INCLUDE:
            lines.append(minified_mapping())
        elif code and not code.startswith("#"):
            lines.append(code)
    return head + end + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="Change nothing; exit 1 if the attachable script is not what the "
                             "source builds, or leaves too little room in Studio's limit.")
    options = parser.parse_args()
    built = build()
    size = len(base64.b64encode(built.encode("utf-8")))
    room = STUDIO_LIMIT - size
    print(f"{TARGET.name}: {len(built.encode('utf-8'))} bytes, {size} in base64; "
          f"{room} of Studio's {STUDIO_LIMIT} left for inline roles")
    if room < ROOM_FOR_ROLES:
        print(f"error: less than {ROOM_FOR_ROLES} base64 characters left for inline roles",
              file=sys.stderr)
        return 1
    if options.check:
        if TARGET.read_text("utf-8") != built:
            print(f"error: {TARGET} is not what {SOURCE.name} builds; run "
                  "python lifecycle-configs/build.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(built, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
