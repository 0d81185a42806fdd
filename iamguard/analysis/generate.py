"""Least-privilege identity policies generated from the audit trail, with their proof.

Part of ``analysis/``: what IAM Access Analyzer's policy generation does from CloudTrail
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html), offline
and from iamguard's own audit records (:mod:`iamguard.enforce.audit`). :func:`generate_policy`
keeps the principal's **allowed** requests in the window and writes the smallest policy that
allows each of them:

* **actions** as logged; when more than ``generalize_threshold`` distinct actions of one service
  share a leading verb (``Get``, ``List``...), they become ``service:Verb*``;
* **resources** per action as logged (wildcard characters in a logged ARN are written as the
  ``${*}``/``${?}``/``${$}`` variables, so they stay literal); when more than
  ``generalize_threshold`` distinct ARNs of one partition, service, region and account remain,
  their resource parts are generalized level by level (a level ends at ``/`` or ``:``): under a
  shared prefix, more than ``generalize_threshold`` distinct next levels, or more patterns than
  that after generalizing each of them, become ``prefix*``. A wildcard never spans partitions,
  services, regions or accounts. A logged resource that is not an ARN can only have been
  allowed by ``"Resource": "*"`` (the element takes ARNs or ``*``), so its action gets ``*``;
* **conditions**: the audit record carries one condition key, ``aws:SourceIp``. A statement gets
  ``IpAddress`` on it only when *every* request its actions cover had a source address (a request
  without the key would fail ``IpAddress``); more than ``generalize_threshold`` addresses widen to
  /24 then /16 networks (IPv6: /64, /48), and beyond that the condition is left out rather than
  made meaningless. ``conditions=False`` never adds one.

Proof, built in: every allowed request used is replayed against the generated policy with the
exact evaluator, and all must be allowed (otherwise :class:`~iamguard.errors.IAMGuardError` is
raised: it would be a bug here); with a store, part 1's ``check_no_new_access(generated,
current)`` runs against the principal's current policies (identity and boundary) and its result
is kept. The audit log holds what was allowed, however it was allowed: a request a resource
policy allowed shows up in the generated identity policy, and the comparison then reports it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from iamguard.analysis._audit_log import EventSource, caller_matcher, events_of
from iamguard.context import ContextValue
from iamguard.errors import IAMGuardError, InvalidParameterError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.limits import PolicyLimits, policy_size
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

if TYPE_CHECKING:
    from iamguard.store.protocols import PolicySource

__all__ = ["DEFAULT_GENERALIZE_THRESHOLD", "GeneratedPolicy", "generate_policy", "parse_duration"]

#: More than this many distinct actions of one verb, ARNs under one prefix, or source addresses
#: are generalized (the knob: ``generalize_threshold``; ``None`` never generalizes).
DEFAULT_GENERALIZE_THRESHOLD = 10

_VERB = re.compile(r"[A-Z]?[a-z]+")
_DELIMITERS = re.compile(r"(?<=[/:])")
_NETWORK_LADDER = {4: (32, 24, 16), 6: (128, 64, 48)}
_NETWORKS: dict[int, Callable[[tuple[int, int]], ipaddress.IPv4Network | ipaddress.IPv6Network]] = {
    4: ipaddress.IPv4Network,
    6: ipaddress.IPv6Network,
}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class GeneratedPolicy:
    """A generated policy and its proof.

    ``events_read`` counts every audit event read, ``events_used`` the principal's allowed ones
    inside the window; ``replay_allowed`` of ``replayed`` were allowed by the generated policy
    (always all of them: anything less raises). Identical requests (same caller, action,
    resource and source address) are decided identically by the evaluator, so each distinct one
    is evaluated once (``distinct_requests`` evaluations) and counts for all its events. ``no_new_access`` is part 1's comparison result
    against the principal's current policies, ``None`` without a store or when the comparison is
    unavailable (``no_new_access_note`` says which).
    """

    principal_arn: str
    document: str
    policy: Policy
    events_read: int
    events_used: int
    replayed: int
    replay_allowed: int
    since: datetime | None
    no_new_access: Any = None
    no_new_access_note: str = ""
    actions: tuple[str, ...] = field(default=())
    distinct_requests: int = 0

    @property
    def size_problem(self) -> str | None:
        """Why the policy is too large for a customer managed policy (AWS's 6,144 characters,
        white space excluded), or ``None`` when it fits; a lower ``generalize_threshold`` helps.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"""
        return PolicyLimits.MANAGED.problem(policy_size(self.document))

    def to_json(self) -> dict[str, Any]:
        """The generated policy, its proof steps and counts as a JSON object."""
        verdict = getattr(self.no_new_access, "verdict", None)
        return {
            "PrincipalArn": self.principal_arn,
            "PolicyDocument": json.loads(self.document),
            "EventsRead": self.events_read,
            "EventsUsed": self.events_used,
            "Replay": {
                "Replayed": self.replayed,
                "Allowed": self.replay_allowed,
                "DistinctRequests": self.distinct_requests,
            },
            "Since": None if self.since is None else self.since.isoformat(),
            "NoNewAccess": None if verdict is None else getattr(verdict, "value", str(verdict)),
            "NoNewAccessNote": self.no_new_access_note,
            "SizeProblem": self.size_problem,
        }


class _Logged(NamedTuple):
    """One logged request as the replay sees it (the audit record's fields that decide it)."""

    principal: str
    action: str
    resource: str
    source_ip: str | None


@dataclass(slots=True)
class _Use:
    """What one action (or action pattern) was used on, and from where."""

    name: str
    resources: set[str] = field(default_factory=set)
    addresses: set[str] | None = field(default_factory=set)  # None: some request had none

    def add(self, resource: str, address: str | None) -> None:
        self.resources.add(resource)
        if self.addresses is not None:
            if address:
                self.addresses.add(address)
            else:
                self.addresses = None

    def merge(self, other: _Use) -> None:
        self.resources |= other.resources
        if self.addresses is not None:
            self.addresses = None if other.addresses is None else self.addresses | other.addresses


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` as a :class:`timedelta` (the CLI's ``--since``)."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidParameterError(f"not a duration: {text!r} (expected a number and s, m, h, d or w: 30d)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def generate_policy(
    events: EventSource,
    principal_arn: str,
    *,
    since: timedelta | datetime | None = None,
    generalize_threshold: int | None = DEFAULT_GENERALIZE_THRESHOLD,
    conditions: bool = True,
    store: PolicySource | None = None,
    now: float | None = None,
    name: str = "generated",
) -> GeneratedPolicy:
    """The least-privilege identity policy for ``principal_arn`` from its allowed audit events.

    ``events`` is a JSON-lines audit file or an iterable of :class:`AuditEvent`. A role ARN
    (``arn:aws:iam::A:role/R``) covers every session of the role (``assumed-role/R/*``); any
    other ARN matches exactly. ``since`` keeps events at or after a time (a ``timedelta`` counts
    back from ``now``, Unix seconds, default the current time). See the module docstring for
    what is generalized and the proof.
    """
    if generalize_threshold is not None and generalize_threshold < 1:
        raise InvalidParameterError("generalize_threshold must be at least 1 (or None: never generalize)")
    cutoff, start = _cutoff(since, now)
    matches = caller_matcher(principal_arn)
    used: dict[_Logged, int] = {}  # each distinct request and how many events it stands for
    read = 0
    for event in events_of(events):
        read += 1
        if event.decision == "allowed" and event.time >= cutoff and matches(event.principal):
            key = _Logged(event.principal, event.action, event.resource, event.source_ip)
            used[key] = used.get(key, 0) + 1
    if not used:
        raise InvalidParameterError(
            f"no allowed request by {principal_arn} in the audit log"
            + ("" if start is None else f" since {start.isoformat()}")
            + ": nothing to generate a policy from"
        )
    document = _document(used, generalize_threshold, conditions)
    text = json.dumps(document, indent=2)
    policy = parse_policy(text, name=name, kind=PolicyKind.IDENTITY)
    allowed = _replay(policy, used)
    total = sum(used.values())
    result = GeneratedPolicy(
        principal_arn=principal_arn,
        document=text,
        policy=policy,
        events_read=read,
        events_used=total,
        replayed=total,
        replay_allowed=allowed,
        since=start,
        actions=tuple(sorted({r.action for r in used})),
        distinct_requests=len(used),
    )
    if store is None:
        return result
    return _with_comparison(result, policy, principal_arn, store)


def _cutoff(since: timedelta | datetime | None, now: float | None) -> tuple[float, datetime | None]:
    if since is None:
        return float("-inf"), None
    if isinstance(since, timedelta):
        clock = time.time() if now is None else now
        start = datetime.fromtimestamp(clock - since.total_seconds(), timezone.utc)
        return clock - since.total_seconds(), start
    if since.tzinfo is None:
        raise InvalidParameterError("since must be timezone-aware (datetime.now(timezone.utc) - ...)")
    return since.timestamp(), since


# ---------------------------------------------------------------- the document


def _document(events: Iterable[_Logged], threshold: int | None, conditions: bool) -> dict[str, Any]:
    uses = _uses_by_pattern(events, threshold)
    parsed: dict[str, Address | None] = {}
    statements: dict[tuple[tuple[str, ...], str], list[str]] = defaultdict(list)
    for pattern, use in uses.items():
        resources = _generalize_resources(use.resources, threshold)
        condition = _address_condition(use.addresses, threshold, parsed) if conditions else None
        key = (resources, json.dumps(condition, sort_keys=True))
        statements[key].append(pattern)
    rendered = []
    ordered = sorted(statements.items(), key=lambda item: sorted(item[1])[0])
    for number, ((resources, condition_text), actions) in enumerate(ordered, 1):
        statement: dict[str, Any] = {
            "Sid": f"Generated{number}",
            "Effect": "Allow",
            "Action": _one_or_list(sorted(actions)),
            "Resource": _one_or_list(list(resources)),
        }
        condition = json.loads(condition_text)
        if condition is not None:
            statement["Condition"] = condition
        rendered.append(statement)
    return {"Version": "2012-10-17", "Statement": rendered}


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _uses_by_pattern(events: Iterable[_Logged], threshold: int | None) -> dict[str, _Use]:
    """Per action pattern (an action, or ``service:Verb*``): the resources and addresses used."""
    by_action: dict[str, _Use] = {}
    for event in events:
        key = event.action.lower()
        use = by_action.get(key)
        if use is None:
            use = by_action[key] = _Use(event.action)
        use.add(event.resource, event.source_ip)
    patterns = _action_patterns([use.name for use in by_action.values()], threshold)
    merged: dict[str, _Use] = {}
    for use in by_action.values():
        pattern = patterns[use.name]
        target = merged.get(pattern.lower())
        if target is None:
            merged[pattern.lower()] = target = _Use(pattern, set(), set())
        target.merge(use)
    return {use.name: use for use in merged.values()}


def _action_patterns(names: list[str], threshold: int | None) -> dict[str, str]:
    """Each action name's pattern: itself, or ``service:Verb*`` when its verb group is large."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    patterns = {name: name for name in names}
    if threshold is None:
        return patterns
    for name in names:
        service, _, action = name.partition(":")
        found = _VERB.match(action)
        if found is not None:
            groups[(service.lower(), found.group(0))].append(name)
    for (_service, verb), members in groups.items():
        if len(members) > threshold:
            for name in members:
                patterns[name] = f"{name.partition(':')[0]}:{verb}*"
    return patterns


def _escape(text: str) -> str:
    """Literal text for a Resource element: wildcard characters as the special variables."""
    return text.replace("$", "${$}").replace("*", "${*}").replace("?", "${?}")


def _generalize_resources(resources: set[str], threshold: int | None) -> tuple[str, ...]:
    """The Resource patterns covering ``resources``, at most ``threshold`` per ARN head."""
    if "*" in resources:
        return ("*",)
    heads: dict[str, list[str]] = defaultdict(list)
    for resource in resources:
        parts = resource.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            # A Resource element holds ARNs or "*": "*" is the only one that matches this name.
            return ("*",)
        heads[":".join(parts[:5]) + ":"].append(parts[5])
    found: set[str] = set()
    for head, tails in heads.items():
        found.update(_escape(head) + tail for tail in _collapse("", tails, threshold))
    return tuple(sorted(found))


def _collapse(prefix: str, tails: list[str], threshold: int | None) -> list[str]:
    """Patterns (already escaped) for ``prefix + t`` over ``tails``: literal when few, else the
    shared prefix's children collapsed one ``/``/``:`` level at a time, ``prefix*`` at worst."""
    if threshold is None or len(tails) <= threshold:
        return [_escape(prefix + tail) for tail in tails]
    children: dict[str, list[str]] = defaultdict(list)
    for tail in tails:
        head, rest = _first_token(tail)
        children[head].append(rest)
    if len(children) > threshold or (len(children) == 1 and "" in children):
        return [_escape(prefix) + "*"]
    found: list[str] = []
    for head, rests in children.items():
        found.extend(_collapse(prefix + head, rests, threshold))
    if len(found) > threshold:
        return [_escape(prefix) + "*"]
    return found


def _first_token(tail: str) -> tuple[str, str]:
    """``("bucket/", "key")`` from ``"bucket/key"``: up to and including the first ``/`` or ``:``."""
    pieces = _DELIMITERS.split(tail, maxsplit=1)
    return (pieces[0], pieces[1]) if len(pieces) == 2 else (tail, "")


def _address_condition(
    addresses: set[str] | None, threshold: int | None, parsed: dict[str, Address | None]
) -> dict[str, Any] | None:
    """``IpAddress`` on ``aws:SourceIp`` covering every address, or ``None`` (see the docstring).
    ``parsed`` remembers each address text's value across statements (``None``: not an address)."""
    if not addresses:
        return None
    values: list[Address] = []
    for text in addresses:
        if text not in parsed:
            try:
                parsed[text] = ipaddress.ip_address(text)
            except ValueError:
                parsed[text] = None
        value = parsed[text]
        if value is None:
            return None  # an address the condition cannot express: no condition (sound)
        values.append(value)
    for step in range(3):
        networks: set[tuple[int, int, int]] = set()
        for ip in values:
            prefix = _NETWORK_LADDER[ip.version][step]
            width = ip.max_prefixlen - prefix
            networks.add((ip.version, int(ip) >> width << width, prefix))
        if threshold is None or len(networks) <= threshold:
            texts = sorted(str(_NETWORKS[version]((base, prefix))) for version, base, prefix in networks)
            return {"IpAddress": {"aws:SourceIp": _one_or_list(texts)}}
    return None


# ---------------------------------------------------------------- the proof


def _replay(policy: Policy, requests: Mapping[_Logged, int]) -> int:
    """How many logged requests the generated policy allows (each distinct request evaluated
    once, counted for every event it stands for); raises unless all of them."""
    evaluator = Evaluator()
    policies = PolicySet(identity=(policy,))
    principals: dict[str, Principal] = {}
    allowed = denied = 0
    failures: list[str] = []
    for request, count in requests.items():
        principal = principals.get(request.principal)
        if principal is None:
            principal = principals[request.principal] = Principal.from_arn(request.principal)
        address = request.source_ip
        context: Mapping[str, ContextValue] = {"aws:sourceip": address} if address else {}
        if evaluator.evaluate(
            Request(principal, request.action, request.resource, context), policies
        ).allowed:
            allowed += count
        else:
            denied += count
            if len(failures) < 3:
                failures.append(f"{request.action} on {request.resource}")
    if denied:
        raise IAMGuardError(
            f"internal error: the generated policy denies {denied} of {allowed + denied} "
            f"logged allowed requests (first: {', '.join(failures)})"
        )
    return allowed


def _with_comparison(
    result: GeneratedPolicy, policy: Policy, principal_arn: str, store: PolicySource
) -> GeneratedPolicy:
    """``result`` with ``check_no_new_access(generated, current)`` against the store: the
    generated policy in place of the principal's identity policies, under the same boundary."""
    resolved = store.resolve_principal(principal_arn)
    if resolved is None:
        return replace(result, no_new_access_note=f"{principal_arn} is not in the store")
    try:
        from iamguard.analysis.compare import check_no_new_access
    except ImportError:  # pragma: no cover - the comparison ships beside this module
        return replace(result, no_new_access_note="iamguard.analysis.compare is unavailable")
    current = PolicySet(identity=resolved.identity, boundary=resolved.boundary)
    proposed = PolicySet(identity=(policy,), boundary=resolved.boundary)
    return replace(result, no_new_access=check_no_new_access(proposed, current))
