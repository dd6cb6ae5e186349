"""Cluster IDs, Serverless application IDs, IAM role ARNs and AWS account IDs, parsed once at
the edge.

These values travel into generated code cells, shell scripts and AWS calls,
so a value is either of the exact documented shape or it is rejected. The
shapes are ASCII-only on purpose: quotes, ``;``, ``$(``, white space, control
characters and Unicode look-alikes can never be part of a parsed identifier.

Each type is a ``str`` subclass, so a parsed value can go wherever a string
goes (boto3 parameters, JSON) while its type says it was checked.
"""

from __future__ import annotations

import re
from typing import ClassVar, Self

from .errors import InvalidIdentifier

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")

# The shapes as anchored patterns that JSON Schema (ECMA) and bash can use too.
_IAM_CHARS = r"[A-Za-z0-9+=,.@_-]"
ACCOUNT_PATTERN = r"^[0-9]{12}$"
CLUSTER_PATTERN = r"^j-[0-9A-Z]{1,64}$"
ROLE_ARN_PATTERN = (
    r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/(" + _IAM_CHARS + r"+/)*"
    + _IAM_CHARS + r"{1,64}$"
)
SESSION_NAME_PATTERN = r"^" + _IAM_CHARS + r"{1,64}$"
STEP_PATTERN = r"^s-[0-9A-Z]{1,64}$"
# botocore's ApplicationId shape: [0-9a-z]+, 1 to 64 characters (AWS hands out 16).
APPLICATION_PATTERN = r"^[0-9a-z]{1,64}$"
_MAX_PATH = 512


def _compile(pattern: str) -> re.Pattern[str]:
    """Drop the anchors: Python uses fullmatch, since ``$`` would let a trailing newline through."""
    return re.compile(pattern.removeprefix("^").removesuffix("$"), re.ASCII)


_ACCOUNT_RE = _compile(ACCOUNT_PATTERN)
_CLUSTER_RE = _compile(CLUSTER_PATTERN)
_ROLE_ARN_RE = _compile(ROLE_ARN_PATTERN)
_SESSION_NAME_RE = _compile(SESSION_NAME_PATTERN)
_STEP_RE = _compile(STEP_PATTERN)
_APPLICATION_RE = _compile(APPLICATION_PATTERN)
_ROLE_NAME_RE = re.compile(_IAM_CHARS + r"{1,64}", re.ASCII)
_ROLE_PATH_RE = re.compile(r"/(?:" + _IAM_CHARS + r"+/)*", re.ASCII)

ACCOUNT_SHAPE = "exactly 12 digits, e.g. 123456789012"
CLUSTER_SHAPE = "'j-' followed by upper-case letters and digits, e.g. j-1K48XXXXXXHCB"
ROLE_ARN_SHAPE = (
    "arn:<aws|aws-cn|aws-us-gov>:iam::<12-digit account>:role/<optional/path/><name>, "
    "e.g. arn:aws:iam::123456789012:role/sales-data-access, where the name is 1 to 64 "
    "letters, digits or + = , . @ _ -"
)
SESSION_NAME_SHAPE = "1 to 64 letters, digits or + = , . @ _ -, e.g. sales"
STEP_SHAPE = "'s-' followed by upper-case letters and digits, e.g. s-1XYZ2ABC3DEF4"
APPLICATION_SHAPE = ("1 to 64 lower-case letters and digits, e.g. 00fabcdefghij012 (EMR Serverless "
                     "gives 16)")
JOB_RUN_SHAPE = ("1 to 64 lower-case letters and digits, e.g. 00fabcdefghij345 (EMR Serverless "
                 "gives 16)")


def show(value: object, limit: int = 100) -> str:
    """Render an untrusted value for an error message: ASCII-escaped and bounded.

    Escaping makes a newline, a control character or a Cyrillic 'а' that looks
    like a Latin 'a' visible, and keeps the message on one line.
    """
    if not isinstance(value, str):
        return f"a {type(value).__name__} ({ascii(value)[:limit]})"
    shown = ascii(value[:limit])
    return shown + ("..." if len(value) > limit else "")


