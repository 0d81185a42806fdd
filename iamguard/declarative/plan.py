"""From an :class:`~iamguard.declarative.spec.AccountSpec` and a store to a :class:`Plan`, and
from a plan to one store transaction.

Part of :mod:`iamguard.declarative`. Planning only reads; :func:`apply_plan` runs every step
inside ``IdentityService.atomic()`` after re-planning there, so what runs is what was shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iamguard.declarative.spec import (
    KEEP,
    AccountSpec,
    GroupSpec,
    Inline,
    PolicySpec,
    RoleSpec,
    Tags,
    UserSpec,
    _Keep,
    _Problems,
)
from iamguard.errors import ConcurrentModificationError
from iamguard.store import built_in
from iamguard.store.passwords import PasswordPolicy
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService

__all__ = ["Change", "Plan", "Step", "apply_plan", "make_plan"]


@dataclass(frozen=True, slots=True)
class Step:
    """One store call: ``IdentityService.<method>(*args, **kwargs)``, described by ``text``."""

    text: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """Everything done to one entity: ``action`` is ``create``, ``update`` or ``delete``."""

    action: str
    kind: str  # account | policy | group | user | role
    name: str
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        """The change as JSON: action, kind, name and its steps."""
        return {
            "action": self.action,
            "kind": self.kind,
            "name": self.name,
            "steps": [s.text for s in self.steps],
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying a file will do. ``unmanaged`` lists entities the file does not mention
    (kept, since pruning was not asked for); ``warnings`` what cannot be changed in place."""

    changes: tuple[Change, ...] = ()
    unmanaged: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    prune: bool = False

    @property
    def empty(self) -> bool:
        """Whether applying the file would change nothing."""
        return not self.changes

    def counts(self) -> dict[str, int]:
        """How many entities are created, updated and deleted."""
        return {a: sum(1 for c in self.changes if c.action == a) for a in ("create", "update", "delete")}

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON: a summary of counts, the changes, unmanaged entities and warnings."""
        return {
            "summary": self.counts(),
            "changes": [c.to_json() for c in self.changes],
            "unmanaged": list(self.unmanaged),
            "warnings": list(self.warnings),
            "prune": self.prune,
        }

    def render(self) -> str:
        """The plan for a person: one line per entity, its steps indented below it."""
        counts = self.counts()
        lines = [
            "No changes: the store already matches the file."
            if self.empty
            else f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete."
        ]
        marks = {"create": "+", "update": "~", "delete": "-"}
        for change in self.changes:
            lines.append(f"  {marks[change.action]} {change.action} {change.kind} {change.name}")
            lines += [f"      {step.text}" for step in change.steps]
        if self.unmanaged:
            lines.append(
                "Not in the file, left alone (apply --prune deletes them): " + ", ".join(self.unmanaged)
            )
        elif not self.prune:
            lines.append("Nothing is ever deleted without --prune.")
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def apply_plan(service: IdentityService, spec: AccountSpec, expected: Plan) -> None:
    """Run ``expected`` in one transaction, after checking the store still yields that plan
    (otherwise :class:`ConcurrentModificationError`: someone changed it since it was shown)."""
    with service.atomic():
        plan = make_plan(service, spec, prune=expected.prune)
        if plan != expected:
            raise ConcurrentModificationError("the store changed since the plan was made; run apply again")
        for change in plan.changes:
            for step in change.steps:
                getattr(service, step.method)(*step.args, **dict(step.kwargs))


def make_plan(service: IdentityService, spec: AccountSpec, *, prune: bool = False) -> Plan:
    """The changes that make the store match ``spec`` (reads only).
    :class:`InvalidInputError` when the file cannot be made true (unknown references, ...)."""
    return _Planner(service, spec, prune).plan()


def _create_text(kind: str, name: str, kwargs: Mapping[str, Any]) -> str:
    """``create user alice at /eng/ (tags team=data; boundary arn:...)``."""
    extras = []
    if kwargs.get("tags"):
        extras.append("tags " + ", ".join(f"{k}={v}" for k, v in sorted(kwargs["tags"].items())))
    if kwargs.get("permissions_boundary"):
        extras.append(f"boundary {kwargs['permissions_boundary']}")
    if kwargs.get("max_session_duration"):
        extras.append(f"max session {kwargs['max_session_duration']}s")
    detail = f" ({'; '.join(extras)})" if extras else ""
    return f"create {kind} {name} at {kwargs.get('path', '/')}{detail}"


def _same_document(a: str, b: str) -> bool:
    return bool(json.loads(a) == json.loads(b))


class _Planner:
    """Compares the file with the store, entity by entity; collects changes and problems."""

    def __init__(self, service: IdentityService, spec: AccountSpec, prune: bool) -> None:
        self.service = service
        self.spec = spec
        self.prune = prune
        self.account = service.account()
        self.problems = _Problems()
        self.warnings: list[str] = []
        self.changes: list[Change] = []
        self.unmanaged: list[str] = []
        self.store_policies = {p.name.lower(): p for p in service.list_policies(scope="local")}
        self.store_users = {u.name.lower(): u for u in service.list_users()}
        self.store_roles = {r.name.lower(): r for r in service.list_roles()}
        self.store_groups = {g.name.lower(): g for g in service.list_groups()}
        self.file_policy_arns = {p.name.lower(): self._customer_arn(p) for p in spec.policies}

    def plan(self) -> Plan:
        self._account()
        for policy in self.spec.policies:
            self._policy(policy)
        for group in self.spec.groups:
            self._group(group, self.store_groups.get(group.name.lower()))
        for user in self.spec.users:
            self._user(user)
        for role in self.spec.roles:
            self._role(role)
        self._leftovers()
        self.problems.raise_any("cannot apply the account file")
        return Plan(tuple(self.changes), tuple(self.unmanaged), tuple(self.warnings), self.prune)

    def _add(self, action: str, kind: str, name: str, steps: Sequence[Step]) -> None:
        if steps:
            self.changes.append(Change(action, kind, name, tuple(steps)))

    # ------------------------------------------------------------ references

    def _customer_arn(self, policy: PolicySpec) -> str:
        existing = self.store_policies.get(policy.name.lower())
        path = policy.path if isinstance(policy.path, str) else (existing.path if existing else "/")
        if existing is not None:
            return existing.arn
        return f"arn:{self.account.partition}:iam::{self.account.account_id}:policy{path}{policy.name}"

    def _ref(self, ref: str, where: str) -> str:
        """The ARN a policy reference names (see the module docstring)."""
        if ref.startswith("arn:"):
            static = built_in.get_built_in(ref)
            if static is not None and ref == static.arn(self.account.partition):
                return ref
            if ref in self.file_policy_arns.values():
                return ref
            if not self.prune and any(p.arn == ref for p in self.store_policies.values()):
                return ref
        else:
            if ref.lower() in self.file_policy_arns:
                return self.file_policy_arns[ref.lower()]
            if not self.prune and ref.lower() in self.store_policies:
                return self.store_policies[ref.lower()].arn
            if ref in built_in.built_in_policies():
                return built_in.built_in_policies()[ref].arn(self.account.partition)
        pruned = " (with --prune only policies in the file remain)" if self.prune else ""
        self.problems.add(where, f"no managed policy {ref!r}{pruned}{self._aws_managed_hint(ref)}")
        return ref

    def _aws_managed_hint(self, ref: str) -> str:
        """For ``arn:aws:iam::aws:policy/NAME`` (AWS managed, absent here): the built-in to use."""
        parts = ref.split(":", 5)
        if len(parts) != 6 or parts[4] != "aws" or not parts[5].startswith("policy/"):
            return ""
        name = parts[5].rsplit("/", 1)[-1]
        static = built_in.built_in_policies().get(name)
        if static is None:
            return (
                "; AWS managed policies are not part of iamguard (built-ins: "
                + ", ".join(built_in.built_in_policies())
                + ")"
            )
        return f"; AWS managed policies are not part of iamguard: use its built-in {name} ({static.arn(self.account.partition)})"

    def _refs(self, refs: tuple[str, ...], where: str) -> list[str]:
        return [self._ref(r, where) for r in refs]

    # ------------------------------------------------------------ account

    def _account(self) -> None:
        wanted_id = self.spec.account_id
        if isinstance(wanted_id, str) and wanted_id != self.account.account_id:
            self.problems.add(
                "account.account_id",
                f"the file describes account {wanted_id} but this store holds account "
                f"{self.account.account_id} (an account id never changes: apply it to a new store "
                f"with `iamguard apply --create`, or drop account_id from the file)",
            )
        steps: list[Step] = []
        alias = self.spec.alias
        if isinstance(alias, str) and alias != self.account.alias:
            steps.append(Step(f"set alias {alias}", "create_account_alias", (alias,)))
        elif alias is None and self.account.alias is not None:
            steps.append(
                Step(f"remove alias {self.account.alias}", "delete_account_alias", (self.account.alias,))
            )
        wanted = self.spec.password_policy
        if isinstance(wanted, PasswordPolicy) and wanted != self.account.password_policy:
            steps.append(Step("set the password policy", "update_account_password_policy", (wanted,)))
        elif wanted is None and self.account.password_policy is not None:
            steps.append(Step("remove the custom password policy", "delete_account_password_policy"))
        self._add("update", "account", self.account.account_id, steps)

    # ------------------------------------------------------------ managed policies

    def _policy(self, spec: PolicySpec) -> None:
        where = f"policies[{spec.name}]"
        existing = self.store_policies.get(spec.name.lower())
        if existing is None:
            kwargs = {
                "path": spec.path if isinstance(spec.path, str) else "/",
                "description": spec.description if isinstance(spec.description, str) else "",
                "tags": dict(spec.tags) if isinstance(spec.tags, tuple) else {},
            }
            step = Step(
                _create_text("policy", spec.name, kwargs), "create_policy", (spec.name, spec.document), kwargs
            )
            self._add("create", "policy", spec.name, [step])
            return
        arn = existing.arn
        if isinstance(spec.path, str) and spec.path != existing.path:
            self.problems.add(
                f"{where}.path",
                f"is {existing.path} in the store; IAM cannot move a policy (delete and recreate it)",
            )
        if isinstance(spec.description, str) and spec.description != existing.description:
            self.warnings.append(
                f"policy {spec.name}: a description is fixed at creation; kept {existing.description!r}"
            )
        if isinstance(spec.tags, tuple) and spec.tags != existing.tags:
            self.warnings.append(
                f"policy {spec.name}: policy tags are fixed at creation in this store; not changed"
            )
        versions = self.service.list_policy_versions(arn)
        default = next(v for v in versions if v.is_default)
        if _same_document(default.document, spec.document):
            return
        steps = []
        if len(versions) >= self.service.quotas.versions_per_policy:
            oldest = next(v for v in versions if not v.is_default)
            steps.append(
                Step(
                    f"delete oldest non-default version {oldest.version_id} (at most {len(versions)} versions)",
                    "delete_policy_version",
                    (arn, oldest.version_id),
                )
            )
        steps.append(
            Step(
                "new default version with the file's document",
                "create_policy_version",
                (arn, spec.document),
                {"set_as_default": True},
            )
        )
        self._add("update", "policy", spec.name, steps)

    # ------------------------------------------------------------ shared owner parts

    def _inline_steps(
        self, kind: PrincipalKind, name: str, wanted: Inline | _Keep, exists: bool
    ) -> list[Step]:
        if not isinstance(wanted, tuple):
            return []
        current: dict[str, tuple[str, str]] = {}
        if exists:
            for policy_name in self.service.list_inline_policies(kind, name):
                document = self.service.get_inline_policy(kind, name, policy_name).document
                current[policy_name.lower()] = (policy_name, document)
        desired = {n.lower(): (n, doc) for n, doc in wanted}
        steps = [
            Step(f"delete inline policy {old}", "delete_inline_policy", (kind, name, old))
            for key, (old, _) in sorted(current.items()) if key not in desired
        ]  # fmt: skip
        for key, (policy_name, doc) in sorted(desired.items()):
            if key not in current or not _same_document(current[key][1], doc):
                steps.append(
                    Step(
                        f"put inline policy {policy_name}",
                        "put_inline_policy",
                        (kind, name, policy_name, doc),
                    )
                )
        return steps

    def _attached_steps(
        self, kind: PrincipalKind, name: str, wanted: tuple[str, ...] | _Keep, where: str, exists: bool
    ) -> list[Step]:
        if not isinstance(wanted, tuple):
            return []
        desired = self._refs(wanted, where)
        current = [p.arn for p in self.service.list_attached_policies(kind, name)] if exists else []
        steps = [
            Step(f"detach {arn}", "detach_policy", (kind, name, arn)) for arn in current if arn not in desired
        ]
        steps += [
            Step(f"attach {arn}", "attach_policy", (kind, name, arn))
            for arn in dict.fromkeys(desired)
            if arn not in current
        ]
        return steps

    def _tag_steps(self, kind: PrincipalKind, name: str, wanted: Tags | _Keep, current: Tags) -> list[Step]:
        if not isinstance(wanted, tuple) or wanted == current:
            return []
        word = kind.value
        now, then = dict(current), dict(wanted)
        removed = sorted(k for k in now if k not in then)
        changed = {k: v for k, v in then.items() if now.get(k) != v}
        steps = []
        if removed:
            steps.append(Step("untag " + ", ".join(removed), f"untag_{word}", (name, tuple(removed))))
        if changed:
            steps.append(
                Step(
                    "tag " + ", ".join(f"{k}={v}" for k, v in sorted(changed.items())),
                    f"tag_{word}",
                    (name, changed),
                )
            )
        return steps

    def _boundary_steps(
        self, kind: PrincipalKind, name: str, wanted: str | _Keep | None, current: str | None, where: str
    ) -> list[Step]:
        if wanted is KEEP:
            return []
        arn = None if wanted is None else self._ref(str(wanted), where)
        if arn == current:
            return []
        if arn is None:
            return [
                Step("remove the permissions boundary", f"delete_{kind.value}_permissions_boundary", (name,))
            ]
        return [
            Step(f"set permissions boundary {arn}", f"put_{kind.value}_permissions_boundary", (name, arn))
        ]

    # ------------------------------------------------------------ groups, users, roles

    def _group(self, spec: GroupSpec, existing: Any) -> None:
        where = f"groups[{spec.name}]"
        steps: list[Step] = []
        if existing is None:
            path = spec.path if isinstance(spec.path, str) else "/"
            steps.append(
                Step(f"create group {spec.name} at {path}", "create_group", (spec.name,), {"path": path})
            )
        elif isinstance(spec.path, str) and spec.path != existing.path:
            self.problems.add(
                f"{where}.path", f"is {existing.path} in the store; this store cannot move a group"
            )
        kind = PrincipalKind.GROUP
        steps += self._inline_steps(kind, spec.name, spec.inline, existing is not None)
        steps += self._attached_steps(
            kind, spec.name, spec.attached, f"{where}.attached_policies", existing is not None
        )
        self._add("update" if existing is not None else "create", "group", spec.name, steps)

    def _user(self, spec: UserSpec) -> None:
        where = f"users[{spec.name}]"
        existing = self.store_users.get(spec.name.lower())
        kind = PrincipalKind.USER
        steps: list[Step] = []
        if existing is None:
            boundary = (
                None
                if not isinstance(spec.boundary, str)
                else self._ref(spec.boundary, f"{where}.permissions_boundary")
            )
            kwargs = {
                "path": spec.path if isinstance(spec.path, str) else "/",
                "tags": dict(spec.tags) if isinstance(spec.tags, tuple) else {},
                "permissions_boundary": boundary,
            }
            steps.append(Step(_create_text("user", spec.name, kwargs), "create_user", (spec.name,), kwargs))
        else:
            if isinstance(spec.path, str) and spec.path != existing.path:
                steps.append(
                    Step(
                        f"move from {existing.path} to {spec.path}",
                        "update_user",
                        (spec.name,),
                        {"new_path": spec.path},
                    )
                )
            steps += self._tag_steps(kind, spec.name, spec.tags, existing.tags)
            steps += self._boundary_steps(
                kind, spec.name, spec.boundary, existing.permissions_boundary, f"{where}.permissions_boundary"
            )
        steps += self._membership_steps(spec, existing is not None, where)
        steps += self._inline_steps(kind, spec.name, spec.inline, existing is not None)
        steps += self._attached_steps(
            kind, spec.name, spec.attached, f"{where}.attached_policies", existing is not None
        )
        self._add("update" if existing is not None else "create", "user", spec.name, steps)

    def _membership_steps(self, spec: UserSpec, exists: bool, where: str) -> list[Step]:
        if not isinstance(spec.groups, tuple):
            return []
        known = {g.name.lower() for g in self.spec.groups}
        if not self.prune:
            known |= set(self.store_groups)
        for group in spec.groups:
            if group.lower() not in known:
                self.problems.add(f"{where}.groups", f"no group {group!r}")
        current = (
            {g.name.lower(): g.name for g in self.service.list_groups_for_user(spec.name)} if exists else {}
        )
        desired = {g.lower(): g for g in spec.groups}
        steps = [
            Step(f"remove from group {n}", "remove_user_from_group", (n, spec.name))
            for k, n in sorted(current.items())
            if k not in desired
        ]
        steps += [
            Step(f"add to group {n}", "add_user_to_group", (n, spec.name))
            for k, n in sorted(desired.items())
            if k not in current
        ]
        return steps

    def _role(self, spec: RoleSpec) -> None:
        where = f"roles[{spec.name}]"
        existing = self.store_roles.get(spec.name.lower())
        kind = PrincipalKind.ROLE
        steps: list[Step] = []
        if existing is None:
            if not isinstance(spec.trust_policy, str):
                self.problems.add(f"{where}.trust_policy", "is required to create a role")
                return
            boundary = (
                None
                if not isinstance(spec.boundary, str)
                else self._ref(spec.boundary, f"{where}.permissions_boundary")
            )
            kwargs = {
                "path": spec.path if isinstance(spec.path, str) else "/",
                "description": spec.description if isinstance(spec.description, str) else "",
                "max_session_duration": spec.max_session_duration
                if isinstance(spec.max_session_duration, int)
                else 3600,
                "tags": dict(spec.tags) if isinstance(spec.tags, tuple) else {},
                "permissions_boundary": boundary,
            }
            steps.append(
                Step(
                    _create_text("role", spec.name, kwargs),
                    "create_role",
                    (spec.name, spec.trust_policy),
                    kwargs,
                )
            )
        else:
            steps += self._role_update_steps(spec, existing, where)
        steps += self._inline_steps(kind, spec.name, spec.inline, existing is not None)
        steps += self._attached_steps(
            kind, spec.name, spec.attached, f"{where}.attached_policies", existing is not None
        )
        self._add("update" if existing is not None else "create", "role", spec.name, steps)

    def _role_update_steps(self, spec: RoleSpec, existing: Any, where: str) -> list[Step]:
        steps: list[Step] = []
        if isinstance(spec.path, str) and spec.path != existing.path:
            self.problems.add(
                f"{where}.path",
                f"is {existing.path} in the store; IAM cannot move a role (delete and recreate it)",
            )
        changes: dict[str, Any] = {}
        if isinstance(spec.description, str) and spec.description != existing.description:
            changes["description"] = spec.description
        if (
            isinstance(spec.max_session_duration, int)
            and spec.max_session_duration != existing.max_session_duration
        ):
            changes["max_session_duration"] = spec.max_session_duration
        if changes:
            steps.append(
                Step(
                    "set " + ", ".join(f"{k}={v!r}" for k, v in changes.items()),
                    "update_role",
                    (spec.name,),
                    changes,
                )
            )
        if isinstance(spec.trust_policy, str) and not _same_document(
            spec.trust_policy, existing.assume_role_policy
        ):
            steps.append(
                Step("replace the trust policy", "update_assume_role_policy", (spec.name, spec.trust_policy))
            )
        kind = PrincipalKind.ROLE
        steps += self._tag_steps(kind, spec.name, spec.tags, existing.tags)
        steps += self._boundary_steps(
            kind, spec.name, spec.boundary, existing.permissions_boundary, f"{where}.permissions_boundary"
        )
        return steps

    # ------------------------------------------------------------ entities the file leaves out

    def _leftovers(self) -> None:
        named = {
            "user": {u.name.lower() for u in self.spec.users},
            "role": {r.name.lower() for r in self.spec.roles},
            "group": {g.name.lower() for g in self.spec.groups},
            "policy": {p.name.lower() for p in self.spec.policies},
        }
        found = [
            ("user", u.name, Step(f"delete user {u.name} with its keys, password, MFA devices, policies", "delete_user", (u.name,), {"force": True}))
            for u in self.store_users.values() if u.name.lower() not in named["user"]
        ]  # fmt: skip
        found += [
            ("role", r.name, Step(f"delete role {r.name} with its policies", "delete_role", (r.name,), {"force": True}))
            for r in self.store_roles.values() if r.name.lower() not in named["role"]
        ]  # fmt: skip
        found += [
            ("group", g.name, Step(f"delete group {g.name} with its policies and memberships", "delete_group", (g.name,), {"force": True}))
            for g in self.store_groups.values() if g.name.lower() not in named["group"]
        ]  # fmt: skip
        found += [
            ("policy", p.name, Step(f"delete policy {p.arn} (detached everywhere)", "delete_policy", (p.arn,), {"force": True}))
            for key, p in sorted(self.store_policies.items()) if key not in named["policy"]
        ]  # fmt: skip
        for kind, name, step in found:
            if self.prune:
                self._add("delete", kind, name, [step])
            else:
                self.unmanaged.append(f"{kind} {name}")
