"""Batch work under a runtime role: steps on an EMR cluster (``cluster.py``) and job runs on an
EMR Serverless application (``serverless.py``), behind the same small set of calls (submit,
describe, follow, list, cancel, log, upload_script, script_command), so `jupyter-emr-roles steps`
and ``%emr_step`` take ``--cluster-id`` or ``--application-id`` alike. ``common.py`` holds what
both share: a run as a person follows it, and scripts and logs in S3."""

from __future__ import annotations

from collections.abc import Callable

from ..connect_request import ConnectRequest
from ..identifiers import JobRunId, StepId
from .cluster import ClusterSteps, StepView
from .serverless import ApplicationJobs, JobView

__all__ = ["ApplicationJobs", "ClusterSteps", "JobView", "StepView", "open_steps", "run_id"]


def open_steps(request: ConnectRequest,
               warn: Callable[[str], None]) -> ClusterSteps | ApplicationJobs:
    """The steps of the cluster, or the job runs of the application, the request names, found
    as a connect finds them; ``warn`` hears what the finding warns of."""
    if request.serverless:
        from ..application_target import find_application

        return ApplicationJobs(find_application(request, warn))
    from ..cluster_target import find_target

    return ClusterSteps(find_target(request, warn))


def run_id(value: str, serverless: bool, source: str) -> StepId | JobRunId:
    """A step ID (s-...) or, for an application, a job run ID, parsed at the edge."""
    return JobRunId(value, source) if serverless else StepId(value, source)
