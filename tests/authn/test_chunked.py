"""aws-chunked bodies: the AWS docs chunk-signature example, boto3's captured unsigned-trailer
uploads, a signed-trailer round trip, and the ways a body can be broken.

Specs: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html (signed chunks),
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html (trailers),
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html (checksums).
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from iamguard.authn import canonical as c
from iamguard.authn.chunked import (
    chunk_string_to_sign,
    compute_checksum,
    decode_aws_chunked,
    trailer_string_to_sign,
)
from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import VerifiedRequest, verify_sigv4
from iamguard.credentials.signer import StaticCredentials, sign_url
from iamguard.errors import IAMGuardError, SignatureMismatchError

from .vectors import DATA, Vector, extra

DOC = json.loads((DATA / "aws-docs-chunked" / "put-object-chunked.json").read_text())
DOC_TIME = datetime(2013, 5, 24, tzinfo=timezone.utc)


def _doc_body(chunks: list[tuple[bytes, str]]) -> bytes:
    out = b""
    for data, sig in chunks:
        out += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    return out


def _doc_chunks() -> list[tuple[bytes, str]]:
    return [(DOC["chunk_byte"].encode() * ch["size"], ch["signature"]) for ch in DOC["chunks"]]


def _doc_request(body: bytes) -> RequestView:
    scope = c.credential_scope("20130524", DOC["region"], DOC["service"])
    auth = (
        f"AWS4-HMAC-SHA256 Credential={DOC['access_key_id']}/{scope}, "
        f"SignedHeaders={DOC['signed_headers']}, Signature={DOC['seed_signature']}"
    )
    headers = [tuple(h) for h in DOC["headers"]] + [("Authorization", auth)]
    return RequestView(DOC["method"], DOC["path"], "", headers, body)


def _doc_verify(view: RequestView) -> VerifiedRequest:
    return verify_sigv4(view, lambda _a: DOC["secret_access_key"], now=DOC_TIME)


def test_aws_docs_example_seed_chunks_and_length() -> None:
    body = _doc_body(_doc_chunks())
    assert len(body) == 66824  # the example's Content-Length
    view = _doc_request(body)
    verified = _doc_verify(view)  # the seed signature is the Authorization signature
    decoded = decode_aws_chunked(view, verified)
    assert decoded.data == b"a" * 66560
    assert decoded.trailers == () and decoded.checksum_algorithm is None


def test_chunk_signatures_chain_as_documented() -> None:
    verified = _doc_verify(_doc_request(_doc_body(_doc_chunks())))
    previous = DOC["seed_signature"]
    for data, expected in _doc_chunks():
        previous = c.signature(verified.seed_signing_key, chunk_string_to_sign(verified, previous, data))
        assert previous == expected


def _doc_mutation(name: str) -> bytes:
    chunks = _doc_chunks()
    if name == "data byte":
        data, sig = chunks[1]
        chunks[1] = (b"b" + data[1:], sig)
    elif name == "chunk order":
        chunks[0], chunks[1] = chunks[1], chunks[0]
    elif name == "chunk signature":
        data, sig = chunks[0]
        chunks[0] = (data, sig[:-1] + ("0" if sig[-1] != "0" else "1"))
    elif name == "dropped chunk":
        del chunks[1]
    elif name == "missing signature":
        return b"400\r\n" + b"a" * 1024 + b"\r\n0\r\n\r\n"
    return _doc_body(chunks)


@pytest.mark.parametrize(
    "mutation", ["data byte", "chunk order", "chunk signature", "dropped chunk", "missing signature"]
)
def test_broken_signed_chunks_are_rejected(mutation: str) -> None:
    view = _doc_request(_doc_mutation(mutation))
    verified = _doc_verify(view)
    with pytest.raises(SignatureMismatchError):
        decode_aws_chunked(view, verified)


@pytest.mark.parametrize(
    "body,code",
    [
        (lambda b: b[:-5], "IncompleteBody"),  # truncated final chunk
        (lambda b: b + b"junk", "IncompleteBody"),  # bytes after the final chunk
        (lambda b: b.replace(b"10000;", b"1000g;", 1), "IncompleteBody"),  # not hex
        (lambda b: b.replace(b"10000;", b"10001;", 1), "IncompleteBody"),  # size lies
    ],
    ids=["truncated", "trailing-bytes", "bad-size", "size-mismatch"],
)
def test_malformed_chunked_body(body, code: str) -> None:  # type: ignore[no-untyped-def]
    view = _doc_request(body(_doc_body(_doc_chunks())))
    with pytest.raises(IAMGuardError) as info:
        decode_aws_chunked(view, _doc_verify(view))
    assert info.value.code == code and info.value.http_status == 400


def test_decoded_length_must_match_header() -> None:
    view = _doc_request(_doc_body(_doc_chunks()))
    view = replace(
        view,
        headers=tuple((n, "66561" if n == "x-amz-decoded-content-length" else v) for n, v in view.headers),
    )
    # The header is signed; use the original request's verification to test the length check alone.
    verified = _doc_verify(_doc_request(_doc_body(_doc_chunks())))
    with pytest.raises(IAMGuardError) as info:
        decode_aws_chunked(view, verified)
    assert info.value.code == "IncompleteBody"


# ---------------------------------------------------------------- boto3's unsigned trailer

TRAILER_VECTORS = [
    v for v in extra() if v.signed.header("x-amz-content-sha256") == c.STREAMING_UNSIGNED_PAYLOAD_TRAILER
]


def _verify_vector(vector: Vector, view: RequestView | None = None) -> VerifiedRequest:
    return verify_sigv4(view or vector.signed, lambda _a: vector.secret, now=vector.signed_at)


def test_two_captured_trailer_uploads_exist() -> None:
    assert len(TRAILER_VECTORS) == 2


@pytest.mark.parametrize("vector", TRAILER_VECTORS, ids=lambda v: v.id)
def test_boto3_unsigned_trailer_upload_decodes_and_crc32_verifies(vector: Vector) -> None:
    decoded = decode_aws_chunked(vector.signed, _verify_vector(vector))
    assert len(decoded.data) == int(str(vector.signed.header("x-amz-decoded-content-length")))
    assert decoded.checksum_algorithm == "crc32" and decoded.checksum_verified
    raw = json.loads((DATA / "extra" / (vector.id.removeprefix("extra/") + ".json")).read_text())
    if "decoded_body" in raw:
        assert decoded.data == raw["decoded_body"].encode()


@pytest.mark.parametrize("vector", TRAILER_VECTORS, ids=lambda v: v.id)
def test_unsigned_trailer_data_change_is_bad_digest(vector: Vector) -> None:
    body = bytearray(vector.signed.body or b"")
    first_data = body.index(b"\r\n") + 2
    body[first_data] ^= 0x20  # flip a letter's case: same length, different bytes
    view = replace(vector.signed, body=bytes(body))
    with pytest.raises(IAMGuardError) as info:
        decode_aws_chunked(view, _verify_vector(vector, view))
    assert info.value.code == "BadDigest" and info.value.http_status == 400


@pytest.mark.parametrize("vector", TRAILER_VECTORS, ids=lambda v: v.id)
def test_unsigned_trailer_without_checksum_is_refused(vector: Vector) -> None:
    body = vector.signed.body or b""
    cut = body[: body.index(b"0\r\n") + 3] + b"\r\n"
    view = replace(vector.signed, body=cut)
    with pytest.raises(IAMGuardError) as info:
        decode_aws_chunked(view, _verify_vector(vector, view))
    assert info.value.code == "InvalidRequest"


def test_trailer_must_be_the_announced_one() -> None:
    vector = TRAILER_VECTORS[0]
    body = (vector.signed.body or b"").replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-sha1:")
    view = replace(vector.signed, body=body)
    with pytest.raises(IAMGuardError) as info:
        decode_aws_chunked(view, _verify_vector(vector, view))
    assert info.value.code == "InvalidRequest"


# ---------------------------------------------------------------- signed chunks with a trailer

AKID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)


def _signed_trailer_upload(
    payload: bytes, chunk: int, *, tamper_trailer: bool = False
) -> tuple[RequestView, VerifiedRequest]:
    """Client side of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, written from the spec."""
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    headers = [
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-content-sha256", c.STREAMING_SIGNED_PAYLOAD_TRAILER),
        ("x-amz-decoded-content-length", str(len(payload))),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ]
    head = sign_url(
        "PUT",
        "https://s3.us-east-1.amazonaws.com/b/k",
        StaticCredentials(AKID, SECRET),
        region="us-east-1",
        service="s3",
        headers=headers,
        now=NOW,
    )
    verified = verify_sigv4(head, lambda _a: SECRET, now=NOW)  # headers only: body comes next
    body, previous = b"", verified.signature
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        previous = c.signature(verified.seed_signing_key, chunk_string_to_sign(verified, previous, piece))
        body += (
            f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + (b"\r\n" if piece else b"")
        )
    trailers = (("x-amz-checksum-crc32", crc),)
    trailer_sig = c.signature(verified.seed_signing_key, trailer_string_to_sign(verified, previous, trailers))
    sent_crc = crc if not tamper_trailer else base64.b64encode(b"\0\0\0\0").decode()
    body += f"x-amz-checksum-crc32:{sent_crc}\r\nx-amz-trailer-signature:{trailer_sig}\r\n\r\n".encode()
    return replace(head, body=body), verified


def test_signed_chunks_with_signed_trailer_round_trip() -> None:
    view, verified = _signed_trailer_upload(b"0123456789" * 1000, 4096)
    decoded = decode_aws_chunked(view, verified)
    assert decoded.data == b"0123456789" * 1000 and decoded.checksum_verified


def test_tampered_signed_trailer_is_rejected() -> None:
    view, verified = _signed_trailer_upload(b"payload", 3, tamper_trailer=True)
    with pytest.raises(SignatureMismatchError):
        decode_aws_chunked(view, verified)


# ---------------------------------------------------------------- checksums


@pytest.mark.parametrize(
    "algorithm,expected",
    [
        # Check values for "123456789" (CRC catalogue) and FIPS 180 digests, base64-encoded.
        ("crc32", base64.b64encode(bytes.fromhex("cbf43926")).decode()),
        ("sha1", base64.b64encode(bytes.fromhex("f7c3bc1d808e04732adf679965ccc34ca7ae3441")).decode()),
        (
            "sha256",
            base64.b64encode(
                bytes.fromhex("15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225")
            ).decode(),
        ),
    ],
)
def test_builtin_checksums(algorithm: str, expected: str) -> None:
    assert compute_checksum(algorithm, b"123456789") == expected


@pytest.mark.parametrize("algorithm,check_hex", [("crc32c", "e3069283"), ("crc64nvme", "ae8b14860a799888")])
def test_optional_checksums_compute_or_refuse_clearly(algorithm: str, check_hex: str) -> None:
    try:
        value = compute_checksum(algorithm, b"123456789")
    except IAMGuardError as error:
        assert error.code == "NotImplemented" and error.http_status == 501 and algorithm in str(error)
    else:
        assert value == base64.b64encode(bytes.fromhex(check_hex)).decode()


def test_decode_refuses_non_streaming_payload() -> None:
    view = sign_url(
        "PUT",
        "https://s3.amazonaws.com/b/k",
        StaticCredentials(AKID, SECRET),
        region="us-east-1",
        service="s3",
        body=b"x",
        now=NOW,
    )
    with pytest.raises(ValueError):
        decode_aws_chunked(view, verify_sigv4(view, lambda _a: SECRET, now=NOW + timedelta(seconds=1)))
