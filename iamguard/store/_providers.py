"""Identity providers: IAM OpenID Connect and SAML provider records.

Part of ``store/``. The store keeps what ``CreateOpenIDConnectProvider`` and ``CreateSAMLProvider``
register (the issuer URL, its client ids and thumbprints; the SAML metadata document), so STS's
``AssumeRoleWithWebIdentity`` and ``AssumeRoleWithSAML`` can find a provider by ARN in every
process that shares the store. Checking a SAML metadata document's content is the caller's job
(``iamguard/sts/saml.py`` parses it; the store sits below ``sts``); the store checks the shapes
the API reference gives.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from iamguard.errors import EntityAlreadyExistsError, InvalidInputError, LimitExceededError, NoSuchEntityError
from iamguard.store._base import _Base
from iamguard.store._rows import _dt, _opt_dt, _tags, _tags_json, _ts
from iamguard.store._rules import check_tags
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import Tags

__all__ = ["PROVIDER_QUOTAS", "OidcProviderRecord", "ProviderQuotas", "SamlProviderRecord"]

_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")
_SAML_NAME = re.compile(r"[\w._-]{1,128}", re.ASCII)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class ProviderQuotas:
    """IAM's identity-provider quotas (AWS's defaults).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities"""

    oidc_providers: int = 100
    saml_providers: int = 100
    client_ids_per_provider: int = 100
    thumbprints_per_provider: int = 5


PROVIDER_QUOTAS = ProviderQuotas()


@dataclass(frozen=True, slots=True)
class OidcProviderRecord:
    """A registered OIDC provider (``GetOpenIDConnectProvider``'s fields)."""

    arn: str
    url: str  # as registered, with its scheme
    client_ids: tuple[str, ...]
    thumbprints: tuple[str, ...]
    create_date: datetime
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class SamlProviderRecord:
    """A registered SAML provider (``GetSAMLProvider``'s fields)."""

    arn: str
    name: str
    metadata_document: str
    create_date: datetime
    valid_until: datetime | None = None
    provider_uuid: str = ""
    tags: Tags = ()


class _IdentityProviders(_Base):
    """OIDC and SAML provider records: create, read, list, change, delete."""

    # ------------------------------------------------------------ OpenID Connect

    def create_open_id_connect_provider(
        self,
        url: str,
        *,
        client_ids: Sequence[str] = (),
        thumbprints: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
    ) -> OidcProviderRecord:
        """Register an OIDC issuer; its ARN is ``oidc-provider/<url without https://>``.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html"""
        arn = self._arn(f"oidc-provider/{_check_oidc_url(url)}")
        clients = _check_client_ids(client_ids)
        prints = _check_thumbprints(thumbprints)
        pairs = check_tags(tags, self.quotas.tags_per_entity)
        with self._write() as tx:
            if tx.get("oidc_providers", {"arn": arn}) is not None:
                raise EntityAlreadyExistsError(f"Provider with url {url} already exists.")
            if tx.count("oidc_providers") >= PROVIDER_QUOTAS.oidc_providers:
                raise LimitExceededError(
                    f"the account already has {PROVIDER_QUOTAS.oidc_providers} OIDC providers"
                )
            tx.insert(
                "oidc_providers",
                {
                    "arn": arn,
                    "url": url,
                    "client_ids": json.dumps(list(clients)),
                    "thumbprints": json.dumps(list(prints)),
                    "create_date": _ts(self._now()),
                    "tags": _tags_json(pairs),
                },
            )
            return _oidc(self._oidc_row(tx, arn))

    def get_open_id_connect_provider(self, arn: str) -> OidcProviderRecord:
        with self._read() as tx:
            return _oidc(self._oidc_row(tx, arn))

    def list_open_id_connect_providers(self) -> list[OidcProviderRecord]:
        with self._read() as tx:
            return [_oidc(r) for r in tx.select("oidc_providers")]

    def delete_open_id_connect_provider(self, arn: str) -> None:
        with self._write() as tx:
            self._oidc_row(tx, arn)
            tx.delete("oidc_providers", {"arn": arn})

    def add_client_id_to_open_id_connect_provider(self, arn: str, client_id: str) -> OidcProviderRecord:
        """Add an audience; adding one already registered changes nothing (as AWS answers)."""
        _check_client_ids((client_id,))
        with self._write() as tx:
            record = _oidc(self._oidc_row(tx, arn))
            if client_id not in record.client_ids:
                _check_client_ids((*record.client_ids, client_id))
                tx.update(
                    "oidc_providers",
                    {"arn": arn},
                    {"client_ids": json.dumps([*record.client_ids, client_id])},
                )
            return _oidc(self._oidc_row(tx, arn))

    def remove_client_id_from_open_id_connect_provider(self, arn: str, client_id: str) -> OidcProviderRecord:
        """Remove an audience; removing one not registered changes nothing (as AWS answers)."""
        _check_client_ids((client_id,))
        with self._write() as tx:
            record = _oidc(self._oidc_row(tx, arn))
            remaining = [c for c in record.client_ids if c != client_id]
            tx.update("oidc_providers", {"arn": arn}, {"client_ids": json.dumps(remaining)})
            return _oidc(self._oidc_row(tx, arn))

    def update_open_id_connect_provider_thumbprint(
        self, arn: str, thumbprints: Sequence[str]
    ) -> OidcProviderRecord:
        """Replace the whole thumbprint list.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html"""
        prints = _check_thumbprints(thumbprints)
        if not prints:
            raise InvalidInputError(
                "ThumbprintList must name at least one thumbprint", code="ValidationError"
            )
        with self._write() as tx:
            self._oidc_row(tx, arn)
            tx.update("oidc_providers", {"arn": arn}, {"thumbprints": json.dumps(list(prints))})
            return _oidc(self._oidc_row(tx, arn))

    def _oidc_row(self, tx: Transaction, arn: str) -> Row:
        row = tx.get("oidc_providers", {"arn": arn}) if isinstance(arn, str) else None
        if row is None:
            raise NoSuchEntityError(f"OpenIDConnect Provider not found for arn {arn}")
        return row

    # ------------------------------------------------------------ SAML

    def create_saml_provider(
        self,
        name: str,
        metadata_document: str,
        *,
        valid_until: datetime | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> SamlProviderRecord:
        """Register a SAML IdP under ``saml-provider/<name>`` (the caller has checked the metadata).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html"""
        if not isinstance(name, str) or not _SAML_NAME.fullmatch(name):
            raise InvalidInputError(
                "SAML provider name must be 1-128 letters, digits and ._-", code="ValidationError"
            )
        _check_metadata(metadata_document)
        pairs = check_tags(tags, self.quotas.tags_per_entity)
        arn = self._arn(f"saml-provider/{name}")
        with self._write() as tx:
            if tx.get("saml_providers", {"arn": arn}) is not None:
                raise EntityAlreadyExistsError(f"SAMLProvider {name} already exists")
            if tx.count("saml_providers") >= PROVIDER_QUOTAS.saml_providers:
                raise LimitExceededError(
                    f"the account already has {PROVIDER_QUOTAS.saml_providers} SAML providers"
                )
            tx.insert(
                "saml_providers",
                {
                    "arn": arn,
                    "name": name,
                    "metadata_document": metadata_document,
                    "create_date": _ts(self._now()),
                    "valid_until": None if valid_until is None else _ts(valid_until),
                    "provider_uuid": str(uuid.uuid4()),
                    "tags": _tags_json(pairs),
                },
            )
            return _saml(self._saml_row(tx, arn))

    def get_saml_provider(self, arn: str) -> SamlProviderRecord:
        with self._read() as tx:
            return _saml(self._saml_row(tx, arn))

    def list_saml_providers(self) -> list[SamlProviderRecord]:
        with self._read() as tx:
            return [_saml(r) for r in tx.select("saml_providers")]

    def update_saml_provider(
        self, arn: str, metadata_document: str, *, valid_until: datetime | None = None
    ) -> SamlProviderRecord:
        """Replace the metadata document (the IdP rotated its signing certificate)."""
        _check_metadata(metadata_document)
        with self._write() as tx:
            self._saml_row(tx, arn)
            changes: Row = {
                "metadata_document": metadata_document,
                "valid_until": None if valid_until is None else _ts(valid_until),
            }
            tx.update("saml_providers", {"arn": arn}, changes)
            return _saml(self._saml_row(tx, arn))

    def delete_saml_provider(self, arn: str) -> None:
        with self._write() as tx:
            self._saml_row(tx, arn)
            tx.delete("saml_providers", {"arn": arn})

    def _saml_row(self, tx: Transaction, arn: str) -> Row:
        row = tx.get("saml_providers", {"arn": arn}) if isinstance(arn, str) else None
        if row is None:
            raise NoSuchEntityError(f"Manifest not found for arn {arn}")
        return row


# ---------------------------------------------------------------- checks and conversions


def _check_oidc_url(url: object) -> str:
    """The URL without its scheme (the ARN's resource part). ``https://`` only, as AWS requires;
    ``http://`` on a loopback host too, so tests can run an issuer in-process."""
    if not isinstance(url, str) or not 1 <= len(url) <= 255:
        raise InvalidInputError("Url must be 1-255 characters", code="ValidationError")
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise InvalidInputError("Invalid Openid Connect Provider URL: it must begin with https://")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInputError("Invalid Openid Connect Provider URL: no query, fragment or user info")
    return url.split("://", 1)[1].rstrip("/")


def _check_client_ids(client_ids: Sequence[str]) -> tuple[str, ...]:
    ids = tuple(client_ids)
    for client_id in ids:
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 255:
            raise InvalidInputError("each client ID must be 1-255 characters", code="ValidationError")
    if len(ids) > PROVIDER_QUOTAS.client_ids_per_provider:
        raise LimitExceededError(f"at most {PROVIDER_QUOTAS.client_ids_per_provider} client IDs per provider")
    return tuple(dict.fromkeys(ids))


def _check_thumbprints(thumbprints: Sequence[str]) -> tuple[str, ...]:
    prints = tuple(thumbprints)
    for thumbprint in prints:
        if not isinstance(thumbprint, str) or not _THUMBPRINT.fullmatch(thumbprint):
            raise InvalidInputError(
                "a thumbprint is the 40-character hex SHA-1 of a certificate", code="ValidationError"
            )
    if len(prints) > PROVIDER_QUOTAS.thumbprints_per_provider:
        raise LimitExceededError(
            f"at most {PROVIDER_QUOTAS.thumbprints_per_provider} thumbprints per provider"
        )
    return tuple(dict.fromkeys(p.lower() for p in prints))


def _check_metadata(document: object) -> None:
    # SAMLMetadataDocument: 1000 to 10,000,000 characters.
    if not isinstance(document, str) or not 1000 <= len(document) <= 10_000_000:
        raise InvalidInputError(
            "SAMLMetadataDocument must be 1000-10000000 characters", code="ValidationError"
        )


def _oidc(row: Row) -> OidcProviderRecord:
    return OidcProviderRecord(
        arn=str(row["arn"]),
        url=str(row["url"]),
        client_ids=tuple(str(c) for c in json.loads(str(row["client_ids"]))),
        thumbprints=tuple(str(t) for t in json.loads(str(row["thumbprints"]))),
        create_date=_dt(row["create_date"]),
        tags=_tags(row["tags"]),
    )


def _saml(row: Row) -> SamlProviderRecord:
    return SamlProviderRecord(
        arn=str(row["arn"]),
        name=str(row["name"]),
        metadata_document=str(row["metadata_document"]),
        create_date=_dt(row["create_date"]),
        valid_until=_opt_dt(row["valid_until"]),
        provider_uuid=str(row["provider_uuid"]),
        tags=_tags(row["tags"]),
    )
