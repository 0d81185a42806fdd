"""The edges of the privilege-escalation graph, each decided by the exact evaluator.

Part of ``analysis/`` (used by :mod:`iamguard.analysis.escalation`). Nodes are the store's users
and roles with the policies stage 3 resolves for them (identity policies, their groups', the
permissions boundary; a role node is a fresh session of the role, given no session policy).
Two kinds of edge, each with the decisions that allowed it:

* **act as** A → B: A can obtain B's credentials or a session of B — ``iam:CreateAccessKey``,
  ``iam:CreateLoginProfile`` (B has no console password) or ``iam:UpdateLoginProfile`` (B has
  one) on user B; ``sts:AssumeRole`` on role B, decided on both sides as
  :mod:`iamguard.sts._trust` decides it (the trust policy must have an Allow for the caller, then
  the full evaluation — trust policy as the resource policy, the caller's identity policies and
  boundary — must allow); ``iam:UpdateAssumeRolePolicy`` on role B followed by that same
  AssumeRole decision against a trust policy naming A (the rewritten one);
* **grant** Z ⇒ Y: Z can change Y's policies so that Y is admin — ``iam:AttachUserPolicy`` /
  ``AttachRolePolicy`` / ``AttachGroupPolicy`` of AdministratorAccess (decided with
  ``iam:PolicyARN`` set to it), ``iam:PutUserPolicy`` / ``PutRolePolicy`` / ``PutGroupPolicy``
  (an inline policy allowing everything, which may also replace the owner's existing inline
  policies), ``iam:AddUserToGroup`` (Y gains the group's policies), ``iam:CreatePolicyVersion``
  on a customer managed policy attached to Y or used as its boundary (the policy becomes "allow
  everything"), ``iam:SetDefaultPolicyVersion`` to one of its existing versions,
  ``iam:DeleteUserPermissionsBoundary`` / ``DeleteRolePermissionsBoundary``,
  ``iam:PutUserPermissionsBoundary`` / ``PutRolePermissionsBoundary`` of AdministratorAccess
  (decided with ``iam:PermissionsBoundary`` set to it), and ``iam:DeleteUserPolicy`` /
  ``DeleteRolePolicy`` / ``DeleteGroupPolicy`` (the inline policies holding a Deny are
  deleted). A grant edge exists only when Y *after* the change passes the admin test with the
  exact evaluator — so Y's boundary and remaining Deny statements are honoured. When no single
  change does it, all the changes Z may make to Y except ``SetDefaultPolicyVersion`` (which can
  also take permissions away) are tried together (delete a boundary *and* attach a policy).

Requests carry the caller's own condition keys (tags, ids), ``aws:ResourceTag/*`` of a target
user or role, and nothing else: a statement that needs another key (MFA, source address, an
external id) does not produce an edge; such a refusal is kept as a *conditional* edge with the
keys it lacked, for the reader to judge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from iamguard.analysis._statements import names_action
from iamguard.context import ContextValue
from iamguard.decision import Decision, DecisionKind, PolicyRole
from iamguard.errors import NoSuchEntityError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Effect, Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal
from iamguard.store import built_in
from iamguard.store.records import PrincipalKind

if TYPE_CHECKING:
    from iamguard.store.service import IdentityService

__all__ = ["ADMIN_PROBES", "EscalationEdge", "Node", "admin_decisions", "decide_edges", "load_nodes"]

#: The admin test: a principal is admin when the evaluator allows it both requests, with its own
#: context keys. A service no policy names (``iamguardprobe``) on resource ``*`` is allowed only
#: by ``"Action": "*"``-like statements on ``"Resource": "*"``; the IAM probe adds that IAM itself
#: is not excluded (``"NotAction": "iam:*"`` passes the first probe only). Action names in the
#: probes are not real actions, so only wildcards can match them.
ADMIN_PROBES: tuple[tuple[str, str], ...] = (
    ("iamguardprobe:AnyActionProbe", "*"),
    ("iam:IamguardAnyActionProbe", "*"),
)

_ALLOW_ALL = parse_policy(
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    name="(written by the escalation: allow everything)",
    kind=PolicyKind.IDENTITY,
)


@dataclass(frozen=True, slots=True)
class EscalationEdge:
    """One step: ``actor`` uses ``technique`` on ``target``.

    ``kind`` is ``"act-as"`` (``actor`` can then act as ``becomes``) or ``"grant"`` (``becomes``
    is then admin). ``statements`` names every Allow statement behind the decisions the step
    needs ("identity policy NAME Statement[i] (Sid S)"), in decision order; ``missing_keys`` is
    set on conditional edges only.
    """

    actor: str
    technique: str
    target: str
    kind: str
    becomes: str
    statements: tuple[str, ...]
    note: str = ""
    missing_keys: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a reader: who can act as (or make admin) whom, by which technique."""
        verb = "can act as" if self.kind == "act-as" else "can make admin:"
        text = f"{self.actor} {verb} {self.becomes} via {self.technique} on {self.target}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(slots=True)
