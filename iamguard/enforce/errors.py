"""Stage 6: the one place errors become HTTP responses, shaped as AWS shapes them.

Every integration (WSGI, ASGI, Flask, FastAPI) renders through :func:`render_error`, so a
client sees the same body whatever framework the app uses:

* ``style="s3"`` — S3's REST-XML error:
  ``<Error><Code/><Message/><RequestId/></Error>``
  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses
* ``style="json"`` — the Query-protocol error as JSON:
  ``{"Error": {"Type", "Code", "Message"}, "RequestId"}`` with an ``x-amzn-ErrorType`` header.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html

The status is the error's own (``SignatureDoesNotMatch`` 403, ``ExpiredToken`` 400, ...), as
AWS answers; AWS answers failed authentication with 403, not 401. The Message is never empty and
never a traceback: anything that is not an :class:`~iamguard.errors.IAMGuardError` becomes a
bare ``InternalFailure`` 500. An access denial carries the encoded authorization message that
STS's ``DecodeAuthorizationMessage`` opens, as EC2 does
("... Encoded authorization failure message: <text>").
"""

from __future__ import annotations

import json
import logging
from typing import Literal, Protocol
from xml.sax.saxutils import escape

from iamguard.errors import INTERNAL_FAULT_MESSAGE, EncodedAccessDeniedError, IAMGuardError, client_message

__all__ = [
    "EncodedAccessDeniedError",
    "ErrorResponse",
    "ErrorStyle",
    "RenderError",
    "log_error_response",
    "log_server_error",
    "render_error",
]

_log = logging.getLogger("iamguard.enforce")

ErrorStyle = Literal["json", "s3"]
#: (status, headers, body): what an integration writes back.
ErrorResponse = tuple[int, list[tuple[str, str]], bytes]


class RenderError(Protocol):
    """An injectable error renderer; :func:`render_error` is the default."""

    def __call__(
        self, error: BaseException, *, style: ErrorStyle = "json", request_id: str = ""
    ) -> ErrorResponse: ...


def _code_status_message(error: BaseException) -> tuple[str, int, str]:
    if not isinstance(error, IAMGuardError):
        return "InternalFailure", 500, INTERNAL_FAULT_MESSAGE
    status = error.http_status if 400 <= error.http_status <= 599 else 500
    return error.code or "InternalFailure", status, client_message(error)


def log_server_error(
    error: BaseException, request_id: str, status: int, logger: logging.Logger = _log
) -> None:
    """Log a 5xx answer server-side (the client saw only ``InternalFailure`` and the request id).

    The exception is logged with its traceback for the operator; exceptions never carry
    secrets (STYLE.md §4) and nothing from the request's headers is logged here.
    """
    logger.error(
        "request %s answered %d: %s: %s",
        request_id,
        status,
        type(error).__name__,
        getattr(error, "code", "") or "unexpected error",
        exc_info=(type(error), error, error.__traceback__),
    )


def log_error_response(
    error: BaseException, request_id: str, status: int, logger: logging.Logger = _log
) -> None:
    """Log every error answer once, server-side: a 5xx with its cause (:func:`log_server_error`),
    a 4xx (a refused or malformed request) at INFO with its code and the message the client got.

    The message is the client's own (never a secret, see :func:`iamguard.errors.client_message`)
    and is logged with ``%r``, so text an attacker put in a request cannot forge log lines.
    """
    if status >= 500:
        log_server_error(error, request_id, status, logger)
    elif logger.isEnabledFor(logging.INFO):
        code = getattr(error, "code", "") or type(error).__name__
        message = client_message(error) if isinstance(error, IAMGuardError) else ""
        logger.info("request %s refused %d %s: %r", request_id, status, code, message)


def render_error(error: BaseException, *, style: ErrorStyle = "json", request_id: str = "") -> ErrorResponse:
    """``error`` as an AWS-shaped response: status, headers and body bytes."""
    code, status, message = _code_status_message(error)
    if style == "s3":
        # Extra elements some S3 errors carry (AuthorizationHeaderMalformed's <Region>).
        details = getattr(error, "details", ()) if isinstance(error, IAMGuardError) else ()
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in details)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}"
            f"<RequestId>{escape(request_id)}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    else:
        kind = "Receiver" if status >= 500 else "Sender"
        document = {"Error": {"Type": kind, "Code": code, "Message": message}, "RequestId": request_id}
        body = json.dumps(document, separators=(",", ":")).encode("utf-8")
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body
