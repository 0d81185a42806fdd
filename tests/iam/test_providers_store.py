"""The store's identity-provider records (``store/_providers.py``) on memory, SQLite and PostgreSQL.

The same behaviour on every backend: a provider written by one process is read by another (the
store is what STS federation reads), names and quotas as the API reference gives them.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from iamguard.errors import EntityAlreadyExistsError, InvalidInputError, LimitExceededError, NoSuchEntityError
from iamguard.store import IdentityService, open_store
from iamguard.store._providers import PROVIDER_QUOTAS
from iamguard.store.memory import MemoryBackend
from iamguard.store.protocols import StoreBackend
from iamguard.store.sqlite import SQLiteBackend
from tests.store import _pg
from tests.store._pg import SchemaFactory

from ._more_fixtures import ACCOUNT, BOX

pg_schemas, pg_url, pg_backend_factory = _pg.pg_schemas, _pg.pg_url, _pg.pg_backend_factory
URL = "https://token.actions.example.com/org"
THUMB = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
METADATA = "<EntityDescriptor>" + "x" * 1200 + "</EntityDescriptor>"  # the store checks shape only


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], IdentityService]]:
    """Opens stores on one backend's data (several may share it, as processes would)."""
    opened: list[StoreBackend] = []
    memory = MemoryBackend()

    def backend() -> StoreBackend:
        if request.param == "memory":
            return memory
        if request.param == "sqlite":
            made: StoreBackend = SQLiteBackend(tmp_path / "iam.db", create=True)
        else:
            factory: Callable[[], StoreBackend] = request.getfixturevalue("pg_backend_factory")
            made = factory()
        opened.append(made)
        return made

    yield lambda: IdentityService(backend(), account_id=ACCOUNT, secret_box=BOX)
    for item in opened:
        item.close()


def test_oidc_provider_lifecycle(make_store: Callable[[], IdentityService]) -> None:
    store = make_store()
    record = store.create_open_id_connect_provider(
        URL, client_ids=["sts.amazonaws.com"], thumbprints=[THUMB], tags={"a": "b"}
    )
    assert record.arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.example.com/org"
    other = make_store()  # another process on the same data
    assert other.get_open_id_connect_provider(record.arn) == record
    assert [r.arn for r in other.list_open_id_connect_providers()] == [record.arn]
    other.add_client_id_to_open_id_connect_provider(record.arn, "web-app")
    other.add_client_id_to_open_id_connect_provider(record.arn, "web-app")  # no duplicate
    assert store.get_open_id_connect_provider(record.arn).client_ids == ("sts.amazonaws.com", "web-app")
    store.remove_client_id_from_open_id_connect_provider(record.arn, "sts.amazonaws.com")
    store.update_open_id_connect_provider_thumbprint(record.arn, [THUMB.upper(), "0" * 40])
    changed = other.get_open_id_connect_provider(record.arn)
    assert changed.client_ids == ("web-app",) and changed.thumbprints == (THUMB, "0" * 40)
    assert changed.tags == (("a", "b"),) and changed.url == URL
    with pytest.raises(EntityAlreadyExistsError):
        other.create_open_id_connect_provider(URL)
    store.delete_open_id_connect_provider(record.arn)
    with pytest.raises(NoSuchEntityError):
        other.get_open_id_connect_provider(record.arn)
    with pytest.raises(NoSuchEntityError):
        other.delete_open_id_connect_provider(record.arn)


def test_saml_provider_lifecycle(make_store: Callable[[], IdentityService]) -> None:
    store = make_store()
    record = store.create_saml_provider("MyIdP", METADATA)
    assert record.arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/MyIdP" and record.valid_until is None
    other = make_store()
    assert other.get_saml_provider(record.arn) == record
    rotated = METADATA.replace("x", "y")
    other.update_saml_provider(record.arn, rotated)
    assert store.get_saml_provider(record.arn).metadata_document == rotated
    assert [r.name for r in store.list_saml_providers()] == ["MyIdP"]
    with pytest.raises(EntityAlreadyExistsError):
        store.create_saml_provider("MyIdP", METADATA)
    store.delete_saml_provider(record.arn)
    assert other.list_saml_providers() == []


@pytest.mark.parametrize(
    ("url", "client_ids", "thumbprints"),
    [
        ("http://idp.example.com", [], []),  # https only (http on loopback is for tests)
        ("https://idp.example.com?x=1", [], []),
        ("https://user@idp.example.com", [], []),
        ("https://" + "a" * 250 + ".com", [], []),
        (URL, [""], []),
        (URL, [], ["not-hex" * 6]),
        (URL, [], ["ab" * 19]),
    ],
)
def test_oidc_input_rules(
    make_store: Callable[[], IdentityService], url: str, client_ids: list[str], thumbprints: list[str]
) -> None:
    with pytest.raises(InvalidInputError):
        make_store().create_open_id_connect_provider(url, client_ids=client_ids, thumbprints=thumbprints)


def test_oidc_quotas(make_store: Callable[[], IdentityService]) -> None:
    store = make_store()
    with pytest.raises(LimitExceededError):
        store.create_open_id_connect_provider(URL, thumbprints=[f"{i:040x}" for i in range(6)])
    with pytest.raises(LimitExceededError):
        store.create_open_id_connect_provider(URL, client_ids=[f"c{i}" for i in range(101)])
    arn = store.create_open_id_connect_provider(URL, client_ids=[f"c{i}" for i in range(100)]).arn
    with pytest.raises(LimitExceededError):
        store.add_client_id_to_open_id_connect_provider(arn, "one-more")
    assert PROVIDER_QUOTAS.oidc_providers == 100 and PROVIDER_QUOTAS.saml_providers == 100


@pytest.mark.parametrize("name,metadata", [("bad name", METADATA), ("ok", "<short/>")])
def test_saml_input_rules(make_store: Callable[[], IdentityService], name: str, metadata: str) -> None:
    with pytest.raises(InvalidInputError):
        make_store().create_saml_provider(name, metadata)


def test_writes_are_transactional(make_store: Callable[[], IdentityService]) -> None:
    """A failing write inside ``atomic`` leaves no provider behind."""
    store = make_store()
    with pytest.raises(NoSuchEntityError), store.atomic():
        store.create_open_id_connect_provider(URL, client_ids=["a"])
        store.delete_saml_provider(f"arn:aws:iam::{ACCOUNT}:saml-provider/none")
    assert make_store().list_open_id_connect_providers() == []


def test_providers_survive_reopening_a_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    first = open_store(url, create=True, account_id=ACCOUNT, secret_box=BOX)
    arn = first.create_open_id_connect_provider(URL, client_ids=["a"]).arn
    first.backend.close()
    again = open_store(url, account_id=ACCOUNT, secret_box=BOX)
    assert again.get_open_id_connect_provider(arn).client_ids == ("a",)
    again.backend.close()


__all__ = ["SchemaFactory", "pg_backend_factory", "pg_schemas", "pg_url"]