class Node:
    """A user or role as the request path sees it."""

    arn: str
    kind: str  # "user" | "role"
    name: str
    principal: Principal
    policies: PolicySet
    tags: Mapping[str, str]
    groups: tuple[str, ...] = ()
    own_inline_prefix: str = ""
    admin: tuple[Decision, ...] | None = None
    has_login_profile: bool = False
    trust: Policy | None = None
    attached: set[str] = field(default_factory=set)  # managed policy ARNs in identity or boundary
    may: dict[str, bool] = field(default_factory=dict)  # action -> some identity statement names it


def load_nodes(store: IdentityService) -> dict[str, Node]:
    """Every user and role of ``store``, resolved, by ARN."""
    nodes: dict[str, Node] = {}
    for user in store.list_users():
        node = _node(store, user.arn, "user", user.name, user.user_id)
        if node is not None:
            node.has_login_profile = _has_login_profile(store, user.name)
            nodes[node.arn] = node
    for role in store.list_roles():
        node = _node(store, role.arn, "role", role.name, role.role_id)
        if node is not None:
            node.trust = parse_policy(
                role.assume_role_policy, name=f"role/{role.name}/trust-policy", kind=PolicyKind.RESOURCE
            )
            nodes[node.arn] = node
    return nodes


def _node(store: IdentityService, arn: str, kind: str, name: str, unique_id: str) -> Node | None:
    resolved = store.resolve_principal(arn)
    if resolved is None:
        return None
    tags = dict(resolved.tags)
    principal = Principal.from_arn(resolved.arn, tags=tags, user_id=unique_id)
    policies = PolicySet(
        identity=resolved.identity, boundary=resolved.boundary, generation=resolved.generation
    )
    node = Node(arn, kind, name, principal, policies, tags, resolved.group_names, f"{kind}/{name}/inline/")
    node.attached = {p.name for p in resolved.identity if p.name.startswith("arn:")}
    if resolved.boundary is not None:
        node.attached.add(resolved.boundary.name)
    node.admin = admin_decisions(node.principal, policies)
    return node


def _has_login_profile(store: IdentityService, user_name: str) -> bool:
    try:
        store.get_login_profile(user_name)
    except NoSuchEntityError:
        return False
    return True


def admin_decisions(principal: Principal, policies: PolicySet) -> tuple[Decision, ...] | None:
    """The probe decisions when ``principal`` under ``policies`` is admin (see
    :data:`ADMIN_PROBES`), else ``None``."""
    found = []
    for action, resource in ADMIN_PROBES:
        decision = _EVALUATOR.evaluate(Request(principal, action, resource), policies)
        if not decision.allowed:
            return None
        found.append(decision)
    return tuple(found)


_EVALUATOR = Evaluator()


def allowing_statements(decision: Decision) -> tuple[str, ...]:
    """The Allow statements behind an allowed decision, as "ROLE policy NAME Statement[i]"."""
    found = []
    for m in decision.matched:
        if m.effect == "Allow":
            text = f"{_ROLE_NAMES[m.policy_role]} {m.policy_name} Statement[{m.statement_index}]"
            found.append(f"{text} (Sid {m.sid})" if m.sid else text)
    return tuple(found)


_ROLE_NAMES = {
    PolicyRole.IDENTITY: "identity policy",
    PolicyRole.BOUNDARY: "permissions boundary",
    PolicyRole.SESSION: "session policy",
    PolicyRole.RESOURCE: "trust policy",
}


# ---------------------------------------------------------------- deciding edges


