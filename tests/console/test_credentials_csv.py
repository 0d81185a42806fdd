"""The one-time credentials files match AWS's console: names and header rows from
``tests/data/console/credentials_csv.json`` (each with where it was checked), end to end through
the create-user and create-key pages and their **Download .csv** button."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iamguard.authn.session_token import SessionTokenService
from iamguard.console import ConsoleApp, ConsoleAsgiApp
from iamguard.console._pages import credentials_file
from iamguard.keyring import KeyRing
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox

DATA = json.loads((Path(__file__).parents[1] / "data" / "console" / "credentials_csv.json").read_text())
FILES: list[dict[str, Any]] = DATA["files"]
PASSWORD = "Adm1n-Passw0rd!x"
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = open_store(
        "memory://", create=True, account_id="111122223333", secret_box=SecretBox({"k": bytes(32)}, "k")
    )
    store.create_user("admin")
    store.create_login_profile("admin", PASSWORD)
    store.attach_policy(PrincipalKind.USER, "admin", "arn:aws:iam::iamguard:policy/AdministratorAccess")
    console = ConsoleApp(store, SessionTokenService(KeyRing.generate()))
    with TestClient(ConsoleAsgiApp(console), base_url="http://localhost") as client:
        page = client.get(console.login_path())
        token = _CSRF.search(page.text)
        assert token is not None
        client.post(str(page.url), data={"csrf": token.group(1), "user_name": "admin", "password": PASSWORD})
        yield client


def _token(client: TestClient, path: str) -> str:
    match = _CSRF.search(client.get(path).text)
    assert match is not None
    return match.group(1)


def _download(client: TestClient, shown: str) -> tuple[str, list[dict[str, str]], list[str]]:
    """Press the page's Download .csv: the file name, its rows and its header."""
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(shown)}
    response = client.post("/credentials.csv", data=fields)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    name = re.fullmatch(r'attachment; filename="([^"]+)"', response.headers["content-disposition"])
    assert name is not None
    reader = csv.DictReader(io.StringIO(response.text))
    rows = list(reader)
    return name.group(1), rows, list(reader.fieldnames or [])


@pytest.mark.parametrize("expected", FILES, ids=[f["case"] for f in FILES])
def test_the_table_is_what_the_console_writes(expected: dict[str, Any]) -> None:
    assert expected["sources"]
    name, columns = credentials_file(
        "carol", access_key=expected["access_key"], created_user=expected["created_user"]
    )
    assert (name, list(columns)) == (expected["filename"].format(user="carol"), expected["columns"])


@pytest.mark.parametrize("expected", [f for f in FILES if f["created_user"]], ids=lambda f: f["case"])
def test_creating_a_user_downloads_the_aws_file(client: TestClient, expected: dict[str, Any]) -> None:
    form = {
        "csrf": _token(client, "/users/new"),
        "user_name": "carol",
        "console": "on",
        "password_mode": "custom",
        "password": "Carol-first-1!",
        "policies": "arn:aws:iam::iamguard:policy/ReadOnlyAccess",
    }
    if expected["access_key"]:
        form["access_key"] = "on"
    created = client.post("/users/new", data=form)
    assert created.status_code == 200, created.text
    name, rows, header = _download(client, created.text)
    assert name == expected["filename"].format(user="carol") and header == expected["columns"]
    (row,) = rows
    assert row["User name"] == "carol" and row["Password"] == "Carol-first-1!"
    link = row[expected["columns"][-1]]
    assert link == "http://localhost/signin/111122223333"
    if expected["access_key"]:
        assert len(row["Secret access key"]) == 40 and row["Access key ID"].startswith("AKIA")


def test_a_new_access_key_downloads_the_access_key_file(client: TestClient) -> None:
    (expected,) = [f for f in FILES if not f["created_user"]]
    shown = client.post("/users/admin/keys/new", data={"csrf": _token(client, "/users/admin")})
    name, rows, header = _download(client, shown.text)
    assert name == expected["filename"].format(user="admin") and header == expected["columns"]
    assert rows[0]["Access key ID"].startswith("AKIA") and len(rows[0]["Secret access key"]) == 40
