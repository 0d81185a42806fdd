"""IAM results in the shapes ``aws iam ... --output json`` prints, for ``--json`` output.

The administration verbs run IAM operations (:mod:`iamguard.cli._iam_call`), whose results are
keyed by the member names of the IAM API's output shapes (botocore's
``iam/2010-05-08/service-2.json``): ``{"User": {"Path", "UserName", "UserId", "Arn",
"CreateDate", ...}}``, ``{"AccessKey": {...}}``, ``{"Roles": [...]}``, with each listing's
subset of a record as AWS returns it. :func:`cli_shape` prints them as the AWS CLI does:
timestamps ISO 8601 with their UTC offset (AWS CLI v2's default format), policy documents (a
role's ``AssumeRolePolicyDocument``, a version's ``Document``, an inline ``PolicyDocument``) as
JSON objects, not the URL-encoded strings the wire protocol carries, and optional members with
no value left out, as AWS leaves them out, so a script written against the AWS CLI reads this
output unchanged. https://docs.aws.amazon.com/IAM/latest/APIReference/API_Types.html

:func:`evaluation_result` writes a decision as the policy simulator's ``EvaluationResult``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from iamguard.decision import Decision, DecisionKind, MatchedStatement, PolicyRole
from iamguard.store.built_in import is_built_in_arn
from iamguard.store.records import PrincipalKind

__all__ = ["cli_shape", "evaluation_result", "print_json", "timestamp"]

#: What ``{kind}/{owner}/inline/{name}`` policy labels (``store/_read_path.py``) say as a
#: ``SourcePolicyType``. https://docs.aws.amazon.com/IAM/latest/APIReference/API_Statement.html
_INLINE_SOURCE = {kind.value: kind.value for kind in PrincipalKind}


def print_json(data: Mapping[str, Any]) -> None:
    """``data`` on standard output as the AWS CLI prints it: indented by four, non-ASCII text as
    itself (escaped only when the terminal's encoding cannot show it)."""
    text = json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        sys.stdout.write(json.dumps(data, indent=4) + "\n")


#: Members holding a policy document, URL-encoded on the wire; the AWS CLI prints them decoded
#: as JSON objects.
_DOCUMENT_MEMBERS = frozenset({"AssumeRolePolicyDocument", "Document", "PolicyDocument"})


def cli_shape(value: Any, member: str = "") -> Any:
    """An IAM operation's result (:meth:`iamguard.iam.IamService.call`) as the AWS CLI prints
    it: members without a value left out, timestamps as :func:`timestamp` writes them, policy
    documents as JSON objects."""
    if isinstance(value, Mapping):
        return {k: cli_shape(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [cli_shape(v, member) for v in value]
    if isinstance(value, datetime):
        return timestamp(value)
    if member in _DOCUMENT_MEMBERS and isinstance(value, str):
        return json.loads(unquote(value))
    return value


def timestamp(value: datetime) -> str:
    """ISO 8601 in whole seconds with the UTC offset (``2026-01-01T00:00:00+00:00``), as the AWS
    CLI prints IAM's dates."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # the store keeps UTC
    return value.replace(microsecond=0).isoformat()


def _source_policy_type(statement: MatchedStatement) -> str:
    """``SourcePolicyType``: ``user``/``group``/``role`` for inline policies, ``aws-managed``
    for iamguard's built-ins, ``user-managed`` for customer managed policies, ``resource``,
    else ``none`` (a policy file given on the command line, a session policy)."""
    name = statement.policy_name
    if statement.policy_role is PolicyRole.RESOURCE:
        return "resource"
    if statement.policy_role is PolicyRole.SESSION:
        return "none"
    if name.startswith("arn:") and ":policy/" in name:
        return "aws-managed" if is_built_in_arn(name) else "user-managed"
    kind, _, rest = name.partition("/")
    if kind in _INLINE_SOURCE and "/inline/" in rest:
        return _INLINE_SOURCE[kind]
    return "none"


def _statement(statement: MatchedStatement, source_ids: Mapping[str, str]) -> dict[str, Any]:
    name = statement.policy_name
    return {"SourcePolicyId": source_ids.get(name, name), "SourcePolicyType": _source_policy_type(statement)}


def _deciding(decision: Decision) -> list[MatchedStatement]:
    """The statements that "determine the result": the Deny statements of an explicit deny, the
    Allow statements of an Allow, none of an implicit deny."""
    if decision.kind is DecisionKind.IMPLICIT_DENY:
        return []
    effect = "Deny" if decision.kind is DecisionKind.EXPLICIT_DENY else "Allow"
    return [m for m in decision.matched if m.effect == effect]


def evaluation_result(
    decision: Decision, boundary_alone: Decision | None = None, source_ids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An ``EvaluationResult`` as the policy simulator returns it. ``MatchedStatements`` are
    those that determine the result, each policy named as ``source_ids`` maps it (AWS names
    policies given as text ``PolicyInputList.1``...), else by its own name; ``boundary_alone``
    (the request evaluated against the permissions boundary only, when one took part) gives
    ``PermissionsBoundaryDecisionDetail``.
    The human explanation (``Decision.reason``) has no member in AWS's shape; the table shows it.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html"""
    out: dict[str, Any] = {
        "EvalActionName": decision.action,
        "EvalResourceName": decision.resource,
        "EvalDecision": decision.kind.value,
        "MatchedStatements": [_statement(m, source_ids or {}) for m in _deciding(decision)],
        "MissingContextValues": list(decision.missing_context_keys),
    }
    if boundary_alone is not None:
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": boundary_alone.allowed}
    return out
