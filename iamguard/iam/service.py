"""The IAM operations layer: validate, authorize ``iam:<Action>``, apply in one transaction, audit.

Part of ``iam/``; what the IAM API endpoint, the command line and the console call. One call of
:meth:`IamService.call` runs the whole of an IAM action:

1. find the operation (``InvalidAction`` if iamguard has none by that name);
2. validate the parameters against AWS's input shape (``ValidationError``, every problem listed);
3. authorize each of the operation's targets for the caller with iamguard's own evaluator
   (``AccessDenied`` with AWS's wording; the root user may do anything in its account);
4. apply it: a changing action runs in one store transaction (all of it happens or none), which
   also holds step 3's reads, so what was authorized is what changes;
5. audit: the decisions go to the guard's audit sink, the applied change to the
   ``iamguard.iam`` logger (action, caller, request id; never a secret).

Errors are :class:`~iamguard.errors.IAMGuardError` subclasses carrying AWS's IAM error codes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from iamguard.iam._caller import Authorizer, Caller, root_caller, user_caller
from iamguard.iam._model import input_shape, validate
from iamguard.iam._operation import Call, Operation, Result
from iamguard.iam._registry import find, operations

if TYPE_CHECKING:
    from iamguard.store.service import IdentityService

__all__ = ["IamService"]

_log = logging.getLogger("iamguard.iam")


class IamService:
    """IAM's actions over one identity store (one account).

    ``authorizer`` decides ``iam:<Action>`` (default: a :class:`~iamguard.enforce.guard.Guard`
    over ``store``; pass the endpoint's guard to share its caches and audit sink).
    """

    def __init__(self, store: IdentityService, *, authorizer: Authorizer | None = None) -> None:
        self.store = store
        self.authorizer = authorizer or Authorizer.for_store(store)
        account = store.account()  # id and partition never change: read once
        self._account = (account.account_id, account.partition)

    def root(self) -> Caller:
        """The account's root user as a caller (the CLI's default operator)."""
        return root_caller(self.store)

    def as_user(self, user_name: str) -> Caller:
        """IAM user ``user_name`` as a caller (``--as-user``)."""
        return user_caller(self.store, user_name)

    @staticmethod
    def actions() -> frozenset[str]:
        """The IAM actions this service implements."""
        return frozenset(operations())

    def call(
        self, action: str, params: Mapping[str, Any] | None = None, *, caller: Caller, request_id: str = ""
    ) -> Result:
        """Run IAM action ``action`` with AWS's parameters (typed: ``{"UserName": "bob",
        "Tags": [{"Key": "team", "Value": "a"}]}``) as ``caller``; the result keyed by AWS's
        output member names, ``None`` for actions without output."""
        op = find(action)
        shape = input_shape(action)
        checked = validate(shape, params or {}) if shape is not None else {}
        request_id = request_id or str(uuid.uuid4())
        call = Call(action, MappingProxyType(checked), caller, self.store, request_id, *self._account)
        if not op.mutates:
            self._authorize(op, call)
            return op.apply(call)
        # One transaction for the targets' reads, the decisions and the change: what was
        # authorized (a user's tags, its boundary) is what gets changed.
        with self.store.atomic():
            self._authorize(op, call)
            result = op.apply(call)
        _log.info("IAM %s by %s applied (request %s)", action, caller.principal.arn, request_id)
        return result

    def _authorize(self, op: Operation, call: Call) -> None:
        """Each of the operation's targets must be allowed (AccessDenied otherwise)."""
        for target in op.targets(call):
            self.authorizer.check(
                call.caller, target.action or f"iam:{call.action}", target.resource, target.context
            )
