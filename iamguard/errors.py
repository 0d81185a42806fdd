"""The one exception hierarchy of iamguard, branched by who must act.

::

    IAMGuardError
    ├─ InvalidParameterError  the calling code passed a value iamguard cannot use (also a ValueError)
    ├─ PolicyError            the policy author must fix something (.problems carry locations)
    │   ├─ PolicySyntaxError          not JSON / not an object
    │   └─ PolicyValidationError      JSON, but not a valid IAM policy (lists every problem)
    ├─ AuthenticationError    the caller must fix something → 400/403 with an AWS code
    │   ├─ SignatureMismatchError      "SignatureDoesNotMatch"
    │   ├─ InvalidAccessKeyError       "InvalidClientTokenId"
    │   ├─ ExpiredCredentialsError     "ExpiredToken"
    │   ├─ RequestTimeSkewedError      "RequestTimeTooSkewed"
    │   └─ WrongRegionError            (iamguard.authn) a credential scope naming another region
    ├─ BodyReadError          the request body is short, badly framed or unreadable → 400
    ├─ BodyTooLargeError      the request body is over the configured limit → 400
    ├─ PayloadRequiredError   an aws-chunked upload judged without its body → 501
    ├─ AccessDeniedError      raised by enforce/ only; carries the Decision
    │   └─ EncodedAccessDeniedError   with AWS's encoded authorization failure message
    ├─ KeyRingError           the STS keyring configuration is unusable; the operator must act
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
        ├─ RefreshError
        └─ EndpointUnavailable         a metadata/STS endpoint did not answer after every attempt

Every class carries ``code`` (the AWS error code) and ``http_status``. Messages are built from
what the caller passed and never include secrets. Evaluation never raises for a deny: it returns
a :class:`~iamguard.decision.Decision`; only enforcement raises :class:`AccessDeniedError`.

A value the library refuses at a call (a negative size, a naive datetime, a malformed ARN
string) raises :class:`InvalidParameterError`, which is also a :class:`ValueError`, so code that
caught ``ValueError`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iamguard.decision import Decision

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BodyReadError",
    "BodyTooLargeError",
    "ConcurrentModificationError",
    "CredentialsError",
    "DeleteConflictError",
    "EncodedAccessDeniedError",
    "EndpointUnavailable",
    "EntityAlreadyExistsError",
    "ExpiredCredentialsError",
    "IAMGuardError",
    "InvalidAccessKeyError",
    "InvalidInputError",
    "InvalidParameterError",
    "KeyRingError",
    "LimitExceededError",
    "NoCredentialsError",
    "NoSuchEntityError",
    "NoSuchStoreError",
    "PartialCredentialsError",
    "PayloadRequiredError",
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
    "client_message",
    "error_body",
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


class InvalidParameterError(IAMGuardError, ValueError):
    """A value passed to iamguard cannot be used: the calling code (or the operator, for a
    command-line option) must fix it. Also a :class:`ValueError`, which such mistakes were before
    the library had its own class for them."""

    code = "InvalidParameterValue"
    http_status = 400


# ---------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy: where (``Statement[1].Condition``) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def to_json(self) -> dict[str, str]:
        """The problem as a JSON object: ``{"location": ..., "message": ...}``."""
        return {"location": self.location, "message": self.message}


class PolicyError(IAMGuardError):
    """A policy document is unusable; the policy author must fix it."""

    code = "MalformedPolicyDocument"
    http_status = 400

    def __init__(
        self, problems: list[PolicyProblem] | PolicyProblem | str, *, code: str | None = None
    ) -> None:
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
    """The SigV4 signature is not the one the credentials make (wrong secret, headers or body)."""

    code = "SignatureDoesNotMatch"
    http_status = 403


class InvalidAccessKeyError(AuthenticationError):
    """The access key id or session token is not one this service knows (or no longer valid)."""

    code = "InvalidClientTokenId"
    http_status = 403


class ExpiredCredentialsError(AuthenticationError):
    """The session credentials or the presigned URL have expired."""

    code = "ExpiredToken"
    http_status = 400


class RequestTimeSkewedError(AuthenticationError):
    """The request's time is further from the server's clock than the allowed skew (15 minutes)."""

    code = "RequestTimeTooSkewed"
    http_status = 403


class PayloadRequiredError(IAMGuardError):
    """An aws-chunked upload whose headers verified, judged from a view without its body.

    Its chunk signatures cannot be checked without the body, so the request is not
    authenticated. The WSGI/ASGI middlewares catch it, read the body (now that the seed
    signature proved who sent it) and authenticate again with it; an integration that never
    buffers bodies answers 501 (fail closed: the undecoded, unverified chunks never reach an app).
    """

    def __init__(self) -> None:
        super().__init__(
            "aws-chunked uploads need the request body to verify their chunk signatures",
            code="NotImplemented",
            http_status=501,
        )


# ---------------------------------------------------------------- request bodies


class BodyReadError(IAMGuardError):
    """The request body could not be read as framed (short, malformed chunking, stream error)."""

    def __init__(self, message: str, *, code: str = "IncompleteBody", http_status: int = 400) -> None:
        super().__init__(message, code=code, http_status=http_status)


class BodyTooLargeError(IAMGuardError):
    """The body is larger than the configured limit."""

    def __init__(self) -> None:
        super().__init__(
            "Your proposed upload exceeds the maximum allowed size", code="EntityTooLarge", http_status=400
        )


# ---------------------------------------------------------------- enforcement


class AccessDeniedError(IAMGuardError):
    """Raised by enforcement when a decision is not ``allowed``."""

    code = "AccessDenied"
    http_status = 403

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        self.decision = decision
        super().__init__(message or decision.message())


class EncodedAccessDeniedError(AccessDeniedError):
    """An access denial that also carries AWS's encoded authorization failure message.

    ``encoded_message`` is ``None`` when the guard has no message codec configured.
    """

    def __init__(self, decision: Decision, message: str, *, encoded_message: str | None = None) -> None:
        self.encoded_message = encoded_message
        if encoded_message is not None:
            message = f"{message}. Encoded authorization failure message: {encoded_message}"
        super().__init__(decision, message)


# ---------------------------------------------------------------- STS keyring


class KeyRingError(IAMGuardError):
    """The keyring configuration is unusable; the operator must fix it (never names secrets)."""

    code = "InvalidKeyRing"
    http_status = 500


# ---------------------------------------------------------------- store


class StoreError(IAMGuardError):
    """The identity store refused or failed an operation."""

    code = "ServiceFailure"
    http_status = 500


class NoSuchEntityError(StoreError):
    """The user, group, role, policy or key named does not exist."""

    code = "NoSuchEntity"
    http_status = 404


class EntityAlreadyExistsError(StoreError):
    """An entity with that name (or id) already exists."""

    code = "EntityAlreadyExists"
    http_status = 409


class LimitExceededError(StoreError):
    """An IAM quota would be exceeded (access keys per user, attached policies, versions, ...)."""

    code = "LimitExceeded"
    http_status = 409


class DeleteConflictError(StoreError):
    """The entity is still in use (attached policies, members, keys) and cannot be deleted."""

    code = "DeleteConflict"
    http_status = 409


class ConcurrentModificationError(StoreError):
    """Another writer changed the entity first; read it again and retry."""

    code = "ConcurrentModification"
    http_status = 409


class InvalidInputError(StoreError):
    """A name, path, tag, document or parameter breaks IAM's rules for it."""

    code = "InvalidInput"
    http_status = 400


