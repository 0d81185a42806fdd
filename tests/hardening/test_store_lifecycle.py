"""A store is created only on purpose, and one that vanishes under a server answers 503.

Before: every ``open_store`` / server / write command silently created an empty store at a
mistyped path, and deleting the SQLite file under a running server made every request a 500
(``no such table``) while an empty database reappeared at the path.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import Client

import iamguard.cli
from iamguard.authn.session_token import SessionTokenService
from iamguard.errors import NoSuchStoreError, StoreUnavailableError
from iamguard.store import open_store
from iamguard.store.postgres import PostgresBackend
from iamguard.store.secrets import SecretBox
from iamguard.sts.keys import KeyRing
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

from ..store import _pg
from ..store._pg import SchemaFactory

pg_schemas, pg_url = _pg.pg_schemas, _pg.pg_url
BOX = SecretBox({"t": bytes(range(32))}, "t")
BODY = "Action=GetCallerIdentity&Version=2011-06-15"


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_opening_a_missing_sqlite_store_names_the_path_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(NoSuchStoreError, match=r"typo\.db"):
        open_store(f"sqlite:///{path}")
    assert _files(tmp_path) == []


def test_a_file_without_iamguard_tables_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER)")
    with pytest.raises(NoSuchStoreError, match="no iamguard tables"):
        open_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["orders"]


def test_create_true_creates_and_a_later_open_finds_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    open_store(url, create=True, secret_box=BOX).create_user("alice")
    assert [u.name for u in open_store(url, secret_box=BOX).list_users()] == ["alice"]


def _signed(credentials: Credentials) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url="http://localhost/",
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_store_deleted_under_a_running_server_is_503_and_never_recreated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "iam.db"
    store = open_store(f"sqlite:///{path}", create=True, account_id="123456789012", secret_box=BOX)
    store.create_user("alice")
    key = store.create_access_key("alice")
    client = Client(StsWsgiApp(TokenService(store, SessionTokenService(KeyRing.generate()))))
    credentials = Credentials(key.access_key_id, key.secret_access_key)
    assert client.post("/", data=BODY, headers=_signed(credentials)).status_code == 200
    for name in _files(tmp_path):
        os.unlink(tmp_path / name)  # the database, its -wal and -shm
    for _ in range(3):
        response = client.post("/", data=BODY, headers=_signed(credentials))
        assert response.status_code == 503, response.get_data(as_text=True)
        body = response.get_data(as_text=True)
        assert "ServiceUnavailable" in body and "Traceback" not in body
        assert str(tmp_path) not in body  # the cause (the store's path) is for the log only
    assert str(tmp_path) in caplog.text  # ... where the operator finds it
    assert _files(tmp_path) == []  # no empty database appeared at the path
    with pytest.raises(StoreUnavailableError):
        store.create_user("bob")  # writes refuse too (they went into the unlinked file before)
    store.backend.close()


def test_a_store_replaced_at_its_path_is_refused_until_restart(tmp_path: Path) -> None:
    """A file swapped in under a running process would be read through the old file's WAL
    (SQLite replays the -wal it finds at the path), mixing two stores: refuse, don't guess."""
    live, other = tmp_path / "iam.db", tmp_path / "other.db"
    replacement = open_store(f"sqlite:///{other}", create=True, secret_box=BOX)
    replacement.create_user("restored")
    replacement.backend.close()
    store = open_store(f"sqlite:///{live}", create=True, secret_box=BOX)
    store.create_user("current")
    os.replace(other, live)
    with pytest.raises(StoreUnavailableError, match="replaced"):
        store.list_users()
    store.backend.close()


def _cli(*argv: str) -> int:
    return iamguard.cli.main(list(argv))


def test_cli_write_command_refuses_a_missing_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    assert _cli("user", "create", "alice", "--store", url) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "iam.db" in err and "iamguard init" in err
    assert _files(tmp_path) == []


def test_cli_init_creates_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_DEV_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    assert _cli("init", "--store", url) == 0
    assert "created a store" in capsys.readouterr().out
    assert _cli("init", "--store", url) == 0
    assert "already exists" in capsys.readouterr().out
    assert _cli("user", "create", "alice", "--store", url) == 0


def test_cli_apply_needs_create_for_a_new_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account = tmp_path / "account.json"
    account.write_text('{"users": [{"name": "alice"}]}', encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    assert _cli("apply", str(account), "--store", url) != 0
    assert not (tmp_path / "iam.db").exists()
    capsys.readouterr()
    assert _cli("apply", str(account), "--store", url, "--create") == 0
    assert [u.name for u in open_store(url).list_users()] == ["alice"]


@pytest.mark.postgres
def test_a_postgres_schema_without_tables_is_missing_unless_create(pg_schemas: SchemaFactory) -> None:
    schema = pg_schemas.new()
    url = pg_schemas.url_for(schema)
    try:
        with pytest.raises(NoSuchStoreError, match=schema):
            PostgresBackend(url)
        created = PostgresBackend(url, create=True)
        created.close()
        again = PostgresBackend(url)
        assert again.applied_migrations == []
        again.close()
    finally:
        pg_schemas.drop(schema)
