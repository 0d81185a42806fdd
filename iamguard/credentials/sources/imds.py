"""Instance-profile credentials from the EC2 Instance Metadata Service, IMDSv2 first.

https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html
1. ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds``; 200 gives a token;
   403/404/405 or a timeout mean "no IMDSv2 here", so fall back to IMDSv1 unless
   ``AWS_EC2_METADATA_V1_DISABLED=true``; 400 is an error (botocore's rules).
2. ``GET /latest/meta-data/iam/security-credentials/`` → the role name (first line).
3. ``GET …/security-credentials/<role>`` → JSON with AccessKeyId, SecretAccessKey, Token,
   Expiration.

Unreachable, no role attached, or ``AWS_EC2_METADATA_DISABLED=true`` → not configured (``None``).
Endpoint: ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (or the profile's
``ec2_metadata_service_endpoint``), else IPv6 ``http://[fd00:ec2::254]/`` when
``AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6``, else ``http://169.254.169.254/``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from iamguard.credentials._http import (
    EndpointUnavailable,
    Flow,
    HttpRequest,
    HttpSettings,
    run_async,
    run_sync,
)
from iamguard.credentials.config_files import ProfileScope, env_flag
from iamguard.credentials.provider import Credentials, parse_expiration
from iamguard.errors import CredentialsError

__all__ = ["DEFAULT_ENDPOINT", "IPV6_ENDPOINT", "TOKEN_TTL_SECONDS", "ImdsProvider"]

DEFAULT_ENDPOINT = "http://169.254.169.254/"
IPV6_ENDPOINT = "http://[fd00:ec2::254]/"
TOKEN_TTL_SECONDS = 21600
_CREDS_PATH = "latest/meta-data/iam/security-credentials/"


class _NoCredentials(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ImdsProvider:
    name = "imds"
    role = True

    def __init__(
        self,
        scope: ProfileScope | None = None,
        *,
        settings: HttpSettings | None = None,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._scope = scope or ProfileScope()
        # botocore's metadata_service_timeout / num_attempts defaults: 1 s, 1 attempt.
        self._settings = settings or HttpSettings(connect_timeout=1.0, read_timeout=1.0, attempts=1)
        self._client = client
        self._async_client = async_client

    def disabled(self) -> bool:
        return env_flag(self._scope.environ().get("AWS_EC2_METADATA_DISABLED"))

    def base_url(self) -> str:
        env = self._scope.environ()
        custom = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        if not custom:
            custom = self._scope.shared_config().value(
                self._scope.profile_name(), "ec2_metadata_service_endpoint"
            )
        if custom:
            return custom if custom.endswith("/") else custom + "/"
        mode = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "")
        return IPV6_ENDPOINT if mode.strip().lower() == "ipv6" else DEFAULT_ENDPOINT

    def _flow(self, base: str) -> Flow[Credentials]:
        v1_disabled = env_flag(self._scope.environ().get("AWS_EC2_METADATA_V1_DISABLED"))
        token = yield from self._token_flow(base)
        if token is None and v1_disabled:
            raise CredentialsError(
                "imds: no IMDSv2 token and AWS_EC2_METADATA_V1_DISABLED=true; enable "
                "IMDSv2 on the instance or allow IMDSv1"
            )
        headers = (("x-aws-ec2-metadata-token", token),) if token else ()
        try:
            listing = yield HttpRequest("GET", base + _CREDS_PATH, headers)
        except EndpointUnavailable:
            raise _NoCredentials(f"{base} is not reachable (not on EC2?)") from None
        role = (
            listing.text.strip().splitlines()[0].strip()
            if listing.status == 200 and listing.text.strip()
            else ""
        )
        if not role:
            raise _NoCredentials(f"no instance profile role (HTTP {listing.status} for the role listing)")
        try:
            answer = yield HttpRequest("GET", base + _CREDS_PATH + role, headers)
        except EndpointUnavailable:
            raise _NoCredentials(f"{base} stopped answering while fetching role {role!r}") from None
        return self._parse(answer.status, answer.body, role)

    def _token_flow(self, base: str) -> Flow[str | None]:
        ttl = (("x-aws-ec2-metadata-token-ttl-seconds", str(TOKEN_TTL_SECONDS)),)
        try:
            response = yield HttpRequest("PUT", base + "latest/api/token", ttl)
        except EndpointUnavailable as exc:
            if exc.timed_out:
                return None  # botocore: a token timeout means "try IMDSv1"
            raise _NoCredentials(f"{base} is not reachable (not on EC2?)") from None
        if response.status == 200 and response.text:
            return response.text
        if response.status == 400:
            raise CredentialsError(f"imds: the token request to {base} was rejected (HTTP 400)")
        return None  # 403/404/405 and others: no IMDSv2 here

    def _parse(self, status: int, body: bytes, role: str) -> Credentials:
        try:
            data: Any = json.loads(body) if status == 200 else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _NoCredentials(f"role {role!r} credentials unavailable (HTTP {status})")
        if data.get("Code", "Success") != "Success":
            raise _NoCredentials(f"IMDS reported {data.get('Code')!r} for role {role!r}")
        try:
            return Credentials(
                data["AccessKeyId"],
                data["SecretAccessKey"],
                data.get("Token") or None,
                expiration=parse_expiration(data["Expiration"]) if data.get("Expiration") else None,
                source=self.name,
            )
        except (KeyError, ValueError, TypeError):
            raise CredentialsError(f"imds: invalid credentials document for role {role!r}") from None

    def load_or_reason(self) -> Credentials | str:
        if self.disabled():
            return "AWS_EC2_METADATA_DISABLED=true"
        try:
            return run_sync(self._flow(self.base_url()), self._settings, self._client)
        except _NoCredentials as absent:
            return absent.reason

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None

    async def aload(self) -> Credentials | None:
        if self.disabled():
            return None
        try:
            return await run_async(self._flow(self.base_url()), self._settings, self._async_client)
        except _NoCredentials:
            return None
