"""A wrong or missing master key fails when a store is opened, not on every signed request.

Before: an app without ``IAMGUARD_MASTER_KEY`` started and then answered every signed request
``500 ServiceFailure``; the CLI accepted a *different* key for an existing store and wrote
secrets the server could not open. Now the store records a key-check value per master key id
(``iamguard/store/_key_check.py``) and every opener (``open_store``, ``IAMGuard(app)``, the S3
example, ``serve-sts``, each CLI command) checks it.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_iamguard import IAMGuard

import iamguard.cli
from iamguard.cli.serve_sts import build_token_service
from iamguard.errors import StoreError
from iamguard.store import open_store
from iamguard.store.secrets import SecretBox

KEY_VARS = ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_DEV_MASTER_KEY")
ADVICE = "IAMGUARD_MASTER_KEY"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (*KEY_VARS, "IAMGUARD_STS_KEYS", "IAMGUARD_STS_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


@pytest.fixture
def sealed_store(tmp_path: Path, env: pytest.MonkeyPatch) -> tuple[str, str]:
    """A store holding an access key sealed under master key ``key``: (url, key)."""
    key = SecretBox.generate_key()
    env.setenv("IAMGUARD_MASTER_KEY", key)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    store = open_store(url, create=True)
    store.create_user("alice")
    store.create_access_key("alice")
    store.backend.close()
    env.delenv("IAMGUARD_MASTER_KEY")
    return url, key


def _openers(url: str) -> dict[str, object]:
    def flask_extension() -> None:
        app = Flask("t")
        app.config["IAMGUARD_STORE"] = url
        IAMGuard(app)

    def s3_example() -> None:
        from examples.s3_service.app import create_app

        create_app(url)

    def serve_sts() -> None:
        args = argparse.Namespace(store=url, keys_file=None, oidc_provider=[], saml_provider=[])
        build_token_service(args, io.StringIO())

    return {
        "open_store": lambda: open_store(url),
        "flask": flask_extension,
        "s3": s3_example,
        "serve-sts": serve_sts,
    }


@pytest.mark.parametrize("opener", ["open_store", "flask", "s3", "serve-sts"])
def test_missing_master_key_fails_at_start(sealed_store: tuple[str, str], opener: str) -> None:
    url, _ = sealed_store
    with pytest.raises(StoreError, match=ADVICE):
        _openers(url)[opener]()  # type: ignore[operator]


@pytest.mark.parametrize("opener", ["open_store", "flask", "s3", "serve-sts"])
def test_a_different_master_key_fails_at_start(
    sealed_store: tuple[str, str], env: pytest.MonkeyPatch, opener: str
) -> None:
    url, _ = sealed_store
    env.setenv("IAMGUARD_MASTER_KEY", SecretBox.generate_key())  # same key id "default", other bytes
    with pytest.raises(StoreError, match="not the key"):
        _openers(url)[opener]()  # type: ignore[operator]


def test_dev_key_on_a_production_store_fails(sealed_store: tuple[str, str], env: pytest.MonkeyPatch) -> None:
    url, _ = sealed_store
    env.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    with pytest.raises(StoreError, match="IAMGUARD_DEV_MASTER_KEY"):
        open_store(url)


def test_the_right_key_opens(sealed_store: tuple[str, str], env: pytest.MonkeyPatch) -> None:
    url, key = sealed_store
    env.setenv("IAMGUARD_MASTER_KEY", key)
    assert [u.name for u in open_store(url).list_users()] == ["alice"]


def test_cli_with_a_different_key_writes_nothing(
    sealed_store: tuple[str, str], env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, key = sealed_store
    env.setenv("IAMGUARD_MASTER_KEY", SecretBox.generate_key())
    code = iamguard.cli.main(["access-key", "create", "--user", "alice", "--store", url])
    err = capsys.readouterr().err
    assert code != 0 and "IAMGUARD_MASTER_KEY" in err and err.count("\n") == 1
    env.setenv("IAMGUARD_MASTER_KEY", key)
    assert len(open_store(url).list_access_keys("alice")) == 1


def test_rotation_keeps_working(sealed_store: tuple[str, str], env: pytest.MonkeyPatch) -> None:
    """New primary beside the old key, rotate, then drop the old key (secrets.py's procedure)."""
    url, old = sealed_store
    new = SecretBox.generate_key()
    env.setenv("IAMGUARD_MASTER_KEY", f"k2:{new},default:{old}")
    assert open_store(url).rotate_master_key() == 1
    env.setenv("IAMGUARD_MASTER_KEY", f"k2:{new}")
    store = open_store(url)
    key_id = store.list_access_keys("alice")[0].access_key_id
    assert store.get_access_key(key_id) is not None
    env.setenv("IAMGUARD_MASTER_KEY", f"default:{old}")  # the old key alone no longer opens the store
    with pytest.raises(StoreError, match="not the key"):
        open_store(url)


def test_a_store_from_before_key_checks_is_checked_and_upgraded(
    sealed_store: tuple[str, str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, key = sealed_store
    with sqlite3.connect(tmp_path / "iam.db") as conn:  # as a29b1b2 left it: no check value
        conn.execute("DELETE FROM iamguard_settings WHERE name LIKE 'key_check:%'")
    env.setenv("IAMGUARD_MASTER_KEY", SecretBox.generate_key())
    with pytest.raises(StoreError, match="cannot open the secrets"):
        open_store(url)
    env.setenv("IAMGUARD_MASTER_KEY", key)
    open_store(url)  # opens one sealed secret, then records the check
    with sqlite3.connect(tmp_path / "iam.db") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM iamguard_settings")]
    assert "key_check:default" in names


def test_a_store_with_no_secrets_needs_no_key(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    open_store(url, create=True).create_user("alice")
    assert [u.name for u in open_store(url).list_users()] == ["alice"]
