"""aws-chunked request bodies: de-chunking, chunk-signature chains and trailing checksums.

Runs after :func:`iamguard.authn.sigv4.verify_sigv4` accepted the headers of a request whose
``x-amz-content-sha256`` is a streaming value. Three encodings exist:

* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: ``<hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n``
  per chunk, each signature chained on the previous one, starting from the request's (seed)
  signature; the last chunk has size 0.
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: the same, then trailing headers
  (``x-amz-checksum-crc32:…``) and an ``x-amz-trailer-signature`` chained on the last chunk.
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
* ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (boto3's default for uploads over https):
  ``<hex size>\\r\\n<data>\\r\\n`` without signatures, then the trailing checksum, which is the
  only integrity protection and is therefore always verified.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

Checksums: CRC32 (zlib), SHA-1 and SHA-256 (hashlib) are built in; CRC32C and CRC64NVME need an
optional library (``crc32c`` / ``google-crc32c``, ``awscrt``) and are refused with
``NotImplemented`` (501) when none is installed, never silently skipped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from iamguard._wire import parse_decimal
from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import VerifiedRequest
from iamguard.errors import IAMGuardError, InvalidParameterError, SignatureMismatchError

__all__ = [
    "CHECKSUM_TRAILERS",
    "DecodedPayload",
    "chunk_string_to_sign",
    "compute_checksum",
    "decode_aws_chunked",
    "trailer_string_to_sign",
]

_CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
_TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
_MAX_SIZE_DIGITS = 16
_MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """The object bytes after de-chunking, the trailing headers, and the checksum outcome."""

    data: bytes
    trailers: tuple[tuple[str, str], ...]
    checksum_algorithm: str | None  # e.g. "crc32" when a checksum trailer was present
    checksum_verified: bool


def _body_error(message: str, code: str = "IncompleteBody") -> IAMGuardError:
    return IAMGuardError(message, code=code, http_status=400)


# ---------------------------------------------------------------- checksums


def _crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def _crc32c_function() -> Callable[[bytes], bytes] | None:
    try:
        import crc32c  # type: ignore[import-not-found,unused-ignore]

        return lambda data: int(crc32c.crc32c(data)).to_bytes(4, "big")
    except ImportError:
        pass
    try:
        import google_crc32c  # type: ignore[import-not-found,unused-ignore]

        return lambda data: int(google_crc32c.value(data)).to_bytes(4, "big")
    except ImportError:
        return None


def _crc64nvme_function() -> Callable[[bytes], bytes] | None:
    try:
        from awscrt import checksums  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return lambda data: int(checksums.crc64nvme(data)).to_bytes(8, "big")


_BUILTIN: dict[str, Callable[[bytes], bytes]] = {
    "crc32": _crc32,
    "sha1": lambda data: hashlib.sha1(data).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
}
_OPTIONAL: dict[str, Callable[[], Callable[[bytes], bytes] | None]] = {
    "crc32c": _crc32c_function,
    "crc64nvme": _crc64nvme_function,
}
#: Trailer header name → algorithm name.
CHECKSUM_TRAILERS = {f"x-amz-checksum-{name}": name for name in (*_BUILTIN, *_OPTIONAL)}


def compute_checksum(algorithm: str, data: bytes) -> str:
    """Base64 checksum of ``data`` as S3 writes it in ``x-amz-checksum-<algorithm>``."""
    function = _BUILTIN.get(algorithm) or (_OPTIONAL[algorithm]() if algorithm in _OPTIONAL else None)
    if function is None:
        raise IAMGuardError(
            f"checksum algorithm {algorithm!r} is not supported here (install an implementation "
            "such as 'crc32c' for CRC32C or 'awscrt' for CRC64NVME)",
            code="NotImplemented",
            http_status=501,
        )
    return base64.b64encode(function(data)).decode("ascii")


# ---------------------------------------------------------------- chunk signatures


def chunk_string_to_sign(verified: VerifiedRequest, previous: str, chunk: bytes) -> str:
    """String to sign for one chunk: chained on the previous signature (seed for the first)."""
    return "\n".join(
        (
            _CHUNK_ALGORITHM,
            verified.amz_date,
            verified.credential_scope,
            previous,
            c.EMPTY_SHA256,
            hashlib.sha256(chunk).hexdigest(),
        )
    )


def trailer_string_to_sign(
    verified: VerifiedRequest, previous: str, trailers: tuple[tuple[str, str], ...]
) -> str:
    """String to sign for the trailing headers: hash of ``name:value\\n`` lines, chained."""
    block = "".join(f"{name}:{value}\n" for name, value in trailers)
    digest = hashlib.sha256(block.encode("utf-8")).hexdigest()
    return f"{_TRAILER_ALGORITHM}\n{verified.amz_date}\n{verified.credential_scope}\n{previous}\n{digest}"


def _check_chain(expected: str, provided: str | None, what: str) -> None:
    if provided is None or not hmac.compare_digest(expected.encode(), provided.encode()):
        raise SignatureMismatchError(f"the {what} signature does not match")


# ---------------------------------------------------------------- parsing


class _Reader:
    """A cursor over the wire body that yields CRLF-terminated lines and fixed-size blocks."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def line(self) -> bytes:
        end = self.body.find(b"\r\n", self.pos, self.pos + _MAX_LINE)
        if end < 0:
            raise _body_error("aws-chunked body: missing CRLF")
        text = self.body[self.pos : end]
        self.pos = end + 2
        return text

    def block(self, size: int) -> bytes:
        data = self.body[self.pos : self.pos + size]
        if len(data) != size or self.body[self.pos + size : self.pos + size + 2] != b"\r\n":
            raise _body_error("aws-chunked body: chunk shorter than its declared size")
        self.pos += size + 2
        return data


