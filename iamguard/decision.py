"""Stage 5 of the request path: the answer and why.

authenticate → principal → resolve policies → evaluate → **decide** → enforce/audit

A :class:`Decision` is ``allowed``, ``explicitDeny`` or ``implicitDeny`` plus the statements that
produced it and the context keys the policies asked about that the request lacked, shaped like
the ``EvaluationResult`` of IAM's policy simulator.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class DecisionKind(str, enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


class PolicyRole(str, enum.Enum):
    """Which part of the evaluation a policy played (AWS's PolicyType, simplified)."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    BOUNDARY = "permissionsBoundary"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    """A statement whose Action, Resource, Principal and Condition all matched the request."""

    policy_name: str
    policy_role: PolicyRole
    statement_index: int
    sid: str | None
    effect: str  # "Allow" | "Deny"

    def to_json(self) -> dict[str, Any]:
        return {
            "SourcePolicyId": self.policy_name,
            "SourcePolicyType": self.policy_role.value,
            "StatementIndex": self.statement_index,
            "Sid": self.sid,
            "Effect": self.effect,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of evaluating one request against one policy set."""

    kind: DecisionKind
    action: str
    resource: str
    matched: tuple[MatchedStatement, ...] = ()
    missing_context_keys: tuple[str, ...] = ()
    reason: str = ""
    errors: tuple[str, ...] = field(default=())  # statements skipped because evaluating them failed

    @property
    def allowed(self) -> bool:
        return self.kind is DecisionKind.ALLOWED

    def __bool__(self) -> bool:
        return self.allowed

    def message(self) -> str:
        """A one-line human explanation, safe to show the caller."""
        verdict = {
            DecisionKind.ALLOWED: "allowed",
            DecisionKind.EXPLICIT_DENY: "denied by an explicit deny",
            DecisionKind.IMPLICIT_DENY: "denied: no statement allows it",
        }[self.kind]
        text = f"{self.action} on {self.resource} {verdict}"
        return f"{text} ({self.reason})" if self.reason else text

    def to_evaluation_result(self) -> dict[str, Any]:
        """This decision in the shape of IAM's ``EvaluationResult``."""
        return {
            "EvalActionName": self.action,
            "EvalResourceName": self.resource,
            "EvalDecision": self.kind.value,
            "MatchedStatements": [m.to_json() for m in self.matched],
            "MissingContextValues": list(self.missing_context_keys),
            "EvalDecisionDetails": {"reason": self.reason} if self.reason else {},
        }
