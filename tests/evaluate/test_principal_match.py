"""Principal / NotPrincipal matching: how an element names the caller.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from iamguard.evaluate.principal_match import PrincipalMatch, compile_principal
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

A, B = "111122223333", "444455556666"
USER = Principal.from_arn(f"arn:aws:iam::{A}:user/alice")
SESSION = Principal.from_arn(f"arn:aws:sts::{A}:assumed-role/Admin/s1")
FEDERATED = Principal.from_arn(f"arn:aws:sts::{A}:federated-user/bob")
ROOT = Principal.from_arn(f"arn:aws:iam::{A}:root")
OTHER = Principal.from_arn(f"arn:aws:iam::{B}:user/carol")
SERVICE = dataclasses.replace(
    Principal.from_arn(f"arn:aws:iam::{A}:user/x"), arn="s3.amazonaws.com", is_service=True
)

ROLE = f"arn:aws:iam::{A}:role/Admin"
ROOT_ARN = f"arn:aws:iam::{A}:root"

M = PrincipalMatch

# (element, principal, how Principal matches, whether NotPrincipal exempts, rule)
ROWS: list[tuple[Any, Principal, PrincipalMatch, bool, str]] = [
    ("*", USER, M.ANY, True, "Principal * names everyone"),
    ({"AWS": "*"}, SESSION, M.ANY, True, "{AWS: *} names every AWS principal"),
    ({"AWS": USER.arn}, USER, M.DIRECT, True, "a user ARN names that user"),
    ({"AWS": USER.arn}, OTHER, M.NONE, False, "a user ARN names no one else"),
    (
        {"AWS": A},
        USER,
        M.ACCOUNT,
        False,
        "an account id names the account (delegation); NotPrincipal exempts only root",
    ),
    ({"AWS": ROOT_ARN}, USER, M.ACCOUNT, False, "the root ARN names the account, not the user itself"),
    ({"AWS": ROOT_ARN}, ROOT, M.DIRECT, True, "the root ARN names the root user"),
    ({"AWS": A}, ROOT, M.DIRECT, True, "the account id names the root user"),
    ({"AWS": ROOT_ARN}, OTHER, M.NONE, False, "another account's root does not name the caller"),
    (
        {"AWS": ROLE},
        SESSION,
        M.ROLE,
        False,
        "a role ARN names the role's sessions (capped); NotPrincipal needs the session ARN",
    ),
    ({"AWS": SESSION.arn}, SESSION, M.DIRECT, True, "a session ARN names that session"),
    ({"AWS": [SESSION.arn, ROLE, ROOT_ARN]}, SESSION, M.DIRECT, True, "the strongest naming wins"),
    (
        {"AWS": f"arn:aws:sts::{A}:assumed-role/Admin/other"},
        SESSION,
        M.NONE,
        False,
        "another session of the role",
    ),
    ({"AWS": FEDERATED.arn}, FEDERATED, M.DIRECT, True, "a federated-user ARN names that federated user"),
    ({"AWS": [ROLE, A]}, SESSION, M.ROLE, False, "role beats account"),
    ({"Service": "s3.amazonaws.com"}, SERVICE, M.DIRECT, True, "a service principal names that service"),
    ({"Service": "S3.amazonaws.com"}, SERVICE, M.DIRECT, True, "service names compare case-insensitively"),
    ({"Service": "s3.amazonaws.com"}, USER, M.NONE, False, "a service principal never names an IAM user"),
    ({"AWS": A}, SERVICE, M.NONE, False, "an account does not name a service"),
    (
        {"Federated": "cognito-identity.amazonaws.com"},
        SESSION,
        M.NONE,
        False,
        "Federated names an identity provider",
    ),
]


def _element(value: Any) -> Any:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": value, "Action": "s3:*", "Resource": "*"}],
    }
    block = parse_policy(document, kind=PolicyKind.RESOURCE).statements[0].principal
    assert block is not None
    return compile_principal(block)


@pytest.mark.parametrize(("value", "principal", "expected", "exempt", "rule"), ROWS, ids=[r[4] for r in ROWS])
def test_principal_element(
    value: Any, principal: Principal, expected: PrincipalMatch, exempt: bool, rule: str
) -> None:
    compiled = _element(value)
    assert compiled.match(principal) is expected, rule
    assert compiled.exempts(principal) is exempt, rule


def test_match_kinds_order_from_weakest_to_strongest() -> None:
    assert M.NONE < M.ACCOUNT < M.ROLE < M.ANY < M.DIRECT
    assert not M.NONE and M.ACCOUNT
