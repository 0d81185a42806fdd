"""iamguard: AWS IAM semantics for any Python app.

The public API is exactly ``__all__`` here and in each subpackage's ``__init__`` (``iamguard.authn``,
``iamguard.credentials``, ``iamguard.enforce``, ``iamguard.evaluate``, ``iamguard.policy``,
``iamguard.store``, ``iamguard.sts``); every other module is private and may change. Two entry
levels, as pyjwt offers: module-level functions bound to default instances (``parse_policy``,
``evaluate``, ``simulate_custom_policy``) and the classes behind them for callers who configure
their own. Every exception is exported here, with ``__module__`` set to ``"iamguard"``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from iamguard.context import make_context
from iamguard.decision import Decision, DecisionKind, Explanation, MatchedStatement, PolicyRole
from iamguard.errors import (
    AccessDeniedError,
    AuthenticationError,
    BodyReadError,
    BodyTooLargeError,
    ConcurrentModificationError,
    CredentialsError,
    DeleteConflictError,
    EncodedAccessDeniedError,
    EndpointUnavailable,
    EntityAlreadyExistsError,
    ExpiredCredentialsError,
    IAMGuardError,
    InvalidAccessKeyError,
    InvalidInputError,
    InvalidParameterError,
    KeyRingError,
    LimitExceededError,
    NoCredentialsError,
    NoSuchEntityError,
    NoSuchStoreError,
    PartialCredentialsError,
    PayloadRequiredError,
    PolicyError,
    PolicyProblem,
    PolicySyntaxError,
    PolicyValidationError,
    RefreshError,
    RequestTimeSkewedError,
    SignatureMismatchError,
    StoreError,
    StoreUnavailableError,
    STSError,
)
from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator, evaluate
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.limits import PolicyLimits
from iamguard.policy.model import Condition, Effect, Policy, PolicyKind, Statement
from iamguard.policy.parse import parse_policy
from iamguard.policy.validate import Finding, validate_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.resolve import AsyncPolicySource, resolve_policy_set
from iamguard.simulate import simulate_custom_policy
from iamguard.store import IdentityService, open_store
from iamguard.store.protocols import IdentityAdmin, PolicySource

if TYPE_CHECKING:
    from iamguard.authn.authenticators import Authenticated, Authenticator
    from iamguard.authn.context import ContextBuilder, RequestMeta
    from iamguard.authn.request_view import RequestView
    from iamguard.authn.session_token import SessionTokenService
    from iamguard.authn.sigv4 import WrongRegionError
    from iamguard.credentials.auth import SigV4Auth
    from iamguard.credentials.chain import default_credential_chain
    from iamguard.credentials.provider import Credentials
    from iamguard.enforce.asgi import IAMGuardASGIMiddleware
    from iamguard.enforce.audit import AccessTracker, AuditEvent, AuditSink
    from iamguard.enforce.errors import render_error
    from iamguard.enforce.guard import AsyncGuard, Guard, RequestState
    from iamguard.enforce.require import acting_as, require
    from iamguard.enforce.wsgi import IAMGuardMiddleware
    from iamguard.keyring import KeyRing, SigningKey
    from iamguard.sts.auth_message import AuthorizationMessageCodec
    from iamguard.sts.service import TokenService

#: Names whose modules load on first use, so ``import iamguard`` stays cheap for code (and the
#: CLI) that only evaluates policies.
_LAZY = {
    "Authenticated": "iamguard.authn.authenticators",
    "Authenticator": "iamguard.authn.authenticators",
    "ContextBuilder": "iamguard.authn.context",
    "RequestMeta": "iamguard.authn.context",
    "RequestView": "iamguard.authn.request_view",
    "SessionTokenService": "iamguard.authn.session_token",
    "WrongRegionError": "iamguard.authn.sigv4",
    "SigV4Auth": "iamguard.credentials.auth",
    "Credentials": "iamguard.credentials.provider",
    "AccessTracker": "iamguard.enforce.audit",
    "RequestState": "iamguard.enforce.guard",
    "KeyRing": "iamguard.keyring",
    "SigningKey": "iamguard.keyring",
    "AuthorizationMessageCodec": "iamguard.sts.auth_message",
    "IAMGuardASGIMiddleware": "iamguard.enforce.asgi",
    "AuditEvent": "iamguard.enforce.audit",
    "AuditSink": "iamguard.enforce.audit",
    "render_error": "iamguard.enforce.errors",
    "AsyncGuard": "iamguard.enforce.guard",
    "Guard": "iamguard.enforce.guard",
    "acting_as": "iamguard.enforce.require",
    "require": "iamguard.enforce.require",
    "IAMGuardMiddleware": "iamguard.enforce.wsgi",
    "TokenService": "iamguard.sts.service",
    "default_credential_chain": "iamguard.credentials.chain",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iamguard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AccessTracker",
    "AsyncGuard",
    "AsyncPolicySource",
    "AuditEvent",
    "AuditSink",
    "Authenticated",
    "AuthenticationError",
    "Authenticator",
    "AuthorizationMessageCodec",
    "BodyReadError",
    "BodyTooLargeError",
    "CachedEvaluator",
    "ConcurrentModificationError",
    "Condition",
    "ContextBuilder",
    "Credentials",
    "CredentialsError",
    "Decision",
    "DecisionKind",
    "DeleteConflictError",
    "Effect",
    "EncodedAccessDeniedError",
    "EndpointUnavailable",
    "EntityAlreadyExistsError",
    "Evaluator",
    "ExpiredCredentialsError",
    "Explanation",
    "Finding",
    "Guard",
    "IAMGuardASGIMiddleware",
    "IAMGuardError",
    "IAMGuardMiddleware",
    "IdentityAdmin",
    "IdentityService",
    "InvalidAccessKeyError",
    "InvalidInputError",
    "InvalidParameterError",
    "KeyRing",
    "KeyRingError",
    "LimitExceededError",
    "MatchedStatement",
    "NoCredentialsError",
    "NoSuchEntityError",
    "NoSuchStoreError",
    "PartialCredentialsError",
    "PayloadRequiredError",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyLimits",
    "PolicyProblem",
    "PolicyRole",
    "PolicySet",
    "PolicySource",
    "PolicySyntaxError",
    "PolicyValidationError",
    "Principal",
    "PrincipalType",
    "RefreshError",
    "Request",
    "RequestMeta",
    "RequestState",
    "RequestTimeSkewedError",
    "RequestView",
    "STSError",
    "SessionTokenService",
    "SigV4Auth",
    "SignatureMismatchError",
    "SigningKey",
    "Statement",
    "StoreError",
    "StoreUnavailableError",
    "TokenService",
    "WrongRegionError",
    "acting_as",
    "default_credential_chain",
    "evaluate",
    "make_context",
    "open_store",
    "parse_policy",
    "render_error",
    "require",
    "resolve_policy_set",
    "simulate_custom_policy",
    "validate_policy",
]

# Exceptions name their public home in tracebacks and reprs (``iamguard.InvalidParameterError``),
# as httpx does for its whole API. Only exceptions: dataclasses keep their defining module, where
# typing.get_type_hints resolves their string annotations.
for _name in __all__:
    _value = globals().get(_name)
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = "iamguard"
del _name, _value