@dataclass(slots=True)
class _Account:
    """What the deciders share: the nodes, the groups and the managed policies of one store."""

    store: IdentityService
    account_id: str
    nodes: dict[str, Node]
    groups: dict[str, tuple[str, tuple[Policy, ...], tuple[str, ...]]]  # name -> (arn, policies, member ARNs)
    admin_policy_arn: str
    admin_policy: Policy
    versions: dict[str, list[Policy]]  # customer managed policy ARN -> its non-default versions
    conditional: list[EscalationEdge] = field(default_factory=list)
    # INVARIANT: keyed by id() of a trust Policy the entry itself holds (checked with ``is``), so
    # the compiled set is built once per role, not once per (caller, role) pair.
    trust_sets: dict[int, PolicySet] = field(default_factory=dict)
    trust_callers: dict[str, tuple[bool, bool, frozenset[str]]] = field(default_factory=dict)


def decide_edges(
    store: IdentityService, nodes: dict[str, Node]
) -> tuple[list[EscalationEdge], list[EscalationEdge]]:
    """``(edges, conditional_edges)`` from every non-admin node (an admin needs no path)."""
    account = _account(store, nodes)
    edges: list[EscalationEdge] = []
    for node in nodes.values():
        if node.admin is None:
            edges.extend(_edges_from(account, node))
    return edges, account.conditional


def _account(store: IdentityService, nodes: dict[str, Node]) -> _Account:
    partition, account_id = store.account().partition, store.account().account_id
    admin = built_in.get_built_in(
        f"arn:{partition}:iam::{built_in.BUILT_IN_ACCOUNT}:policy/AdministratorAccess"
    )
    assert admin is not None  # INVARIANT: the built-in policies ship with the package
    admin_arn = admin.arn(partition)
    admin_policy = parse_policy(admin.document, name=admin_arn, kind=PolicyKind.IDENTITY)
    users_by_name = {n.name: n.arn for n in nodes.values() if n.kind == "user"}
    groups = {}
    for group in store.list_groups():
        members = tuple(
            users_by_name[u.name] for u in store.get_group_members(group.name) if u.name in users_by_name
        )
        groups[group.name] = (group.arn, _group_policies(store, group.name), members)
    versions: dict[str, list[Policy]] = {}
    for managed in store.list_policies(scope="local"):
        others = [v for v in store.list_policy_versions(managed.arn) if not v.is_default]
        versions[managed.arn] = [
            parse_policy(v.document, name=f"{managed.arn} version {v.version_id}", kind=PolicyKind.IDENTITY)
            for v in others
        ]
    return _Account(store, account_id, nodes, groups, admin_arn, admin_policy, versions)


def _group_policies(store: IdentityService, name: str) -> tuple[Policy, ...]:
    found = [
        parse_policy(
            store.get_inline_policy(PrincipalKind.GROUP, name, n).document, name=f"group/{name}/inline/{n}"
        )
        for n in store.list_inline_policies(PrincipalKind.GROUP, name)
    ]
    for managed in store.list_attached_policies(PrincipalKind.GROUP, name):
        version = store.get_policy_version(managed.arn, managed.default_version_id)
        found.append(parse_policy(version.document, name=managed.arn))
    return tuple(found)


def _may(node: Node, action: str) -> bool:
    """Whether any identity statement of ``node`` names ``action`` at all (IAM actions have no
    resource policy, so without one the answer is an implicit deny: skipping is exact)."""
    found = node.may.get(action)
    if found is None:
        lowered = action.lower()
        found = node.may[action] = any(names_action(p, lowered) for p in node.policies.identity)
    return found


def _edges_from(account: _Account, actor: Node) -> Iterator[EscalationEdge]:
    yield from _act_as_users(account, actor)
    yield from _act_as_roles(account, actor)
    yield from _grants(account, actor)


def _decide(
    account: _Account,
    actor: Node,
    action: str,
    resource: str,
    *,
    target: Node | None = None,
    extra: Mapping[str, ContextValue] | None = None,
    policies: PolicySet | None = None,
    technique: str = "",
) -> Decision | None:
    """The allowed decision for ``actor`` doing ``action`` on ``resource``, else ``None`` (a
    refusal for want of condition keys is kept as a conditional edge)."""
    context: dict[str, ContextValue] = dict(extra or {})
    if target is not None:
        for key, value in target.tags.items():
            context["aws:resourcetag/" + key.lower()] = value
    decision = _EVALUATOR.evaluate(
        Request(actor.principal, action, resource, context), policies or actor.policies
    )
    if decision.allowed:
        return decision
    if decision.kind is DecisionKind.IMPLICIT_DENY and decision.missing_context_keys:
        becomes = target.arn if target is not None else resource
        account.conditional.append(
            EscalationEdge(
                actor.arn,
                technique or action,
                resource,
                "conditional",
                becomes,
                (),
                decision.reason,
                decision.missing_context_keys,
            )
        )
    return None


