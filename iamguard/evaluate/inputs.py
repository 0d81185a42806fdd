"""What evaluation takes: one :class:`Request` and the :class:`PolicySet` that applies to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from iamguard.context import ContextValue
from iamguard.policy.model import Policy
from iamguard.principal import Principal

_EMPTY: Mapping[str, ContextValue] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Request:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?

    ``context`` holds the request's condition keys with lower-cased names (see
    ``iamguard.context.make_context``). Keys the principal determines (``aws:PrincipalArn``,
    ``aws:username``, tags, ...) are added by the evaluator; values given here win.
    """

    principal: Principal
    action: str
    resource: str = "*"
    context: Mapping[str, ContextValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every policy that takes part in one decision.

    * ``identity``: the principal's identity-based policies (user + groups, or the role).
    * ``boundary``: its permissions boundary, if any (``None``: no boundary, nothing capped).
    * ``session``: session policies of a role/federated session; ``None`` means none were
      passed (nothing capped), an empty tuple would deny everything.
    * ``resource``: the target resource's resource-based policy; ``resource_account`` is the
      account owning the resource (``None``: same account as the principal).
    """

    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    session: tuple[Policy, ...] | None = None
    resource: Policy | None = None
    resource_account: str | None = None
    generation: int = 0  # store generation the set was read at; part of cache keys
    #: The compiled form (``iamguard.evaluate.policy_set.CompiledPolicySet``: the action index
    #: across identity policies and the cache key part), attached on first evaluation. It
    #: belongs to this object, so it lives exactly as long as the set and is never rebuilt
    #: because some global table filled up. INVARIANT: the fields above are immutable.
    _compiled: Any = field(default=None, init=False, repr=False, compare=False, hash=False)
