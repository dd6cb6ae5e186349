"""Only the server's own user gets answers: token or cookie, and XSRF for POST."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest
from rest import RestClient
from tornado.httpclient import HTTPClientError, HTTPResponse

SALES = "arn:aws:iam::123456789012:role/sales-data-access"


async def raw(http_server_client: Any, jp_base_url: str, path: str, **kwargs: Any) -> HTTPResponse:
    """A request with only the headers given: no token unless the test adds one."""
    try:
        return await http_server_client.fetch(f"{jp_base_url}{path}", **kwargs)
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.response


@pytest.mark.parametrize("path", ["roles", "clusters", "clusters/j-ABC", "doctor?cluster_id=j-ABC"])
async def test_a_request_without_token_is_refused(rest: RestClient, http_server_client: Any,
                                                  jp_base_url: str, path: str) -> None:
    response = await raw(http_server_client, jp_base_url, f"jupyter-emr-roles/{path}")
    assert response.code == 403
    assert json.loads(response.body)["code"] == "Forbidden"
    assert b"arn:" not in response.body


async def test_a_post_without_token_is_refused(rest: RestClient, http_server_client: Any,
                                               jp_base_url: str,
                                               cluster_ids: dict[str, str]) -> None:
    body = json.dumps({"cluster_id": cluster_ids["shared-analytics"], "role_arn": SALES})
    response = await raw(http_server_client, jp_base_url, "jupyter-emr-roles/check",
                         method="POST", body=body)
    assert response.code == 403


async def test_a_cookie_post_needs_the_xsrf_token(rest: RestClient, http_server_client: Any,
                                                  jp_base_url: str, jp_auth_header: dict,
                                                  cluster_ids: dict[str, str]) -> None:
    """A browser is authenticated by its cookie, so POST also needs the XSRF token."""
    login = await raw(http_server_client, jp_base_url, "jupyter-emr-roles/roles",
                      headers=jp_auth_header)
    assert login.code == 200
    cookies = SimpleCookie()
    for header in login.headers.get_list("Set-Cookie"):
        cookies.load(header)
    xsrf = (await raw(http_server_client, jp_base_url, "login")).headers.get_list("Set-Cookie")
    for header in xsrf:
        cookies.load(header)
    jar = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    assert "_xsrf" in cookies and len(cookies) >= 2, cookies.keys()
    body = json.dumps({"cluster_id": cluster_ids["shared-analytics"], "role_arn": SALES})

    refused = await raw(http_server_client, jp_base_url, "jupyter-emr-roles/check",
                        method="POST", body=body, headers={"Cookie": jar})
    assert refused.code == 403
    assert json.loads(refused.body)["code"] == "Forbidden"
    assert "xsrf" in refused.body.decode().lower()

    accepted = await raw(http_server_client, jp_base_url, "jupyter-emr-roles/check",
                         method="POST", body=body,
                         headers={"Cookie": jar, "X-XSRFToken": cookies["_xsrf"].value})
    assert accepted.code == 200, accepted.body
    assert json.loads(accepted.body)["role"]["arn"] == SALES


async def test_a_cookie_get_needs_no_xsrf_token(rest: RestClient, http_server_client: Any,
                                                jp_base_url: str, jp_auth_header: dict) -> None:
    login = await raw(http_server_client, jp_base_url, "jupyter-emr-roles/roles",
                      headers=jp_auth_header)
    jar = "; ".join(h.split(";", 1)[0] for h in login.headers.get_list("Set-Cookie"))
    again = await raw(http_server_client, jp_base_url, "jupyter-emr-roles/roles",
                      headers={"Cookie": jar})
    assert again.code == 200