def _act_as_users(account: _Account, actor: Node) -> Iterator[EscalationEdge]:
    profile_actions = ("iam:UpdateLoginProfile", "iam:CreateLoginProfile")
    wanted = [a for a in ("iam:CreateAccessKey", *profile_actions) if _may(actor, a)]
    if not wanted:
        return
    for target in account.nodes.values():
        if target.kind != "user" or target.arn == actor.arn:
            continue
        for action in wanted:
            if action in profile_actions and (action == "iam:UpdateLoginProfile") != target.has_login_profile:
                continue  # CreateLoginProfile needs no password yet, UpdateLoginProfile an existing one
            decision = _decide(account, actor, action, target.arn, target=target)
            if decision is not None:
                yield EscalationEdge(
                    actor.arn, action, target.arn, "act-as", target.arn, allowing_statements(decision)
                )


def _act_as_roles(account: _Account, actor: Node) -> Iterator[EscalationEdge]:
    may_update = _may(actor, "iam:UpdateAssumeRolePolicy")
    for role in account.nodes.values():
        if role.kind != "role" or role.arn == actor.arn or role.trust is None:
            continue
        found = _assume(account, actor, role, role.trust) if _may_be_trusted(account, actor, role) else None
        if found is not None:
            yield EscalationEdge(actor.arn, "sts:AssumeRole", role.arn, "act-as", role.arn, found)
            continue
        if may_update:
            update = _decide(account, actor, "iam:UpdateAssumeRolePolicy", role.arn, target=role)
            rewritten = _trusting(actor) if update is not None else None
            assumed = _assume(account, actor, role, rewritten) if rewritten is not None else None
            if update is not None and assumed is not None:
                statements = allowing_statements(update) + assumed
                note = "rewrites the trust policy to name the actor, then sts:AssumeRole"
                yield EscalationEdge(
                    actor.arn, "iam:UpdateAssumeRolePolicy", role.arn, "act-as", role.arn, statements, note
                )


def _may_be_trusted(account: _Account, actor: Node, role: Node) -> bool:
    """Whether ``role``'s trust policy can name ``actor`` at all. Principal values other than
    ``"*"`` compare exactly (no patterns), so a trust policy whose Allow statements name only
    other ARNs, or only the account while the actor's identity policies never name
    ``sts:AssumeRole`` (delegation needs the identity side), cannot allow: skipping is exact."""
    callers = account.trust_callers.get(role.arn)
    if callers is None:
        callers = account.trust_callers[role.arn] = _trust_callers(role.trust, account.account_id)
    everyone, delegates, named = callers
    if everyone or actor.arn in named or actor.principal.principal_arn in named:
        return True
    return delegates and _may(actor, "sts:AssumeRole")


def _trust_callers(trust: Policy | None, account_id: str) -> tuple[bool, bool, frozenset[str]]:
    """``(everyone, the account, named ARNs)`` the trust policy's Allow statements can match."""
    everyone, delegates, named = False, False, set()
    for statement in () if trust is None else trust.statements:
        if statement.effect is not Effect.ALLOW:
            continue
        block = statement.principal
        if block is None or block.any_principal:  # NotPrincipal, or "*": evaluate for everyone
            everyone = True
            continue
        for value in block.get("AWS"):
            if value == "*":
                everyone = True
            elif value in (account_id, f"arn:aws:iam::{account_id}:root") or value.endswith(
                f"::{account_id}:root"
            ):
                delegates = True
            else:
                named.add(value)
    return everyone, delegates, frozenset(named)


def _trusting(actor: Node) -> Policy:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": actor.arn}, "Action": "sts:AssumeRole"}],
    }
    return parse_policy(json.dumps(document), name="(rewritten trust policy)", kind=PolicyKind.RESOURCE)


