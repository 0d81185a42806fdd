"""AWS's own words for IAM's ``NoSuchEntity`` and ``EntityAlreadyExists`` errors, in one table.

Part of ``store/``; pure. Each entry is ``key: (template, source)``: the template is the text
AWS's IAM API answers (``str.format`` fields named for what they hold), the source is where that
exact text was seen as a real AWS answer (an SDK/CLI user's report quoting the response, or an
emulator that checks its texts against AWS). The store raises with these, so the IAM API,
``iamguard serve``, the CLI and the console all say what AWS says.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MESSAGES", "aws_message"]

_MOTO = "https://github.com/getmoto/moto/blob/master/moto/iam/models.py"

#: key -> (AWS's text, where it was seen)
MESSAGES: Mapping[str, tuple[str, str]] = {
    "user_exists": (
        "User with name {name} already exists.",
        "https://github.com/ucopacme/aws-orgs/issues/12 (CreateUser)",
    ),
    "no_such_user": (
        "The user with name {name} cannot be found.",
        f"{_MOTO} (get_user); https://github.com/fog/fog-aws (RemoveUserFromGroup mock)",
    ),
    "group_exists": (
        "Group with name {name} already exists.",
        "AWS CreateGroup answer; same form as User/Role with name ... already exists",
    ),
    "no_such_group": (
        "The group with name {name} cannot be found.",
        f"{_MOTO} (get_group, update_group)",
    ),
    "role_exists": (
        "Role with name {name} already exists.",
        f"{_MOTO} (create_role)",
    ),
    "no_such_role": (
        "The role with name {name} cannot be found.",
        "https://github.com/jarpy/lambkin/pull/3 (GetRole); "
        "https://github.com/aws-samples/amazon-eks-security-immersion-day/issues/54",
    ),
    "policy_exists": (
        "A policy called {name} already exists. Duplicate names are not allowed.",
        f"{_MOTO} (create_policy)",
    ),
    "no_such_policy": (
        "Policy {arn} was not found.",
        f"{_MOTO} (get_policy, detach_*_policy)",
    ),
    "policy_not_attachable": (
        "Policy {arn} does not exist or is not attachable.",
        "https://github.com/getmoto/moto/pull/6482 (AttachRolePolicy, quoting AWS); "
        "https://github.com/pulumi/pulumi/issues/7419",
    ),
    "no_such_policy_version": (
        "Policy {arn} version {version} does not exist or is not attachable.",
        f"{_MOTO} (get_policy_version)",
    ),
    "no_such_user_policy": (
        "The user policy with name {name} cannot be found.",
        "same form as the role policy text (GetUserPolicy, DeleteUserPolicy)",
    ),
    "no_such_group_policy": (
        "The group policy with name {name} cannot be found.",
        "same form as the role policy text (GetGroupPolicy, DeleteGroupPolicy)",
    ),
    "no_such_role_policy": (
        "The role policy with name {name} cannot be found.",
        "https://github.com/aws/aws-cli/issues/6139 (DeleteRolePolicy)",
    ),
    "no_such_access_key": (
        "The Access Key with id {key_id} cannot be found.",
        f"{_MOTO} (update_access_key, delete_access_key)",
    ),
    "login_profile_exists": (
        "Login Profile for user {name} already exists.",
        "https://github.com/getmoto/moto (create_login_profile)",
    ),
    "no_such_login_profile": (
        "Login Profile for User {name} cannot be found.",
        "AWS GetLoginProfile answer for a user without a console password",
    ),
    "mfa_device_exists": (
        "MFADevice entity at the same path and name already exists.",
        f"{_MOTO} (create_virtual_mfa_device)",
    ),
    "no_such_mfa_device": (
        "VirtualMFADevice with serial number {serial} doesn't exist.",
        f"{_MOTO} (delete_virtual_mfa_device)",
    ),
}


def aws_message(key: str, **fields: object) -> str:
    """AWS's text for ``key`` with ``fields`` filled in (``KeyError`` for an unknown key)."""
    return MESSAGES[key][0].format(**fields)
