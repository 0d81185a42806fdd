"""Names are unique without regard to case and kept as written, for every kind of entity
(properties over any valid name, through the operations layer).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import EntityAlreadyExistsError
from iamguard.iam import IamService

from ._endpoint import memory_store

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
_names = st.from_regex(r"[A-Za-z][\w+=,.@-]{0,40}", fullmatch=True).filter(lambda s: s.isascii())
_CREATE = {
    "user": ("CreateUser", "UserName", {}),
    "group": ("CreateGroup", "GroupName", {}),
    "role": ("CreateRole", "RoleName", {"AssumeRolePolicyDocument": TRUST}),
    "policy": ("CreatePolicy", "PolicyName", {"PolicyDocument": DOC}),
}


@pytest.mark.parametrize("kind", sorted(_CREATE))
@settings(max_examples=25, deadline=None)
@given(name=_names)
def test_a_case_variant_is_the_same_name(kind: str, name: str) -> None:
    service = IamService(memory_store())
    root = service.root()
    action, param, extra = _CREATE[kind]
    service.call(action, {param: name, **extra}, caller=root)
    variant = name.swapcase()  # differs: every generated name starts with a letter
    assert variant != name
    with pytest.raises(EntityAlreadyExistsError):
        service.call(action, {param: variant, **extra}, caller=root)
    if kind == "policy":
        found = service.call("ListPolicies", {"Scope": "Local"}, caller=root)
        assert found is not None and [p["PolicyName"] for p in found["Policies"]] == [name]
        return
    getter = {"user": "GetUser", "group": "GetGroup", "role": "GetRole"}[kind]
    answer = service.call(getter, {param: variant}, caller=root)
    assert answer is not None
    key = {"user": "User", "group": "Group", "role": "Role"}[kind]
    assert answer[key][param] == name  # as written at creation, whatever case was asked
