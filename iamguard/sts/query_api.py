"""The STS Query protocol, in and out: what boto3 and the AWS CLI speak to STS.

Part of ``sts/``; pure. A request is a form body (or query string) ``Action=AssumeRole&Version=
2011-06-15&RoleArn=...``; lists are ``Name.member.N`` (``PolicyArns.member.1.arn``,
``Tags.member.1.Key``/``.Value``, ``TransitiveTagKeys.member.1``), and an empty list is sent as
``Name=``. A success is ``<XResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><XResult>
...</XResult><ResponseMetadata><RequestId/></ResponseMetadata></XResponse>``; a failure is
``<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>``
(shapes from botocore's ``sts/2011-06-15/service-2.json``; the wire format from
https://docs.aws.amazon.com/STS/latest/APIReference/CommonParameters.html and
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).

:class:`StsEndpoint` joins the pieces for the WSGI and ASGI apps: it authenticates the request
(SigV4 with service ``sts``; long-term keys from the store, ``ASIA...`` keys from their session
token without a store round trip), calls :class:`~iamguard.sts.service.TokenService` and renders
the answer. It never lets an unexpected exception reach the client as anything but
``InternalFailure``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from iamguard.authn.request_view import RequestView
from iamguard.authn.session_token import IssuedCredentials, SessionClaims, is_session_access_key_id
from iamguard.authn.sigv4 import VerifiedRequest, verify_sigv4
from iamguard.errors import IAMGuardError, InvalidAccessKeyError, STSError, client_message
from iamguard.principal import Principal
from iamguard.resolve import store_arn
from iamguard.sts.service import (
    AssumeRoleResult,
    AssumeRoleWithSAMLResult,
    AssumeRoleWithWebIdentityResult,
    CallerIdentity,
    DecodedAuthorizationMessage,
    FederationTokenResult,
    SessionTokenResult,
    Tag,
    TokenService,
    principal_for,
)

if TYPE_CHECKING:
    from iamguard.enforce.audit import AccessTracker

__all__ = [
    "API_VERSION",
    "NAMESPACE",
    "UNSIGNED_ACTIONS",
    "QueryRequest",
    "Response",
    "StsEndpoint",
    "parse_query",
    "render_error",
    "render_result",
]

API_VERSION = "2011-06-15"
NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
#: Called without credentials: the identity provider's token or assertion authenticates them.
UNSIGNED_ACTIONS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
ACTIONS = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "GetSessionToken",
        "GetFederationToken",
        "GetCallerIdentity",
        "DecodeAuthorizationMessage",
    }
)
_MEMBER = re.compile(r"(?P<name>[A-Za-z]+)\.member\.(?P<index>[1-9][0-9]{0,3})(?:\.(?P<field>[A-Za-z]+))?")
_MAX_MEMBERS = 1000
_log = logging.getLogger("iamguard.sts")


# ---------------------------------------------------------------------- request


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """One parsed Query request: the action, scalar parameters and ``member`` lists."""

    action: str
    version: str | None
    scalars: Mapping[str, str]
    lists: Mapping[str, tuple[Mapping[str, str] | str, ...]]

    def text(self, name: str) -> str | None:
        return self.scalars.get(name)

    def required(self, name: str, wire: str) -> str:
        value = self.scalars.get(name)
        if value is None:
            raise STSError(
                f"1 validation error detected: Value null at '{wire}' failed to satisfy constraint: "
                "Member must not be null",
                code="ValidationError",
                http_status=400,
            )
        return value

    def integer(self, name: str, wire: str) -> int | None:
        value = self.scalars.get(name)
        if value is None:
            return None
        if not re.fullmatch(r"-?[0-9]{1,12}", value):
            raise STSError(
                f"Invalid value for {name}: {value[:32]!r} is not an integer",
                code="ValidationError",
                http_status=400,
            )
        return int(value)

    def strings(self, name: str) -> tuple[str, ...]:
        return tuple(item for item in self.lists.get(name, ()) if isinstance(item, str))

    def structs(self, name: str) -> tuple[Mapping[str, str], ...]:
        return tuple(item for item in self.lists.get(name, ()) if not isinstance(item, str))


def _malformed(message: str) -> STSError:
    return STSError(message, code="MalformedQueryString", http_status=400)


def parse_query(text: str) -> QueryRequest:
    """Parse a form body or query string; lists are rebuilt in ``member.N`` order.

    Missing members (``member.1`` and ``member.3`` only) and duplicates are refused, as a
    client that sent them is broken.
    """
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=2000)
    except ValueError as exc:
        raise _malformed(f"The query string is malformed: {exc}") from None
    scalars: dict[str, str] = {}
    members: dict[str, dict[int, dict[str, str] | str]] = {}
    empty: set[str] = set()
    for name, value in pairs:
        match = _MEMBER.fullmatch(name)
        if match is None:
            if name in scalars:
                raise _malformed(f"Parameter {name} appears more than once")
            scalars[name] = value
            continue
        _add_member(members, match, value)
    for name, value in list(scalars.items()):
        if value == "" and name[:1].isupper() and name not in ("Action", "Version"):
            empty.add(name)  # "Name=" is an empty list for list-typed parameters
    lists = {name: _ordered(name, items) for name, items in members.items()}
    for name in empty:
        lists.setdefault(name, ())
    action = scalars.pop("Action", None)
    if not action:
        raise STSError("Missing Action", code="MissingAction", http_status=400)
    return QueryRequest(action, scalars.pop("Version", None), scalars, lists)


def _add_member(
    members: dict[str, dict[int, dict[str, str] | str]], match: re.Match[str], value: str
) -> None:
    name, index, field_name = match["name"], int(match["index"]), match["field"]
    if index > _MAX_MEMBERS:
        raise _malformed(f"{name}.member.{index}: too many list members")
    slot = members.setdefault(name, {})
    if field_name is None:
        if index in slot:
            raise _malformed(f"Parameter {name}.member.{index} appears more than once")
        slot[index] = value
        return
    entry = slot.setdefault(index, {})
    if isinstance(entry, str) or field_name in entry:
        raise _malformed(f"Parameter {name}.member.{index}.{field_name} appears more than once")
    entry[field_name] = value


def _ordered(name: str, items: dict[int, dict[str, str] | str]) -> tuple[dict[str, str] | str, ...]:
    if sorted(items) != list(range(1, len(items) + 1)):
        raise _malformed(f"{name}.member indexes must run 1..N without gaps")
    return tuple(items[i] for i in range(1, len(items) + 1))


# ---------------------------------------------------------------------- dispatch


def _tags(request: QueryRequest) -> tuple[Tag, ...]:
    tags = []
    for entry in request.structs("Tags"):
        if "Key" not in entry or "Value" not in entry:
            raise STSError(
                "1 validation error detected: Tag Key and Value must not be null",
                code="ValidationError",
                http_status=400,
            )
        tags.append(Tag(entry["Key"], entry["Value"]))
    return tuple(tags)


def _policy_arns(request: QueryRequest) -> tuple[str, ...]:
    arns = []
    for entry in request.structs("PolicyArns"):
        if "arn" not in entry:
            raise STSError(
                "1 validation error detected: PolicyArns member arn must not be null",
                code="ValidationError",
                http_status=400,
            )
        arns.append(entry["arn"])
    return tuple(arns)


def call(
    service: TokenService, request: QueryRequest, caller: Principal | None, session: SessionClaims | None
) -> object:
    """Run ``request.action`` on ``service``; the result value or an :class:`STSError`."""
    action = request.action
    if action not in ACTIONS:
        raise STSError(
            f"Could not find operation {action[:64]} for version {request.version}",
            code="InvalidAction",
            http_status=400,
        )
    if request.version != API_VERSION:
        raise STSError(
            f"Could not find operation {action} for version {request.version}",
            code="InvalidAction",
            http_status=400,
        )
    if action == "AssumeRoleWithWebIdentity":
        return service.assume_role_with_web_identity(
            role_arn=request.required("RoleArn", "roleArn"),
            role_session_name=request.required("RoleSessionName", "roleSessionName"),
            web_identity_token=request.required("WebIdentityToken", "webIdentityToken"),
            provider_id=request.text("ProviderId"),
            policy_arns=_policy_arns(request),
            policy=request.text("Policy"),
            duration_seconds=request.integer("DurationSeconds", "durationSeconds"),
        )
    if action == "AssumeRoleWithSAML":
        return service.assume_role_with_saml(
            role_arn=request.required("RoleArn", "roleArn"),
            principal_arn=request.required("PrincipalArn", "principalArn"),
            saml_assertion=request.required("SAMLAssertion", "SAMLAssertion"),
            policy_arns=_policy_arns(request),
            policy=request.text("Policy"),
            duration_seconds=request.integer("DurationSeconds", "durationSeconds"),
        )
    if caller is None:
        raise STSError(
            "Request is missing Authentication Token", code="MissingAuthenticationToken", http_status=403
        )
    return _signed_call(service, request, caller, session)


def _signed_call(
    service: TokenService, request: QueryRequest, caller: Principal, session: SessionClaims | None
) -> object:
    action = request.action
    if action == "GetCallerIdentity":
        return service.get_caller_identity(caller)
    if action == "AssumeRole":
        return service.assume_role(
            caller,
            session=session,
            role_arn=request.required("RoleArn", "roleArn"),
            role_session_name=request.required("RoleSessionName", "roleSessionName"),
            policy_arns=_policy_arns(request),
            policy=request.text("Policy"),
            duration_seconds=request.integer("DurationSeconds", "durationSeconds"),
            tags=_tags(request),
            transitive_tag_keys=request.strings("TransitiveTagKeys"),
            external_id=request.text("ExternalId"),
            serial_number=request.text("SerialNumber"),
            token_code=request.text("TokenCode"),
            source_identity=request.text("SourceIdentity"),
        )
    if action == "GetSessionToken":
        return service.get_session_token(
            caller,
            session=session,
            duration_seconds=request.integer("DurationSeconds", "durationSeconds"),
            serial_number=request.text("SerialNumber"),
            token_code=request.text("TokenCode"),
        )
    if action == "GetFederationToken":
        return service.get_federation_token(
            caller,
            session=session,
            name=request.required("Name", "name"),
            policy=request.text("Policy"),
            policy_arns=_policy_arns(request),
            duration_seconds=request.integer("DurationSeconds", "durationSeconds"),
            tags=_tags(request),
        )
    return service.decode_authorization_message(
        caller, session=session, encoded_message=request.required("EncodedMessage", "encodedMessage")
    )


# ---------------------------------------------------------------------- rendering


def _iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, name: str, value: object) -> ET.Element:
    child = ET.SubElement(parent, name)
    child.text = str(value)
    return child


def _credentials(parent: ET.Element, credentials: IssuedCredentials) -> None:
    node = ET.SubElement(parent, "Credentials")
    _add(node, "AccessKeyId", credentials.access_key_id)
    _add(node, "SecretAccessKey", credentials.secret_access_key)
    _add(node, "SessionToken", credentials.session_token)
    _add(node, "Expiration", _iso(credentials.expiration))


def _assumed_role(parent: ET.Element, role_id: str, arn: str) -> None:
    node = ET.SubElement(parent, "AssumedRoleUser")
    _add(node, "AssumedRoleId", role_id)
    _add(node, "Arn", arn)


def _fill(result_node: ET.Element, result: object) -> None:
    if isinstance(result, CallerIdentity):
        _add(result_node, "UserId", result.user_id)
        _add(result_node, "Account", result.account)
        _add(result_node, "Arn", result.arn)
    elif isinstance(result, (AssumeRoleResult, AssumeRoleWithWebIdentityResult, AssumeRoleWithSAMLResult)):
        _credentials(result_node, result.credentials)
        _assumed_role(result_node, result.assumed_role_id, result.arn)
        _add(result_node, "PackedPolicySize", result.packed_policy_size)
        _fill_federation(result_node, result)
        if result.source_identity is not None:
            _add(result_node, "SourceIdentity", result.source_identity)
    elif isinstance(result, SessionTokenResult):
        _credentials(result_node, result.credentials)
    elif isinstance(result, FederationTokenResult):
        _credentials(result_node, result.credentials)
        node = ET.SubElement(result_node, "FederatedUser")
        _add(node, "FederatedUserId", result.federated_user_id)
        _add(node, "Arn", result.arn)
        _add(result_node, "PackedPolicySize", result.packed_policy_size)
    elif isinstance(result, DecodedAuthorizationMessage):
        _add(result_node, "DecodedMessage", result.decoded_message)
    else:
        raise TypeError(f"cannot render {type(result).__name__}")


def _fill_federation(node: ET.Element, result: object) -> None:
    if isinstance(result, AssumeRoleWithWebIdentityResult):
        _add(node, "SubjectFromWebIdentityToken", result.subject_from_web_identity_token)
        _add(node, "Provider", result.provider)
        _add(node, "Audience", result.audience)
    elif isinstance(result, AssumeRoleWithSAMLResult):
        for name, value in (
            ("Subject", result.subject),
            ("SubjectType", result.subject_type),
            ("Issuer", result.issuer),
            ("Audience", result.audience),
            ("NameQualifier", result.name_qualifier),
        ):
            _add(node, name, value)


def render_result(action: str, result: object, request_id: str) -> bytes:
    """``<{action}Response xmlns=...><{action}Result>...</...><ResponseMetadata>...``"""
    root = ET.Element(f"{action}Response", {"xmlns": NAMESPACE})
    _fill(ET.SubElement(root, f"{action}Result"), result)
    metadata = ET.SubElement(root, "ResponseMetadata")
    _add(metadata, "RequestId", request_id)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def render_error(error: IAMGuardError, request_id: str) -> bytes:
    """AWS's Query error document; ``Type`` is ``Sender`` for 4xx, ``Receiver`` for 5xx."""
    root = ET.Element("ErrorResponse", {"xmlns": NAMESPACE})
    node = ET.SubElement(root, "Error")
    _add(node, "Type", "Sender" if error.http_status < 500 else "Receiver")
    _add(node, "Code", error.code)
    _add(node, "Message", client_message(error))
    _add(root, "RequestId", request_id)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


