"""The STS error shapes shared by parameter checks and authorization: ValidationError, AccessDenied.

Part of ``sts/``. Messages follow AWS's wording ("1 validation error detected: ...", "User: ...
is not authorized to perform: ...") and never include secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard.errors import STSError

if TYPE_CHECKING:
    from iamguard.principal import Principal


def validation(message: str) -> STSError:
    return STSError(message, code="ValidationError", http_status=400)


def denied(principal: Principal | None, action: str, resource: str) -> STSError:
    who = principal.arn if principal is not None else "an anonymous caller"
    return STSError(
        f"User: {who} is not authorized to perform: {action} on resource: {resource}",
        code="AccessDenied",
        http_status=403,
    )


def constraint(value: object, name: str, rule: str) -> STSError:
    return validation(
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: {rule}"
    )
