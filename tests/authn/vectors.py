"""Loads every SigV4 vector under tests/data/sigv4 into one shape.

Three sets (see tests/data/sigv4/README.md for provenance and licenses):
``aws4_testsuite`` (raw .req/.sreq files, 34 cases), ``aws-c-auth-v4`` (header and presigned
forms, 38 cases × 2) and ``extra`` (botocore-generated JSON, plus ``extra/captured`` from real
boto3 clients). The raw request files are parsed here, byte for byte, including the cases
botocore's own driver skips (a raw space in the request line, repeated query keys).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from iamguard.authn.request_view import RequestView

DATA = Path(__file__).resolve().parents[1] / "data" / "sigv4"
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Vector:
    """One signing case: the request before and after signing, and what must come out."""

    id: str
    unsigned: RequestView | None  # before signing (None where the set does not give it)
    signed: RequestView  # what the server receives
    access_key_id: str
    secret: str
    session_token: str | None  # the token the signer must add (None: not signed)
    region: str
    service: str
    signed_at: datetime
    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str | None  # header form only
    presigned: bool
    expires: int | None
    normalize: bool  # False only for aws-c-auth's *-unnormalized cases
    wire_token: str | None  # X-Amz-Security-Token as it appears on the wire

    @property
    def valid_until(self) -> datetime:
        """Last instant the signed request verifies (presigned: expires - 1 s)."""
        if self.presigned:
            assert self.expires is not None
            return self.signed_at + timedelta(seconds=self.expires - 1)
        return self.signed_at


def parse_raw_request(raw: bytes) -> RequestView:
    """Parse an HTTP/1.1 request as written in the suite files (LF endings, obs-fold allowed)."""
    text = raw.decode("utf-8")
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target, _, _version = rest.rpartition(" ")  # the target itself may hold a raw space
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # obs-fold: continuation of the previous value
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return RequestView(method, path, query, headers, body.encode("utf-8") if sep else b"")


def _read(path: Path) -> str:
    # botocore's driver strips \r from expectations; the files here have none, but be explicit.
    return path.read_text(encoding="utf-8").replace("\r", "")


def _authz_signature(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1].strip()


def aws4_testsuite() -> list[Vector]:
    root = DATA / "aws4_testsuite"
    vectors = []
    for req in sorted(root.rglob("*.req")):
        case, name = req.parent, req.stem
        creq = _read(case / f"{name}.creq")
        token = next(
            (ln.split(":", 1)[1] for ln in creq.split("\n") if ln.startswith("x-amz-security-token:")), None
        )
        sreq = parse_raw_request((case / f"{name}.sreq").read_bytes())
        authorization = _read(case / f"{name}.authz").strip()
        # The .authz file is authoritative: upstream's get-vanilla-with-session-token.sreq
        # carries a different (wrong) signature than its .authz/.creq/.sts agree on.
        signed = sreq.with_headers([("Authorization", authorization)])
        vectors.append(
            Vector(
                id=f"aws4_testsuite/{case.relative_to(root)}",
                unsigned=parse_raw_request(req.read_bytes()),
                signed=signed,
                access_key_id=AKID,
                secret=SECRET,
                session_token=token,
                region="us-east-1",
                service="service",
                signed_at=SUITE_TIME,
                canonical_request=creq,
                string_to_sign=_read(case / f"{name}.sts"),
                signature=_authz_signature(authorization),
                authorization=authorization,
                presigned=False,
                expires=None,
                normalize=True,
                wire_token=signed.header("x-amz-security-token"),
            )
        )
    return vectors


def raw_sreq(case_id: str) -> RequestView:
    """The upstream .sreq file of an aws4_testsuite case, unmodified."""
    case = DATA / "aws4_testsuite" / case_id
    return parse_raw_request((case / f"{case.name}.sreq").read_bytes())


def aws_c_auth() -> list[Vector]:
    root = DATA / "aws-c-auth-v4"
    vectors = []
    for case in sorted(p for p in root.iterdir() if p.is_dir()):
        context = json.loads(_read(case / "context.json"))
        creds = context["credentials"]
        token = None if context.get("omit_session_token") else creds.get("token")
        unsigned = parse_raw_request((case / "request.txt").read_bytes())
        for form in ("header", "query"):
            signed = parse_raw_request((case / f"{form}-signed-request.txt").read_bytes())
            authorization = signed.header("authorization") if form == "header" else None
            wire = (
                signed.query_param("X-Amz-Security-Token")
                if form == "query"
                else signed.header("x-amz-security-token")
            )
            vectors.append(
                Vector(
                    id=f"aws-c-auth-v4/{case.name}/{form}",
                    unsigned=unsigned,
                    signed=signed,
                    access_key_id=creds["access_key_id"],
                    secret=creds["secret_access_key"],
                    session_token=token,
                    region=context["region"],
                    service=context["service"],
                    signed_at=datetime.strptime(context["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                        tzinfo=timezone.utc
                    ),
                    canonical_request=_read(case / f"{form}-canonical-request.txt"),
                    string_to_sign=_read(case / f"{form}-string-to-sign.txt"),
                    signature=_read(case / f"{form}-signature.txt").strip(),
                    authorization=authorization,
                    presigned=form == "query",
                    expires=context["expiration_in_seconds"] if form == "query" else None,
                    normalize=context["normalize"],
                    wire_token=wire,
                )
            )
    return vectors


def _view_from_url(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> RequestView:
    parts = urlsplit(url)
    return RequestView(method, parts.path or "/", parts.query, headers, body)


def _json_time(doc: dict[str, object]) -> datetime:
    stamp = str(doc.get("amz_date") or doc["timestamp"])
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def extra() -> list[Vector]:
    """extra/*.json (signer-class output) and extra/captured/*.json (real boto3 clients)."""
    vectors = []
    for path in sorted((DATA / "extra").rglob("*.json")):
        doc = json.loads(_read(path))
        captured = path.parent.name == "captured"
        request = doc if captured else doc["request"]
        expected = doc["expected"]
        body = request["body"].encode("utf-8")
        base_headers = list(request["headers"].items())
        presigned = "presigned_url" in expected
        if presigned:
            signed = _view_from_url(
                request["method"],
                expected["presigned_url"],
                base_headers or [("Host", urlsplit(request["url"]).netloc)],
                body,
            )
            if not signed.has_header("host"):
                signed = signed.with_headers([("Host", urlsplit(request["url"]).netloc)])
            unsigned_url = request["url"].split("?", 1)[0]
            names = set(str(signed.query_param("X-Amz-SignedHeaders")).split(";"))
            kept = [(n, v) for n, v in signed.headers if n.lower() in names]
            unsigned = _view_from_url(request["method"], unsigned_url, kept, body)
            authorization = None
            signature = expected.get("signature") or signed.query_param("X-Amz-Signature")
        else:
            added = list(expected.get("headers_added_by_signer", {}).items())
            signed = _view_from_url(request["method"], request["url"], base_headers + added, body)
            authorization = expected["authorization"]
            signature = _authz_signature(authorization)
            # The request as the signer saw it: the headers it signed, minus the ones it adds.
            names = set(authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";"))
            names -= {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
            kept = [(n, v) for n, v in signed.headers if n.lower() in names]
            declared = signed.header("x-amz-content-sha256")
            if declared is not None and declared.startswith("STREAMING-"):
                kept.append(("X-Amz-Content-SHA256", declared))  # set by the caller, not the signer
            unsigned = _view_from_url(request["method"], request["url"], kept, body)
        vectors.append(
            Vector(
                id=f"extra/{path.relative_to(DATA / 'extra').with_suffix('')}",
                unsigned=unsigned,
                signed=signed,
                access_key_id=doc["access_key_id"],
                secret=doc["secret_access_key"],
                session_token=doc["session_token"],
                region=doc["region"],
                service=doc["service"],
                signed_at=_json_time(doc),
                canonical_request=expected["canonical_request"],
                string_to_sign=expected["string_to_sign"],
                signature=str(signature),
                authorization=authorization,
                presigned=presigned,
                expires=doc.get("expires_seconds") or doc.get("expires_in"),
                normalize=doc["service"] != "s3",
                wire_token=signed.query_param("X-Amz-Security-Token")
                if presigned
                else signed.header("x-amz-security-token"),
            )
        )
    return vectors


def all_vectors() -> list[Vector]:
    return aws4_testsuite() + aws_c_auth() + extra()
