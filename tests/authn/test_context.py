"""Request → global condition keys (aws:SourceIp behind trusted proxies, times, transport, ...)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard.authn.context import ContextBuilder, RequestMeta, client_address
from iamguard.authn.request_view import RequestView
from iamguard.principal import Principal, PrincipalType

DATA = json.loads((Path(__file__).parents[1] / "data" / "enforce" / "source_ip_cases.json").read_text())
FROZEN = 1768473000.0  # 2026-01-15T10:30:00Z


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["name"] for c in DATA["cases"]])
def test_source_ip(case: dict[str, Any]) -> None:
    trusted = tuple(ipaddress.ip_network(t, strict=False) for t in case["trusted"])
    assert client_address(case["peer"], case["xff"], trusted) == case["expected"]


@given(st.lists(st.ip_addresses(v=4).map(str), max_size=5), st.ip_addresses(v=4).map(str))
def test_an_untrusted_peer_is_always_the_source(forwarded: list[str], peer: str) -> None:
    """Whatever a direct client writes in X-Forwarded-For, aws:SourceIp is its own address."""
    builder = ContextBuilder(trusted_proxies=["10.0.0.0/8"])
    view = RequestView("GET", "/", headers=[("X-Forwarded-For", ", ".join(forwarded))] if forwarded else [])
    if ipaddress.ip_address(peer) in ipaddress.ip_network("10.0.0.0/8"):
        return
    assert builder.source_ip(view, RequestMeta(peer)) == peer


def test_standard_keys() -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"""
    builder = ContextBuilder(clock=lambda: FROZEN)
    view = RequestView("GET", "/", headers=[("User-Agent", "aws-cli/2"), ("Referer", "https://example.com/")])
    keys = builder.build(
        view, RequestMeta("192.0.2.1", "https"), extra={"s3:prefix": "home/", "aws:ResourceTag/team": "x"}
    )
    assert keys == {
        "aws:currenttime": "2026-01-15T10:30:00Z",
        "aws:epochtime": "1768473000",
        "aws:securetransport": "true",
        "aws:viaawsservice": "false",
        "aws:sourceip": "192.0.2.1",
        "aws:useragent": "aws-cli/2",
        "aws:referer": "https://example.com/",
        "s3:prefix": "home/",
        "aws:resourcetag/team": "x",
    }


def test_forwarded_proto_only_from_a_trusted_proxy() -> None:
    builder = ContextBuilder(trusted_proxies=["10.0.0.1"])
    view = RequestView("GET", "/", headers=[("X-Forwarded-Proto", "https")])
    assert builder.build(view, RequestMeta("10.0.0.1", "http"))["aws:securetransport"] == "true"
    assert builder.build(view, RequestMeta("198.51.100.1", "http"))["aws:securetransport"] == "false"


def test_session_principal_keys() -> None:
    """MFA keys exist only for temporary credentials; aws:TokenIssueTime / aws:SourceIdentity from the session."""
    session = Principal(
        arn="arn:aws:sts::123456789012:assumed-role/R/s",
        account="123456789012",
        type=PrincipalType.ASSUMED_ROLE,
        role_arn="arn:aws:iam::123456789012:role/R",
        mfa_authenticated=True,
        mfa_age_seconds=42,
        token_issue_time="2026-01-15T10:00:00Z",
        source_identity="alice",
    )
    keys = ContextBuilder().build(RequestView("GET", "/"), RequestMeta(), principal=session)
    assert keys["aws:multifactorauthpresent"] == "true"
    assert keys["aws:multifactorauthage"] == "42"
    assert keys["aws:tokenissuetime"] == "2026-01-15T10:00:00Z"
    assert keys["aws:sourceidentity"] == "alice"
    user = Principal.from_arn("arn:aws:iam::123456789012:user/alice")
    assert "aws:multifactorauthpresent" not in ContextBuilder().build(
        RequestView("GET", "/"), RequestMeta(), principal=user
    )


_VIEW_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["User-Agent", "Referer", "X-Forwarded-For", "X-Forwarded-Proto", "X-Other"]),
        st.sampled_from(["a", "b", "203.0.113.9", "https", "http", "10.0.0.2, 198.51.100.4"]),
    ),
    max_size=4,
)


@given(
    requests=st.lists(
        st.tuples(
            _VIEW_HEADERS,
            st.sampled_from(["10.0.0.1", "198.51.100.1", "192.0.2.7"]),
            st.sampled_from(["http", "https"]),
            st.sampled_from([0, 1, 2]),  # which principal
            st.sampled_from([FROZEN, FROZEN + 0.5, FROZEN + 1]),  # clock
        ),
        min_size=1,
        max_size=8,
    ),
    trusted=st.sampled_from([(), ("10.0.0.0/8",)]),
)
def test_for_request_is_build_memoized(
    requests: list[tuple[list[tuple[str, str]], str, str, int, float]], trusted: tuple[str, ...]
) -> None:
    """Whatever sequence of requests arrives, the memoized context equals a fresh build."""
    now = [FROZEN]
    builder = ContextBuilder(trusted_proxies=trusted, clock=lambda: now[0])
    fresh = ContextBuilder(trusted_proxies=trusted, clock=lambda: now[0])
    principals = [
        Principal.from_arn("arn:aws:iam::111122223333:user/alice"),
        Principal.from_arn("arn:aws:iam::111122223333:user/bob", tags={"team": "red"}),
        Principal(arn="*", account="", type=PrincipalType.ANONYMOUS),
    ]
    for headers, peer, scheme, who, clock in requests:
        now[0] = clock
        view = RequestView("GET", "/", headers=headers)
        meta = RequestMeta(peer, scheme)
        got = builder.for_request(view, meta, principals[who], None)
        assert dict(got) == fresh.build(view, meta, principal=principals[who])


def test_for_request_shares_one_read_only_context() -> None:
    builder = ContextBuilder(clock=lambda: FROZEN)
    alice = Principal.from_arn("arn:aws:iam::111122223333:user/alice")
    view = RequestView("GET", "/", headers=[("User-Agent", "boto3")])
    first = builder.for_request(view, RequestMeta("192.0.2.1"), alice, None)
    assert builder.for_request(view, RequestMeta("192.0.2.1"), alice, None) is first
    assert builder.for_request(view, RequestMeta("192.0.2.2"), alice, None)["aws:sourceip"] == "192.0.2.2"
    with pytest.raises(TypeError):
        first["aws:sourceip"] = "203.0.113.1"  # type: ignore[index]
