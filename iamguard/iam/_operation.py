"""How one IAM action is declared: its targets (what it authorizes) and its apply step.

Part of ``iam/``. An :class:`Operation` is one AWS action (``CreateUser``):

* its parameters are AWS's input shape from the model (``_model.py``), validated before anything
  else; the apply and target functions read them typed from :attr:`Call.params`;
* ``targets(call)`` names what must be allowed: one or more :class:`Target` values, each
  ``iam:<Action>`` (or another action, such as ``iam:TagUser`` for CreateUser with tags) on an
  ARN (``arn:aws:iam::<acct>:user/<path><name>``), with the condition keys AWS defines for the
  action (``iam:PermissionsBoundary``, ``iam:PolicyARN``, ``iam:ResourceTag/*``,
  ``aws:RequestTag/*``, ``aws:TagKeys``);
* ``apply(call)`` changes the store (the service runs it in one store transaction) and returns
  the result as a mapping keyed by the output shape's member names (``None`` when the action
  has no output).

Declare one with the :func:`operation` decorator in an ``ops_*.py`` module listed in
``_registry._OPERATION_MODULES``::

    @operation("DeleteUser", targets=lambda call: [Target.on(call.user_arn(call["UserName"]))])
    def delete_user(call: Call) -> None:
        call.store.delete_user(call["UserName"])

Condition keys per action: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from iamguard.errors import NoSuchEntityError

if TYPE_CHECKING:
    from iamguard.iam._caller import Caller
    from iamguard.store.service import IdentityService

__all__ = [
    "Call",
    "Operation",
    "Result",
    "Target",
    "operation",
    "request_tag_context",
    "resource_tag_context",
]

Result = Mapping[str, Any] | None
_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Target:
    """One authorization an operation needs: ``action`` on ``resource`` with ``context`` keys.

    ``action`` is ``None`` for the operation's own ``iam:<Action>``.
    """

    resource: str
    context: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    action: str | None = None

    @classmethod
    def on(
        cls, resource: str, context: Mapping[str, object] | None = None, *, action: str | None = None
    ) -> Target:
        """A target on ``resource`` with a read-only copy of ``context`` (``action``: another
        action than the operation's own, as ``iam:TagRole`` for the tags ``CreateRole`` sets)."""
        return cls(resource, MappingProxyType(dict(context or {})), action)


@dataclass(frozen=True, slots=True)
class Call:
    """One invocation: the validated parameters, the caller, the store and the request id.

    ``account_id`` and ``partition`` are the store's (they never change, so the service reads
    them once); empty, they are read from the store.
    """

    action: str
    params: Mapping[str, Any]
    caller: Caller
    store: IdentityService
    request_id: str = ""
    account_id: str = ""
    partition: str = ""

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The validated parameter ``name`` (AWS's member name, ``"UserName"``), or ``default``."""
        return self.params.get(name, default)

    def arn(self, resource: str) -> str:
        """``arn:<partition>:iam::<account>:<resource>``."""
        if self.account_id and self.partition:
            return f"arn:{self.partition}:iam::{self.account_id}:{resource}"
        account = self.store.account()
        return f"arn:{account.partition}:iam::{account.account_id}:{resource}"

    def user_arn(self, name: str) -> str:
        """The ARN of user ``name`` with its stored path (``/`` when there is no such user: the
        caller is then authorized on the ARN it would have, and apply answers NoSuchEntity)."""
        try:
            return self.store.get_user(name).arn
        except NoSuchEntityError:
            return self.arn(f"user/{name}")

    def group_arn(self, name: str) -> str:
        """The ARN of group ``name`` with its stored path (``/`` when there is no such group)."""
        try:
            return self.store.get_group(name).arn
        except NoSuchEntityError:
            return self.arn(f"group/{name}")

    def role_arn(self, name: str) -> str:
        """The ARN of role ``name`` with its stored path (``/`` when there is no such role)."""
        try:
            return self.store.get_role(name).arn
        except NoSuchEntityError:
            return self.arn(f"role/{name}")


Targets = Callable[[Call], Iterable[Target]]
Apply = Callable[[Call], Result]


@dataclass(frozen=True, slots=True)
class Operation:
    """One IAM action: ``targets`` to authorize, ``apply`` to run (see the module doc).

    ``mutates`` is ``False`` for reads (``Get*``/``List*``), which run without a write
    transaction.
    """

    action: str
    targets: Targets
    apply: Apply
    mutates: bool = True


#: Every declared operation by action name; filled by the ``ops_*`` modules at import
#: (``_registry.load`` imports them).
OPERATIONS: dict[str, Operation] = {}


def operation(action: str, *, targets: Targets, mutates: bool | None = None) -> Callable[[Apply], Apply]:
    """Register the decorated function as the apply step of IAM action ``action``.

    ``mutates`` defaults to ``False`` for ``Get*``/``List*``/``Generate*`` names, ``True`` otherwise.
    """
    if mutates is None:
        mutates = not action.startswith(("Get", "List", "Simulate"))

    def register(apply: Apply) -> Apply:
        if action in OPERATIONS:
            raise RuntimeError(f"IAM operation {action} is declared twice")
        OPERATIONS[action] = Operation(action, targets, apply, mutates)
        return apply

    return register


# ---------------------------------------------------------------------- condition keys


def request_tag_context(tags: Sequence[Mapping[str, str]] | None) -> dict[str, object]:
    """``aws:RequestTag/<key>`` for each tag passed and ``aws:TagKeys`` (all keys).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html#access_iam-tags_control-tagging"""
    if not tags:
        return {}
    found: dict[str, object] = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in tags}
    found["aws:TagKeys"] = tuple(t["Key"] for t in tags)
    return found


def resource_tag_context(tags: Iterable[tuple[str, str]]) -> dict[str, object]:
    """``iam:ResourceTag/<key>`` and ``aws:ResourceTag/<key>`` for an existing user or role's tags.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html#access_iam-tags_control-resources"""
    found: dict[str, object] = {}
    for key, value in tags:
        found[f"iam:ResourceTag/{key}"] = value
        found[f"aws:ResourceTag/{key}"] = value
    return found
