"""Built-in authenticators as generator flows: what they ask the store, what they return."""

from __future__ import annotations

from typing import Any

import pytest

from iamguard.authn.authenticators import (
    ANONYMOUS,
    AnonymousAuthenticator,
    BearerAuthenticator,
    GetAccessKey,
    SigV4Authenticator,
)
from iamguard.authn.context import RequestMeta
from iamguard.authn.request_view import RequestView
from iamguard.errors import AuthenticationError, ExpiredCredentialsError, InvalidAccessKeyError
from iamguard.resolve import GetGeneration, ResolvePrincipal

from ..enforce.helpers import World, make_world, sign

URL = "http://api.example.com/things?x=1"


@pytest.fixture()
def world() -> World:
    return make_world()


def drive(flow: Any, world: World) -> tuple[Any, list[object]]:
    """Run an authenticator flow against the store, recording the lookups it made."""
    asked: list[object] = []
    try:
        lookup = next(flow)
        while True:
            asked.append(lookup)
            if isinstance(lookup, GetAccessKey):
                answer: object = world.store.get_access_key(lookup.access_key_id)
            elif isinstance(lookup, GetGeneration):
                answer = world.store.generation()
            else:
                answer = world.store.resolve_principal(lookup.arn)
            lookup = flow.send(answer)
    except StopIteration as done:
        return done.value, asked


def view(headers: dict[str, str], url: str = URL, method: str = "GET") -> RequestView:
    return RequestView.from_url(method, url, [*headers.items(), ("host", "api.example.com")], b"")


def test_long_term_key_asks_for_the_key_then_its_owner(world: World) -> None:
    headers = sign("GET", URL, world.akid, world.secret, region="eu-west-1")
    result, asked = drive(SigV4Authenticator().authenticate(view(headers), RequestMeta()), world)
    assert asked == [
        GetGeneration(),
        GetAccessKey(world.akid),
        ResolvePrincipal("arn:aws:iam::123456789012:user/alice"),
    ]
    assert result.principal.arn == "arn:aws:iam::123456789012:user/alice"
    assert result.principal.user_id.startswith("AIDA")
    assert result.verified.region == "eu-west-1"
    assert result.method == "sigv4"


def test_long_term_key_is_memoized_per_generation(world: World) -> None:
    authenticator = SigV4Authenticator()
    headers = sign("GET", URL, world.akid, world.secret)
    drive(authenticator.authenticate(view(headers), RequestMeta()), world)
    _, asked = drive(authenticator.authenticate(view(headers), RequestMeta()), world)
    assert asked == [GetGeneration()]
    world.store.update_access_key(world.akid, "Inactive")  # a write: the generation moves on
    with pytest.raises(InvalidAccessKeyError):
        drive(authenticator.authenticate(view(headers), RequestMeta()), world)


def test_remembered_keys_are_bounded_and_evicted_one_by_one(world: World) -> None:
    """The key memo is a bounded Memo: when full, the oldest entry goes, not every entry (a
    dict emptied when full made a workload just past the bound miss on every request)."""
    from iamguard._memo import Memo, memo_sizes

    authenticator = SigV4Authenticator()
    assert isinstance(authenticator._keys, Memo)
    # A small bound, same behaviour; its own name, as every live authenticator lists a
    # "sigv4 long-term keys" memo (a guard another test module keeps would shadow this one).
    authenticator._keys = Memo("sigv4 long-term keys (bound 2)", 2)
    for filler in ("AKIAFILLER1", "AKIAFILLER2"):
        authenticator._keys.put(filler, (world.store.generation(), "s", None, ANONYMOUS))  # type: ignore[arg-type]
    headers = sign("GET", URL, world.akid, world.secret)
    drive(authenticator.authenticate(view(headers), RequestMeta()), world)
    assert "AKIAFILLER1" not in authenticator._keys and "AKIAFILLER2" in authenticator._keys
    _, asked = drive(authenticator.authenticate(view(headers), RequestMeta()), world)
    assert asked == [GetGeneration()]  # remembered: no store lookup
    assert memo_sizes()["sigv4 long-term keys (bound 2)"] == (2, 2)


def test_session_key_asks_the_store_nothing(world: World) -> None:
    creds = world.role_session()
    headers = sign("GET", URL, creds.access_key_id, creds.secret_access_key, token=creds.session_token)
    result, asked = drive(
        SigV4Authenticator(sessions=world.sessions).authenticate(view(headers), RequestMeta()), world
    )
    assert asked == []
    assert result.claims is not None and result.principal.role_arn.endswith(":role/reader")


def test_session_key_without_a_token_service_is_unknown(world: World) -> None:
    creds = world.role_session()
    headers = sign("GET", URL, creds.access_key_id, creds.secret_access_key, token=creds.session_token)
    with pytest.raises(InvalidAccessKeyError):
        drive(SigV4Authenticator().authenticate(view(headers), RequestMeta()), world)


