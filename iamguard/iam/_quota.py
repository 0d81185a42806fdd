"""Policy size quotas as the IAM API reports them: ``LimitExceeded``, not a malformed document.

Part of ``iam/``. The store refuses an oversized document as invalid (a policy author's
problem); over the wire AWS answers ``LimitExceeded`` ("Cannot exceed quota for PolicySize:
6144"), so the operations check the size first, against the store's own quotas.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
"""

from __future__ import annotations

from iamguard.errors import LimitExceededError
from iamguard.policy.limits import PolicyLimits, policy_size

__all__ = ["require_within"]


def require_within(document: str, limits: PolicyLimits, quota: str = "PolicySize") -> None:
    """Raise ``LimitExceeded`` when ``document`` is over ``limits`` (white space not counted)."""
    problem = limits.problem(policy_size(document))
    if problem is not None:
        raise LimitExceededError(f"Cannot exceed quota for {quota}: {limits.max_chars} ({problem})")
