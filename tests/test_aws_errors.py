"""The AWS answers no emulator cluster gives, shaped with botocore's Stubber: throttling that
outlasted the retries, and an answer without the fields botocore does not check for."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from jupyter_emr_roles.aws.clients import Emr
from jupyter_emr_roles.engines.livy.credentials import session_login
from jupyter_emr_roles.errors import AwsCallError
from jupyter_emr_roles.identifiers import ClusterId, RoleArn

CLUSTER = ClusterId("j-ABC")
ROLE = RoleArn("arn:aws:iam::123456789012:role/sales-data-access")


def stubbed() -> tuple[Emr, Stubber]:
    emr = Emr(boto3.Session(region_name="us-east-1", aws_access_key_id="a",
                            aws_secret_access_key="b"))
    stubber = Stubber(emr.client)
    stubber.activate()
    return emr, stubber


def test_throttling_that_outlasts_the_retries_is_one_paragraph() -> None:
    emr, stubber = stubbed()
    stubber.add_client_error("describe_cluster", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(AwsCallError) as caught:
        emr.describe(CLUSTER)
    assert caught.value.code == "Throttled"
    assert "throttled describing cluster j-ABC" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("answer", [{}, {"Credentials": {
    "UsernamePassword": {"Username": "u", "Password": "s3cr3t-value"}}}])
def test_an_answer_without_the_fields_we_need_is_one_paragraph(answer: dict) -> None:
    emr, stubber = stubbed()
    stubber.add_response("get_cluster_session_credentials", answer,
                         {"ClusterId": CLUSTER, "ExecutionRoleArn": ROLE})
    with pytest.raises(AwsCallError) as caught:
        session_login(emr, CLUSTER, ROLE)
    assert caught.value.code == "BadAnswer" and "AWS_ENDPOINT_URL" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)


def test_a_cluster_without_a_state_is_a_bad_answer_not_a_key_error() -> None:
    emr, stubber = stubbed()
    stubber.add_response("describe_cluster", {"Cluster": {"Id": "j-ABC", "Name": "x"}},
                         {"ClusterId": CLUSTER})
    with pytest.raises(AwsCallError, match="not in a shape botocore knows"):
        emr.describe(CLUSTER)
