"""IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, TagUser, UntagUser, ListUserTags.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`. Authorization is on
the user's ARN (``arn:aws:iam::<acct>:user/<path><name>``) with ``iam:ResourceTag/*`` of an
existing user; CreateUser adds ``iam:PermissionsBoundary``, ``aws:RequestTag/*`` and
``aws:TagKeys`` (and needs ``iam:TagUser`` too when it tags); renaming needs the action on the
old and the new name.
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from iamguard.errors import IAMGuardError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation, request_tag_context, resource_tag_context
from iamguard.iam._paging import marker_key, max_items, page, page_result
from iamguard.iam._records import tag_list, user_value
from iamguard.principal import PrincipalType

__all__: list[str] = []


def _tags(call: Call) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in call.get("Tags") or ()}


def user_target(call: Call, name: str, extra: Mapping[str, object] | None = None) -> Target:
    """``iam:<Action>`` on user ``name`` with its tags as ``iam:ResourceTag/*`` (none when the
    user does not exist: apply then answers NoSuchEntity)."""
    try:
        user = call.store.get_user(name)
    except NoSuchEntityError:
        return Target.on(call.arn(f"user/{name}"), extra)
    return Target.on(user.arn, {**resource_tag_context(user.tags), **(extra or {})})


# ---------------------------------------------------------------------- create / get / list


def _create_targets(call: Call) -> Iterable[Target]:
    context: dict[str, object] = request_tag_context(call.get("Tags"))
    if call.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = call["PermissionsBoundary"]
    arn = call.arn(f"user{call.get('Path', '/')}{call['UserName']}")
    yield Target.on(arn, context)
    if call.get("Tags"):
        yield Target.on(arn, request_tag_context(call["Tags"]), action="iam:TagUser")


@operation("CreateUser", targets=_create_targets)
def create_user(call: Call) -> Result:
    user = call.store.create_user(
        call["UserName"],
        path=call.get("Path", "/"),
        tags=_tags(call),
        permissions_boundary=call.get("PermissionsBoundary"),
    )
    return {"User": user_value(user)}


def _caller_user_name(call: Call) -> str:
    """GetUser without UserName: the IAM user who signed the request."""
    name = call.caller.user_name
    if name is None:
        raise IAMGuardError(
            "Must specify userName when calling with non-User credentials",
            code="ValidationError",
            http_status=400,
        )
    return name


def _get_targets(call: Call) -> Iterable[Target]:
    if call.get("UserName") is None and call.caller.principal.type is PrincipalType.ACCOUNT:
        return [Target.on(call.caller.principal.arn)]
    return [user_target(call, call.get("UserName") or _caller_user_name(call))]


@operation("GetUser", targets=_get_targets)
def get_user(call: Call) -> Result:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUser.html: without a name,
    the caller (the root user answers with its account id and ARN)."""
    principal = call.caller.principal
    if call.get("UserName") is None and principal.type is PrincipalType.ACCOUNT:
        return {"User": {"UserId": principal.account, "Arn": principal.arn}}
    return {"User": user_value(call.store.get_user(call.get("UserName") or _caller_user_name(call)))}


def _list_targets(call: Call) -> Iterable[Target]:
    return [Target.on(call.arn(f"user{call.get('PathPrefix', '/')}*"))]


@operation("ListUsers", targets=_list_targets)
def list_users(call: Call) -> Result:
    """Only the page is read into records (``list_users_page``): a page of 100 costs the same
    whatever the account's size beyond the row scan."""
    users, truncated = call.store.list_users_page(
        path_prefix=call.get("PathPrefix", "/"), after=marker_key(call), limit=max_items(call)
    )
    rendered = [{**user_value(u, with_tags=False), "PermissionsBoundary": None} for u in users]
    return page_result("Users", rendered, truncated, users[-1].name.lower() if users else None)


# ---------------------------------------------------------------------- update / delete


def _update_targets(call: Call) -> Iterable[Target]:
    yield user_target(call, call["UserName"])
    if call.get("NewUserName") or call.get("NewPath"):
        current = user_target(call, call["UserName"]).resource.split(":user", 1)[1]
        path, _, name = current.rpartition("/")
        new_path = call.get("NewPath") or path + "/"
        yield Target.on(call.arn(f"user{new_path}{call.get('NewUserName') or name}"))


@operation("UpdateUser", targets=_update_targets)
def update_user(call: Call) -> Result:
    """Rename and/or move a user; AWS asks for the permission on both the old and the new name.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateUser.html"""
    call.store.update_user(call["UserName"], new_name=call.get("NewUserName"), new_path=call.get("NewPath"))
    return None


@operation("DeleteUser", targets=lambda call: [user_target(call, call["UserName"])])
def delete_user(call: Call) -> Result:
    """``DeleteConflict`` while the user has keys, a password, MFA, policies or groups."""
    call.store.delete_user(call["UserName"])
    return None


# ---------------------------------------------------------------------- tags


@operation(
    "TagUser",
    targets=lambda call: [user_target(call, call["UserName"], request_tag_context(call["Tags"]))],
)
def tag_user(call: Call) -> Result:
    call.store.tag_user(call["UserName"], _tags(call))
    return None


@operation(
    "UntagUser",
    targets=lambda call: [user_target(call, call["UserName"], {"aws:TagKeys": tuple(call["TagKeys"])})],
)
def untag_user(call: Call) -> Result:
    call.store.untag_user(call["UserName"], call["TagKeys"])
    return None


@operation("ListUserTags", targets=lambda call: [user_target(call, call["UserName"])])
def list_user_tags(call: Call) -> Result:
    tags = call.store.get_user(call["UserName"]).tags
    return page(call, tag_list(tags), "Tags", lambda t: t, key=lambda t: t["Key"])
