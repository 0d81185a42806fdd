"""The IAM Query protocol, in and out: what boto3's ``iam`` client and ``aws iam`` speak.

Part of ``iam/``. A request is a form-encoded POST (or a GET query string)
``Action=CreateUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=team...`` signed with
SigV4 for service ``iam``; a success is ``<CreateUserResponse xmlns="https://iam.amazonaws.com/
doc/2010-05-08/"><CreateUserResult>...</CreateUserResult><ResponseMetadata><RequestId/>
</ResponseMetadata></CreateUserResponse>``; a failure is ``<ErrorResponse><Error><Type>Sender
</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`` with the HTTP status AWS's model
gives the code.
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonParameters.html
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html

:class:`IamEndpoint` authenticates the request with a :class:`~iamguard.enforce.guard.Guard`
over the store (long-term keys from the store, ``ASIA...`` session keys from their STS session
token), reads the parameters along the action's input shape, runs the action through
:class:`~iamguard.iam.service.IamService` and renders the result. No unexpected exception
reaches the client as anything but ``ServiceFailure``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from iamguard.authn.context import RequestMeta
from iamguard.authn.request_view import RequestView
from iamguard.authn.session_token import SessionTokenService
from iamguard.enforce.audit import AccessTracker, AuditSink
from iamguard.enforce.guard import Guard
from iamguard.errors import IAMGuardError, client_message
from iamguard.iam._caller import Authorizer, Caller
from iamguard.iam._model import error_status, input_shape, read_form
from iamguard.iam._registry import find
from iamguard.iam._xml import render_error, render_result
from iamguard.iam.service import IamService
from iamguard.store.service import IdentityService
from iamguard.sts.query_api import Response

__all__ = ["IamEndpoint", "parse_form"]

_log = logging.getLogger("iamguard.iam")
_MAX_FIELDS = 4000


def _malformed(message: str) -> IAMGuardError:
    return IAMGuardError(message, code="MalformedQueryString", http_status=400)


def parse_form(text: str) -> tuple[str, str | None, dict[str, str]]:
    """``(Action, Version, other parameters)`` of a form body or query string; a parameter sent
    twice is refused (a client that does it is broken)."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError as exc:
        raise _malformed(f"The query string is malformed: {exc}") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise _malformed(f"Parameter {name[:64]} appears more than once")
        form[name] = value
    action = form.pop("Action", None)
    if not action:
        raise IAMGuardError("Missing Action", code="MissingAction", http_status=400)
    return action, form.pop("Version", None), form


class IamEndpoint:
    """Authenticate, dispatch and render one IAM request (shared by the WSGI and ASGI apps).

    ``sessions`` verifies STS session tokens (callers using role sessions); ``regions`` are the
    regions a signature's scope may name (IAM is global and signs with ``us-east-1``); ``audit``
    receives every authorization decision (``iam:<Action>`` allowed or denied, with the caller,
    the target ARN and the request id), as the guard's audit sink does for any guarded app;
    ``tracker`` records each allowed call's access key, ``iam`` service and region as last used
    (GetAccessKeyLastUsed, the credential report), as AWS does for every authenticated call.
    """

    def __init__(
        self,
        store: IdentityService,
        *,
        sessions: SessionTokenService | None = None,
        regions: str | Iterable[str] = ("us-east-1",),
        max_body_bytes: int = 512 * 1024,
        audit: AuditSink | None = None,
        guard: Guard | None = None,
        tracker: AccessTracker | None = None,
    ) -> None:
        self.guard = guard or Guard(
            store, sessions=sessions, service="iam", region=regions, audit=audit, tracker=tracker
        )
        self.service = IamService(store, authorizer=Authorizer(self.guard))
        self.max_body_bytes = max_body_bytes

    def handle(self, view: RequestView, meta: RequestMeta | None = None) -> Response:
        """The response to one IAM request: authenticate it, run its action as the caller and
        render AWS's XML answer, or AWS's error document (never an exception); ``meta`` carries
        the client's address and scheme for the condition keys."""
        request_id = str(uuid.uuid4())
        try:
            # The response's request id is the one audit records and logs carry.
            meta = (
                RequestMeta(meta.remote_addr, meta.scheme, request_id)
                if meta
                else RequestMeta(request_id=request_id)
            )
            action, result = self._handle(view, meta, request_id)
            return self._response(200, render_result(action, result, request_id), request_id)
        except IAMGuardError as error:
            return self.error(error, request_id)
        except Exception as error:
            return self.failure(error, request_id)

    def _handle(
        self, view: RequestView, meta: RequestMeta, request_id: str
    ) -> tuple[str, Mapping[str, object] | None]:
        action, version, form = self._parse(view)
        authenticated = self.guard.authenticate(view, meta)
        find(action, version)
        shape = input_shape(action)
        params = read_form(shape, form) if shape is not None else {}
        result = self.service.call(action, params, caller=Caller(authenticated), request_id=request_id)
        return action, result

    @staticmethod
    def _parse(view: RequestView) -> tuple[str, str | None, dict[str, str]]:
        if view.method == "POST":
            content_type = (view.header("content-type") or "").split(";", 1)[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded":
                raise IAMGuardError(
                    "Content-Type must be application/x-www-form-urlencoded",
                    code="InvalidParameterValue",
                    http_status=400,
                )
            try:
                return parse_form((view.body or b"").decode("utf-8"))
            except UnicodeDecodeError:
                raise _malformed("The request body is not UTF-8") from None
        if view.method == "GET":
            return parse_form(view.query_string)
        raise IAMGuardError(f"Method {view.method} is not allowed", code="MethodNotAllowed", http_status=405)

    def too_large(self) -> Response:
        """The 413 ``RequestEntityTooLarge`` error for a body over ``max_body_bytes``."""
        return self.error(
            IAMGuardError("Request body too large", code="RequestEntityTooLarge", http_status=413)
        )

    def error(self, error: IAMGuardError, request_id: str | None = None) -> Response:
        """``error`` as AWS's error document with the model's HTTP status for its code; logged
        (5xx at ERROR with the cause, 4xx at INFO with the client's message)."""
        request_id = request_id or str(uuid.uuid4())
        status = error.http_status if 400 <= error.http_status <= 599 else 500
        status = error_status(error.code, status) if status < 500 else status
        if status >= 500:
            _log.error("IAM request %s answered %d: %s", request_id, status, error.code, exc_info=error)
        else:
            _log.info(
                "IAM request %s refused %d %s: %r", request_id, status, error.code, client_message(error)
            )
        return self._response(status, render_error(error, request_id, status), request_id)

    @staticmethod
    def failure(error: BaseException, request_id: str | None = None) -> Response:
        """AWS's ``ServiceFailure`` 500; the cause is logged at ERROR, never sent."""
        request_id = request_id or str(uuid.uuid4())
        _log.error("IAM request %s failed: %s", request_id, type(error).__name__, exc_info=error)
        failure = IAMGuardError("An internal error occurred.", code="ServiceFailure", http_status=500)
        return IamEndpoint._response(500, render_error(failure, request_id, 500), request_id)

    @staticmethod
    def _response(status: int, body: bytes, request_id: str) -> Response:
        headers = (
            ("Content-Type", "text/xml"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
        )
        return Response(status, headers, body)
