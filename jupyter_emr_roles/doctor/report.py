"""What the doctor says: one finding per check, as JSON, a table, or text an admin pastes.

The check ids (``doctor.CHECKS``, ``doctor.APPLICATION_CHECKS``) and the JSON
shape are a contract (the CLI's ``--json``, the REST API and the Lab dialog's
readiness read them); the words are for people: what was found, why it matters, and the exact fix.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "unknown"]

_MARKS = {"pass": "ok", "warn": "warn", "fail": "FAIL", "unknown": "?"}


@dataclass(frozen=True)
class Finding:
    """One check's outcome. ``unknown`` means it could not run, and the message says which
    permission was missing; ``fix`` is a copyable command, JSON snippet or console path."""

    id: str
    status: Status
    message: str
    fix: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a check found, before it is a finding: a check does not name itself, the doctor's
    table (``doctor.CHECKS``) does, so a check is declared in that one place."""

    status: Status
    message: str
    fix: str | None = None

    def finding(self, check_id: str) -> Finding:
        return Finding(check_id, self.status, self.message, self.fix)


@dataclass(frozen=True)
class Report:
    """The checks of one cluster (``where`` its ID), or with ``serverless`` of one EMR
    Serverless application, with one role."""

    where: str
    role_arn: str | None
    checks: tuple[Finding, ...]
    serverless: bool = False

    @property
    def ready(self) -> bool:
        """True exactly when no check failed."""
        return all(finding.status != "fail" for finding in self.checks)

    def as_json(self) -> dict[str, Any]:
        """The contract's shape: the ID as ``cluster_id``, or ``application_id`` for an
        application, then the role, the verdict and the checks."""
        return {"application_id" if self.serverless else "cluster_id": self.where,
                "role_arn": self.role_arn, "ready": self.ready,
                "checks": [asdict(finding) for finding in self.checks]}

    def text(self) -> str:
        """For a terminal or a ticket: a verdict line, then each check with its fix."""
        verdict = "ready" if self.ready else "NOT ready"
        role = self.role_arn or "no role (give --role-arn)"
        lines = [f"{self.where} with {role}: {verdict}"]
        for finding in self.checks:
            lines.append(f"  [{_MARKS[finding.status]:>4}] {finding.id}: {finding.message}")
            if finding.fix:
                lines.append(f"         fix: {finding.fix}")
        return "\n".join(lines)

    def html(self) -> str:
        """For a notebook: the verdict, then one row per check."""
        rows = "".join(
            f"<tr><td>{_MARKS[f.status]}</td><td>{f.id}</td><td>{html.escape(f.message)}</td>"
            f"<td><code>{html.escape(f.fix or '')}</code></td></tr>" for f in self.checks)
        verdict = "ready" if self.ready else "<b>NOT ready</b>"
        role = html.escape(self.role_arn or "no role (give --role-arn)")
        return (f"<p>{html.escape(self.where)} with {role}: {verdict}</p><table><tr>"
                f"<th></th><th>check</th><th>found</th><th>fix</th></tr>{rows}</table>")

    # As IPython's own results (%timeit -o): `report = %emr_doctor ...` keeps the value, and
    # a notebook, a terminal and a JSON reader each show it in their own form.
    def _repr_html_(self) -> str:
        return self.html()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_json_(self) -> dict[str, Any]:
        return self.as_json()
