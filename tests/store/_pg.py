"""PostgreSQL test plumbing: where the server is, and a throw-away schema per test run.

The server is named by ``IAMGUARD_TEST_POSTGRES_URL`` (CI sets
``postgresql://postgres@127.0.0.1:5432/test``). Without it the PostgreSQL tests are skipped with
the reason shown -- except under CI (env ``CI`` set), where a missing variable or an unreachable
server fails the run instead: a CI job that silently tests nothing is worse than a red one.

Every run makes schemas named ``iamguard_test_<random>[_<n>]`` and drops them at the end, so
runs (and parallel jobs) never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from iamguard.store.postgres import PostgresBackend

ENV_VAR = "IAMGUARD_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def server_url() -> str:
    """The server's URL, after checking it answers; skips (or fails under CI) otherwise."""
    url = os.environ.get(ENV_VAR)
    if not url:
        reason = f"{ENV_VAR} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        if in_ci():
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = f"PostgreSQL at {ENV_VAR} is unreachable: {' '.join(str(exc).split())}"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return url


def with_schema(url: str, schema: str) -> str:
    """``url`` with its ``schema`` query parameter set (what ``open_store`` would be given)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"] + [("schema", schema)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def drop_schemas(url: str, names: list[str]) -> None:
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


class SchemaFactory:
    """Hands out fresh schema names for one test run and drops them all at its end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.run = f"iamguard_test_{secrets.token_hex(4)}"
        self._made: list[str] = []

    def new(self) -> str:
        name = f"{self.run}_{len(self._made)}"
        self._made.append(name)
        return name

    def url_for(self, schema: str) -> str:
        return with_schema(self.url, schema)

    def drop(self, name: str) -> None:
        drop_schemas(self.url, [name])
        if name in self._made:
            self._made.remove(name)

    def drop_all(self) -> None:
        drop_schemas(self.url, self._made)
        self._made.clear()


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[SchemaFactory]:
    """The run's schema factory; every schema it made is dropped when the session ends."""
    factory = SchemaFactory(server_url())
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture
def pg_url(pg_schemas: SchemaFactory) -> Iterator[str]:
    """A store URL with a fresh, empty schema (dropped after the test)."""
    schema = pg_schemas.new()
    yield pg_schemas.url_for(schema)
    pg_schemas.drop(schema)


@pytest.fixture
def pg_backend_factory(pg_url: str) -> Iterator[Callable[[], PostgresBackend]]:
    """Opens backends on the test's schema (several may share it); closes them afterwards."""
    opened: list[PostgresBackend] = []

    def make() -> PostgresBackend:
        backend = PostgresBackend(pg_url, create=True, max_connections=4, connect_timeout=5)
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()