class _Identifier(str):
    """A string that exists only in its documented shape; subclasses say which shape."""

    __slots__ = ()
    KIND: ClassVar[str]
    SHAPE: ClassVar[str]

    def __new__(cls, value: object, source: str = "") -> Self:
        if not isinstance(value, str):
            raise cls._invalid(value, source, "it is not a string")
        if not cls._valid(value):
            raise cls._invalid(value, source, cls._reason(value))
        return super().__new__(cls, value)

    @classmethod
    def _invalid(cls, value: object, source: str, reason: str) -> InvalidIdentifier:
        origin = f" from {source}" if source else ""
        return InvalidIdentifier(
            f"{cls.KIND} {show(value)}{origin} is not valid: {reason}. Expected {cls.SHAPE}.")

    @staticmethod
    def _valid(value: str) -> bool:
        raise NotImplementedError

    @staticmethod
    def _reason(value: str) -> str:
        raise NotImplementedError


class AccountId(_Identifier):
    """A 12-digit AWS account ID."""

    __slots__ = ()
    KIND = "Account ID"
    SHAPE = ACCOUNT_SHAPE

    @staticmethod
    def _valid(value: str) -> bool:
        return _ACCOUNT_RE.fullmatch(value) is not None

    @staticmethod
    def _reason(value: str) -> str:
        if not (value.isascii() and value.isdigit()):
            return "it is not made of the digits 0-9 only"
        if len(value) < 12:
            return f"it has only {len(value)} digits (a leading zero lost by writing it as a number?)"
        return f"it has {len(value)} digits"


class ClusterId(_Identifier):
    """An EMR cluster ID such as ``j-1K48XXXXXXHCB``."""

    __slots__ = ()
    KIND = "Cluster ID"
    SHAPE = CLUSTER_SHAPE

    @staticmethod
    def _valid(value: str) -> bool:
        return _CLUSTER_RE.fullmatch(value) is not None

    @staticmethod
    def _reason(value: str) -> str:
        if not value.startswith("j-"):
            return "it does not start with 'j-'"
        rest = value[2:]
        if not rest:
            return "nothing follows 'j-'"
        if rest.isascii() and rest.isalnum() and rest != rest.upper():
            return "it has lower-case letters (cluster IDs are upper-case)"
        if len(rest) > 64:
            return "it is too long"
        return "it has characters other than A-Z and 0-9 after 'j-'"


class RoleArn(_Identifier):
    """The ARN of an IAM role, e.g. an EMR runtime role or a cross-account access role."""

    __slots__ = ()
    KIND = "Role ARN"
    SHAPE = ROLE_ARN_SHAPE

    @staticmethod
    def _valid(value: str) -> bool:
        return _ROLE_ARN_RE.fullmatch(value) is not None and \
            len(_path_and_name(value)[0]) <= _MAX_PATH

    @staticmethod
    def _reason(value: str) -> str:
        return _role_arn_reason(value)

    @property
    def partition(self) -> str:
        return self.split(":")[1]

    @property
    def account(self) -> AccountId:
        return AccountId(self.split(":")[4])

    @property
    def path(self) -> str:
        """The role's path, ``/`` when it has none."""
        return _path_and_name(self)[0]

    @property
    def name(self) -> str:
        return _path_and_name(self)[1]


class SessionName(_Identifier):
    """The name of a notebook's Spark session: it goes into sparkmagic's ``-s`` option,
    generated cells and messages, so it has a role name's plain characters."""

    __slots__ = ()
    KIND = "Session name"
    SHAPE = SESSION_NAME_SHAPE

    @staticmethod
    def _valid(value: str) -> bool:
        return _SESSION_NAME_RE.fullmatch(value) is not None

    @staticmethod
    def _reason(value: str) -> str:
        if not value:
            return "it is empty"
        if len(value) > 64:
            return "it is longer than 64 characters"
        return "it has characters other than letters, digits and + = , . @ _ -"


