"""Built-in managed policies: shipped documents are valid identity policies with stable ARNs."""

from __future__ import annotations

import pytest

from iamguard.policy.model import Effect, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store.built_in import BUILT_IN_ACCOUNT, built_in_policies, get_built_in, is_built_in_arn


@pytest.mark.parametrize("name", sorted(built_in_policies()))
def test_documents_parse_as_identity_policies(name: str) -> None:
    policy = built_in_policies()[name]
    parsed = parse_policy(policy.document, name=policy.arn(), kind=PolicyKind.IDENTITY)
    assert parsed.statements and all(s.effect is Effect.ALLOW for s in parsed.statements)
    assert policy.record().policy_id == policy.record().policy_id  # stable across calls
    assert policy.record().policy_id.startswith("ANPA") and len(policy.record().policy_id) == 21


def test_expected_policies_and_namespace() -> None:
    assert {"AdministratorAccess", "ReadOnlyAccess", "IAMUserChangePassword"} <= set(built_in_policies())
    admin = built_in_policies()["AdministratorAccess"]
    assert admin.arn() == f"arn:aws:iam::{BUILT_IN_ACCOUNT}:policy/AdministratorAccess"
    assert parse_policy(admin.document).statements[0].action == ("*",)


@pytest.mark.parametrize(
    "arn,found",
    [
        ("arn:aws:iam::iamguard:policy/AdministratorAccess", True),
        ("arn:aws-cn:iam::iamguard:policy/ReadOnlyAccess", True),
        ("arn:aws:iam::iamguard:policy/Nope", False),
        ("arn:aws:iam::iamguard:policy/path/AdministratorAccess", False),
        ("arn:aws:iam::aws:policy/AdministratorAccess", False),  # AWS's own, deliberately not ours
        ("arn:aws:iam::123456789012:policy/AdministratorAccess", False),
    ],
)
def test_lookup_by_arn(arn: str, found: bool) -> None:
    assert (get_built_in(arn) is not None) is found
    assert is_built_in_arn(arn) is ("::iamguard:" in arn)
