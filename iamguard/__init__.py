"""iamguard: AWS IAM semantics for any Python app.

The public API is exactly ``__all__``; everything else may change.
"""

from __future__ import annotations

from iamguard.context import make_context
from iamguard.decision import Decision, DecisionKind, MatchedStatement
from iamguard.errors import (
    AccessDeniedError,
    AuthenticationError,
    IAMGuardError,
    PolicyError,
    PolicySyntaxError,
    PolicyValidationError,
    StoreError,
)
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Condition, Effect, Policy, PolicyKind, Statement
from iamguard.principal import Principal, PrincipalType

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "Condition",
    "Decision",
    "DecisionKind",
    "Effect",
    "IAMGuardError",
    "MatchedStatement",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicySet",
    "PolicySyntaxError",
    "PolicyValidationError",
    "Principal",
    "PrincipalType",
    "Request",
    "Statement",
    "StoreError",
    "make_context",
]
