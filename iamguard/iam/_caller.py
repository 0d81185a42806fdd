"""Who calls an IAM operation, and whether iamguard's own policies let them.

Part of ``iam/``. A :class:`Caller` is an :class:`~iamguard.authn.authenticators.Authenticated`:
the principal a SigV4 request proved (long-term key, or an STS session whose session policies
it carries), the account's root user (the CLI's default operator at the keyboard), or a named
IAM user (``--as-user``, so an administrator can see what a delegated administrator may do).

:class:`Authorizer` answers "may this caller do ``iam:<Action>`` on this ARN with these
condition keys?" through a :class:`~iamguard.enforce.guard.Guard` over the same store: the
caller's identity policies, groups, permissions boundary and session policies are resolved and
evaluated exactly as for any guarded request, and each decision goes to the guard's audit sink.
The root user is allowed everything in its own account, as in AWS.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from iamguard.authn.authenticators import Authenticated
from iamguard.enforce.guard import Guard
from iamguard.principal import Principal, PrincipalType

if TYPE_CHECKING:
    from iamguard.decision import Decision
    from iamguard.store.service import IdentityService

__all__ = ["Authorizer", "Caller", "root_caller", "user_caller"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal an operation runs as, with how it was authenticated."""

    authenticated: Authenticated

    @property
    def principal(self) -> Principal:
        """Who is calling: the IAM user, role session or root user the decision is made for."""
        return self.authenticated.principal

    @property
    def is_root(self) -> bool:
        """Whether the caller is the account's root user (which IAM lets do anything)."""
        return self.principal.type is PrincipalType.ACCOUNT

    @property
    def user_name(self) -> str | None:
        """The IAM user's name when the caller is an IAM user signing with its own key."""
        return self.principal.name if self.principal.type is PrincipalType.USER else None

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        """A caller for ``principal`` as the application vouches for it (no request signature:
        the command line, the console, tests)."""
        return cls(Authenticated(principal, method="explicit"))


def root_caller(store: IdentityService) -> Caller:
    """The account's root user: what the command line acts as unless told otherwise."""
    account = store.account()
    return Caller.of(
        Principal(account.root_arn, account.account_id, PrincipalType.ACCOUNT, user_id=account.account_id)
    )


def user_caller(store: IdentityService, user_name: str) -> Caller:
    """IAM user ``user_name`` of the store (``NoSuchEntityError`` when there is none)."""
    user = store.get_user(user_name)
    account = store.account().account_id
    return Caller.of(
        Principal(
            user.arn,
            account,
            PrincipalType.USER,
            user_id=user.user_id,
            name=user.name,
            tags=MappingProxyType(dict(user.tags)),
        )
    )


class Authorizer:
    """Decides ``iam:<Action>`` for a caller with the store's own policies (see the module doc)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    @classmethod
    def for_store(cls, store: IdentityService) -> Authorizer:
        """An authorizer over a new :class:`~iamguard.enforce.guard.Guard` of ``store``."""
        return cls(Guard(store))

    def check(
        self, caller: Caller, action: str, resource: str, context: Mapping[str, object] | None = None
    ) -> Decision:
        """The Allow decision; raises :class:`~iamguard.errors.EncodedAccessDeniedError`
        (``AccessDenied``, 403, AWS's "User: ... is not authorized to perform" wording) otherwise."""
        return self.guard.check(caller.authenticated, action, resource, context=context or None)
