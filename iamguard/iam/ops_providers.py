"""Identity providers: OpenID Connect and SAML providers, kept in the store for STS federation.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`. Each action on one
provider is authorized on its ARN (``arn:aws:iam::<acct>:oidc-provider/<host/path>``,
``...:saml-provider/<name>``) with its tags as ``aws:ResourceTag/*``, the list actions on ``*``;
creating with tags adds ``aws:RequestTag/*`` and ``aws:TagKeys`` and needs the Tag* action too. A provider registered here is what
:class:`~iamguard.sts.service.TokenService` trusts for ``AssumeRoleWithWebIdentity`` and
``AssumeRoleWithSAML`` (see ``iamguard/sts/_federation.py``). SAML metadata is parsed with the
verifier's own reader, so a document STS could not use is refused at once (``InvalidInput``).
Identity Center, context providers and SAML assertion encryption are not supported: a request
that asks for them is ``InvalidInput``, never silently half-applied.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from iamguard.errors import InvalidInputError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation, request_tag_context, resource_tag_context
from iamguard.iam._records import tag_list
from iamguard.store import OidcProviderRecord, SamlProviderRecord
from iamguard.sts.saml import SamlProvider

__all__: list[str] = []

_UNSUPPORTED = (
    "ContextProvider",
    "IdentityCenterInstanceArn",
    "AssertionEncryptionMode",
    "AddPrivateKey",
    "RemovePrivateKey",
    "RemoveContextProvider",
    "RemoveIdentityCenterInstance",
)


def _refuse_unsupported(call: Call) -> None:
    asked = [name for name in _UNSUPPORTED if call.get(name) not in (None, False)]
    if asked:
        raise InvalidInputError(f"iamguard does not support {', '.join(asked)} on identity providers")


def _tags(call: Call) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in call.get("Tags") or ()}


def _anything(call: Call) -> Iterable[Target]:
    return [Target.on("*")]


# ---------------------------------------------------------------------- OpenID Connect


def _oidc_arn(call: Call) -> str:
    return call.arn("oidc-provider/" + call["Url"].split("://", 1)[-1].rstrip("/"))


def _on_oidc(call: Call) -> Iterable[Target]:
    """The provider's ARN, with its tags as ``aws:ResourceTag/*`` when it exists."""
    arn = call["OpenIDConnectProviderArn"]
    try:
        tags = call.store.get_open_id_connect_provider(arn).tags
    except NoSuchEntityError:
        tags = ()
    return [Target.on(arn, resource_tag_context(tags))]


def _create_targets(arn: str, call: Call, tag_action: str) -> Iterable[Target]:
    """Create on ``arn`` with ``aws:RequestTag/*``; with tags, the tag action on it too (as AWS
    asks for CreateUser + TagUser)."""
    context = request_tag_context(call.get("Tags"))
    yield Target.on(arn, context)
    if call.get("Tags"):
        yield Target.on(arn, context, action=tag_action)


def _oidc_value(record: OidcProviderRecord) -> dict[str, Any]:
    return {
        "Url": record.url.split("://", 1)[-1],  # AWS answers the URL without its scheme
        "ClientIDList": list(record.client_ids),
        "ThumbprintList": list(record.thumbprints),
        "CreateDate": record.create_date,
        "Tags": tag_list(record.tags),
    }


@operation(
    "CreateOpenIDConnectProvider",
    targets=lambda call: _create_targets(_oidc_arn(call), call, "iam:TagOpenIDConnectProvider"),
)
def create_open_id_connect_provider(call: Call) -> Result:
    _refuse_unsupported(call)
    record = call.store.create_open_id_connect_provider(
        call["Url"],
        client_ids=call.get("ClientIDList") or (),
        thumbprints=call.get("ThumbprintList") or (),
        tags=_tags(call),
    )
    return {"OpenIDConnectProviderArn": record.arn, "Tags": tag_list(record.tags) or None}


@operation("GetOpenIDConnectProvider", targets=_on_oidc)
def get_open_id_connect_provider(call: Call) -> Result:
    return _oidc_value(call.store.get_open_id_connect_provider(call["OpenIDConnectProviderArn"]))


@operation("ListOpenIDConnectProviders", targets=_anything)
def list_open_id_connect_providers(call: Call) -> Result:
    return {
        "OpenIDConnectProviderList": [{"Arn": r.arn} for r in call.store.list_open_id_connect_providers()]
    }


