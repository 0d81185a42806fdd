"""The one exception hierarchy of iamguard, branched by who must act.

::

    IAMGuardError
    ├─ PolicyError            the policy author must fix something (.problems carry locations)
    │   ├─ PolicySyntaxError          not JSON / not an object
    │   └─ PolicyValidationError      JSON, but not a valid IAM policy (lists every problem)
    ├─ AuthenticationError    the caller must fix something → 400/403 with an AWS code
    │   ├─ SignatureMismatchError      "SignatureDoesNotMatch"
    │   ├─ InvalidAccessKeyError       "InvalidClientTokenId"
    │   ├─ ExpiredCredentialsError     "ExpiredToken"
    │   └─ RequestTimeSkewedError      "RequestTimeTooSkewed"
    ├─ AccessDeniedError      raised by enforce/ only; carries the Decision
    ├─ StoreError             the operator must act
    │   ├─ NoSuchEntityError
    │   ├─ EntityAlreadyExistsError
    │   ├─ LimitExceededError
    │   ├─ DeleteConflictError
    │   ├─ ConcurrentModificationError
    │   ├─ InvalidInputError
    │   └─ StoreUnavailableError
    │       └─ NoSuchStoreError
    ├─ STSError               AssumeRole & co. refused; .code as AWS returns it
    └─ CredentialsError       client side
        ├─ NoCredentialsError
        ├─ PartialCredentialsError
        └─ RefreshError

Every class carries ``code`` (the AWS error code) and ``http_status``. Messages are built from
what the caller passed and never include secrets. Evaluation never raises for a deny: it returns
a :class:`~iamguard.decision.Decision`; only enforcement raises :class:`AccessDeniedError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iamguard.decision import Decision

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "ConcurrentModificationError",
    "CredentialsError",
    "DeleteConflictError",
    "EntityAlreadyExistsError",
    "ExpiredCredentialsError",
    "IAMGuardError",
    "InvalidAccessKeyError",
    "InvalidInputError",
    "LimitExceededError",
    "NoCredentialsError",
    "NoSuchEntityError",
    "NoSuchStoreError",
    "PartialCredentialsError",
    "PolicyError",
    "PolicyProblem",
    "PolicySyntaxError",
    "PolicyValidationError",
    "RefreshError",
    "RequestTimeSkewedError",
    "STSError",
    "SignatureMismatchError",
    "StoreError",
    "StoreUnavailableError",
]


class IAMGuardError(Exception):
    """Base of every error iamguard raises on purpose."""

    code: str = "InternalFailure"
    http_status: int = 500

    def __init__(self, message: str = "", *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status

    def __str__(self) -> str:
        return self.message or self.code


# ---------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy: where (``Statement[1].Condition``) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def to_json(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


class PolicyError(IAMGuardError):
    """A policy document is unusable; the policy author must fix it."""

    code = "MalformedPolicyDocument"
    http_status = 400

    def __init__(self, problems: list[PolicyProblem] | PolicyProblem | str, *, code: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [PolicyProblem("", problems)]
        elif isinstance(problems, PolicyProblem):
            problems = [problems]
        self.problems: tuple[PolicyProblem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems), code=code)

    @property
    def location(self) -> str:
        """Location of the first problem (the common case has exactly one)."""
        return self.problems[0].location if self.problems else ""


class PolicySyntaxError(PolicyError):
    """The document is not JSON, or not a JSON object."""


class PolicyValidationError(PolicyError):
    """The document is JSON but breaks IAM's grammar or limits; lists every problem at once."""


# ---------------------------------------------------------------- authentication


class AuthenticationError(IAMGuardError):
    """The caller's credentials or signature are unusable."""

    code = "AccessDenied"
    http_status = 403


class SignatureMismatchError(AuthenticationError):
    code = "SignatureDoesNotMatch"
    http_status = 403


class InvalidAccessKeyError(AuthenticationError):
    code = "InvalidClientTokenId"
    http_status = 403


class ExpiredCredentialsError(AuthenticationError):
    code = "ExpiredToken"
    http_status = 400


class RequestTimeSkewedError(AuthenticationError):
    code = "RequestTimeTooSkewed"
    http_status = 403


# ---------------------------------------------------------------- enforcement


class AccessDeniedError(IAMGuardError):
    """Raised by enforcement when a decision is not ``allowed``."""

    code = "AccessDenied"
    http_status = 403

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        self.decision = decision
        super().__init__(message or decision.message())


# ---------------------------------------------------------------- store


class StoreError(IAMGuardError):
    """The identity store refused or failed an operation."""

    code = "ServiceFailure"
    http_status = 500


class NoSuchEntityError(StoreError):
    code = "NoSuchEntity"
    http_status = 404


class EntityAlreadyExistsError(StoreError):
    code = "EntityAlreadyExists"
    http_status = 409


class LimitExceededError(StoreError):
    code = "LimitExceeded"
    http_status = 409


class DeleteConflictError(StoreError):
    code = "DeleteConflict"
    http_status = 409


class ConcurrentModificationError(StoreError):
    code = "ConcurrentModification"
    http_status = 409


class InvalidInputError(StoreError):
    code = "InvalidInput"
    http_status = 400


class StoreUnavailableError(StoreError):
    code = "ServiceUnavailable"
    http_status = 503


class NoSuchStoreError(StoreUnavailableError):
    """No store where the URL points (never created, or removed): only ``create=True`` makes one."""


# ---------------------------------------------------------------- STS


class STSError(IAMGuardError):
    """An STS operation was refused; ``code`` is the one AWS returns."""

    code = "AccessDenied"
    http_status = 403


# ---------------------------------------------------------------- client-side credentials


class CredentialsError(IAMGuardError):
    code = "CredentialsError"
    http_status = 500


class NoCredentialsError(CredentialsError):
    code = "NoCredentials"


class PartialCredentialsError(CredentialsError):
    code = "PartialCredentials"


class RefreshError(CredentialsError):
    code = "CredentialRefreshError"


#: What a client is told of a server-side fault: its cause (a store path, a driver's message)
#: is for the operator's log, never for the wire.
_SERVER_FAULT_MESSAGES = {
    503: "Service is unavailable. Please try again later.",
}
INTERNAL_FAULT_MESSAGE = "We encountered an internal error. Please try again."


def client_message(error: IAMGuardError) -> str:
    """The message a client may see for ``error``: its own text for 4xx, a fixed one for 5xx."""
    if error.http_status >= 500 or error.http_status < 400:
        return _SERVER_FAULT_MESSAGES.get(error.http_status, INTERNAL_FAULT_MESSAGE)
    return str(error).strip() or error.code


def error_body(error: IAMGuardError) -> dict[str, Any]:
    """The AWS-shaped JSON body for an error: ``{"Error": {"Code", "Message"}}``."""
    return {"Error": {"Code": error.code, "Message": client_message(error)}}
