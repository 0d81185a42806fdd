"""A minimal STS Query-protocol client: AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken.

Requests are form POSTs (``Action=…&Version=2011-06-15``) signed with SigV4 by
:mod:`iamguard.credentials.signer`, except ``AssumeRoleWithWebIdentity``, which AWS accepts
unsigned (the web identity token is the credential). Responses are XML; an ``<ErrorResponse>``
becomes :class:`~iamguard.errors.STSError` with AWS's code.
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/STS/latest/APIReference/CommonParameters.html
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import httpx

from iamguard.credentials._http import Flow, HttpRequest, HttpResponse, HttpSettings, run_sync
from iamguard.credentials.config_files import ProfileScope, SharedConfig
from iamguard.credentials.endpoints import resolve_endpoint_url
from iamguard.credentials.provider import Credentials, parse_expiration
from iamguard.credentials.signer import SigningCredentials, sign_url
from iamguard.errors import STSError

__all__ = [
    "STS_VERSION",
    "StsClient",
    "build_sts_request",
    "parse_sts_credentials",
    "sts_client_for",
    "sts_endpoint",
]

STS_VERSION = "2011-06-15"
_FORM = "application/x-www-form-urlencoded; charset=utf-8"
_STS_SETTINGS = HttpSettings(connect_timeout=2.0, read_timeout=10.0, attempts=3)


def sts_endpoint(region: str | None) -> str:
    """``https://sts.<region>.amazonaws.com`` (regional), or the global endpoint without a region.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html
    """
    if not region or region == "aws-global":
        return "https://sts.amazonaws.com"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


def build_sts_request(
    action: str,
    params: Mapping[str, str | int | None],
    *,
    endpoint: str,
    region: str | None,
    credentials: SigningCredentials | None,
) -> HttpRequest:
    """The form POST for ``action``; signed when ``credentials`` are given (``None`` values dropped)."""
    fields = [("Action", action), ("Version", STS_VERSION)]
    fields += [(k, str(v)) for k, v in params.items() if v is not None]
    body = urlencode(fields).encode()
    url = endpoint if urlsplit(endpoint).path else endpoint.rstrip("/") + "/"
    headers: list[tuple[str, str]] = [("Content-Type", _FORM)]
    if credentials is None:
        return HttpRequest("POST", url, tuple(headers), body)
    signed = sign_url(
        "POST", url, credentials, region=region or "us-east-1", service="sts", headers=headers, body=body
    )
    return HttpRequest("POST", url, tuple(signed.headers), body)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, *path: str) -> ET.Element | None:
    current: ET.Element | None = element
    for name in path:
        if current is None:
            return None
        current = next((child for child in current if _local(child.tag) == name), None)
    return current


def _text(element: ET.Element, *path: str) -> str | None:
    found = _find(element, *path)
    return found.text.strip() if found is not None and found.text else None


def parse_sts_credentials(action: str, response: HttpResponse, *, source: str = "sts") -> Credentials:
    """The ``<Credentials>`` of an ``<{action}Response>``; ``STSError`` for error documents."""
    try:
        root = ET.fromstring(response.body)
    except ET.ParseError:
        raise STSError(
            f"STS {action} returned HTTP {response.status} with a body that is not XML",
            code="InvalidResponse",
            http_status=response.status,
        ) from None
    if _local(root.tag) == "ErrorResponse" or response.status >= 400:
        code = _text(root, "Error", "Code") or "UnknownError"
        message = _text(root, "Error", "Message") or ""
        raise STSError(
            f"STS {action} failed: {code}: {message}".rstrip(": "), code=code, http_status=response.status
        )
    creds = _find(root, f"{action}Result", "Credentials")
    fields = {
        name: _text(creds, name) if creds is not None else None
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    }
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise STSError(
            f"STS {action} response lacks {', '.join(missing)}",
            code="InvalidResponse",
            http_status=response.status,
        )
    arn = _text(root, f"{action}Result", "AssumedRoleUser", "Arn")
    return Credentials(
        access_key_id=fields["AccessKeyId"] or "",
        secret_access_key=fields["SecretAccessKey"] or "",
        session_token=fields["SessionToken"],
        expiration=parse_expiration(fields["Expiration"] or ""),
        source=source,
        account_id=arn.split(":")[4] if arn and arn.count(":") >= 5 else None,
    )


def _call_flow(action: str, request: HttpRequest, source: str) -> Flow[Credentials]:
    response = yield request
    return parse_sts_credentials(action, response, source=source)


class StsClient:
    """Calls STS at ``endpoint_url`` (default: the regional endpoint for ``region``)."""

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: httpx.Client | None = None,
        settings: HttpSettings = _STS_SETTINGS,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url or sts_endpoint(region)
        self._client = client
        self._settings = settings

    def _call(
        self,
        action: str,
        params: Mapping[str, str | int | None],
        credentials: SigningCredentials | None,
        source: str,
    ) -> Credentials:
        request = build_sts_request(
            action, params, endpoint=self.endpoint_url, region=self.region, credentials=credentials
        )
        try:
            return run_sync(_call_flow(action, request, source), self._settings, self._client)
        except STSError:
            raise
        except Exception as exc:  # EndpointUnavailable and friends: say which endpoint
            raise STSError(
                f"STS {action} at {self.endpoint_url} failed: {exc}",
                code="ServiceUnavailable",
                http_status=503,
            ) from exc

    def assume_role(
        self,
        credentials: SigningCredentials,
        *,
        role_arn: str,
        role_session_name: str,
        external_id: str | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
        duration_seconds: int | None = None,
        policy: str | None = None,
        source: str = "assume-role",
    ) -> Credentials:
        """STS ``AssumeRole`` signed with ``credentials``: the role session's credentials."""
        return self._call(
            "AssumeRole",
            {
                "RoleArn": role_arn,
                "RoleSessionName": role_session_name,
                "ExternalId": external_id,
                "SerialNumber": serial_number,
                "TokenCode": token_code,
                "DurationSeconds": duration_seconds,
                "Policy": policy,
            },
            credentials,
            source,
        )

    def assume_role_with_web_identity(
        self,
        *,
        role_arn: str,
        role_session_name: str,
        web_identity_token: str,
        duration_seconds: int | None = None,
        source: str = "assume-role-with-web-identity",
    ) -> Credentials:
        """STS ``AssumeRoleWithWebIdentity`` (unsigned: the OIDC token is the credential)."""
        return self._call(
            "AssumeRoleWithWebIdentity",
            {
                "RoleArn": role_arn,
                "RoleSessionName": role_session_name,
                "WebIdentityToken": web_identity_token,
                "DurationSeconds": duration_seconds,
            },
            None,
            source,
        )

    def get_session_token(
        self,
        credentials: SigningCredentials,
        *,
        duration_seconds: int | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
        source: str = "get-session-token",
    ) -> Credentials:
        """STS ``GetSessionToken`` signed with ``credentials`` (with an MFA code when given)."""
        return self._call(
            "GetSessionToken",
            {
                "DurationSeconds": duration_seconds,
                "SerialNumber": serial_number,
                "TokenCode": token_code,
            },
            credentials,
            source,
        )


def sts_client_for(scope: ProfileScope, config: SharedConfig | None = None) -> StsClient:
    """An STS client for a profile: its region and configured endpoint (``AWS_ENDPOINT_URL_STS``…)."""
    config = config or scope.shared_config()
    endpoint = resolve_endpoint_url("STS", env=scope.environ(), config=config, profile=scope.profile_name())
    return StsClient(region=scope.region(config), endpoint_url=endpoint)