@operation("DeleteOpenIDConnectProvider", targets=_on_oidc)
def delete_open_id_connect_provider(call: Call) -> Result:
    call.store.delete_open_id_connect_provider(call["OpenIDConnectProviderArn"])
    return None


@operation("AddClientIDToOpenIDConnectProvider", targets=_on_oidc)
def add_client_id_to_open_id_connect_provider(call: Call) -> Result:
    call.store.add_client_id_to_open_id_connect_provider(call["OpenIDConnectProviderArn"], call["ClientID"])
    return None


@operation("RemoveClientIDFromOpenIDConnectProvider", targets=_on_oidc)
def remove_client_id_from_open_id_connect_provider(call: Call) -> Result:
    call.store.remove_client_id_from_open_id_connect_provider(
        call["OpenIDConnectProviderArn"], call["ClientID"]
    )
    return None


@operation("UpdateOpenIDConnectProviderThumbprint", targets=_on_oidc)
def update_open_id_connect_provider_thumbprint(call: Call) -> Result:
    call.store.update_open_id_connect_provider_thumbprint(
        call["OpenIDConnectProviderArn"], call["ThumbprintList"]
    )
    return None


# ---------------------------------------------------------------------- SAML


def _on_saml(call: Call) -> Iterable[Target]:
    arn = call["SAMLProviderArn"]
    try:
        tags = call.store.get_saml_provider(arn).tags
    except NoSuchEntityError:
        tags = ()
    return [Target.on(arn, resource_tag_context(tags))]


def _checked_metadata(arn: str, document: str) -> datetime | None:
    """Parse the metadata as STS will (``InvalidInput`` when it cannot); its ``validUntil``."""
    SamlProvider(arn, document)  # raises InvalidInputError naming what is wrong
    root = etree.fromstring(document.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False))
    text = root.get("validUntil")
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise InvalidInputError(f"Could not parse metadata: validUntil {text[:64]!r} is not a date") from None


def _saml_value(record: SamlProviderRecord) -> dict[str, Any]:
    return {
        "SAMLProviderUUID": record.provider_uuid.replace("-", "").upper(),
        "SAMLMetadataDocument": record.metadata_document,
        "CreateDate": record.create_date,
        "ValidUntil": record.valid_until,
        "Tags": tag_list(record.tags),
    }


@operation(
    "CreateSAMLProvider",
    targets=lambda call: _create_targets(
        call.arn(f"saml-provider/{call['Name']}"), call, "iam:TagSAMLProvider"
    ),
)
def create_saml_provider(call: Call) -> Result:
    _refuse_unsupported(call)
    arn = call.arn(f"saml-provider/{call['Name']}")
    valid_until = _checked_metadata(arn, call["SAMLMetadataDocument"])
    record = call.store.create_saml_provider(
        call["Name"], call["SAMLMetadataDocument"], valid_until=valid_until, tags=_tags(call)
    )
    return {"SAMLProviderArn": record.arn, "Tags": tag_list(record.tags) or None}


@operation("GetSAMLProvider", targets=_on_saml)
def get_saml_provider(call: Call) -> Result:
    return _saml_value(call.store.get_saml_provider(call["SAMLProviderArn"]))


@operation("ListSAMLProviders", targets=_anything)
def list_saml_providers(call: Call) -> Result:
    return {
        "SAMLProviderList": [
            {"Arn": r.arn, "CreateDate": r.create_date, "ValidUntil": r.valid_until}
            for r in call.store.list_saml_providers()
        ]
    }


@operation("UpdateSAMLProvider", targets=_on_saml)
def update_saml_provider(call: Call) -> Result:
    """A new metadata document (the IdP rotated its certificate)."""
    _refuse_unsupported(call)
    arn = call["SAMLProviderArn"]
    if call.get("SAMLMetadataDocument") is None:
        call.store.get_saml_provider(arn)  # NoSuchEntity first, as AWS answers
        raise InvalidInputError("SAMLMetadataDocument is required: it is the only change iamguard supports")
    valid_until = _checked_metadata(arn, call["SAMLMetadataDocument"])
    record = call.store.update_saml_provider(arn, call["SAMLMetadataDocument"], valid_until=valid_until)
    return {"SAMLProviderArn": record.arn}


@operation("DeleteSAMLProvider", targets=_on_saml)
def delete_saml_provider(call: Call) -> Result:
    call.store.delete_saml_provider(call["SAMLProviderArn"])
    return None