def _assume(account: _Account, actor: Node, role: Node, trust: Policy) -> tuple[str, ...] | None:
    """The statements allowing ``actor`` to assume ``role`` under ``trust``, both sides, as
    ``iamguard.sts._trust.trust_allows`` decides (trust Allow for the caller, then the full
    evaluation with the caller's policies), or ``None``."""
    resource_account = account.account_id
    trust_only = account.trust_sets.get(id(trust))
    if trust_only is None or trust_only.resource is not trust:
        trust_only = account.trust_sets[id(trust)] = PolicySet(
            resource=trust, resource_account=resource_account
        )
    first = _EVALUATOR.evaluate(Request(actor.principal, "sts:AssumeRole", role.arn), trust_only)
    trusted = first.kind is not DecisionKind.EXPLICIT_DENY and any(
        m.policy_role is PolicyRole.RESOURCE and m.effect == "Allow" for m in first.matched
    )
    if not trusted:
        return None
    if not first.allowed and not _may(actor, "sts:AssumeRole"):
        # The trust policy only names the account (delegation): the identity side must allow,
        # and no identity statement of the actor names sts:AssumeRole. Skipping is exact.
        return None
    full = replace(actor.policies, resource=trust, resource_account=resource_account)
    decision = _decide(account, actor, "sts:AssumeRole", role.arn, target=role, policies=full)
    return None if decision is None else allowing_statements(decision)


# ---------------------------------------------------------------- grants


@dataclass(slots=True)
class _Change:
    """One allowed change: ``action`` on ``resource`` (its decision), applied by ``apply``."""

    action: str
    resource: str
    decision: Decision
    apply: Callable[[PolicySet], PolicySet]
    note: str
    monotone: bool = True  # only ever adds permissions (SetDefaultPolicyVersion may take some away)


def _grants(account: _Account, actor: Node) -> Iterator[EscalationEdge]:
    """Grant edges from ``actor``: per target, the first single change that makes it admin, else
    every monotone change together (delete a boundary *and* attach a policy, say)."""
    if not any(_may(actor, action) for action in _GRANT_ACTIONS):
        return
    changes: dict[str, list[_Change]] = {}
    for target, change in _changes(account, actor):
        if target.admin is None:
            changes.setdefault(target.arn, []).append(change)
    for arn, found in changes.items():
        target = account.nodes[arn]
        single = next((c for c in found if _makes_admin(target, c.apply(target.policies))), None)
        if single is not None:
            yield EscalationEdge(
                actor.arn,
                single.action,
                single.resource,
                "grant",
                arn,
                allowing_statements(single.decision),
                single.note,
            )
            continue
        together = [c for c in found if c.monotone]
        policies = target.policies
        for change in together:
            policies = change.apply(policies)
        if len(together) > 1 and _makes_admin(target, policies):
            statements = tuple(s for c in together for s in allowing_statements(c.decision))
            technique = " + ".join(c.action for c in together)
            note = "; ".join(c.note for c in together)
            yield EscalationEdge(
                actor.arn,
                technique,
                ", ".join(dict.fromkeys(c.resource for c in together)),
                "grant",
                arn,
                statements,
                note,
            )


