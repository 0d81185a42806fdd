"""iamguard: AWS IAM semantics for any Python app.

The public API is exactly ``__all__``; everything else may change. Two entry levels, as pyjwt
offers: module-level functions bound to default instances (``parse_policy``, ``evaluate``,
``simulate_custom_policy``) and the classes behind them for callers who configure their own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from iamguard.context import make_context
from iamguard.decision import Decision, DecisionKind, MatchedStatement
from iamguard.errors import (
    AccessDeniedError,
    AuthenticationError,
    CredentialsError,
    IAMGuardError,
    PolicyError,
    PolicySyntaxError,
    PolicyValidationError,
    StoreError,
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
from iamguard.resolve import resolve_policy_set
from iamguard.simulate import simulate_custom_policy
from iamguard.store import IdentityService, open_store
from iamguard.store.protocols import IdentityAdmin, PolicySource

if TYPE_CHECKING:
    from iamguard.credentials.chain import default_credential_chain
    from iamguard.enforce.asgi import IAMGuardASGIMiddleware
    from iamguard.enforce.audit import AuditEvent, AuditSink
    from iamguard.enforce.errors import render_error
    from iamguard.enforce.guard import AsyncGuard, Guard
    from iamguard.enforce.require import acting_as, require
    from iamguard.enforce.wsgi import IAMGuardMiddleware
    from iamguard.sts.service import TokenService

#: Names whose modules load on first use, so ``import iamguard`` stays cheap for code (and the
#: CLI) that only evaluates policies.
_LAZY = {
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
    "AsyncGuard",
    "AuditEvent",
    "AuditSink",
    "AuthenticationError",
    "CachedEvaluator",
    "Condition",
    "CredentialsError",
    "Decision",
    "DecisionKind",
    "Effect",
    "Evaluator",
    "Finding",
    "Guard",
    "IAMGuardASGIMiddleware",
    "IAMGuardError",
    "IAMGuardMiddleware",
    "IdentityAdmin",
    "IdentityService",
    "MatchedStatement",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyLimits",
    "PolicySet",
    "PolicySource",
    "PolicySyntaxError",
    "PolicyValidationError",
    "Principal",
    "PrincipalType",
    "Request",
    "STSError",
    "Statement",
    "StoreError",
    "TokenService",
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