def test_expired_session(world: World) -> None:
    creds = world.role_session()
    headers = sign("GET", URL, creds.access_key_id, creds.secret_access_key, token=creds.session_token)
    from iamguard.authn.session_token import SessionTokenService

    late = SessionTokenService(world.sessions.keyring, clock=lambda: 4_000_000_000.0)
    with pytest.raises(ExpiredCredentialsError):
        drive(SigV4Authenticator(sessions=late).authenticate(view(headers), RequestMeta()), world)


def test_long_term_key_with_a_security_token_is_refused(world: World) -> None:
    headers = sign("GET", URL, world.akid, world.secret, token="some-token")
    with pytest.raises(InvalidAccessKeyError):
        drive(SigV4Authenticator().authenticate(view(headers), RequestMeta()), world)


def test_key_of_a_deleted_user_is_unknown(world: World) -> None:
    headers = sign("GET", URL, world.akid, world.secret)
    world.store.delete_user("alice", force=True)
    with pytest.raises(InvalidAccessKeyError):
        drive(SigV4Authenticator().authenticate(view(headers), RequestMeta()), world)


def test_not_mine(world: World) -> None:
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        result, asked = drive(SigV4Authenticator().authenticate(view(headers), RequestMeta()), world)
        assert (result, asked) == (None, [])


def test_sigv2_is_refused_with_awss_message(world: World) -> None:
    with pytest.raises(AuthenticationError) as refused:
        drive(
            SigV4Authenticator().authenticate(view({"Authorization": "AWS AKID:sig"}), RequestMeta()), world
        )
    assert refused.value.code == "InvalidRequest"


def test_bearer(world: World) -> None:
    creds = world.role_session()
    bearer = BearerAuthenticator(world.sessions)
    result, asked = drive(
        bearer.authenticate(view({"Authorization": f"Bearer {creds.session_token}"}), RequestMeta()), world
    )
    assert asked == [] and result.method == "bearer"
    assert result.principal.arn.endswith("assumed-role/reader/s1")
    assert drive(bearer.authenticate(view({}), RequestMeta()), world)[0] is None
    with pytest.raises(InvalidAccessKeyError):
        drive(
            bearer.authenticate(view({"Authorization": "Bearer " + creds.session_token[:-2]}), RequestMeta()),
            world,
        )


def test_anonymous_only_without_credentials(world: World) -> None:
    anonymous = AnonymousAuthenticator()
    assert drive(anonymous.authenticate(view({}), RequestMeta()), world)[0].principal is ANONYMOUS
    assert drive(anonymous.authenticate(view({"Authorization": "x"}), RequestMeta()), world)[0] is None


@pytest.mark.parametrize("service", [None, "s3"])
def test_presigned_url_of_a_role_session_is_read_once_and_names_the_session(
    world: World, service: Any
) -> None:
    """A presigned URL carries its session token in the query: the authenticator takes it (and
    the rest of the X-Amz-* parameters) from the one reading of the query that verification
    reuses, and the token's session is the caller; a token that is not the key's is refused."""
    from botocore.auth import S3SigV4QueryAuth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = world.role_session()
    signer_class = S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth
    url = "https://api.example.com/things/a%20b.txt?x=1&list-type=2"

    def presigned(token: str) -> RequestView:
        request = AWSRequest(method="GET", url=url, headers={"host": "api.example.com"})
        signer_class(
            Credentials(creds.access_key_id, creds.secret_access_key, token),
            service or "execute-api",
            "us-east-1",
        ).add_auth(request)
        return RequestView.from_url("GET", request.url, [("host", "api.example.com")], b"")

    authenticator = SigV4Authenticator(sessions=world.sessions, service=service)
    result, asked = drive(authenticator.authenticate(presigned(creds.session_token), RequestMeta()), world)
    assert asked == [] and result.verified.presigned
    assert result.claims is not None and result.principal.role_arn.endswith(":role/reader")

    other = world.role_session()
    with pytest.raises(AuthenticationError):
        drive(authenticator.authenticate(presigned(other.session_token), RequestMeta()), world)


def test_presigned_token_of_undecodable_bytes_is_refused_not_crashed(world: World) -> None:
    """Regression: ``X-Amz-Security-Token=%C3%28%FF`` (not UTF-8) reached the token cache as
    surrogate escapes and raised UnicodeEncodeError, a 500; it is an invalid token (4xx)."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = world.role_session()
    request = AWSRequest(method="GET", url="https://h/b/k", headers={"host": "h"})
    S3SigV4QueryAuth(
        Credentials(creds.access_key_id, creds.secret_access_key, "x"), "s3", "us-east-1"
    ).add_auth(request)
    query = request.url.partition("?")[2].replace("X-Amz-Security-Token=x", "X-Amz-Security-Token=%C3%28%FF")
    view = RequestView("GET", "/b/k", query, [("host", "h")], b"")
    with pytest.raises(AuthenticationError) as refused:
        drive(
            SigV4Authenticator(sessions=world.sessions, service="s3").authenticate(view, RequestMeta()), world
        )
    assert 400 <= refused.value.http_status < 500