_GRANT_ACTIONS = (
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:DeleteUserPermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteUserPolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DeleteGroupPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:AddUserToGroup",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)


def _makes_admin(target: Node, after: PolicySet) -> bool:
    return admin_decisions(target.principal, after) is not None


def _changes(account: _Account, actor: Node) -> Iterator[tuple[Node, _Change]]:
    """Every (target, change) ``actor`` is allowed to make."""
    for node in account.nodes.values():
        kind = "User" if node.kind == "user" else "Role"
        if node.policies.boundary is not None:
            action = f"iam:Delete{kind}PermissionsBoundary"
            yield from _allowed(account, actor, action, node.arn, [node], _no_boundary)
            action = f"iam:Put{kind}PermissionsBoundary"
            yield from _allowed(account, actor, action, node.arn, [node], _admin_boundary(account))
        yield from _allowed(
            account, actor, f"iam:Delete{kind}Policy", node.arn, [node], _drop_denies(node.own_inline_prefix)
        )
        yield from _allowed(account, actor, f"iam:Attach{kind}Policy", node.arn, [node], _attach(account))
        inline = _put_inline(node.own_inline_prefix)
        yield from _allowed(account, actor, f"iam:Put{kind}Policy", node.arn, [node], inline)
    for name, (arn, policies, members) in account.groups.items():
        targets = [account.nodes[m] for m in members]
        drop = _drop_denies(f"group/{name}/inline/")
        yield from _allowed(account, actor, "iam:DeleteGroupPolicy", arn, targets, drop)
        yield from _allowed(account, actor, "iam:AttachGroupPolicy", arn, targets, _attach(account))
        inline = _put_inline(f"group/{name}/inline/")
        yield from _allowed(account, actor, "iam:PutGroupPolicy", arn, targets, inline)
        outsiders = [n for n in account.nodes.values() if n.kind == "user" and name not in n.groups]
        yield from _allowed(
            account, actor, "iam:AddUserToGroup", arn, outsiders, _join(policies), f"joins group {name}"
        )
    for policy_arn, versions in account.versions.items():
        holders = [n for n in account.nodes.values() if policy_arn in n.attached]
        yield from _allowed(
            account, actor, "iam:CreatePolicyVersion", policy_arn, holders, _swap(policy_arn, _ALLOW_ALL)
        )
        for version in versions:
            note = f"makes {version.name} the default"
            swap = _swap(policy_arn, version)
            yield from _allowed(
                account, actor, "iam:SetDefaultPolicyVersion", policy_arn, holders, swap, note, False
            )


def _allowed(
    account: _Account,
    actor: Node,
    action: str,
    resource: str,
    targets: list[Node],
    apply: Callable[[PolicySet], PolicySet],
    note: str = "",
    monotone: bool = True,
) -> Iterator[tuple[Node, _Change]]:
    """``(target, change)`` for each target when ``actor`` may do ``action`` on ``resource``."""
    if not targets or not _may(actor, action):
        return
    extra: dict[str, ContextValue] = {}
    if action.startswith("iam:Attach"):
        extra["iam:policyarn"] = account.admin_policy_arn
    elif action.endswith("PermissionsBoundary") and action.startswith("iam:Put"):
        extra["iam:permissionsboundary"] = account.admin_policy_arn
    target = targets[0] if resource == targets[0].arn else None
    decision = _decide(account, actor, action, resource, target=target, extra=extra, technique=action)
    if decision is not None:
        change = _Change(action, resource, decision, apply, note or _grant_note(action), monotone)
        for node in targets:
            yield node, change


def _grant_note(action: str) -> str:
    if action.startswith("iam:Attach"):
        return "attaches AdministratorAccess"
    if action.endswith("PermissionsBoundary"):
        verb = "removes" if action.startswith("iam:Delete") else "sets AdministratorAccess as"
        return f"{verb} the permissions boundary"
    if action.startswith("iam:Put"):
        return "writes an inline policy allowing everything"
    if action.startswith("iam:Delete"):
        return "deletes the inline policies that hold a Deny"
    return "rewrites the policy to allow everything"


def _attach(account: _Account) -> Callable[[PolicySet], PolicySet]:
    return lambda policies: replace(policies, identity=(*policies.identity, account.admin_policy))


def _put_inline(prefix: str) -> Callable[[PolicySet], PolicySet]:
    """A new inline policy allowing everything. Writing it under an existing name replaces that
    policy, so the owner's current inline policies (``prefix``) may be dropped too."""

    def change(policies: PolicySet) -> PolicySet:
        kept = tuple(p for p in policies.identity if not p.name.startswith(prefix))
        return replace(policies, identity=(*kept, _ALLOW_ALL))

    return change


def _no_boundary(policies: PolicySet) -> PolicySet:
    return replace(policies, boundary=None)


def _admin_boundary(account: _Account) -> Callable[[PolicySet], PolicySet]:
    return lambda policies: replace(policies, boundary=account.admin_policy)


def _drop_denies(prefix: str) -> Callable[[PolicySet], PolicySet]:
    """The owner's inline policies that hold a Deny statement deleted (the others kept)."""

    def change(policies: PolicySet) -> PolicySet:
        kept = tuple(
            p
            for p in policies.identity
            if not (p.name.startswith(prefix) and any(st.effect is Effect.DENY for st in p.statements))
        )
        return replace(policies, identity=kept)

    return change


def _join(group: tuple[Policy, ...]) -> Callable[[PolicySet], PolicySet]:
    return lambda policies: replace(policies, identity=(*policies.identity, *group))


def _swap(policy_arn: str, new: Policy) -> Callable[[PolicySet], PolicySet]:
    """Managed policy ``policy_arn`` replaced by ``new`` wherever it is used."""

    def change(policies: PolicySet) -> PolicySet:
        identity = tuple(new if p.name == policy_arn else p for p in policies.identity)
        boundary = policies.boundary
        if boundary is not None and boundary.name == policy_arn:
            boundary = new
        return replace(policies, identity=identity, boundary=boundary)

    return change
