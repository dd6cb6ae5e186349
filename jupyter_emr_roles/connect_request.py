"""A connection request: everything a face (the magic, the widget picker, the Lab dialog's
cell) asks of one connect, parsed once at the edge into one value (``options.request`` builds
it from the options a face was given).

Light on purpose (no boto3, no sparkmagic), so a face can build a request while
``%load_ext`` stays instant; the connect flow in ``sessions.py`` takes it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import EmrRolesError
from .identifiers import ApplicationId, ClusterId, RoleArn, SessionName

# The session languages a connect offers: Livy's pyspark, spark and sparkr kinds, and sql (a
# PySpark session for %%sql cells). The Lab extension's patterns.ts holds the same list, and a
# test compares the two.
LANGUAGES = ("python", "scala", "r", "sql")
# What runs the session, by the name a request gives, with what --help says of it; the
# implementations are in sessions.ENGINES.
ENGINES = {
    "auto": "spark-connect where the cluster or application runs sessions (a cluster: enabled, "
            "one primary node, no Lake Formation fine-grained access control; an application: "
            "emr-7.13.0 and later), the language is python and this kernel has a Spark Connect "
            "client, else livy",
    "livy": "a Livy session on the cluster, or on the application's Livy endpoint (emr-6.14.0 "
            "and later), used through sparkmagic (%%spark, %%sql)",
    "spark-connect": "a Spark Connect session (a cluster: emr-spark-8.0.0 and later, "
                     "SessionEnabled; an application: emr-7.13.0 and later), a PySpark session "
                     "named spark (or --name) in this kernel's own Python",
}
DEFAULT_ENGINE = "auto"
DEFAULT_TIMEOUT = 180.0


@dataclass(frozen=True)
class ConnectRequest:
    """One connect: which cluster or EMR Serverless application (one of them) and which role,
    the session's name and language, what runs it and its settings (``config``), how to reach
    and trust Livy, and how long all of it may take. ``engine_options`` holds the options of one
    engine alone (``options.py`` says which), by field name, for that engine to read."""

    cluster_id: ClusterId | None = None
    role_arn: RoleArn | None = None
    name: SessionName | None = None
    language: str = "python"
    engine: str = DEFAULT_ENGINE
    access_role_arn: RoleArn | None = None
    region: str | None = None
    profile: str | None = None
    ca_bundle: str | None = None
    no_verify: bool = False
    livy_url: str | None = None
    allow_insecure_http: bool = False
    timeout: float = DEFAULT_TIMEOUT
    config: dict[str, Any] = field(default_factory=dict)
    engine_options: dict[str, Any] = field(default_factory=dict)
    application_id: ApplicationId | None = None

    def __post_init__(self) -> None:
        if (self.cluster_id is None) == (self.application_id is None):
            raise EmrRolesError("Give --cluster-id (an EMR cluster, j-...) or --application-id "
                                "(an EMR Serverless application): one of them, not "
                                f"{'both' if self.cluster_id else 'neither'}.")
        livy_trust = [flag for flag, given in (("--ca-bundle", self.ca_bundle is not None),
                                               ("--no-verify", self.no_verify),
                                               ("--allow-insecure-http", self.allow_insecure_http))
                      if given]
        if self.application_id is not None and livy_trust:
            raise EmrRolesError(f"{', '.join(livy_trust)} concern a cluster's Livy; an EMR "
                                "Serverless application's endpoint is AWS's, reached over HTTPS "
                                "and trusted as AWS is (AWS_CA_BUNDLE or the profile's "
                                "ca_bundle). Leave them out with --application-id.")

    @property
    def serverless(self) -> bool:
        """Whether the session runs on an EMR Serverless application rather than a cluster."""
        return self.application_id is not None

    @property
    def place_kind(self) -> str:
        """What the request's place is, in words: "cluster" or "application"."""
        return "application" if self.serverless else "cluster"

    @property
    def where(self) -> ClusterId | ApplicationId:
        """The cluster's or the application's ID, whichever the request names."""
        return self.application_id or self.cluster_id  # type: ignore[return-value]

    def again(self, name: str, role: RoleArn) -> str:
        """The %connect line that opens this session anew: its place, role and name, and what
        the request chose besides the defaults."""
        flag = "--application-id" if self.serverless else "--cluster-id"
        parts = ["%connect", flag, str(self.where), "--role-arn", str(role), "--name", name]
        if self.engine != DEFAULT_ENGINE:
            parts += ["--engine", self.engine]
        if self.language != "python":
            parts += ["--language", self.language]
        if self.access_role_arn:
            parts += ["--access-role-arn", str(self.access_role_arn)]
        return "`" + " ".join(parts) + "`"

    def who(self) -> str:
        """Whom the connect is for, before the role is known: the name, the role, or the
        account's default role."""
        return self.name or (self.role_arn.name if self.role_arn else "the default role")
