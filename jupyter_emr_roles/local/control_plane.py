"""The emulated AWS endpoint: a router (``router.py``) in front of one service per emulated
AWS service, and moto behind them for everything they leave to it.

moto serves IAM, STS, S3 and most of EMR. The services add what moto lacks for runtime
roles, each in its own module with its operations as rows: EMR's clusters and steps
(``emr.py``: GetClusterSessionCredentials, steps that run as their role, the primary
node's names and Livy port), EMR's Spark Connect sessions (``emr_sessions.py``), STS's
AssumeRole with AWS's trust rules and source identity (``sts.py``), CloudTrail's
LookupEvents over every recorded call (``cloudtrail.py``, ``trail.py``), IAM's
SimulatePrincipalPolicy (``iam_simulation.py``), S3 Access Grants (``access_grants.py``),
SageMaker Studio's domain (``studio.py``), EMR Serverless applications with AWS's states
(``serverless.py``), their Spark Connect sessions (``serverless_sessions.py``) and job runs
(``serverless_jobs.py``). Errors use the shapes AWS uses (JSON ``__type`` for EMR, XML for STS),
so clients are tested against the real wire format.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .access_grants import AccessGrants
from .cloudtrail import CloudTrail
from .emr import EmrClustersService, EmrSettings
from .emr_sessions import EmrSessions
from .iam_simulation import Iam
from .issued import Identity
from .moto_bridge import Moto
from .operations import Service
from .protocols import WsgiStartResponse
from .router import Router
from .serverless import EmrServerless, ServerlessSettings
from .serverless_jobs import EmrServerlessJobs
from .serverless_sessions import EmrServerlessSessions
from .studio import Studio, StudioDomain
from .sts import Sts
from .trail import Trail


class ControlPlane:
    """The emulated services of one emulator behind one router, as a WSGI application."""

    def __init__(self, emr: EmrSettings, enforce_iam: bool = True,
                 access_role_ttl: float | None = None, trail_delay: float = 0.0,
                 studio: StudioDomain | None = None,
                 serverless: ServerlessSettings | None = None) -> None:
        moto = Moto()
        self.trail = Trail(trail_delay)
        self.sts = Sts(moto, emr.identities, access_role_ttl)
        self.clusters = EmrClustersService(emr, moto)
        serverless = serverless or ServerlessSettings()
        self.applications = applications = EmrServerless(serverless)
        self.jobs = EmrServerlessJobs(applications, serverless)
        services: list[Service] = [CloudTrail(self.trail), *([Studio(studio)] if studio else []),
                                   EmrSessions(emr), self.clusters, self.sts, Iam(),
                                   AccessGrants(),
                                   EmrServerlessSessions(applications, emr.sessions, serverless),
                                   self.jobs, applications]
        self.router = Router(services, self.trail, moto, enforce_iam)

    def __call__(self, environ: dict[str, Any],
                 start_response: WsgiStartResponse) -> Iterable[bytes]:
        return self.router(environ, start_response)

    def runtime_role_assumed(self, identity: Identity, session_name: str, issued: str) -> None:
        """EMR's own AssumeRole of a runtime role, in CloudTrail as STS records it."""
        self.trail.record(self.sts.runtime_role_assumed(identity, session_name, issued))

    def close(self) -> None:
        """Stop every step and EMR Serverless job run still running."""
        self.clusters.close()
        self.jobs.close()
