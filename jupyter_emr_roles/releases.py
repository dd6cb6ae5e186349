"""EMR release labels, of both families EMR names its releases in, and what each release runs.

EMR's releases up to 7.x read ``emr-7.1.0``; the line that follows them, "AWS runtime
for Apache Spark", reads ``emr-spark-8.0.0`` (there is no ``emr-8.0.0``). A label of
neither family is *unknown*, never version 0: read as 0 it would make every check
refuse a cluster whose label is merely spelt in a way this client does not know yet,
and the doctor, the pickers, ``steps`` and the engine choice all read labels here, so
they agree on each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]

CLASSIC, SPARK = "emr", "emr-spark"
# The classic family ends at 7.x: the release after emr-7 is emr-spark-8.0.0.
_FAMILIES = ((SPARK, re.compile(r"emr-spark-(\d+)\.(\d+)\.(\d+)")),
             (CLASSIC, re.compile(r"emr-([4-7])\.(\d+)\.(\d+)")))

# Runtime roles came to steps in emr-6.7.0 and to interactive (Livy) sessions in emr-6.9.0;
# S3 Access Grants need emr-6.15.0; from emr-7.4.0 in-transit encryption alone puts Livy on TLS.
STEPS: Version = (6, 7, 0)
NOTEBOOKS: Version = (6, 9, 0)
GRANTS: Version = (6, 15, 0)
LIVY_TLS: Version = (7, 4, 0)
# EMR's Spark Connect sessions (StartSession): "Amazon EMR Spark 8.0.0 and later".
SESSIONS: Version = (8, 0, 0)
# EMR Serverless (classic labels): a Livy endpoint from emr-6.14.0 ("Interactive workloads with
# Livy endpoints"), Spark Connect sessions from emr-7.13.0.
SERVERLESS_LIVY: Version = (6, 14, 0)
SERVERLESS_SESSIONS: Version = (7, 13, 0)


@dataclass(frozen=True)
class Release:
    """A release label EMR answered, read: its family and its version."""

    label: str
    family: str
    version: Version

    def at_least(self, minimum: Version) -> bool:
        """Whether this release is ``minimum`` or later; the emr-spark line follows emr-7."""
        return self.version >= minimum

    @property
    def runs_sessions(self) -> bool:
        """Whether EMR's Spark Connect sessions exist on this release."""
        return self.family == SPARK and self.version >= SESSIONS


def parse_release(label: str | None) -> Release | None:
    """The release ``label`` names, or None when it is of neither family (or missing)."""
    for family, pattern in _FAMILIES:
        match = pattern.fullmatch(label or "")
        if match:
            major, minor, patch = (int(part) for part in match.groups())
            return Release(label or "", family, (major, minor, patch))
    return None


def predates_sessions(label: str | None) -> bool:
    """Whether ``label`` is a release known to have no Spark Connect sessions (a label this
    client cannot read is not known to: EMR decides)."""
    found = parse_release(label)
    return found is not None and not found.runs_sessions


def label_of(version: Version) -> str:
    """How EMR spells the release of ``version``: ``emr-6.9.0``, ``emr-spark-8.0.0``."""
    family = SPARK if version >= SESSIONS else CLASSIC
    return f"{family}-{'.'.join(map(str, version))}"


def unknown_label(label: str | None) -> str:
    """One sentence for a label this client cannot read."""
    shown = repr(label) if label else "no release label"
    return (f"The cluster's release is {shown}, of neither family this client reads "
            "(emr-7.x.y, emr-spark-8.x.y)")
