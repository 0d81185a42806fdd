"""The identity store's behaviour contract, run by every backend.

A backend's test module subclasses :class:`StoreContract` and provides one fixture, ``backend``
(a fresh, empty :class:`~iamguard.store.protocols.StoreBackend`), as cachetools' cache policies
reuse one ``CacheTestMixin``. A PostgreSQL module needs nothing more::

    class TestPostgresStore(StoreContract):
        @pytest.fixture
        def backend(self): ...  # a PostgresBackend on an emptied test schema

Rules checked here cite the AWS page they come from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from iamguard.errors import (
    ConcurrentModificationError,
    DeleteConflictError,
    EntityAlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
    PolicyError,
    PolicyValidationError,
)
from iamguard.store import mfa
from iamguard.store.passwords import LockoutPolicy, PasswordPolicy
from iamguard.store.protocols import IdentityAdmin, PolicySource, StoreBackend
from iamguard.store.records import AccessKeyStatus, PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService, Quotas

DATA = Path(__file__).resolve().parent.parent / "data" / "store"
NAME_ROWS = json.loads((DATA / "names.json").read_text())["rows"]

BOX = SecretBox({"test": bytes(range(32))}, "test")
T0 = 1_800_000_000.0
ACCOUNT = "111122223333"
PASSWORD = "Corr3ct-Horse!"


def doc(
    action: str | list[str] = "s3:GetObject", resource: str = "*", effect: str = "Allow"
) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": action, "Resource": resource}],
    }


TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class StoreContract:
    """Behaviour every storage backend must show through :class:`IdentityService`."""

    @pytest.fixture
    def backend(self) -> Iterator[StoreBackend]:  # pragma: no cover - overridden
        raise NotImplementedError("a backend test module provides the 'backend' fixture")

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def store(self, backend: StoreBackend, clock: Clock) -> IdentityService:
        return IdentityService(backend, account_id=ACCOUNT, secret_box=BOX, clock=clock)

    @pytest.fixture
    def small(self, backend: StoreBackend, clock: Clock) -> IdentityService:
        """A store with tiny quotas so limits are reached in a few steps."""
        quotas = Quotas(groups_per_user=2, managed_policies_per_user=2, access_keys_per_user=1, users=3)
        return IdentityService(backend, account_id=ACCOUNT, secret_box=BOX, clock=clock, quotas=quotas)

    # ------------------------------------------------------------ protocols and account

    def test_service_conforms_to_protocols(self, store: IdentityService) -> None:
        assert isinstance(store, PolicySource)
        assert isinstance(store, IdentityAdmin)

    def test_account_id_is_fixed_once_created(self, store: IdentityService, backend: StoreBackend) -> None:
        assert store.account().account_id == ACCOUNT
        assert IdentityService(backend, secret_box=BOX).account().account_id == ACCOUNT
        with pytest.raises(InvalidInputError):
            IdentityService(backend, account_id="999999999999", secret_box=BOX)

    @pytest.mark.parametrize("kind,value,valid", [r for r in NAME_ROWS if r[0] == "alias"])
    def test_account_alias_rules(self, store: IdentityService, kind: str, value: str, valid: bool) -> None:
        if valid:
            store.create_account_alias(value)
            assert store.account().alias == value
            store.delete_account_alias(value)
            assert store.account().alias is None
        else:
            with pytest.raises(InvalidInputError):
                store.create_account_alias(value)

    def test_password_policy_lifecycle(self, store: IdentityService) -> None:
        # While no custom policy is set AWS applies its default policy and GetAccountPasswordPolicy
        # answers NoSuchEntity. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountPasswordPolicy.html
        with pytest.raises(NoSuchEntityError):
            store.get_account_password_policy()
        assert store.effective_password_policy() == PasswordPolicy()
        custom = PasswordPolicy(minimum_password_length=14, require_symbols=True, minimum_character_types=0)
        store.update_account_password_policy(custom)
        assert store.get_account_password_policy() == custom
        with pytest.raises(InvalidInputError):
            store.update_account_password_policy(PasswordPolicy(minimum_password_length=5))
        store.delete_account_password_policy()
        with pytest.raises(NoSuchEntityError):
            store.delete_account_password_policy()

    # ------------------------------------------------------------ names

    @pytest.mark.parametrize("kind,value,valid", [r for r in NAME_ROWS if r[0] != "alias"])
    def test_name_and_path_rules(self, store: IdentityService, kind: str, value: str, valid: bool) -> None:
        create: dict[str, Callable[[], object]] = {
            "user": lambda: store.create_user(value),
            "group": lambda: store.create_group(value),
            "role": lambda: store.create_role(value, TRUST),
            "policy": lambda: store.create_policy(value, doc()),
            "path": lambda: store.create_user("pathuser", path=value),
        }
        if valid:
            create[kind]()
        else:
            with pytest.raises(InvalidInputError):
                create[kind]()

    # ------------------------------------------------------------ users

    def test_user_crud(self, store: IdentityService) -> None:
        user = store.create_user("Alice", path="/eng/", tags={"team": "data"})
        assert user.arn == f"arn:aws:iam::{ACCOUNT}:user/eng/Alice"
        assert user.user_id.startswith("AIDA") and len(user.user_id) == 21
        assert user.tags == (("team", "data"),)
        assert store.get_user("alice") == user  # lookups ignore case
        store.create_user("bob")
        assert [u.name for u in store.list_users()] == ["Alice", "bob"]
        assert [u.name for u in store.list_users(path_prefix="/eng/")] == ["Alice"]
        store.delete_user("bob")
        with pytest.raises(NoSuchEntityError):
            store.get_user("bob")

    def test_names_are_unique_regardless_of_case(self, store: IdentityService) -> None:
        # "you can't create resources named both MyResource and myresource"
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names
        store.create_user("alice")
        with pytest.raises(EntityAlreadyExistsError):
            store.create_user("ALICE")
        store.create_policy("P", doc())
        with pytest.raises(EntityAlreadyExistsError):
            store.create_policy("p", doc())

    def test_unique_ids_have_aws_prefixes(self, store: IdentityService) -> None:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
        store.create_user("u")
        ids = {
            "AIDA": store.get_user("u").user_id,
            "AGPA": store.create_group("g").group_id,
            "AROA": store.create_role("r", TRUST).role_id,
            "ANPA": store.create_policy("p", doc()).policy_id,
            "AKIA": store.create_access_key("u").access_key_id,
        }
        for prefix, value in ids.items():
            assert value.startswith(prefix) and value.isalnum() and value.isupper()
        assert len(ids["AKIA"]) == 20

    def test_rename_user_keeps_everything(self, store: IdentityService) -> None:
        store.create_user("old")
        store.create_group("g")
        store.add_user_to_group("g", "old")
        key = store.create_access_key("old")
        store.put_inline_policy(PrincipalKind.USER, "old", "p", doc())
        store.attach_user_policy("old", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
        user_id = store.get_user("old").user_id
        renamed = store.update_user("old", new_name="new", new_path="/moved/")
        assert (renamed.name, renamed.path, renamed.user_id) == ("new", "/moved/", user_id)
        assert [g.name for g in store.list_groups_for_user("new")] == ["g"]
        assert store.list_access_keys("new")[0].access_key_id == key.access_key_id
        assert store.list_inline_policies(PrincipalKind.USER, "new") == ["p"]
        resolved = store.resolve_principal(renamed.arn)
        assert resolved is not None and len(resolved.identity) == 2
        with pytest.raises(NoSuchEntityError):
            store.get_user("old")

    def test_tags(self, store: IdentityService) -> None:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules_creating
        store.create_user("u")
        store.tag_user("u", {"b": "2", "a": "1"})
        assert store.untag_user("u", ["b"]).tags == (("a", "1"),)
        with pytest.raises(InvalidInputError):
            store.tag_user("u", {"aws:reserved": "x"})
        with pytest.raises(LimitExceededError):
            store.tag_user("u", {f"k{i}": "v" for i in range(50)})
        store.create_role("r", TRUST, tags={"env": "prod"})
        assert store.tag_role("r", {"x": "y"}).tags == (("env", "prod"), ("x", "y"))

    def test_account_quota_for_users(self, small: IdentityService) -> None:
        for name in ("a", "b", "c"):
            small.create_user(name)
        with pytest.raises(LimitExceededError):
            small.create_user("d")

    # ------------------------------------------------------------ groups

    def test_group_membership(self, store: IdentityService) -> None:
        store.create_user("u")
        store.create_group("g", path="/team/")
        store.add_user_to_group("g", "u")
        store.add_user_to_group("G", "U")  # again: no error, no duplicate
        assert [u.name for u in store.get_group_members("g")] == ["u"]
        store.remove_user_from_group("g", "u")
        with pytest.raises(NoSuchEntityError):
            store.remove_user_from_group("g", "u")
        with pytest.raises(NoSuchEntityError):
            store.add_user_to_group("missing", "u")

    def test_groups_per_user_quota(self, small: IdentityService) -> None:
        # Default 10 groups per user: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
        small.create_user("u")
        for g in ("g1", "g2", "g3"):
            small.create_group(g)
        small.add_user_to_group("g1", "u")
        small.add_user_to_group("g2", "u")
        with pytest.raises(LimitExceededError):
            small.add_user_to_group("g3", "u")

    def test_default_quotas_match_aws(self) -> None:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities
        q = Quotas()
        assert (
            q.groups_per_user,
            q.managed_policies_per_user,
            q.versions_per_policy,
            q.access_keys_per_user,
        ) == (10, 10, 5, 2)
        assert (
            q.user_inline_size.max_chars,
            q.group_inline_size.max_chars,
            q.role_inline_size.max_chars,
        ) == (2048, 5120, 10240)
        assert (q.min_session_duration, q.max_session_duration) == (3600, 43200)

    # ------------------------------------------------------------ roles

    def test_role_crud_and_trust_policy(self, store: IdentityService) -> None:
        role = store.create_role(
            "Deploy", TRUST, path="/ci/", description="CI deploys", max_session_duration=7200
        )
        assert role.arn == f"arn:aws:iam::{ACCOUNT}:role/ci/Deploy"
        assert json.loads(role.assume_role_policy) == TRUST
        # A trust policy is a resource policy: it must name a Principal.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        with pytest.raises(PolicyValidationError):
            store.create_role("NoPrincipal", doc("sts:AssumeRole"))
        with pytest.raises(PolicyError):
            store.update_assume_role_policy("Deploy", "not json")
        updated = store.update_role("Deploy", description="changed", max_session_duration=43200)
        assert (updated.description, updated.max_session_duration) == ("changed", 43200)
        assert [r.name for r in store.list_roles(path_prefix="/ci/")] == ["Deploy"]

    @pytest.mark.parametrize("seconds,ok", [(3599, False), (3600, True), (43200, True), (43201, False)])
    def test_role_max_session_duration_bounds(self, store: IdentityService, seconds: int, ok: bool) -> None:
        # MaxSessionDuration 3600..43200: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
        if ok:
            assert store.create_role("r", TRUST, max_session_duration=seconds).max_session_duration == seconds
        else:
            with pytest.raises(InvalidInputError):
                store.create_role("r", TRUST, max_session_duration=seconds)

    # ------------------------------------------------------------ managed policies and versions

    def test_policy_versions(self, store: IdentityService) -> None:
        # At most five versions; only non-default versions can be deleted; version ids keep
        # counting up. https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
        policy = store.create_policy("P", doc("s3:GetObject"), description="d")
        assert policy.default_version_id == "v1" and policy.arn == f"arn:aws:iam::{ACCOUNT}:policy/P"
        for n in range(2, 6):
            store.create_policy_version(policy.arn, doc(f"s3:Action{n}"))
        assert store.get_policy(policy.arn).default_version_id == "v1"
        with pytest.raises(LimitExceededError):
            store.create_policy_version(policy.arn, doc("s3:Six"))
        with pytest.raises(DeleteConflictError):
            store.delete_policy_version(policy.arn, "v1")
        store.set_default_policy_version(policy.arn, "v3")
        store.delete_policy_version(policy.arn, "v1")
        v6 = store.create_policy_version(policy.arn, doc("s3:Six"), set_as_default=True)
        assert v6.version_id == "v6" and v6.is_default
        assert [v.version_id for v in store.list_policy_versions(policy.arn)] == [
            "v2",
            "v3",
            "v4",
            "v5",
            "v6",
        ]
        assert json.loads(store.get_policy_version(policy.arn, "v3").document) == doc("s3:Action3")
        with pytest.raises(NoSuchEntityError):
            store.set_default_policy_version(policy.arn, "v1")
        with pytest.raises(NoSuchEntityError):
            store.get_policy_version(policy.arn, "v1")

    def test_invalid_policy_documents_are_refused(self, store: IdentityService) -> None:
        with pytest.raises(PolicyError):
            store.create_policy("Bad", "{not json")
        with pytest.raises(PolicyValidationError):  # identity policies may not name a Principal
            store.create_policy("Bad", TRUST)
        # Managed policies are at most 6144 non-whitespace characters.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
        big = doc([f"s3:Action{i:05d}" for i in range(400)])
        with pytest.raises(PolicyValidationError):
            store.create_policy("Big", big)
        assert store.list_policies(scope="local") == []

    def test_stale_revision_is_a_concurrent_modification(self, store: IdentityService) -> None:
        policy = store.create_policy("P", doc())
        seen = policy.revision
        store.create_policy_version(policy.arn, doc("s3:PutObject"), expected_revision=seen)
        with pytest.raises(ConcurrentModificationError):
            store.create_policy_version(policy.arn, doc("s3:DeleteObject"), expected_revision=seen)
        with pytest.raises(ConcurrentModificationError):
            store.set_default_policy_version(policy.arn, "v2", expected_revision=seen)
        fresh = store.get_policy(policy.arn).revision
        store.set_default_policy_version(policy.arn, "v2", expected_revision=fresh)
        assert store.get_policy(policy.arn).default_version_id == "v2"

    def test_built_in_policies(self, store: IdentityService) -> None:
        built = store.list_policies(scope="built-in")
        names = {p.name for p in built}
        assert {"AdministratorAccess", "ReadOnlyAccess"} <= names
        admin = store.get_policy("arn:aws:iam::iamguard:policy/AdministratorAccess")
        assert admin.built_in and admin.default_version_id == "v1"
        with pytest.raises(InvalidInputError):
            store.create_policy_version(admin.arn, doc())
        with pytest.raises(InvalidInputError):
            store.delete_policy(admin.arn)
        with pytest.raises(NoSuchEntityError):
            store.get_policy("arn:aws:iam::iamguard:policy/NoSuchThing")

    # ------------------------------------------------------------ attachments

    def test_attach_detach(self, store: IdentityService) -> None:
        store.create_user("u")
        policy = store.create_policy("P", doc())
        store.attach_user_policy("u", policy.arn)
        store.attach_user_policy("u", policy.arn)  # idempotent
        assert store.get_policy(policy.arn).attachment_count == 1
        assert [p.arn for p in store.list_attached_policies(PrincipalKind.USER, "u")] == [policy.arn]
        assert store.list_entities_for_policy(policy.arn) == [(PrincipalKind.USER, "u")]
        assert store.list_policies(only_attached=True) == [store.get_policy(policy.arn)]
        store.detach_policy(PrincipalKind.USER, "u", policy.arn)
        with pytest.raises(NoSuchEntityError):
            store.detach_policy(PrincipalKind.USER, "u", policy.arn)
        with pytest.raises(NoSuchEntityError):
            store.attach_user_policy("u", f"arn:aws:iam::{ACCOUNT}:policy/Missing")

    def test_attached_policies_quota(self, small: IdentityService) -> None:
        small.create_user("u")
        arns = [small.create_policy(f"P{i}", doc()).arn for i in range(3)]
        small.attach_user_policy("u", arns[0])
        small.attach_user_policy("u", arns[1])
        with pytest.raises(LimitExceededError):
            small.attach_user_policy("u", arns[2])

    # ------------------------------------------------------------ inline policies

    def test_inline_policies(self, store: IdentityService) -> None:
        store.create_group("g")
        store.put_inline_policy(PrincipalKind.GROUP, "g", "Read", doc())
        store.put_inline_policy(PrincipalKind.GROUP, "g", "read", doc("s3:ListBucket"))  # replaces (case)
        assert store.list_inline_policies(PrincipalKind.GROUP, "g") == ["read"]
        got = store.get_inline_policy(PrincipalKind.GROUP, "g", "READ")
        assert json.loads(got.document) == doc("s3:ListBucket")
        store.delete_inline_policy(PrincipalKind.GROUP, "g", "read")
        with pytest.raises(NoSuchEntityError):
            store.get_inline_policy(PrincipalKind.GROUP, "g", "read")

    def test_inline_aggregate_size_quota(self, store: IdentityService) -> None:
        # A user's inline policies together: at most 2048 non-whitespace characters.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
        store.create_user("u")
        medium = doc([f"s3:Action{i:03d}" for i in range(70)])  # ~1150 characters
        store.put_inline_policy(PrincipalKind.USER, "u", "one", medium)
        store.put_inline_policy(PrincipalKind.USER, "u", "one", medium)  # replacing is not adding
        with pytest.raises(LimitExceededError):
            store.put_inline_policy(PrincipalKind.USER, "u", "two", medium)
        # Roles allow 10240 in total.
        store.create_role("r", TRUST)
        for n in range(5):
            store.put_inline_policy(PrincipalKind.ROLE, "r", f"p{n}", medium)

    # ------------------------------------------------------------ delete conflicts

    def test_delete_user_conflicts(self, store: IdentityService) -> None:
        # https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
        store.create_user("u")
        store.create_group("g")
        store.add_user_to_group("g", "u")
        store.create_access_key("u")
        store.create_login_profile("u", PASSWORD)
        store.put_inline_policy(PrincipalKind.USER, "u", "p", doc())
        with pytest.raises(DeleteConflictError):
            store.delete_user("u")
        assert store.get_user("u").name == "u"
        store.delete_user("u", force=True)
        assert store.list_users() == [] and store.get_group_members("g") == []
        store.create_user("u")  # nothing left behind to collide with
        assert store.list_access_keys("u") == [] and store.list_inline_policies(PrincipalKind.USER, "u") == []

    def test_delete_group_and_role_conflicts(self, store: IdentityService) -> None:
        store.create_user("u")
        store.create_group("g")
        store.add_user_to_group("g", "u")
        with pytest.raises(DeleteConflictError):
            store.delete_group("g")
        store.remove_user_from_group("g", "u")
        store.delete_group("g")
        store.create_role("r", TRUST)
        store.attach_role_policy("r", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
        with pytest.raises(DeleteConflictError):
            store.delete_role("r")
        store.delete_role("r", force=True)
        assert store.list_roles() == []

    def test_delete_policy_conflicts(self, store: IdentityService) -> None:
        # https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html
        policy = store.create_policy("P", doc())
        store.create_user("u")
        store.create_role("r", TRUST, permissions_boundary=policy.arn)
        with pytest.raises(DeleteConflictError):
            store.delete_policy(policy.arn)  # used as a boundary
        store.delete_role_permissions_boundary("r")
        store.attach_user_policy("u", policy.arn)
        with pytest.raises(DeleteConflictError):
            store.delete_policy(policy.arn)
        store.detach_policy(PrincipalKind.USER, "u", policy.arn)
        store.create_policy_version(policy.arn, doc("s3:PutObject"))
        with pytest.raises(DeleteConflictError):
            store.delete_policy(policy.arn)  # a non-default version remains
        store.attach_user_policy("u", policy.arn)
        store.put_user_permissions_boundary("u", policy.arn)
        store.delete_policy(policy.arn, force=True)
        assert store.get_user("u").permissions_boundary is None
        assert store.list_attached_policies(PrincipalKind.USER, "u") == []
        with pytest.raises(NoSuchEntityError):
            store.get_policy(policy.arn)

    # ------------------------------------------------------------ access keys

    def test_access_keys(self, store: IdentityService, backend: StoreBackend) -> None:
        store.create_user("u")
        created = store.create_access_key("u")
        assert len(created.secret_access_key) == 40
        assert created.secret_access_key not in repr(created)
        listed = store.list_access_keys("u")
        assert listed == [created.access_key] and not hasattr(listed[0], "secret_access_key")
        found = store.get_access_key(created.access_key_id)
        assert found is not None and found[1] == created.secret_access_key
        assert found[0].owner_arn == store.get_user("u").arn
        store.create_access_key("u")
        with pytest.raises(LimitExceededError):  # two per user
            store.create_access_key("u")
        inactive = store.update_access_key(created.access_key_id, "Inactive")
        assert inactive.status is AccessKeyStatus.INACTIVE and not inactive.active
        store.delete_access_key(created.access_key_id)
        assert store.get_access_key(created.access_key_id) is None
        with pytest.raises(NoSuchEntityError):
            store.delete_access_key(created.access_key_id)

    def test_secrets_are_stored_sealed(self, store: IdentityService, backend: StoreBackend) -> None:
        store.create_user("u")
        created = store.create_access_key("u")
        device = store.create_virtual_mfa_device("dev")
        with backend.read() as tx:
            rows = tx.select("access_keys") + tx.select("mfa_devices")
        stored = json.dumps(rows)
        assert created.secret_access_key not in stored
        assert device.base32_seed not in stored

    def test_rotate_master_key(self, backend: StoreBackend, clock: Clock) -> None:
        old = IdentityService(backend, account_id=ACCOUNT, secret_box=BOX, clock=clock)
        old.create_user("u")
        created = old.create_access_key("u")
        old.create_virtual_mfa_device("dev")
        both = SecretBox({"new": bytes(32), "test": bytes(range(32))}, "new")
        rotated = IdentityService(backend, secret_box=both, clock=clock)
        assert rotated.rotate_master_key() == 2
        assert rotated.rotate_master_key() == 0
        only_new = IdentityService(backend, secret_box=SecretBox({"new": bytes(32)}, "new"), clock=clock)
        found = only_new.get_access_key(created.access_key_id)
        assert found is not None and found[1] == created.secret_access_key

    def test_root_access_keys_and_warnings(self, store: IdentityService, clock: Clock) -> None:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html
        assert len(store.root_warnings()) == 1  # no MFA
        key = store.create_access_key(None)
        assert key.access_key.user_name is None and key.access_key.owner_arn == f"arn:aws:iam::{ACCOUNT}:root"
        assert store.list_access_keys() == [key.access_key]
        assert len(store.root_warnings()) == 2
        store.delete_access_key(key.access_key_id)
        device = store.create_virtual_mfa_device("root-mfa")
        step = int(clock.now // 30)
        store.enable_mfa_device(
            None,
            device.device.serial_number,
            mfa.totp(device.base32_seed, (step - 1) * 30),
            mfa.totp(device.base32_seed, step * 30),
        )
        assert store.root_warnings() == []
        assert [d.is_root for d in store.list_mfa_devices(root=True)] == [True]

    # ------------------------------------------------------------ login profiles

    def test_login_profile_and_lockout(self, store: IdentityService, clock: Clock) -> None:
        store.create_user("u")
        with pytest.raises(InvalidInputError) as weak:
            store.create_login_profile("u", "short")
        assert weak.value.code == "PasswordPolicyViolation"
        store.create_login_profile("u", PASSWORD, password_reset_required=True)
        with pytest.raises(EntityAlreadyExistsError):
            store.create_login_profile("u", PASSWORD)
        ok = store.check_password("u", PASSWORD)
        assert ok.ok and ok.password_reset_required
        for _ in range(LockoutPolicy().max_failures):
            assert not store.check_password("u", "wrong").ok
        locked = store.check_password("u", PASSWORD)
        assert not locked.ok and locked.locked and locked.retry_after == 900
        assert store.get_login_profile("u").failed_attempts == 5
        clock.now += 901
        assert store.check_password("u", PASSWORD).ok
        assert store.get_login_profile("u").failed_attempts == 0
        assert not store.check_password("nobody", PASSWORD).ok

    def test_password_change_and_reuse(self, store: IdentityService, clock: Clock) -> None:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
        store.update_account_password_policy(
            PasswordPolicy(
                minimum_password_length=8,
                password_reuse_prevention=2,
                max_password_age=30,
                hard_expiry=True,
                minimum_character_types=0,
            )
        )
        store.create_user("u")
        store.create_login_profile("u", "first-pass", password_reset_required=True)
        with pytest.raises(InvalidInputError):
            store.change_password("u", "wrong-old", "second-pass")
        store.change_password("u", "first-pass", "second-pass")
        assert not store.get_login_profile("u").password_reset_required
        with pytest.raises(InvalidInputError):  # one of the previous 2
            store.change_password("u", "second-pass", "first-pass")
        store.change_password("u", "second-pass", "third-pass")
        store.change_password("u", "third-pass", "first-pass")  # 3 changes ago: allowed again
        clock.now += 31 * 86400
        expired = store.check_password("u", "first-pass")
        assert not expired.ok and expired.password_expired  # HardExpiry
        store.update_login_profile("u", password="admin-reset")
        assert store.check_password("u", "admin-reset").ok
        store.delete_login_profile("u")
        with pytest.raises(NoSuchEntityError):
            store.get_login_profile("u")

    # ------------------------------------------------------------ MFA

    def test_mfa_lifecycle(self, store: IdentityService, clock: Clock) -> None:
        # EnableMFADevice / ResyncMFADevice take two consecutive codes:
        # https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
        store.create_user("u")
        created = store.create_virtual_mfa_device("u-phone")
        serial, seed = created.device.serial_number, created.base32_seed
        assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/u-phone" and not created.device.enabled
        step = int(clock.now // 30)
        with pytest.raises(InvalidInputError):
            store.enable_mfa_device("u", serial, mfa.totp(seed, step * 30), mfa.totp(seed, (step - 1) * 30))
        device = store.enable_mfa_device(
            "u", serial, mfa.totp(seed, (step - 1) * 30), mfa.totp(seed, step * 30)
        )
        assert device.enabled and device.user_name == "u" and device.last_used_step == step
        with pytest.raises(EntityAlreadyExistsError):
            store.enable_mfa_device("u", serial, "000000", "000001")
        clock.now += 30
        code = mfa.totp(seed, clock.now)
        assert store.verify_mfa_code("u", code)
        before = store.generation()
        assert not store.verify_mfa_code("u", code)  # replay refused
        assert not store.verify_mfa_code("u", "12345x")
        assert store.generation() == before  # refusals write nothing
        clock.now += 600  # drifted: resync
        later = int(clock.now // 30)
        store.resync_mfa_device("u", serial, mfa.totp(seed, (later - 1) * 30), mfa.totp(seed, later * 30))
        with pytest.raises(DeleteConflictError):
            store.delete_virtual_mfa_device(serial)
        store.deactivate_mfa_device("u", serial)
        assert store.list_mfa_devices("u") == []
        store.delete_virtual_mfa_device(serial)
        assert store.list_mfa_devices() == []

    # ------------------------------------------------------------ resolution

    def test_resolve_user_with_groups_and_boundary(self, store: IdentityService) -> None:
        boundary = store.create_policy("Boundary", doc("s3:*"))
        attached = store.create_policy("Attached", doc("s3:GetObject"))
        user = store.create_user("u", path="/eng/", permissions_boundary=boundary.arn, tags={"k": "v"})
        store.put_inline_policy(PrincipalKind.USER, "u", "own", doc("s3:ListBucket"))
        store.attach_user_policy("u", attached.arn)
        store.create_group("g")
        store.add_user_to_group("g", "u")
        store.put_inline_policy(PrincipalKind.GROUP, "g", "grp", doc("s3:PutObject"))
        store.attach_group_policy("g", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
        resolved = store.resolve_principal(user.arn)
        assert resolved is not None
        assert [p.name for p in resolved.identity] == [
            "user/u/inline/own",
            attached.arn,
            "group/g/inline/grp",
            "arn:aws:iam::iamguard:policy/ReadOnlyAccess",
        ]
        assert resolved.boundary is not None and resolved.boundary.name == boundary.arn
        assert (resolved.kind, resolved.unique_id, resolved.group_names, resolved.tags) == (
            "user",
            user.user_id,
            ("g",),
            (("k", "v"),),
        )
        assert resolved.generation == store.generation()

    def test_resolve_arn_rules(self, store: IdentityService) -> None:
        store.create_user("u", path="/eng/")
        role = store.create_role("R", TRUST, path="/svc/")
        store.attach_role_policy("R", "arn:aws:iam::iamguard:policy/AdministratorAccess")
        assert store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:user/u") is None  # wrong path
        assert (
            store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:user/eng/U") is None
        )  # ARNs are case-sensitive
        assert store.resolve_principal("arn:aws:iam::999999999999:user/eng/u") is None
        assert store.resolve_principal("not an arn") is None
        by_path = store.resolve_principal(role.arn)
        by_session_arn = store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:role/R")  # STS omits the path
        assert by_path is not None and by_session_arn is not None
        assert by_path.identity == by_session_arn.identity and by_path.kind == "role"
        root = store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:root")
        assert root is not None and root.kind == "root" and root.identity == ()

    def test_parsed_policies_are_cached_per_version(self, store: IdentityService) -> None:
        policy = store.create_policy("P", doc())
        user = store.create_user("u")
        store.attach_user_policy("u", policy.arn)
        first = store.resolve_principal(user.arn)
        store.create_user("unrelated")  # new generation, same policy version
        second = store.resolve_principal(user.arn)
        assert first is not None and second is not None and first.generation < second.generation
        assert second.identity[0] is first.identity[0]
        store.create_policy_version(policy.arn, doc("s3:PutObject"), set_as_default=True)
        third = store.resolve_principal(user.arn)
        assert third is not None and third.identity[0].statements[0].action == ("s3:PutObject",)

    def test_users_without_permissions(self, store: IdentityService) -> None:
        for name in ("bare", "direct", "via-group"):
            store.create_user(name)
        store.put_inline_policy(PrincipalKind.USER, "direct", "p", doc())
        store.create_group("g")
        store.attach_group_policy("g", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
        store.add_user_to_group("g", "via-group")
        assert store.users_without_permissions() == ["bare"]

    # ------------------------------------------------------------ generation and atomicity

    def test_every_write_bumps_generation_once(self, store: IdentityService, clock: Clock) -> None:
        store.create_user("u")
        policy = store.create_policy("P", doc())
        writes: list[Callable[[], object]] = [
            lambda: store.create_user("v"),
            lambda: store.tag_user("v", {"a": "b"}),
            lambda: store.create_group("g"),
            lambda: store.add_user_to_group("g", "v"),
            lambda: store.attach_user_policy("v", policy.arn),
            lambda: store.put_inline_policy(PrincipalKind.USER, "v", "p", doc()),
            lambda: store.create_policy_version(policy.arn, doc("s3:X")),
            lambda: store.set_default_policy_version(policy.arn, "v2"),
            lambda: store.create_access_key("u"),
            lambda: store.create_role("r", TRUST),
            lambda: store.put_role_permissions_boundary("r", policy.arn),
            lambda: store.create_account_alias("my-alias"),
            lambda: store.detach_policy(PrincipalKind.USER, "v", policy.arn),
            lambda: store.delete_user("v", force=True),
        ]
        for write in writes:
            before = store.generation()
            write()
            assert store.generation() == before + 1
        before = store.generation()
        store.list_users(), store.get_policy(policy.arn), store.resolve_principal(store.get_user("u").arn)
        assert store.generation() == before  # reads never bump
        with pytest.raises(EntityAlreadyExistsError):
            store.create_user("u")
        assert store.generation() == before  # a refused write changes nothing

    def test_failed_multi_step_write_leaves_nothing(self, small: IdentityService) -> None:
        for g in ("g1", "g2", "g3"):
            small.create_group(g)
        before = small.generation()
        with pytest.raises(LimitExceededError), small.atomic():
            small.create_user("new")
            small.put_inline_policy(PrincipalKind.USER, "new", "p", doc())
            for g in ("g1", "g2", "g3"):  # the third exceeds groups_per_user=2
                small.add_user_to_group(g, "new")
        assert small.generation() == before
        with pytest.raises(NoSuchEntityError):
            small.get_user("new")
        assert all(small.get_group_members(g) == [] for g in ("g1", "g2", "g3"))

    def test_atomic_groups_writes_into_one_generation(self, store: IdentityService) -> None:
        before = store.generation()
        with store.atomic():
            store.create_user("a")
            with store.atomic():
                store.create_user("b")
            assert [u.name for u in store.list_users()] == ["a", "b"]  # reads see the open transaction
        assert store.generation() == before + 1
        with pytest.raises(RuntimeError), store.atomic():
            store.delete_user("a")
            raise RuntimeError("crash mid-transaction")
        assert [u.name for u in store.list_users()] == ["a", "b"]
