"""The IAM policy language, without I/O: the model, parsing, validation, ARNs and size limits.

This module is the public API of ``iamguard.policy``: import from here (or from ``iamguard``).
The modules inside the package (``model``, ``parse``, ``operators``, ``wildcard``, ...) are
private; their names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.errors import PolicyError, PolicyProblem, PolicySyntaxError, PolicyValidationError
    from iamguard.policy.arn import Arn, arn_matches, parse_arn
    from iamguard.policy.limits import PolicyLimits, policy_size
    from iamguard.policy.model import Condition, Effect, Policy, PolicyKind, PrincipalBlock, Statement
    from iamguard.policy.parse import parse_policy
    from iamguard.policy.validate import Finding, Severity, validate_policy

_LAZY = {
    "PolicyError": "iamguard.errors",
    "PolicyProblem": "iamguard.errors",
    "PolicySyntaxError": "iamguard.errors",
    "PolicyValidationError": "iamguard.errors",
    "Arn": "iamguard.policy.arn",
    "arn_matches": "iamguard.policy.arn",
    "parse_arn": "iamguard.policy.arn",
    "PolicyLimits": "iamguard.policy.limits",
    "policy_size": "iamguard.policy.limits",
    "Condition": "iamguard.policy.model",
    "Effect": "iamguard.policy.model",
    "Policy": "iamguard.policy.model",
    "PolicyKind": "iamguard.policy.model",
    "PrincipalBlock": "iamguard.policy.model",
    "Statement": "iamguard.policy.model",
    "parse_policy": "iamguard.policy.parse",
    "Finding": "iamguard.policy.validate",
    "Severity": "iamguard.policy.validate",
    "validate_policy": "iamguard.policy.validate",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Arn",
    "Condition",
    "Effect",
    "Finding",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyLimits",
    "PolicyProblem",
    "PolicySyntaxError",
    "PolicyValidationError",
    "PrincipalBlock",
    "Severity",
    "Statement",
    "arn_matches",
    "parse_arn",
    "parse_policy",
    "policy_size",
    "validate_policy",
]