def _chunk_header(line: bytes, signed: bool) -> tuple[int, str | None]:
    size_text, _, extension = line.partition(b";")
    if (
        not size_text
        or len(size_text) > _MAX_SIZE_DIGITS
        or not all(ch in b"0123456789abcdefABCDEF" for ch in size_text)
    ):
        raise _body_error(f"aws-chunked body: bad chunk size {size_text[:20]!r}")
    signature: str | None = None
    if extension:
        name, _, value = extension.partition(b"=")
        if name != b"chunk-signature":
            raise _body_error("aws-chunked body: unknown chunk extension")
        signature = value.decode("ascii", "replace")
    if signed and signature is None:
        raise SignatureMismatchError("aws-chunked body: chunk without chunk-signature")
    if not signed and signature is not None:
        raise _body_error("aws-chunked body: chunk-signature in an unsigned payload")
    return int(size_text, 16), signature


def _read_trailers(reader: _Reader) -> tuple[tuple[str, str], ...]:
    trailers: list[tuple[str, str]] = []
    while True:
        line = reader.line()
        if not line:
            return tuple(trailers)
        name, sep, value = line.decode("utf-8", "replace").partition(":")
        if not sep:
            raise _body_error("aws-chunked body: malformed trailing header")
        trailers.append((name.strip().lower(), value.strip()))


# ---------------------------------------------------------------- entry point


def decode_aws_chunked(view: RequestView, verified: VerifiedRequest) -> DecodedPayload:
    """De-chunk ``view.body``, verify every chunk signature (signed forms) and the checksum trailer.

    Also checks ``x-amz-decoded-content-length`` and that the trailer is the one announced in
    ``x-amz-trailer``. Raises :class:`SignatureMismatchError` for a broken chain, an
    ``IncompleteBody``/``BadDigest`` error for a malformed body or a wrong checksum.
    """
    mode = verified.payload_hash
    if mode not in (
        c.STREAMING_SIGNED_PAYLOAD,
        c.STREAMING_SIGNED_PAYLOAD_TRAILER,
        c.STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    ):
        raise InvalidParameterError(f"not an aws-chunked payload: {mode!r}")
    if view.body is None:
        raise InvalidParameterError("decode_aws_chunked needs the buffered body")
    signed = mode != c.STREAMING_UNSIGNED_PAYLOAD_TRAILER
    reader = _Reader(view.body)
    previous = verified.signature
    parts: list[bytes] = []
    while True:
        size, chunk_sig = _chunk_header(reader.line(), signed)
        data = reader.block(size) if size else b""
        if signed:
            expected = c.signature(verified.seed_signing_key, chunk_string_to_sign(verified, previous, data))
            _check_chain(expected, chunk_sig, "chunk")
            previous = expected
        if size == 0:
            break
        parts.append(data)
    trailers = _read_trailers(reader)
    if reader.pos != len(view.body):
        raise _body_error("aws-chunked body: bytes after the final chunk")
    trailers = _check_trailer_signature(verified, mode, previous, trailers)
    payload = b"".join(parts)
    _check_decoded_length(view, payload)
    algorithm, verified_sum = _check_checksum(view, payload, trailers, mode)
    return DecodedPayload(payload, trailers, algorithm, verified_sum)


def _check_trailer_signature(
    verified: VerifiedRequest, mode: str, previous: str, trailers: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    if mode != c.STREAMING_SIGNED_PAYLOAD_TRAILER:
        if any(name == "x-amz-trailer-signature" for name, _ in trailers):
            raise _body_error("aws-chunked body: trailer signature in an unsigned-trailer payload")
        return trailers
    provided = [value for name, value in trailers if name == "x-amz-trailer-signature"]
    rest = tuple((name, value) for name, value in trailers if name != "x-amz-trailer-signature")
    expected = c.signature(verified.seed_signing_key, trailer_string_to_sign(verified, previous, rest))
    _check_chain(expected, provided[0] if len(provided) == 1 else None, "trailer")
    return rest


def _check_decoded_length(view: RequestView, payload: bytes) -> None:
    declared = view.header("x-amz-decoded-content-length")
    if declared is not None and parse_decimal(declared.strip(), 19) != len(payload):
        raise _body_error("x-amz-decoded-content-length does not match the decoded body length")


def _check_checksum(
    view: RequestView, payload: bytes, trailers: tuple[tuple[str, str], ...], mode: str
) -> tuple[str | None, bool]:
    announced = [n.strip().lower() for n in (view.header("x-amz-trailer") or "").split(",") if n.strip()]
    names = [name for name, _ in trailers]
    if sorted(names) != sorted(announced):
        raise _body_error(
            "the trailing headers differ from those announced in x-amz-trailer", "InvalidRequest"
        )
    sums = [(name, value) for name, value in trailers if name in CHECKSUM_TRAILERS]
    if not sums:
        if mode == c.STREAMING_UNSIGNED_PAYLOAD_TRAILER:
            # Without chunk signatures the trailing checksum is the only integrity check.
            raise _body_error(
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER needs an x-amz-checksum-* trailer", "InvalidRequest"
            )
        return None, False
    if len(sums) > 1:
        raise _body_error("more than one checksum trailer", "InvalidRequest")
    name, value = sums[0]
    algorithm = CHECKSUM_TRAILERS[name]
    if not hmac.compare_digest(compute_checksum(algorithm, payload).encode(), value.encode()):
        raise _body_error(
            f"The {algorithm.upper()} you specified did not match the calculated checksum.", "BadDigest"
        )
    return algorithm, True