class StoreUnavailableError(StoreError):
    """The store cannot be reached or used right now (database down, pool closed, missing store)."""

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
    """Client side: credentials could not be found, loaded or refreshed."""

    code = "CredentialsError"
    http_status = 500


class NoCredentialsError(CredentialsError):
    """No source in the credential chain had credentials."""

    code = "NoCredentials"


class PartialCredentialsError(CredentialsError):
    """A source holds incomplete credentials (a key id without its secret): the chain stops there."""

    code = "PartialCredentials"


class RefreshError(CredentialsError):
    """Temporary credentials could not be refreshed before they expired."""

    code = "CredentialRefreshError"


class EndpointUnavailable(CredentialsError):
    """An HTTP endpoint (IMDS, container credentials, STS) could not be reached after every
    attempt; it carries no response. ``timed_out`` tells a timeout (IMDSv2 token: fall back to
    IMDSv1, as botocore does) from a refused connection."""

    code = "EndpointUnavailable"
    http_status = 503

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__(f"{url} unreachable: {type(cause).__name__}")
        self.url = url
        self.timed_out = _is_timeout(cause)


def _is_timeout(cause: BaseException) -> bool:
    if isinstance(cause, TimeoutError):
        return True
    import httpx  # only an HTTP failure gets here, so httpx is already imported

    return isinstance(cause, httpx.TimeoutException)


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
