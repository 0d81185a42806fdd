"""Numbers and bodies as they come off the wire, read without trusting the sender.

Shared by the SigV4 verifier, the WSGI/ASGI middlewares and the STS apps. Two rules:

* a number from the wire is ASCII digits only, of bounded length: ``str.isdigit()`` is true for
  ``"¹"`` and ``"٣"`` (``int()`` then fails or reads a digit the client did not mean) and
  ``int()`` refuses more than 4,300 digits with a ``ValueError``;
* a body is read in pieces of :data:`PIECE` bytes into a buffer this module owns, up to a
  limit, and every failure of the stream (an exception, a short read, a stream claiming more
  bytes than it was asked for) is a :class:`BodyReadError`, never a crash. One
  ``read(64 MiB)`` on Werkzeug's dev-server de-chunking reader crashed the process
  (``RawIOBase.read`` resizing a buffer the reader had shrunk).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from iamguard.errors import BodyReadError, BodyTooLargeError, IAMGuardError

__all__ = [
    "PIECE",
    "AsgiApp",
    "BodyReadError",
    "BodyTooLargeError",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "parse_content_length",
    "parse_decimal",
    "read_body",
    "receive_body",
]

#: ASGI 3's types, named once for every ASGI app of the package.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Bytes asked of a stream at a time.
PIECE = 64 * 1024
_DECIMAL = re.compile(r"[0-9]+", re.ASCII)


def parse_decimal(text: str, max_digits: int) -> int | None:
    """``text`` as a non-negative integer when it is 1..``max_digits`` ASCII digits, else ``None``."""
    if len(text) > max_digits or _DECIMAL.fullmatch(text) is None:
        return None
    return int(text)


def parse_content_length(text: str | None) -> int | None:
    """A ``Content-Length`` value (surrounding blanks allowed); ``None`` when absent or empty.

    Raises :class:`BodyReadError` (``InvalidArgument``) for anything but ASCII digits.
    """
    if text is None or not text.strip(" \t"):
        return None
    length = parse_decimal(text.strip(" \t"), 19)
    if length is None:
        raise BodyReadError(f"Invalid Content-Length: {text[:40]!r}", code="InvalidArgument")
    return length


def read_body(stream: Any, length: int | None, limit: int) -> bytes:
    """Read the body from a WSGI-style ``stream``: exactly ``length`` bytes, or (``None``) until
    the stream ends; at most ``limit`` bytes either way (:class:`BodyTooLargeError`)."""
    if length is not None and length > limit:
        raise BodyTooLargeError()
    want = limit + 1 if length is None else length
    buffer = bytearray(PIECE)
    view = memoryview(buffer)
    parts: list[bytes] = []
    got = 0
    try:
        while got < want:
            ask = min(PIECE, want - got)
            count = _read_piece(stream, view[:ask], ask)
            if count == 0:
                break
            parts.append(bytes(view[:count]))
            got += count
    except IAMGuardError:
        raise
    except Exception as error:
        raise BodyReadError(f"The request body could not be read ({type(error).__name__})") from None
    finally:
        view.release()
    if length is None and got > limit:
        raise BodyTooLargeError()
    if length is not None and got < length:
        raise BodyReadError(
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )
    return b"".join(parts)


def _read_piece(stream: Any, into: memoryview, ask: int) -> int:
    """Up to ``ask`` bytes into ``into``; the count (0 at the end). A stream that says it gave
    more than it was asked for, or not a count at all, is broken."""
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        # A memoryview cannot be resized: a reader that assigns a slice of another length
        # raises instead of corrupting the buffer.
        count = readinto(into)
        if count is None:
            count = 0
    else:
        data = stream.read(ask)
        if not isinstance(data, (bytes, bytearray)):
            raise BodyReadError("The request body stream returned no bytes")
        count = len(data)
        if count <= ask:
            into[:count] = data
    if type(count) is not int or not 0 <= count <= ask:
        raise BodyReadError("The request body stream misreported its length")
    return count


async def receive_body(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]], limit: int, declared: int | None = None
) -> bytes:
    """The whole request body, message by message, never more than ``limit`` bytes
    (``EntityTooLarge``); a body that ends early (a disconnect, fewer bytes than the declared
    ``Content-Length``) or a message that is not a request body is ``IncompleteBody``."""
    if declared is not None and declared > limit:
        raise BodyTooLargeError()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            raise BodyReadError("The request body ended before it was complete")
        chunk = message.get("body", b"")
        if not isinstance(chunk, (bytes, bytearray)):
            raise BodyReadError("The request body could not be read")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError()
        chunks.append(bytes(chunk))
        if not message.get("more_body", False):
            break
    if declared is not None and size != declared:
        raise BodyReadError(
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )
    return b"".join(chunks)


async def send_response(
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
) -> None:
    """Send one whole ASGI HTTP response (header names lower-cased, as ASGI requires)."""
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def acknowledge_lifespan(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """Answer an ASGI ``lifespan`` scope: the apps that use this hold nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
