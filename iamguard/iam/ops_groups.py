"""IAM groups: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup, AddUserToGroup,
RemoveUserFromGroup, ListGroupsForUser.

Part of ``iam/``. Authorization is on the group's ARN (``arn:aws:iam::<acct>:group/<path><name>``);
ListGroupsForUser is on the user's. Groups carry no tags in IAM.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
"""

from __future__ import annotations

from collections.abc import Iterable

from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._paging import page
from iamguard.iam._records import group_value, user_value
from iamguard.iam.ops_users import user_target

__all__: list[str] = []


def group_target(call: Call, name: str) -> Target:
    return Target.on(call.group_arn(name))


@operation(
    "CreateGroup",
    targets=lambda call: [Target.on(call.arn(f"group{call.get('Path', '/')}{call['GroupName']}"))],
)
def create_group(call: Call) -> Result:
    group = call.store.create_group(call["GroupName"], path=call.get("Path", "/"))
    return {"Group": group_value(group)}


@operation("GetGroup", targets=lambda call: [group_target(call, call["GroupName"])])
def get_group(call: Call) -> Result:
    """The group and a page of its members."""
    group = call.store.get_group(call["GroupName"])
    members = call.store.get_group_members(call["GroupName"])
    result = page(
        call, members, "Users", lambda u: user_value(u, with_tags=False), key=lambda u: u.name.lower()
    )
    return {"Group": group_value(group), **result}


@operation("ListGroups", targets=lambda call: [Target.on(call.arn(f"group{call.get('PathPrefix', '/')}*"))])
def list_groups(call: Call) -> Result:
    groups = call.store.list_groups(path_prefix=call.get("PathPrefix", "/"))
    return page(call, groups, "Groups", group_value, key=lambda g: g.name.lower())


def _update_targets(call: Call) -> Iterable[Target]:
    current = group_target(call, call["GroupName"])
    yield current
    if call.get("NewGroupName") or call.get("NewPath"):
        path, _, name = current.resource.split(":group", 1)[1].rpartition("/")
        new_path = call.get("NewPath") or path + "/"
        yield Target.on(call.arn(f"group{new_path}{call.get('NewGroupName') or name}"))


@operation("UpdateGroup", targets=_update_targets)
def update_group(call: Call) -> Result:
    """Rename and/or move; the permission is needed on the old and the new name.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateGroup.html"""
    call.store.update_group(
        call["GroupName"], new_name=call.get("NewGroupName"), new_path=call.get("NewPath")
    )
    return None


@operation("DeleteGroup", targets=lambda call: [group_target(call, call["GroupName"])])
def delete_group(call: Call) -> Result:
    """``DeleteConflict`` while the group has members or policies."""
    call.store.delete_group(call["GroupName"])
    return None


@operation("AddUserToGroup", targets=lambda call: [group_target(call, call["GroupName"])])
def add_user_to_group(call: Call) -> Result:
    call.store.add_user_to_group(call["GroupName"], call["UserName"])
    return None


@operation("RemoveUserFromGroup", targets=lambda call: [group_target(call, call["GroupName"])])
def remove_user_from_group(call: Call) -> Result:
    call.store.remove_user_from_group(call["GroupName"], call["UserName"])
    return None


@operation("ListGroupsForUser", targets=lambda call: [user_target(call, call["UserName"])])
def list_groups_for_user(call: Call) -> Result:
    groups = call.store.list_groups_for_user(call["UserName"])
    return page(call, groups, "Groups", group_value, key=lambda g: g.name.lower())
