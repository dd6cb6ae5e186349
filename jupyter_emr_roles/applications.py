"""What an EMR Serverless application offers a notebook: the engines its type, release and
interactive configuration allow, in one place for the connect, the doctor and the pickers, so
they agree on each application.

A Livy endpoint needs emr-6.14.0 or later and ``interactiveConfiguration.livyEndpointEnabled``;
Spark Connect sessions need emr-7.13.0 or later and ``interactiveConfiguration.sessionEnabled``. A release label this client cannot read is
not held against the application: EMR Serverless decides then.
"""

from __future__ import annotations

from typing import Any

from .releases import SERVERLESS_LIVY, SERVERLESS_SESSIONS, parse_release

ENGINES = ("livy", "spark-connect")


def engine_refusal(application: dict[str, Any], engine: str) -> str | None:
    """Why the application cannot run a session of ``engine`` ("livy", "spark-connect"), in a
    clause with the fix; None when it can."""
    application_id = application.get("applicationId", "")
    kind = str(application.get("type", "Spark"))
    if kind.upper() != "SPARK":
        return f"it is a {kind} application, not a Spark one"
    label = application.get("releaseLabel")
    release = parse_release(label)
    interactive = application.get("interactiveConfiguration", {})
    if engine == "spark-connect":
        if release is not None and not release.at_least(SERVERLESS_SESSIONS):
            return (f"its release {label} runs no Spark Connect sessions (they need emr-7.13.0 "
                    "or later); connect with --engine livy, or use an application of a newer "
                    "release")
        return None if interactive.get("sessionEnabled") else _not_enabled(
            application_id, "interactive sessions are", "sessionEnabled")
    if release is not None and not release.at_least(SERVERLESS_LIVY):
        return (f"its release {label} has no Livy endpoint (it needs emr-6.14.0 or later); use "
                "an application of a newer release")
    return None if interactive.get("livyEndpointEnabled") else _not_enabled(
        application_id, "its Livy endpoint is", "livyEndpointEnabled")


def _not_enabled(application_id: str, what: str, setting: str) -> str:
    return (f"{what} not enabled; an admin can change that while the application is stopped: "
            f"`aws emr-serverless update-application --application-id {application_id} "
            f"--interactive-configuration {setting}=true`")


def offered_engines(application: dict[str, Any]) -> list[str]:
    """The engines the application runs sessions of, Spark Connect first."""
    return [engine for engine in reversed(ENGINES) if engine_refusal(application, engine) is None]
