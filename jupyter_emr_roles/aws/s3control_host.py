"""S3 Control's host name at an endpoint that is not AWS's: standard library only, since the
AWS CLI plugin imports it into every ``aws`` command an admin runs."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
_ACCOUNT_LABEL = re.compile(r"^\d{12}\.")


def drop_account_from_host(request: Any, **_: Any) -> None:
    """``https://123456789012.127.0.0.1:8443/...`` becomes ``https://127.0.0.1:8443/...``;
    a host under AWS's own domains is kept as it is."""
    url = urlsplit(request.url)
    host = url.hostname or ""
    if _ACCOUNT_LABEL.match(host) and not host.endswith(_AWS_DOMAINS):
        request.url = urlunsplit(url._replace(netloc=_ACCOUNT_LABEL.sub("", url.netloc)))
