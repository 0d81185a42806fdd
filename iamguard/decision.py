"""Stage 5 of the request path: the answer and why.

authenticate → principal → resolve policies → evaluate → **decide** → enforce/audit

A :class:`Decision` is ``allowed``, ``explicitDeny`` or ``implicitDeny``; its :class:`Explanation`
holds the statements that produced it and the context keys the policies asked about that the
request lacked, shaped like the ``EvaluationResult`` of IAM's policy simulator, and is built only
when read.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
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
class Explanation:
    """Why a decision came out as it did: the statements that matched, the context keys the
    policies asked about that the request lacked, the reason in words, and the statements that
    could not be evaluated."""

    matched: tuple[MatchedStatement, ...] = ()
    missing_context_keys: tuple[str, ...] = ()
    reason: str = ""
    errors: tuple[str, ...] = field(default=())  # statements skipped because evaluating them failed


#: Builds the explanation of a lazily explained decision from the inputs it was decided on.
Explainer = Callable[[Any, Any], Explanation]


class Decision:
    """The outcome of evaluating one request against one policy set (immutable).

    The verdict (``kind``, ``allowed``) is computed first; the :class:`Explanation` (``matched``,
    ``missing_context_keys``, ``reason``, ``errors``) only when first read: a denial's message
    and the audit record read it, an Allow on the hot path never pays for it (issue 12). The
    evaluator hands a lazily explained decision its inputs and the function that explains them
    (see :func:`explained_later`); ``Decision(kind, action, resource, matched, ...)`` builds one
    whose explanation is given.

    INVARIANT: the inputs are immutable values (a Request and a PolicySet), so the explanation
    built later is the one the evaluation would have built at decision time.
    """

    __slots__ = ("_explained", "_explainer", "_policies", "_request", "action", "kind", "resource")

    kind: DecisionKind
    action: str
    resource: str
    _explained: Explanation | None
    _explainer: Explainer | None
    _request: Any
    _policies: Any

    def __init__(
        self,
        kind: DecisionKind,
        action: str,
        resource: str,
        matched: tuple[MatchedStatement, ...] = (),
        missing_context_keys: tuple[str, ...] = (),
        reason: str = "",
        errors: tuple[str, ...] = (),
    ) -> None:
        for name, value in (
            ("kind", kind),
            ("action", action),
            ("resource", resource),
            ("_explained", Explanation(matched, missing_context_keys, reason, errors)),
            ("_explainer", None),
            ("_request", None),
            ("_policies", None),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    @property
    def explanation(self) -> Explanation:
        """Why: built on first read for a lazily explained decision, then kept."""
        found = self._explained
        if found is None:
            assert self._explainer is not None
            found = self._explainer(self._request, self._policies)
            # Two threads reading it together may both build it: equal values, either is kept
            # (so the inputs stay: a thread may still be reading them).
            object.__setattr__(self, "_explained", found)
        return found

    @property
    def matched(self) -> tuple[MatchedStatement, ...]:
        return self.explanation.matched

    @property
    def missing_context_keys(self) -> tuple[str, ...]:
        return self.explanation.missing_context_keys

    @property
    def reason(self) -> str:
        return self.explanation.reason

    @property
    def errors(self) -> tuple[str, ...]:
        return self.explanation.errors

    @property
    def allowed(self) -> bool:
        return self.kind is DecisionKind.ALLOWED

    def __bool__(self) -> bool:
        return self.allowed

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.action, self.resource, self.explanation)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Decision:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        why = self.explanation
        return (
            f"Decision(kind={self.kind!r}, action={self.action!r}, resource={self.resource!r}, "
            f"matched={why.matched!r}, missing_context_keys={why.missing_context_keys!r}, "
            f"reason={why.reason!r}, errors={why.errors!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        why = self.explanation
        return (
            Decision,
            (
                self.kind,
                self.action,
                self.resource,
                why.matched,
                why.missing_context_keys,
                why.reason,
                why.errors,
            ),
        )

    def message(self) -> str:
        """A one-line human explanation, safe to show the caller."""
        verdict = {
            DecisionKind.ALLOWED: "allowed",
            DecisionKind.EXPLICIT_DENY: "denied by an explicit deny",
            DecisionKind.IMPLICIT_DENY: "denied: no statement allows it",
        }[self.kind]
        text = f"{self.action} on {self.resource} {verdict}"
        reason = self.reason
        return f"{text} ({reason})" if reason else text

    def to_evaluation_result(self) -> dict[str, Any]:
        """This decision in the shape of IAM's ``EvaluationResult``."""
        why = self.explanation
        return {
            "EvalActionName": self.action,
            "EvalResourceName": self.resource,
            "EvalDecision": self.kind.value,
            "MatchedStatements": [m.to_json() for m in why.matched],
            "MissingContextValues": list(why.missing_context_keys),
            "EvalDecisionDetails": {"reason": why.reason} if why.reason else {},
        }


class _Unexplained:
    """A :class:`Decision` under construction: the same slots without the frozen guard, so
    :func:`explained_later` stores each with a plain attribute store, then turns the object
    into a Decision by ``__class__`` assignment (allowed between classes of identical layout)."""

    __slots__ = Decision.__slots__


def explained_later(
    kind: DecisionKind, action: str, resource: str, explainer: Explainer, request: Any, policies: Any
) -> Decision:
    """A decision whose explanation ``explainer(request, policies)`` builds when first read.

    Why not ``Decision.__init__``: this is built once per evaluation on the hot path, and the
    frozen guard's ``object.__setattr__`` per slot costs more than the decision itself.
    """
    decision = _Unexplained()
    decision.kind = kind  # type: ignore[attr-defined]
    decision.action = action  # type: ignore[attr-defined]
    decision.resource = resource  # type: ignore[attr-defined]
    decision._explained = None  # type: ignore[attr-defined]
    decision._explainer = explainer  # type: ignore[attr-defined]
    decision._request = request  # type: ignore[attr-defined]
    decision._policies = policies  # type: ignore[attr-defined]
    decision.__class__ = Decision  # type: ignore[assignment]
    return decision  # type: ignore[return-value]


def explained_now(kind: DecisionKind, action: str, resource: str, explanation: Explanation) -> Decision:
    """A decision with its explanation already built (``Decision(...)`` without the per-slot
    ``object.__setattr__``, for an evaluation that built the explanation anyway)."""
    decision = _Unexplained()
    decision.kind = kind  # type: ignore[attr-defined]
    decision.action = action  # type: ignore[attr-defined]
    decision.resource = resource  # type: ignore[attr-defined]
    decision._explained = explanation  # type: ignore[attr-defined]
    decision._explainer = None  # type: ignore[attr-defined]
    decision._request = None  # type: ignore[attr-defined]
    decision._policies = None  # type: ignore[attr-defined]
    decision.__class__ = Decision  # type: ignore[assignment]
    return decision  # type: ignore[return-value]
