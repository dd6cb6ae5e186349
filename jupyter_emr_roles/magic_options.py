"""Options several magics take, declared once: how a cluster is reached."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.core.magic_arguments import argument


def reach_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--access-role-arn``, ``--region`` and ``--profile``, as the command line has them."""
    for option in reversed((
        argument("--access-role-arn", help="A role of the cluster's account to assume first "
                 "(cross-account). Default: the access role your roles files give for it."),
        argument("--region", help="AWS region of the cluster. Default: boto3's."),
        argument("--profile", help="AWS profile to use. Default: boto3's."),
    )):
        function = option(function)
    return function
