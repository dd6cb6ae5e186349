"""Which EMR Serverless application a request means, reached as whom, and which role it runs
as: the Serverless twin of ``cluster_target``, found the same way (as the caller, else through
the access role the roles files give the account) and with the role chosen the same way (the
one asked for, else the account's default in the roles files)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from .aws.calls import answer_field
from .aws.clients import DEFAULT_READ_TIMEOUT, Emr
from .aws.serverless import Serverless
from .cluster_target import load_catalog_for, pick_role, reach, required_role
from .connect_request import ConnectRequest
from .identifiers import AccountId, RoleArn, account_in_arn
from .roles import AccountChoices


@dataclass(frozen=True)
class ApplicationTarget:
    """The application as GetApplication says it, the session and client that could read it,
    its account and what the roles files offer there, and the job role, if any."""

    session: boto3.Session
    emr: Emr
    serverless: Serverless
    application: dict[str, Any]
    account: AccountId
    choices: AccountChoices | None
    role: RoleArn | None

    def required_role(self) -> RoleArn:
        return required_role(self.role, self.account)


def find_application(request: ConnectRequest,
                     warn: Callable[[str], None]) -> ApplicationTarget:
    assert request.application_id is not None
    application_id = request.application_id
    read_timeout = min(DEFAULT_READ_TIMEOUT, request.timeout)
    catalog = load_catalog_for(request, warn)
    session, emr, application = reach(request, catalog, lambda via: Serverless(
        via.session, read_timeout).application(application_id))
    arn = answer_field(application, f"reading application {application_id}", "arn")
    account = AccountId(account_in_arn(arn, "the application's ARN"), "the application's ARN")
    choices = catalog.account(account) if catalog else None
    # The client of the session that could read it (clients are kept: no second one is built).
    return ApplicationTarget(session, emr, Serverless(session, read_timeout), application,
                             account, choices, pick_role(request.role_arn, account, choices,
                                                         warn))
