"""The IAM API: each IAM action once, as an operation the CLI, the IAM endpoint and the console share.

An operation validates AWS's parameters (from AWS's own model), authorizes the caller by
evaluating ``iam:<Action>`` on the target's ARN with iamguard's engine and the condition keys
AWS defines, applies the change to the store in one transaction and audits it
(:class:`IamService`). :class:`IamEndpoint` speaks AWS's IAM Query protocol (what boto3's
``iam`` client and ``aws iam`` send), as WSGI (:class:`IamWsgiApp`) and ASGI
(:class:`IamAsgiApp`) apps; :class:`IamStsWsgiApp` / :class:`IamStsAsgiApp` serve IAM and STS
on one port (``iamguard serve``).

This module is the public API of ``iamguard.iam``: import from here. The modules inside the
package are private; their names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.iam._caller import Authorizer, Caller, root_caller, user_caller
    from iamguard.iam._operation import Call, Operation, Target, operation
    from iamguard.iam.asgi import IamAsgiApp, IamStsAsgiApp
    from iamguard.iam.query_api import IamEndpoint
    from iamguard.iam.service import IamService
    from iamguard.iam.wsgi import IamStsWsgiApp, IamWsgiApp

_LAZY = {
    "Authorizer": "iamguard.iam._caller",
    "Caller": "iamguard.iam._caller",
    "root_caller": "iamguard.iam._caller",
    "user_caller": "iamguard.iam._caller",
    "Call": "iamguard.iam._operation",
    "Operation": "iamguard.iam._operation",
    "Target": "iamguard.iam._operation",
    "operation": "iamguard.iam._operation",
    "IamAsgiApp": "iamguard.iam.asgi",
    "IamStsAsgiApp": "iamguard.iam.asgi",
    "IamEndpoint": "iamguard.iam.query_api",
    "IamService": "iamguard.iam.service",
    "IamStsWsgiApp": "iamguard.iam.wsgi",
    "IamWsgiApp": "iamguard.iam.wsgi",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Authorizer",
    "Call",
    "Caller",
    "IamAsgiApp",
    "IamEndpoint",
    "IamService",
    "IamStsAsgiApp",
    "IamStsWsgiApp",
    "IamWsgiApp",
    "Operation",
    "Target",
    "operation",
    "root_caller",
    "user_caller",
]
