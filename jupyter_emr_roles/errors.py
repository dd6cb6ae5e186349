"""The project's own exceptions.

Every error a user can cause is one of these, and its message is a single
paragraph that names the value, where it came from and what to do. The front
ends (CLI, magics, REST) print the message instead of a traceback, so the
message is the whole user interface of a failure: keep it complete, and never
put a secret in it.
"""

from __future__ import annotations


class EmrRolesError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class InvalidIdentifier(EmrRolesError, ValueError):
    """A cluster ID, role ARN or account ID that does not have the required shape.

    It is also a ValueError so that schema libraries (pydantic) treat it as a
    validation failure of the field it came from.
    """


class InvalidLabel(EmrRolesError, ValueError):
    """A role label that breaks the label rule (empty, too long, invisible characters).

    A ValueError too, for the same reason as InvalidIdentifier: the rule is
    also a pydantic validator of the roles file's ``label`` field.
    """


class RolesFileError(EmrRolesError):
    """A roles file that cannot be read, parsed or validated, or a conflict between files."""

    def __init__(self, problems: list["Problem"]) -> None:
        self.problems = problems
        super().__init__(_problems_paragraph(problems))


class RolesUpdateError(EmrRolesError):
    """A requested change to the roles file that cannot be made (nothing was written)."""


class Problem:
    """One thing wrong with one roles source: where (file and key), what, and the fix."""

    __slots__ = ("file", "key", "message", "fix")

    def __init__(self, file: str, key: str, message: str, fix: str = "") -> None:
        self.file = file
        self.key = key
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        where = f"{self.file}, key {self.key}" if self.key else self.file
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "key": self.key, "message": self.message, "fix": self.fix}


def _problems_paragraph(problems: list[Problem]) -> str:
    if len(problems) == 1:
        return str(problems[0])
    listed = " ".join(f"({n}) {p}" for n, p in enumerate(problems, 1))
    return f"{len(problems)} problems with the roles files: {listed}"


class AwsCallError(EmrRolesError):
    """An AWS call failed: denied, unreachable, no credentials, or refused by EMR.

    ``code`` sorts the failure for front ends that answer with a status (the REST
    API says AccessDenied as AccessDenied): one of AccessDenied, BadCredentials,
    SsoExpired, NoCredentials, NoRegion, Configuration, Tls, Timeout, Unreachable,
    Throttled, BadAnswer, NotFound, Refused.
    """

    def __init__(self, message: str, code: str = "Refused") -> None:
        super().__init__(message)
        self.code = code


class ClusterNotReady(EmrRolesError):
    """The cluster cannot take a notebook session now (state, release, configuration)."""


class StepError(EmrRolesError):
    """A step that was not added, cannot be cancelled, or whose log cannot be read."""


class LivyError(EmrRolesError):
    """Livy could not be reached, refused us, or the session did not come up."""


class LivyUnreachable(LivyError):
    """No connection to Livy where it was found: the address may have changed."""
