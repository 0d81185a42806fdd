"""Credentials passed in code: the caller chose them, so they come first in every chain."""

from __future__ import annotations

from iamguard.credentials.provider import Credentials
from iamguard.errors import PartialCredentialsError

__all__ = ["ExplicitProvider"]


class ExplicitProvider:
    """Keys given to :func:`default_credential_chain` (or directly); none given → not configured."""

    name = "explicit"
    role = False

    def __init__(
        self,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
    ) -> None:
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._session_token = session_token

    def load_or_reason(self) -> Credentials | str:
        if not self._access_key_id and not self._secret_access_key:
            if self._session_token:
                raise PartialCredentialsError(
                    "explicit: a session token was passed without access_key_id and secret_access_key"
                )
            return "no access_key_id/secret_access_key passed in code"
        if not self._access_key_id:
            raise PartialCredentialsError(
                "explicit: secret_access_key passed without access_key_id; pass both"
            )
        if not self._secret_access_key:
            raise PartialCredentialsError(
                "explicit: access_key_id passed without secret_access_key; pass both"
            )
        return Credentials(
            self._access_key_id, self._secret_access_key, self._session_token or None, source=self.name
        )

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None
