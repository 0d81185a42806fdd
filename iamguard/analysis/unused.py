"""Unused access: what each principal's policies allow that it has not used in N days.

Part of ``analysis/``; IAM Access Analyzer's unused-access findings
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html#access-analyzer-unused-access)
computed from the access-advisor data the guard records (``AccessTracker`` →
``IdentityService.get_service_last_accessed``; how AWS defines that data:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html).

* **What the policies allow**, per service: each Allow statement of the principal's identity
  policies contributes its services (``s3:Get*`` → ``s3``; ``*`` or an Allow with ``NotAction``
  → every service, reported as ``*``). A service counts when a witness request for that
  statement (its action and resource patterns with each wildcard replaced by a letter) is
  allowed by the exact evaluator under the principal's whole policy set, or is refused only for
  want of condition keys; a service taken away by a Deny or the permissions boundary does not.
* **What was used**: a service whose last access is within ``days`` of ``now``. The access
  advisor keeps one row per service (the last action only), so findings are per service; given
  the audit log too (``events``), allowed action patterns that no allowed request matched within
  the window are reported per action as well.
* A principal that used nothing in the window while allowed something gets one ``principal``
  finding (Access Analyzer's *unused role*); a user's active access key unused in the window
  gets an ``access-key`` finding (the key's last-used date is what the guard's tracker records).

Role sessions are tracked under the role's ARN without its path (what a session ARN names), so a
role's data is read under both spellings.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from iamguard.analysis._audit_log import EventSource, caller_matcher, events_of
from iamguard.decision import DecisionKind
from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Effect, Statement
from iamguard.policy.wildcard import compile_wildcard
from iamguard.principal import Principal

if TYPE_CHECKING:
    from iamguard.store.service import IdentityService

__all__ = ["UnusedAccessFinding", "allowed_services", "unused_access"]

_ALL_SERVICES = "*"
_EVALUATOR = Evaluator()


@dataclass(frozen=True, slots=True)
class UnusedAccessFinding:
    """One piece of allowed but unused access.

    ``kind`` is ``"service"`` (``service``'s actions allowed, none used in the window; ``*``:
    every service is allowed, and ``used_services`` lists the ones used), ``"action"`` (an
    allowed action pattern no logged request matched; needs the audit log), ``"principal"``
    (nothing used at all) or ``"access-key"`` (an active key of a user, ``actions`` holding its
    id, unused in the window: last used, or never used and created, before it). ``last_accessed`` is the latest use on record, ``None`` for never.
    """

    principal: str
    kind: str
    service: str
    actions: tuple[str, ...]
    last_accessed: datetime | None
    days: int
    used_services: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a reader: what was not used, by whom, and when it last was."""
        when = "never used" if self.last_accessed is None else f"last used {self.last_accessed:%Y-%m-%d}"
        if self.kind == "principal":
            return f"{self.principal}: no access used in {self.days} days ({when})"
        if self.kind == "access-key":
            return f"{self.principal}: access key {self.actions[0]} not used in {self.days} days ({when})"
        if self.service == _ALL_SERVICES:
            used = ", ".join(self.used_services) or "none"
            return f"{self.principal}: every service is allowed; used in {self.days} days: {used}"
        what = ", ".join(self.actions)
        return f"{self.principal}: {self.kind} {self.service} ({what}) not used in {self.days} days ({when})"

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON object."""
        return {
            "Principal": self.principal,
            "Kind": self.kind,
            "Service": self.service,
            "Actions": list(self.actions),
            "LastAccessed": None if self.last_accessed is None else self.last_accessed.isoformat(),
            "Days": self.days,
            "UsedServices": list(self.used_services),
        }


def unused_access(
    store: IdentityService,
    *,
    days: int = 90,
    principals: Iterable[str] | None = None,
    now: datetime | float | None = None,
    events: EventSource | None = None,
) -> tuple[UnusedAccessFinding, ...]:
    """Findings for every user and role of ``store`` (or the ARNs in ``principals``), by ARN."""
    if days < 1:
        raise InvalidParameterError(f"days must be at least 1, not {days}")
    moment = _moment(now)
    cutoff = moment - timedelta(days=days)
    arns = sorted(principals) if principals is not None else _everyone(store)
    logged = _logged_actions(events, arns, cutoff) if events is not None else None
    found: list[UnusedAccessFinding] = []
    for arn in arns:
        found.extend(_findings(store, arn, days, cutoff, None if logged is None else logged[arn]))
    return tuple(found)


def allowed_services(store: IdentityService, arn: str) -> tuple[str, ...]:
    """The service namespaces the policies of the user or role ``arn`` allow some action of,
    decided by the evaluator as for the findings (Deny and boundary honoured); an Allow of
    every service (``*``) names none, as no list of every AWS service is kept here.
    What GetServiceLastAccessedDetails lists besides the used services:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html"""
    resolved = store.resolve_principal(arn)
    if resolved is None:
        raise NoSuchEntityError(f"no user or role with ARN {arn} in this store")
    principal = Principal.from_arn(resolved.arn, tags=dict(resolved.tags), user_id=resolved.unique_id)
    allowed = _allowed_services(principal, PolicySet(identity=resolved.identity, boundary=resolved.boundary))
    return tuple(sorted(s for s in allowed if s != _ALL_SERVICES))


def _moment(now: datetime | float | None) -> datetime:
    if now is None:
        return datetime.fromtimestamp(time.time(), timezone.utc)
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise InvalidParameterError("now must be timezone-aware")
        return now
    return datetime.fromtimestamp(now, timezone.utc)


def _everyone(store: IdentityService) -> list[str]:
    return sorted([u.arn for u in store.list_users()] + [r.arn for r in store.list_roles()])


def _findings(
    store: IdentityService, arn: str, days: int, cutoff: datetime, logged: set[str] | None
) -> list[UnusedAccessFinding]:
    resolved = store.resolve_principal(arn)
    if resolved is None:
        raise NoSuchEntityError(f"no user or role with ARN {arn} in this store")
    principal = Principal.from_arn(resolved.arn, tags=dict(resolved.tags), user_id=resolved.unique_id)
    policies = PolicySet(identity=resolved.identity, boundary=resolved.boundary)
    allowed = _allowed_services(principal, policies)
    keys = _unused_keys(store, arn, resolved.name, days, cutoff) if resolved.kind == "user" else []
    if not allowed:
        return keys
    last = _last_accessed(store, resolved.arn)
    recent = sorted(s for s, at in last.items() if at >= cutoff)
    found = []
    if not recent:
        latest = max(last.values(), default=None)
        found.append(UnusedAccessFinding(arn, "principal", _ALL_SERVICES, (), latest, days))
    for service, actions in sorted(allowed.items()):
        if service == _ALL_SERVICES:
            found.append(UnusedAccessFinding(arn, "service", service, actions, None, days, tuple(recent)))
        elif service not in recent:
            found.append(UnusedAccessFinding(arn, "service", service, actions, last.get(service), days))
        elif logged is not None:
            found.extend(_unused_actions(arn, service, actions, logged, last.get(service), days))
    return found + keys


def _unused_keys(
    store: IdentityService, arn: str, user_name: str, days: int, cutoff: datetime
) -> list[UnusedAccessFinding]:
    """Active access keys last used (or, never used, created) before ``cutoff``: Access
    Analyzer's unused access key finding. https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html"""
    found = []
    for key in store.list_access_keys(user_name):
        since = key.last_used_date or key.create_date
        if key.active and since < cutoff:
            found.append(
                UnusedAccessFinding(arn, "access-key", "", (key.access_key_id,), key.last_used_date, days)
            )
    return found


