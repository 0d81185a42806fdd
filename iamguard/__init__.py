"""iamguard: AWS IAM semantics for any Python app.

The public API is exactly ``__all__``; everything else may change. Two entry levels, as pyjwt
offers: module-level functions bound to default instances (``parse_policy``, ``evaluate``,
``simulate_custom_policy``) and the classes behind them for callers who configure their own.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "CachedEvaluator",
    "Condition",
    "CredentialsError",
    "Decision",
    "DecisionKind",
    "Effect",
    "Evaluator",
    "Finding",
    "IAMGuardError",
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
    "evaluate",
    "make_context",
    "open_store",
    "parse_policy",
    "resolve_policy_set",
    "simulate_custom_policy",
    "validate_policy",
]