class StepId(_Identifier):
    """An EMR step ID such as ``s-1XYZ2ABC3DEF4``."""

    __slots__ = ()
    KIND = "Step ID"
    SHAPE = STEP_SHAPE

    @staticmethod
    def _valid(value: str) -> bool:
        return _STEP_RE.fullmatch(value) is not None

    @staticmethod
    def _reason(value: str) -> str:
        if not value.startswith("s-"):
            return "it does not start with 's-'"
        return "it has characters other than A-Z and 0-9 after 's-', or none"


class ApplicationId(_Identifier):
    """An EMR Serverless application ID such as ``00fabcdefghij012``."""

    __slots__ = ()
    KIND = "Application ID"
    SHAPE = APPLICATION_SHAPE

    @staticmethod
    def _valid(value: str) -> bool:
        return _APPLICATION_RE.fullmatch(value) is not None

    @staticmethod
    def _reason(value: str) -> str:
        if not value:
            return "it is empty"
        if value.startswith("j-"):
            return "it is an EMR cluster ID (give it as --cluster-id)"
        if value.isascii() and value.isalnum() and value != value.lower():
            return "it has upper-case letters (application IDs are lower-case)"
        if len(value) > 64:
            return "it is longer than 64 characters"
        return "it has characters other than a-z and 0-9"


class JobRunId(ApplicationId):
    """An EMR Serverless job run ID such as ``00fabcdefghij345``: the shape of an application
    ID (EMR Serverless makes both alike)."""

    __slots__ = ()
    KIND = "Job run ID"
    SHAPE = JOB_RUN_SHAPE

    @staticmethod
    def _reason(value: str) -> str:
        if value.startswith("s-"):
            return "it is an EMR step ID (a step of a cluster: give --cluster-id with it)"
        return ApplicationId._reason(value)


def account_in_arn(arn: str, source: str) -> AccountId | None:
    """The account of any ARN (a cluster's, say), parsed; None when the ARN names none."""
    parts = arn.split(":", 5)
    return AccountId(parts[4], source) if len(parts) == 6 and parts[4] else None


def _path_and_name(arn: str) -> tuple[str, str]:
    resource = arn.split(":", 5)[-1]
    path, _, name = resource[len("role"):].rpartition("/")
    return path + "/", name


def _role_arn_reason(value: str) -> str:
    """Say which part of a would-be role ARN is wrong, so the fix is obvious."""
    if not value.isascii() or not value.isprintable():
        return "it contains white space, control or non-ASCII characters"
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "it does not have the form arn:<partition>:iam::<account>:role/<name>"
    _, partition, service, region, account, resource = parts
    if partition not in PARTITIONS:
        return f"the partition {show(partition)} is not one of aws, aws-cn, aws-us-gov"
    if service != "iam":
        return f"it is an ARN of the service {show(service)}, not an IAM role"
    if region:
        return f"IAM ARNs have no region, but this one has {show(region)}"
    if not _ACCOUNT_RE.fullmatch(account):
        return f"the account {show(account)} is not 12 digits"
    if resource == "role":
        return "the role name after 'role/' is missing"
    if not resource.startswith("role/"):
        kind = resource.split("/", 1)[0]
        return f"it names an IAM {show(kind)}, not a role (the resource must start with 'role/')"
    path, name = _path_and_name(value)
    if not _ROLE_NAME_RE.fullmatch(name):
        return (f"the role name {show(name)} must be 1 to 64 letters, digits or + = , . @ _ -")
    if not _ROLE_PATH_RE.fullmatch(path) or len(path) > _MAX_PATH:
        return f"the role path {show(path)} is not /-separated segments of IAM name characters"
    return "it does not have the form arn:<partition>:iam::<account>:role/<name>"
