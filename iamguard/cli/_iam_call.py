"""Who the administration commands act as, and the one way they reach IAM state: the IAM operations.

Every ``iamguard user/group/role/policy/access-key/mfa/login-profile/password-policy/account``
verb that reads or changes identities runs IAM actions through
:meth:`~iamguard.iam.IamService.call` with AWS's parameters, so the command line validates
exactly as the IAM API does and each action is authorized as ``iam:<Action>`` on its target,
in one store transaction, audited.

The caller is the account's root user (an operator at the keyboard) unless told otherwise:

* ``--as-user NAME``: IAM user ``NAME``, to see what a delegated administrator may do;
* ``--access-key-id ID``: the owner of access key ``ID`` (an IAM user, or the root user for a
  root key); an inactive key is refused, as AWS refuses it;
* ``--env-credentials``: the owner of ``$AWS_ACCESS_KEY_ID``, whose ``$AWS_SECRET_ACCESS_KEY``
  must match the stored secret (compared in constant time), as a script holding a key would be.

A refused action exits 1 with ``AccessDenied`` and the denial's explanation ("... because no
identity-based policy allows the iam:CreateUser action").
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_controlling.html
"""

from __future__ import annotations

import argparse
import hmac
import os
from collections.abc import Mapping
from typing import Any

from iamguard.cli import _store_args
from iamguard.cli._store_args import caller_options, open_from_args
from iamguard.errors import IAMGuardError, InvalidAccessKeyError, InvalidParameterError
from iamguard.iam import Caller, IamService, root_caller, user_caller
from iamguard.store.records import AccessKeyStatus
from iamguard.store.service import IdentityService

__all__ = ["Iam", "iam", "policy_arn"]

_ATTR = "_iamguard_iam"


class Iam:
    """IAM actions on one store as one caller: ``iam("CreateUser", {"UserName": "bob"})``."""

    def __init__(self, store: IdentityService, caller: Caller | None = None) -> None:
        self.store = store
        self.service = IamService(store)
        self.caller = caller or self.service.root()

    def __call__(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The action's result keyed by AWS's member names (``{}`` for actions without output)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        return dict(self.service.call(action, params, caller=self.caller) or {})

    def all(self, action: str, params: Mapping[str, Any] | None, *members: str) -> dict[str, Any]:
        """A listing action's every page (``Marker``), merged as the AWS CLI merges them: each
        of ``members`` holds the items of every page, ``IsTruncated``/``Marker`` are gone."""
        request = dict(params or {})
        items: dict[str, list[Any]] = {member: [] for member in members}
        while True:
            result = self(action, request)
            for member in members:
                items[member] += result.get(member) or []
            if not result.get("IsTruncated"):
                break
            request["Marker"] = result["Marker"]
        result.pop("IsTruncated", None)
        result.pop("Marker", None)
        return {**result, **items}


def iam(args: argparse.Namespace) -> Iam:
    """The store ``args`` names and the caller its options name (opened once per command)."""
    found = getattr(args, _ATTR, None)
    if isinstance(found, Iam):
        return found
    store = open_from_args(args)
    made = Iam(store, _caller(store, args))
    setattr(args, _ATTR, made)
    return made


def _caller(store: IdentityService, args: argparse.Namespace) -> Caller | None:
    chosen = caller_options(args)
    if len(chosen) > 1:
        options = ", ".join(chosen)
        raise InvalidParameterError(f"name one caller, not {options}")
    if getattr(args, "as_user", None):
        return user_caller(store, args.as_user)
    if getattr(args, "caller_key_id", None):
        return _key_owner(store, args.caller_key_id, None)
    if getattr(args, "env_credentials", False):
        key_id = os.environ.get("AWS_ACCESS_KEY_ID", "")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not key_id or not secret:
            raise InvalidParameterError(
                "--env-credentials needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
            )
        if os.environ.get("AWS_SESSION_TOKEN"):
            # a role session's credentials are verified with the STS keyring, which the
            # command line does not hold; refusing beats acting as someone else
            raise InvalidParameterError(
                "--env-credentials takes a long-term access key; unset AWS_SESSION_TOKEN "
                "(role session credentials are not supported by the command line)"
            )
        return _key_owner(store, key_id, secret)
    return None


def _key_owner(store: IdentityService, key_id: str, secret: str | None) -> Caller:
    """The owner of an active access key; with ``secret``, only if it is the key's secret."""
    found = store.get_access_key(key_id)
    refused = InvalidAccessKeyError(
        "The security token included in the request is invalid (no active access key with that id "
        "and secret in this store)"
    )
    if found is None:
        raise refused
    key, stored = found
    if secret is not None and not hmac.compare_digest(secret.encode(), stored.encode()):
        raise refused
    if key.status is not AccessKeyStatus.ACTIVE:
        raise refused
    if key.user_name is None:
        return root_caller(store)
    try:
        return user_caller(store, key.user_name)
    except IAMGuardError:  # pragma: no cover - a key outlives no user (DeleteUser refuses)
        raise refused from None


def policy_arn(call: Iam, name_or_arn: str) -> str:
    """A managed policy's ARN from its ARN or a bare name (see :func:`_store_args.policy_arn`);
    a name is looked up after ``ListPolicies`` is allowed to the caller."""
    if not name_or_arn.startswith("arn:"):
        call("ListPolicies", {"Scope": "Local", "MaxItems": 1})
    return _store_args.policy_arn(call.store, name_or_arn)
