"""Stage 3: principal → PolicySet, through the flow and its sync and async drivers."""

from __future__ import annotations

import asyncio

import pytest

from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.resolve import (
    GetGeneration,
    ResolvePrincipal,
    resolve_flow,
    resolve_policy_set,
    run_async,
    run_sync,
    store_arn,
)
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind, ResolvedPrincipal
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService

from .enforce.async_store import AsyncStore

ACCOUNT = "444455556666"
BOX = SecretBox({"t": bytes(32)}, "t")
READ_ONLY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::iamguard:policy/AdministratorAccess"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _doc(action: str) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


@pytest.fixture
def store() -> IdentityService:
    s = open_store("memory://", account_id=ACCOUNT, secret_box=BOX)
    s.create_user("alice", path="/eng/", permissions_boundary=ADMIN)
    s.put_inline_policy(PrincipalKind.USER, "alice", "own", _doc("s3:ListBucket"))
    s.create_group("devs")
    s.add_user_to_group("devs", "alice")
    s.attach_group_policy("devs", READ_ONLY)
    s.create_role("Deployer", TRUST, path="/ci/")
    s.put_inline_policy(PrincipalKind.ROLE, "Deployer", "deploy", _doc("codedeploy:*"))
    s.put_role_permissions_boundary("Deployer", READ_ONLY)
    return s


def test_user_gets_own_and_group_policies_and_boundary(store: IdentityService) -> None:
    # Identity policies of a user include its groups' policies; the boundary caps them.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    principal = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/eng/alice")
    policies = resolve_policy_set(principal, store)
    assert [p.name for p in policies.identity] == ["user/alice/inline/own", READ_ONLY]
    assert policies.boundary is not None and policies.boundary.name == ADMIN
    assert policies.session is None and policies.generation == store.generation()


def test_role_session_resolves_to_its_role(store: IdentityService) -> None:
    # STS session ARNs omit the role's path; the session is governed by the role's policies.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
    principal = Principal.from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/build-42")
    assert store_arn(principal) == f"arn:aws:iam::{ACCOUNT}:role/Deployer"
    policies = resolve_policy_set(principal, store)
    assert [p.name for p in policies.identity] == ["role/Deployer/inline/deploy"]
    assert policies.boundary is not None and policies.boundary.name == READ_ONLY


def test_session_policies_pass_through(store: IdentityService) -> None:
    # Session policies come with the session, not from the store; an empty list still caps.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    session = parse_policy(_doc("codedeploy:GetDeployment"), kind="identity")  # type: ignore[arg-type]
    principal = Principal.from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/s")
    assert resolve_policy_set(principal, store, session_policies=[session]).session == (session,)
    assert resolve_policy_set(principal, store, session_policies=[]).session == ()


def test_root_has_no_identity_policies(store: IdentityService) -> None:
    policies = resolve_policy_set(Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:root"), store)
    assert policies.identity == () and policies.boundary is None


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:user/ghost",
        f"arn:aws:iam::{ACCOUNT}:user/alice",  # wrong path
        "arn:aws:iam::999988887777:user/eng/alice",  # another account
        f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
    ],
)
def test_unknown_principals_get_nothing(store: IdentityService, arn: str) -> None:
    # Fail closed: no policies means evaluation ends in an implicit deny.
    policies = resolve_policy_set(Principal.from_arn(arn), store)
    assert policies == PolicySet(generation=store.generation())


def test_flow_yields_lookups_and_takes_answers() -> None:
    principal = Principal(f"arn:aws:iam::{ACCOUNT}:user/x", ACCOUNT, PrincipalType.USER, name="x")
    flow = resolve_flow(principal)
    assert next(flow) == ResolvePrincipal(f"arn:aws:iam::{ACCOUNT}:user/x")
    answer = ResolvedPrincipal(principal.arn, "user", "x", "AIDAX", ACCOUNT, (), None, 7)
    with pytest.raises(StopIteration) as done:
        flow.send(answer)
    assert done.value.value == PolicySet(generation=7)
    flow = resolve_flow(principal)
    next(flow)
    assert flow.send(None) == GetGeneration()
    with pytest.raises(TypeError):
        flow.send("not a generation")


def test_async_driver_matches_sync(store: IdentityService) -> None:
    for arn in (
        f"arn:aws:iam::{ACCOUNT}:user/eng/alice",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/s",
        f"arn:aws:iam::{ACCOUNT}:user/ghost",
    ):
        principal = Principal.from_arn(arn)
        expected = run_sync(resolve_flow(principal), store)
        assert asyncio.run(run_async(resolve_flow(principal), AsyncStore(store))) == expected


def test_policy_set_follows_writes(store: IdentityService) -> None:
    principal = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/eng/alice")
    before = resolve_policy_set(principal, store)
    store.remove_user_from_group("devs", "alice")
    after = resolve_policy_set(principal, store)
    assert after.generation > before.generation
    assert [p.name for p in after.identity] == ["user/alice/inline/own"]