# ---------------------------------------------------------------------- the endpoint


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, headers and body, for the WSGI or ASGI app to send."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Error')}"


class StsEndpoint:
    """Authenticate, dispatch and render one STS request (shared by the WSGI and ASGI apps).

    ``tracker`` records each answered signed call's access key, ``sts`` service and region as
    last used (GetAccessKeyLastUsed, the credential report), as AWS does for every authenticated
    call.
    """

    def __init__(
        self,
        service: TokenService,
        *,
        clock: Callable[[], _dt.datetime] | None = None,
        max_body_bytes: int = 512 * 1024,
        regions: str | Iterable[str] = ("us-east-1",),
        tracker: AccessTracker | None = None,
    ) -> None:
        self.service = service
        self.tracker = tracker
        self.max_body_bytes = max_body_bytes
        #: Regions a signature's scope may name; STS's global endpoint takes us-east-1 only
        #: (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
        self.regions = frozenset((regions,) if isinstance(regions, str) else regions)
        self._now = clock or (lambda: _dt.datetime.now(_dt.timezone.utc))

    def handle(self, view: RequestView) -> Response:
        """Authenticate and run one STS Query request; every failure becomes an AWS-shaped error."""
        request_id = str(uuid.uuid4())
        try:
            result, action = self._handle(view)
            body = render_result(action, result, request_id)
            return self._response(200, body, request_id)
        except IAMGuardError as error:
            return self.error(error, request_id)
        except Exception as error:
            return self.failure(error, request_id)

    def too_large(self) -> Response:
        """The answer to a body over ``max_body_bytes`` (413 ``RequestEntityTooLarge``)."""
        error = STSError("Request body too large", code="RequestEntityTooLarge", http_status=413)
        return self.error(error)

    def error(self, error: IAMGuardError, request_id: str | None = None) -> Response:
        """``error`` as AWS's error document, with a request id; logged (5xx at ERROR, 4xx at INFO)."""
        request_id = request_id or str(uuid.uuid4())
        status = error.http_status if 400 <= error.http_status <= 599 else 500
        if status >= 500:
            _log.error("STS request %s answered %d: %s", request_id, status, error.code, exc_info=error)
        else:  # the client's own message (no secrets), %r so request text cannot forge log lines
            _log.info(
                "STS request %s refused %d %s: %r", request_id, status, error.code, client_message(error)
            )
        return self._response(status, render_error(error, request_id), request_id)

    @staticmethod
    def failure(error: BaseException, request_id: str | None = None) -> Response:
        """A bare ``InternalFailure`` 500 for the client; the cause and the request id are
        logged at ERROR (``iamguard.sts``), never sent."""
        request_id = request_id or str(uuid.uuid4())
        _log.error("STS request %s failed: %s", request_id, type(error).__name__, exc_info=error)
        failure = IAMGuardError("An internal error occurred.", code="InternalFailure", http_status=500)
        return StsEndpoint._response(500, render_error(failure, request_id), request_id)

    @staticmethod
    def _response(status: int, body: bytes, request_id: str) -> Response:
        headers = (
            ("Content-Type", "text/xml"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
        )
        return Response(status, headers, body)

    def _handle(self, view: RequestView) -> tuple[object, str]:
        request = self._parse(view)
        caller: Principal | None = None
        session: SessionClaims | None = None
        verified: VerifiedRequest | None = None
        if request.action not in UNSIGNED_ACTIONS:
            caller, session, verified = self._authenticate(view)
        result = call(self.service, request, caller, session)
        if self.tracker is not None and caller is not None and verified is not None:
            self._track(caller, verified, request.action)
        return result, request.action

    def _track(self, caller: Principal, verified: VerifiedRequest, action: str) -> None:
        entity = store_arn(caller)
        if entity is None:
            return
        assert self.tracker is not None
        key = verified.access_key_id
        self.tracker.note(
            entity_arn=entity,
            action=f"sts:{action}",
            region=verified.region,
            access_key_id=None if is_session_access_key_id(key) else key,
            authenticated_entity=caller.arn,
        )

    @staticmethod
    def _parse(view: RequestView) -> QueryRequest:
        if view.method == "POST":
            content_type = (view.header("content-type") or "").split(";", 1)[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded":
                raise STSError(
                    "Content-Type must be application/x-www-form-urlencoded",
                    code="InvalidParameterValue",
                    http_status=400,
                )
            try:
                text = (view.body or b"").decode("utf-8")
            except UnicodeDecodeError:
                raise _malformed("The request body is not UTF-8") from None
            return parse_query(text)
        if view.method == "GET":
            return parse_query(view.query_string)
        raise STSError(f"Method {view.method} is not allowed", code="MethodNotAllowed", http_status=405)

    def authenticate(self, view: RequestView) -> tuple[Principal, SessionClaims | None]:
        """Verify SigV4 (service ``sts``) and return the caller and, for temporary keys, its session."""
        caller, claims, _ = self._authenticate(view)
        return caller, claims

    def _authenticate(self, view: RequestView) -> tuple[Principal, SessionClaims | None, VerifiedRequest]:
        found: dict[str, SessionClaims] = {}
        owner: list[Any] = []
        tokens = self.service.tokens

        def lookup_secret(access_key_id: str) -> str | None:
            if is_session_access_key_id(access_key_id):
                token = view.header("x-amz-security-token") or view.query_param("X-Amz-Security-Token")
                if not token:
                    return None
                claims, secret = tokens.verify_with_secret(token, access_key_id=access_key_id)
                found["claims"] = claims
                return secret
            if view.header("x-amz-security-token") or view.query_param("X-Amz-Security-Token"):
                return None  # a session token with a long-term key: "The security token ... is invalid"
            for store in self.service.stores.values():
                getter = getattr(store, "get_access_key", None)
                answer = getter(access_key_id) if callable(getter) else None
                if answer is not None:
                    key, secret = answer
                    if not key.active:
                        return None
                    owner.append(key)
                    return str(secret)
            return None

        verified = verify_sigv4(
            view, lookup_secret, now=self._now(), service_hint="sts", regions=self.regions
        )
        claims = found.get("claims")
        if claims is not None:
            return claims.to_principal(now=self._now().timestamp()), claims, verified
        return self._long_term_principal(owner[0] if owner else None), None, verified

    def _long_term_principal(self, key: Any) -> Principal:
        owner_arn = getattr(key, "owner_arn", "")
        account = owner_arn.split(":")[4] if owner_arn.count(":") >= 5 else ""
        store = self.service.store_for(account)
        resolved = store.resolve_principal(owner_arn) if store is not None else None
        if resolved is None:
            raise InvalidAccessKeyError("The security token included in the request is invalid.")
        return principal_for(resolved, owner_arn.split(":")[1])
