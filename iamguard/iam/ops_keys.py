"""Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey, GetAccessKeyLastUsed.

Part of ``iam/``. Without ``UserName`` an action acts on the caller's own keys (an IAM user's,
or the root user's), as AWS determines the user from the signing key. Authorization is on the
user's ARN (the root's own ARN for its keys). The secret exists only in CreateAccessKey's answer.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html
"""

from __future__ import annotations

from iamguard.errors import IAMGuardError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._paging import page
from iamguard.iam._records import access_key_metadata
from iamguard.iam.ops_users import user_target
from iamguard.lookups import AccessKey
from iamguard.store._aws_messages import aws_message

__all__: list[str] = []


def _user_name(call: Call) -> str | None:
    """The user the call is about: ``UserName``, else the signing IAM user, else ``None`` (root)."""
    name: str | None = call.get("UserName")
    if name is not None:
        return name
    if call.caller.is_root:
        return None
    if call.caller.user_name is None:
        raise IAMGuardError(
            "Must specify userName when calling with non-User credentials",
            code="ValidationError",
            http_status=400,
        )
    return call.caller.user_name


def _targets(call: Call) -> list[Target]:
    name = _user_name(call)
    if name is None:
        return [Target.on(call.caller.principal.arn)]
    return [user_target(call, name)]


def _owned_key(call: Call) -> AccessKey:
    """The key ``AccessKeyId`` names, which must be the user's (NoSuchEntity otherwise)."""
    key_id = call["AccessKeyId"]
    name = _user_name(call)
    if name is not None:
        call.store.get_user(name)  # NoSuchEntity for an unknown user
    for key in call.store.list_access_keys(name):
        if key.access_key_id == key_id:
            return key
    raise NoSuchEntityError(aws_message("no_such_access_key", key_id=key_id))


@operation("CreateAccessKey", targets=_targets)
def create_access_key(call: Call) -> Result:
    created = call.store.create_access_key(_user_name(call))
    return {
        "AccessKey": {
            **access_key_metadata(created.access_key, None),
            "SecretAccessKey": created.secret_access_key,
        }
    }


@operation("ListAccessKeys", targets=_targets)
def list_access_keys(call: Call) -> Result:
    name = _user_name(call)
    keys = call.store.list_access_keys(name)
    return page(
        call, keys, "AccessKeyMetadata", lambda k: access_key_metadata(k, name), key=lambda k: k.access_key_id
    )


@operation("UpdateAccessKey", targets=_targets)
def update_access_key(call: Call) -> Result:
    if call["Status"] not in ("Active", "Inactive"):
        raise IAMGuardError("Status must be Active or Inactive", code="ValidationError", http_status=400)
    call.store.update_access_key(_owned_key(call).access_key_id, call["Status"])
    return None


@operation("DeleteAccessKey", targets=_targets)
def delete_access_key(call: Call) -> Result:
    call.store.delete_access_key(_owned_key(call).access_key_id)
    return None


def _last_used_targets(call: Call) -> list[Target]:
    try:
        key, _, _ = call.store.access_key_last_used(call["AccessKeyId"])
    except NoSuchEntityError:
        return [Target.on(call.arn("user/*"))]
    if key.user_name is None:
        return [Target.on(key.owner_arn)]
    return [user_target(call, key.user_name)]


@operation("GetAccessKeyLastUsed", targets=_last_used_targets)
def get_access_key_last_used(call: Call) -> Result:
    """Service and region are ``N/A`` for a key never used, as AWS answers."""
    key, service, region = call.store.access_key_last_used(call["AccessKeyId"])
    return {
        "UserName": key.user_name,
        "AccessKeyLastUsed": {
            "LastUsedDate": key.last_used_date,
            "ServiceName": service or "N/A",
            "Region": region or "N/A",
        },
    }