def _unused_actions(
    arn: str, service: str, actions: tuple[str, ...], logged: set[str], last: datetime | None, days: int
) -> list[UnusedAccessFinding]:
    """Allowed action patterns of a used service that no logged allowed request matched."""
    unused = []
    for pattern in actions:
        matches = compile_wildcard(pattern.lower())
        if not any(matches(action) for action in logged):
            unused.append(UnusedAccessFinding(arn, "action", service, (pattern,), None, days))
    return unused


def _last_accessed(store: IdentityService, arn: str) -> dict[str, datetime]:
    """Latest use per service namespace, under the entity's ARN and (roles) its path-less ARN."""
    spellings = {arn}
    head, _, resource = arn.partition(":role/")
    if resource:
        spellings.add(f"{head}:role/{resource.rsplit('/', 1)[-1]}")
    latest: dict[str, datetime] = {}
    for spelling in spellings:
        for entry in store.get_service_last_accessed(spelling):
            service = entry.service_namespace.lower()
            if service not in latest or entry.last_authenticated > latest[service]:
                latest[service] = entry.last_authenticated
    return latest


def _allowed_services(principal: Principal, policies: PolicySet) -> dict[str, tuple[str, ...]]:
    """Service namespace → the action patterns that allow it (see the module docstring)."""
    found: dict[str, list[str]] = defaultdict(list)
    for policy in policies.identity:
        for statement in policy.statements:
            if statement.effect is not Effect.ALLOW:
                continue
            for service, pattern in _statement_services(statement):
                if pattern not in found[service] and _witness_allowed(
                    principal, policies, statement, pattern
                ):
                    found[service].append(pattern)
    return {service: tuple(patterns) for service, patterns in found.items() if patterns}


def _statement_services(statement: Statement) -> list[tuple[str, str]]:
    if statement.action is None:
        return [(_ALL_SERVICES, "NotAction " + ",".join(statement.not_action or ()))]
    pairs = []
    for pattern in statement.action:
        service = pattern.partition(":")[0].lower()
        pairs.append((_ALL_SERVICES if "*" in service or "?" in service else service, pattern))
    return pairs


def _witness_allowed(principal: Principal, policies: PolicySet, statement: Statement, pattern: str) -> bool:
    """Whether a request this statement allows is allowed overall (or lacks only context keys)."""
    if pattern.startswith("NotAction ") or pattern.partition(":")[0] in ("*", ""):
        action = "iamguardprobe:UnusedAccessProbe"
    else:
        action = _witness(pattern)
    resources = statement.resource or ()
    resource = "*" if not resources or "${" in resources[0] else _witness(resources[0])
    decision = _EVALUATOR.evaluate(Request(principal, action, resource), policies)
    if decision.allowed:
        return True
    return decision.kind is DecisionKind.IMPLICIT_DENY and bool(decision.missing_context_keys)


def _witness(pattern: str) -> str:
    return pattern.replace("*", "x").replace("?", "x")


def _logged_actions(events: EventSource, arns: list[str], cutoff: datetime) -> dict[str, set[str]]:
    """Per principal ARN: the lower-cased actions of its allowed requests since ``cutoff``."""
    since = cutoff.timestamp()
    matchers = [(arn, caller_matcher(arn)) for arn in arns]
    found: dict[str, set[str]] = {arn: set() for arn in arns}
    for event in events_of(events):
        if event.decision != DecisionKind.ALLOWED.value or event.time < since:
            continue
        for arn, matches in matchers:
            if matches(event.principal):
                found[arn].add(event.action.lower())
    return found
