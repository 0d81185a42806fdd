"""SAML 2.0 authentication responses for ``AssumeRoleWithSAML``: verify an IdP's signed assertion.

Part of ``sts/``; pure (no I/O). Signatures and canonicalization are ``signxml``'s, with the
certificates from the provider's registered metadata passed as ``x509_cert`` so that no key the
document itself carries is ever trusted. Every check reads **only the XML that signxml returns as
signed** (``VerifyResult.signed_xml``), never the element an XPath finds in the received tree, so an
unsigned Assertion slipped beside a signed one (XML signature wrapping) is never read.

What is checked (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html,
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html):

* the response is base64 of a ``samlp:Response`` with status Success and exactly one ``Assertion``
  (encrypted assertions are not supported);
* the Response or the Assertion is signed by a certificate of the provider's metadata;
* the Assertion's ``Issuer`` is the provider's ``entityID``;
* ``Conditions`` ``NotBefore``/``NotOnOrAfter`` (with ``max_clock_skew``) and every
  ``AudienceRestriction`` names the audience (``https://signin.aws.amazon.com/saml``);
* exactly one ``SubjectConfirmation`` whose ``SubjectConfirmationData`` has ``Recipient`` (one of the
  accepted sign-in URLs) and an unexpired ``NotOnOrAfter``;
* the assertion ID has not been used before: recorded until the assertion expires in the
  ``replay_store`` (the identity store's one-time-use records, shared by every process and host
  using that store), or, when none is given, in a bounded in-process cache, which protects a
  single process only;
* the ``Role`` attribute holds the requested ``role_arn,provider_arn`` pair (either order),
  ``RoleSessionName`` is present and well-formed, ``SessionDuration`` (optional) is 900–43200,
  ``PrincipalTag:*``, ``TransitiveTagKeys`` and ``SourceIdentity`` are well-formed.

Errors are :class:`~iamguard.errors.STSError` with AWS's codes: ``InvalidIdentityToken`` (400) for
anything wrong with the document, its signature or its claims' shape, ``ExpiredTokenException``
(400) for an expired assertion, ``IDPRejectedClaim`` (403) when the assertion does not grant the
requested role through the requested provider. AWS documents the codes but not which check maps to
which; the mapping above is iamguard's.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import heapq
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

from cryptography import x509
from lxml import etree  # type: ignore[import-untyped,unused-ignore]
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from iamguard.context import ContextValue
from iamguard.errors import InvalidInputError, InvalidParameterError, STSError

if TYPE_CHECKING:
    from iamguard.store.protocols import OneTimeUse

__all__ = [
    "AWS_SAML_AUDIENCE",
    "SamlAssertion",
    "SamlProvider",
    "SamlVerifier",
    "condition_keys",
    "name_qualifier",
]

#: AWS's SAML audience and default Recipient: the global sign-in endpoint.
AWS_SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"

_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
_DS = "http://www.w3.org/2000/09/xmldsig#"
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_NAMEID_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
_UNSPECIFIED_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

_ATTR = "https://aws.amazon.com/SAML/Attributes/"
_ROLE = _ATTR + "Role"
_SESSION_NAME = _ATTR + "RoleSessionName"
_SESSION_DURATION = _ATTR + "SessionDuration"
_PRINCIPAL_TAG = _ATTR + "PrincipalTag:"
_TRANSITIVE = _ATTR + "TransitiveTagKeys"
_SOURCE_IDENTITY = _ATTR + "SourceIdentity"

_MIN_ASSERTION_CHARS, _MAX_ASSERTION_CHARS = 4, 100_000  # SAMLAssertion length (API_AssumeRoleWithSAML)
_SESSION_DURATION_RANGE = (900, 43200)
_MAX_SESSION_TAGS = 50  # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
_SESSION_NAME_RE = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_TAG_KEY_RE = re.compile(r"[\w\s.:/=+\-@]{1,128}")
_TAG_VALUE_RE = re.compile(r"[\w\s.:/=+\-@]{0,256}")
_PROVIDER_ARN_RE = re.compile(r"arn:([a-z-]+):iam::(\d{12}):saml-provider/([\w+=,.@-]{1,128})", re.ASCII)
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)

#: SAML attributes AWS exposes as ``saml:`` trust-policy keys (lower-cased key → attribute name).
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html#saml-attribute-mapping
_ATTRIBUTE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "saml:edupersonaffiliation": "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "saml:edupersonnickname": "urn:oid:1.3.6.1.4.1.5923.1.1.1.2",
        "saml:edupersonorgdn": "urn:oid:1.3.6.1.4.1.5923.1.1.1.3",
        "saml:edupersonorgunitdn": "urn:oid:1.3.6.1.4.1.5923.1.1.1.4",
        "saml:edupersonprimaryaffiliation": "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "saml:edupersonprincipalname": "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "saml:edupersonentitlement": "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
        "saml:edupersonprimaryorgunitdn": "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "saml:edupersonscopedaffiliation": "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "saml:edupersontargetedid": "urn:oid:1.3.6.1.4.1.5923.1.1.1.10",
        "saml:edupersonassurance": "urn:oid:1.3.6.1.4.1.5923.1.1.1.11",
        "saml:eduorgidentityauthnpolicyuri": "urn:oid:1.3.6.1.4.1.5923.1.2.1.10",
        "saml:eduorghomepageuri": "urn:oid:1.3.6.1.4.1.5923.1.2.1.2",
        "saml:eduorglegalname": "urn:oid:1.3.6.1.4.1.5923.1.2.1.3",
        "saml:eduorgsuperioruri": "urn:oid:1.3.6.1.4.1.5923.1.2.1.11",
        "saml:eduorgwhitepagesuri": "urn:oid:1.3.6.1.4.1.5923.1.2.1.12",
        "saml:cn": "urn:oid:2.5.4.3",
        "saml:commonname": "urn:oid:2.5.4.3",
        "saml:givenname": "urn:oid:2.5.4.42",
        "saml:surname": "urn:oid:2.5.4.4",
        "saml:mail": "urn:oid:0.9.2342.19200300.100.1.3",
        "saml:uid": "urn:oid:0.9.2342.19200300.100.1.1",
        "saml:organizationstatus": "urn:oid:1.3.6.1.4.1.25178.1.2.9",
    }
)


def _invalid(message: str) -> STSError:
    return STSError(message, code="InvalidIdentityToken", http_status=400)


def _expired(message: str) -> STSError:
    return STSError(message, code="ExpiredTokenException", http_status=400)


def _rejected(message: str) -> STSError:
    return STSError(message, code="IDPRejectedClaim", http_status=403)


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


# ---------------------------------------------------------------------- safe XML


def _safe_parser() -> etree.XMLParser:
    """No entities, no DTD, no network, no huge trees: XML from strangers."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def _parse_xml(data: bytes) -> Any:
    """Parse untrusted XML; refuse any DOCTYPE (entity expansion, external DTDs)."""
    root = etree.fromstring(data, parser=_safe_parser())
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidParameterError("DOCTYPE declarations are not allowed")
    return root


def _text(element: Any) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


# ---------------------------------------------------------------------- provider


@dataclass(frozen=True, slots=True)
class SamlProvider:
    """An IAM SAML provider: its ARN and the IdP metadata it was registered with.

    ``entity_id`` and ``certificates`` are read from the metadata's ``EntityDescriptor``
    (``entityID``) and the ``IDPSSODescriptor``'s signing ``KeyDescriptor``s (``use="signing"`` or
    no ``use``, which SAML metadata defines as both). Bad metadata raises
    :class:`~iamguard.errors.InvalidInputError`, as ``CreateSAMLProvider`` answers ``InvalidInput``.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
    """

    arn: str
    metadata_xml: str = field(repr=False)
    entity_id: str = field(init=False)
    certificates: tuple[x509.Certificate, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if _PROVIDER_ARN_RE.fullmatch(self.arn) is None:
            raise InvalidInputError(f"not a SAML provider ARN: {self.arn!r}")
        entity_id, certificates = _read_metadata(self.metadata_xml)
        object.__setattr__(self, "entity_id", entity_id)
        object.__setattr__(self, "certificates", certificates)

    @classmethod
    def from_metadata(cls, arn: str, metadata_xml: str) -> SamlProvider:
        """A provider named ``arn`` trusting the IdP its SAML metadata XML describes."""
        return cls(arn, metadata_xml)

    @property
    def account_id(self) -> str:
        """The account that owns the provider (from its ARN)."""
        return self.arn.split(":")[4]

    @property
    def name(self) -> str:
        """The provider's friendly name: the last part of its ARN."""
        return self.arn.rsplit("/", 1)[1]


def _read_metadata(metadata_xml: str) -> tuple[str, tuple[x509.Certificate, ...]]:
    try:
        root = _parse_xml(metadata_xml.encode("utf-8"))
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidInputError(f"Could not parse metadata: {exc}") from None
    if root.tag != _q(_MD, "EntityDescriptor"):
        raise InvalidInputError("Could not parse metadata: the root element must be md:EntityDescriptor")
    entity_id = (root.get("entityID") or "").strip()
    if not entity_id:
        raise InvalidInputError("Could not parse metadata: EntityDescriptor has no entityID")
    descriptors = root.findall(_q(_MD, "IDPSSODescriptor"))
    if len(descriptors) != 1:
        raise InvalidInputError("Could not parse metadata: expected exactly one IDPSSODescriptor")
    certificates = tuple(_signing_certificates(descriptors[0]))
    if not certificates:
        raise InvalidInputError("Could not parse metadata: no signing X509Certificate in IDPSSODescriptor")
    return entity_id, certificates


def _signing_certificates(descriptor: Any) -> Iterable[x509.Certificate]:
    for key_descriptor in descriptor.findall(_q(_MD, "KeyDescriptor")):
        if key_descriptor.get("use", "signing") != "signing":
            continue
        path = f"{_q(_DS, 'KeyInfo')}/{_q(_DS, 'X509Data')}/{_q(_DS, 'X509Certificate')}"
        for element in key_descriptor.findall(path):
            try:
                der = base64.b64decode("".join(_text(element).split()), validate=True)
                yield x509.load_der_x509_certificate(der)
            except (binascii.Error, ValueError) as exc:
                raise InvalidInputError(f"Could not parse metadata: bad X509Certificate ({exc})") from None


def name_qualifier(issuer: str, provider: SamlProvider) -> str:
    """``saml:namequalifier``: ``BASE64(SHA1(issuer + account_id + "/" + provider_name))``.

    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html (NameQualifier)
    """
    material = f"{issuer}{provider.account_id}/{provider.name}".encode()
    return base64.b64encode(hashlib.sha1(material).digest()).decode("ascii")


# ---------------------------------------------------------------------- verified result


@dataclass(frozen=True, slots=True)
class SamlAssertion:
    """A verified assertion: who, from which IdP, for which session, and the ``saml:`` keys.

    ``audience`` is the ``Recipient`` of the ``SubjectConfirmationData``, which is what AWS
    returns as ``Audience`` and provides as ``saml:aud``.
    ``session_not_on_or_after`` (epoch seconds) is the ``AuthnStatement``'s
    ``SessionNotOnOrAfter``, which caps the session's lifetime.
    """

    subject: str
    subject_type: str
    issuer: str
    audience: str
    role_session_name: str
    session_duration: int | None
    attributes: Mapping[str, tuple[str, ...]]
    principal_tags: Mapping[str, str]
    transitive_tag_keys: tuple[str, ...]
    source_identity: str | None
    condition_keys: dict[str, ContextValue]
    assertion_id: str = ""
    expires_at: float = 0.0
    session_not_on_or_after: float | None = None


@dataclass(frozen=True, slots=True)
class _Conditions:
    recipient: str
    expires_at: float


# ---------------------------------------------------------------------- replay cache


class _ReplayCache:
    """Assertion IDs seen, each kept until its assertion expires; at most ``size`` of them.

    When full, the ID that expires soonest is dropped first: the smallest window a replay could
    use. INVARIANT: ``_heap`` holds exactly the (expiry, key) pairs of ``_seen``.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise InvalidParameterError("replay_cache_size must be at least 1")
        self._size = size
        self._seen: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def add(self, key: tuple[str, str], expires_at: float, now: float) -> bool:
        """Record ``key``; False when it is already recorded and unexpired (a replay)."""
        with self._lock:
            self._drop_expired(now)
            if key in self._seen:
                return False
            while len(self._seen) >= self._size:
                _, oldest = heapq.heappop(self._heap)
                del self._seen[oldest]
            self._seen[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            return True

    def seen(self, key: tuple[str, str], now: float) -> bool:
        """Whether ``key`` is recorded and unexpired (records nothing)."""
        with self._lock:
            self._drop_expired(now)
            return key in self._seen

    def _drop_expired(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)


#: The store namespace of consumed assertion IDs; keys are SHA-256 of issuer and ID (a fixed
#: length, whatever the IdP's entity ID and assertion ID look like).
_REPLAY_NAMESPACE = "saml-assertion"


def _replay_key(issuer: str, assertion_id: str) -> str:
    return hashlib.sha256(f"{len(issuer)}:{issuer}{assertion_id}".encode()).hexdigest()


# ---------------------------------------------------------------------- verifier

ProviderLookup: TypeAlias = Mapping[str, SamlProvider] | Callable[[str], SamlProvider | None]


class SamlVerifier:
    """Verifies base64 SAML responses for ``AssumeRoleWithSAML`` against registered providers.

    ``audience`` and ``recipient`` accept one URL or several (AWS accepts its regional sign-in
    endpoints, ``https://<region>.signin.aws.amazon.com/saml``, as well as the global one).

    ``replay_store`` (an ``IdentityService``, or anything with ``consume_once``) decides whether
    an assertion ID is new, for every process sharing that store; the in-process cache then only
    remembers IDs already seen, to refuse their replays without a round trip, and is never the
    authority for accepting one. Without a store the in-process cache decides alone: correct for
    a single process, not for several behind one endpoint. A store that cannot answer fails the
    request (``StoreUnavailableError``), never accepts the assertion.
    """

    def __init__(
        self,
        providers: ProviderLookup,
        *,
        audience: str | Collection[str] = AWS_SAML_AUDIENCE,
        recipient: str | Collection[str] = AWS_SAML_AUDIENCE,
        clock: Callable[[], float] = time.time,
        max_clock_skew: float = 300,
        replay_cache_size: int = 10000,
        replay_store: OneTimeUse | None = None,
    ) -> None:
        self._lookup: Callable[[str], SamlProvider | None] = (
            providers.get if isinstance(providers, Mapping) else providers
        )
        self.audiences = frozenset([audience] if isinstance(audience, str) else audience)
        self.recipients = frozenset([recipient] if isinstance(recipient, str) else recipient)
        if not self.audiences or not self.recipients:
            raise InvalidParameterError("audience and recipient need at least one URL each")
        self.clock = clock
        self.max_clock_skew = max_clock_skew
        self._replays = _ReplayCache(replay_cache_size)
        self._replay_store = replay_store

    def verify(self, saml_response_b64: str, provider_arn: str, role_arn: str) -> SamlAssertion:
        """Check everything, then consume the assertion ID; return the verified assertion."""
        provider = self._lookup(provider_arn)
        if provider is None:
            raise _invalid(f"SAML provider {provider_arn} does not exist")
        root = _response_root(saml_response_b64)
        now = self.clock()
        assertion = _signed_assertion(root, provider, now, self.recipients)
        issuer = _check_issuer(assertion, provider)
        conditions = self._check_conditions(assertion, now)
        attributes = _attributes(assertion)
        _check_role(attributes, role_arn, provider_arn)
        result = _build_assertion(assertion, attributes, provider, issuer, conditions)
        if not self._first_use(issuer, result.assertion_id, conditions.expires_at + self.max_clock_skew, now):
            raise _invalid("The SAML assertion has already been used")
        return result

    def _first_use(self, issuer: str, assertion_id: str, expires_at: float, now: float) -> bool:
        """Consume the assertion ID: the store decides when there is one (see the class doc)."""
        key = (issuer, assertion_id)
        if self._replay_store is None:
            return self._replays.add(key, expires_at, now)
        if self._replays.seen(key, now):
            return False
        first = self._replay_store.consume_once(
            _REPLAY_NAMESPACE, _replay_key(issuer, assertion_id), expires_at, now=now
        )
        self._replays.add(key, expires_at, now)
        return first

    def _check_conditions(self, assertion: Any, now: float) -> _Conditions:
        skew = self.max_clock_skew
        conditions = assertion.find(_q(_SAML, "Conditions"))
        if conditions is None:
            raise _invalid("The SAML assertion has no Conditions")
        not_before = _optional_time(conditions.get("NotBefore"), "Conditions NotBefore")
        not_after = _required_time(conditions.get("NotOnOrAfter"), "Conditions NotOnOrAfter")
        if not_before is not None and now + skew < not_before:
            raise _invalid("The SAML assertion is not yet valid (Conditions NotBefore)")
        if now - skew >= not_after:
            raise _expired(f"Token expired: current date/time {_iso(now)} must be before {_iso(not_after)}")
        self._check_audience(conditions)
        recipient, confirmation_expiry = self._check_confirmation(assertion, now)
        return _Conditions(recipient, min(not_after, confirmation_expiry))

    def _check_audience(self, conditions: Any) -> None:
        restrictions = conditions.findall(_q(_SAML, "AudienceRestriction"))
        if not restrictions:
            raise _invalid("The SAML assertion has no AudienceRestriction")
        for restriction in restrictions:  # SAML core 2.5.1.4: every restriction must be met
            audiences = {_text(a) for a in restriction.findall(_q(_SAML, "Audience"))}
            if not audiences & self.audiences:
                raise _invalid("Incorrect SAML audience")

    def _check_confirmation(self, assertion: Any, now: float) -> tuple[str, float]:
        subject = assertion.find(_q(_SAML, "Subject"))
        confirmations = [] if subject is None else subject.findall(_q(_SAML, "SubjectConfirmation"))
        if len(confirmations) != 1:
            raise _invalid("The SAML assertion must have exactly one SubjectConfirmation")
        confirmation = confirmations[0]
        if confirmation.get("Method") != _BEARER:
            raise _invalid("SubjectConfirmation Method must be bearer")
        data = confirmation.find(_q(_SAML, "SubjectConfirmationData"))
        if data is None:
            raise _invalid("SubjectConfirmation has no SubjectConfirmationData")
        recipient = (data.get("Recipient") or "").strip()
        if recipient not in self.recipients:
            raise _invalid("SubjectConfirmationData Recipient is not an accepted sign-in URL")
        not_after = _required_time(data.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter")
        not_before = _optional_time(data.get("NotBefore"), "SubjectConfirmationData NotBefore")
        if not_before is not None and now + self.max_clock_skew < not_before:
            raise _invalid("The SAML assertion is not yet valid (SubjectConfirmationData NotBefore)")
        if now - self.max_clock_skew >= not_after:
            raise _expired(f"Token expired: current date/time {_iso(now)} must be before {_iso(not_after)}")
        return recipient, not_after


# ---------------------------------------------------------------------- document and signature


def _response_root(saml_response_b64: str) -> Any:
    if not isinstance(saml_response_b64, str) or not (
        _MIN_ASSERTION_CHARS <= len(saml_response_b64) <= _MAX_ASSERTION_CHARS
    ):
        raise _invalid("The SAML assertion must be 4 to 100000 characters of base64")
    try:
        document = base64.b64decode("".join(saml_response_b64.split()), validate=True)
        root = _parse_xml(document)
    except (binascii.Error, ValueError, etree.XMLSyntaxError):
        raise _invalid("Invalid SAML response: not base64-encoded XML") from None
    if root.tag != _q(_SAMLP, "Response"):
        raise _invalid("Invalid SAML response: the root element must be samlp:Response")
    status = root.find(f"{_q(_SAMLP, 'Status')}/{_q(_SAMLP, 'StatusCode')}")
    if status is None or status.get("Value") != _SUCCESS:
        raise _invalid("The SAML response's status is not Success")
    if root.find(f".//{_q(_SAML, 'EncryptedAssertion')}") is not None:
        raise _invalid("Encrypted SAML assertions are not supported")
    if len(root.findall(f".//{_q(_SAML, 'Assertion')}")) != 1:
        raise _invalid("The SAML response must contain exactly one Assertion")
    return root


def _signed_assertion(root: Any, provider: SamlProvider, now: float, recipients: frozenset[str]) -> Any:
    """The Assertion as signxml verified it, from a Response- or an Assertion-level signature.

    INVARIANT: the element returned comes from ``VerifyResult.signed_xml`` (re-parsed from the
    canonical signed bytes), never from ``root``.
    """
    response_signed = root.find(_q(_DS, "Signature")) is not None
    location = "./" if response_signed else f"./{_q(_SAML, 'Assertion')}/"
    signed = _verify_signature(root, provider, location, now)
    if signed is None:
        raise _invalid("The SAML response is not signed by the identity provider's certificate")
    if signed.tag == _q(_SAML, "Assertion"):
        return signed
    if signed.tag == _q(_SAMLP, "Response"):
        response_issuer = signed.find(_q(_SAML, "Issuer"))
        if response_issuer is not None and _text(response_issuer) != provider.entity_id:
            raise _invalid("Issuer of the SAML response does not match the provider")
        destination = signed.get("Destination")
        if destination is not None and destination not in recipients:  # SAML bindings 3.5.5.2
            raise _invalid("Destination of the SAML response is not an accepted sign-in URL")
        assertions = signed.findall(_q(_SAML, "Assertion"))
        if len(assertions) == 1:
            return assertions[0]
    raise _invalid("The signature does not cover exactly one SAML Assertion")


def _verify_signature(root: Any, provider: SamlProvider, location: str, now: float) -> Any | None:
    document = etree.tostring(root)
    config = SignatureConfiguration(
        location=location,
        expect_references=1,
        verification_time=_dt.datetime.fromtimestamp(now, _dt.timezone.utc),
    )
    for certificate in provider.certificates:
        try:
            result = XMLVerifier().verify(
                document, x509_cert=certificate, expect_config=config, parser=_safe_parser()
            )
        except (SignXMLException, etree.LxmlError, ValueError, TypeError, KeyError, AttributeError):
            continue  # wrong certificate, bad digest, unsupported algorithm, malformed Signature
        if not isinstance(result, VerifyResult) or not isinstance(result.signed_xml, etree._Element):
            return None
        return result.signed_xml
    return None


# ---------------------------------------------------------------------- claims


def _check_issuer(assertion: Any, provider: SamlProvider) -> str:
    issuer = _text(assertion.find(_q(_SAML, "Issuer")))
    if issuer != provider.entity_id:
        raise _invalid("Issuer in the SAML assertion does not match the provider")
    return issuer


def _attributes(assertion: Any) -> dict[str, tuple[str, ...]]:
    """Attribute name → values, across every AttributeStatement (repeated names concatenate)."""
    values: dict[str, tuple[str, ...]] = {}
    for statement in assertion.findall(_q(_SAML, "AttributeStatement")):
        for attribute in statement.findall(_q(_SAML, "Attribute")):
            name = attribute.get("Name") or ""
            found = tuple(_text(v) for v in attribute.findall(_q(_SAML, "AttributeValue")))
            values[name] = values.get(name, ()) + found
    return values


def _check_role(attributes: Mapping[str, tuple[str, ...]], role_arn: str, provider_arn: str) -> None:
    """The Role attribute must hold ``role_arn,provider_arn`` (either order) for this request."""
    values = attributes.get(_ROLE)
    if not values:
        raise _invalid(f"The SAML assertion has no {_ROLE} attribute")
    wanted = sorted((role_arn, provider_arn))
    for value in values:
        parts = [part.strip() for part in value.split(",")]
        if len(parts) == 2 and sorted(parts) == wanted:
            return
    raise _rejected("The role and SAML provider pair is not in the assertion's Role attribute")


def _build_assertion(
    assertion: Any,
    attributes: Mapping[str, tuple[str, ...]],
    provider: SamlProvider,
    issuer: str,
    conditions: _Conditions,
) -> SamlAssertion:
    assertion_id = assertion.get("ID") or ""
    if not assertion_id:
        raise _invalid("The SAML assertion has no ID")
    subject, subject_type = _subject(assertion)
    tags = _principal_tags(attributes)
    result = SamlAssertion(
        subject=subject,
        subject_type=subject_type,
        issuer=issuer,
        audience=conditions.recipient,
        role_session_name=_session_name(attributes),
        session_duration=_session_duration(attributes),
        attributes=MappingProxyType(dict(attributes)),
        principal_tags=MappingProxyType(tags),
        transitive_tag_keys=_transitive_keys(attributes, tags),
        source_identity=_source_identity(attributes),
        condition_keys={},
        assertion_id=assertion_id,
        expires_at=conditions.expires_at,
        session_not_on_or_after=_session_not_on_or_after(assertion),
    )
    result.condition_keys.update(condition_keys(result, provider, attributes))
    return result


def _subject(assertion: Any) -> tuple[str, str]:
    name_id = assertion.find(f"{_q(_SAML, 'Subject')}/{_q(_SAML, 'NameID')}")
    subject = _text(name_id)
    if not subject:
        raise _invalid("The SAML assertion has no Subject NameID")
    name_format = (name_id.get("Format") or _UNSPECIFIED_FORMAT).strip()
    # AWS drops the SAML 2.0 nameid-format prefix ("persistent", "transient") and keeps others whole.
    name_format = name_format.removeprefix(_NAMEID_PREFIX)
    return subject, name_format


def _single(attributes: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    values = attributes.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise _invalid(f"The {name} attribute must have exactly one value")
    return values[0]


def _session_name(attributes: Mapping[str, tuple[str, ...]]) -> str:
    value = _single(attributes, _SESSION_NAME)
    if value is None:
        raise _invalid(f"The SAML assertion has no {_SESSION_NAME} attribute")
    if _SESSION_NAME_RE.fullmatch(value) is None:
        raise _invalid("RoleSessionName must be 2-64 characters of [A-Za-z0-9_+=,.@-]")
    return value


def _session_duration(attributes: Mapping[str, tuple[str, ...]]) -> int | None:
    value = _single(attributes, _SESSION_DURATION)
    if value is None:
        return None
    low, high = _SESSION_DURATION_RANGE
    if not value.isdigit() or not low <= int(value) <= high:
        raise _invalid(f"SessionDuration must be an integer from {low} to {high}")
    return int(value)


def _principal_tags(attributes: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Session tags from ``PrincipalTag:KEY`` attributes; keys unique regardless of case."""
    tags: dict[str, str] = {}
    seen: set[str] = set()
    for name in attributes:
        if not name.startswith(_PRINCIPAL_TAG):
            continue
        key = name[len(_PRINCIPAL_TAG) :]
        value = _single(attributes, name) or ""
        if _TAG_KEY_RE.fullmatch(key) is None or key.lower().startswith("aws:"):
            raise _invalid(f"Invalid session tag key {key[:128]!r}")
        if _TAG_VALUE_RE.fullmatch(value) is None:
            raise _invalid(f"Invalid value for session tag {key!r}")
        if key.lower() in seen:
            raise _invalid(f"Duplicate session tag key {key!r} (tag keys are case-insensitive)")
        seen.add(key.lower())
        tags[key] = value
    if len(tags) > _MAX_SESSION_TAGS:
        raise _invalid(f"At most {_MAX_SESSION_TAGS} session tags may be passed")
    return tags


def _transitive_keys(attributes: Mapping[str, tuple[str, ...]], tags: Mapping[str, str]) -> tuple[str, ...]:
    keys = attributes.get(_TRANSITIVE, ())
    known = {key.lower() for key in tags}
    for key in keys:
        if key.lower() not in known:
            raise _invalid(f"Transitive tag key {key!r} is not one of the session tags")
    return keys


def _source_identity(attributes: Mapping[str, tuple[str, ...]]) -> str | None:
    value = _single(attributes, _SOURCE_IDENTITY)
    if value is None:
        return None
    if _SESSION_NAME_RE.fullmatch(value) is None or value.lower().startswith("aws:"):
        raise _invalid("SourceIdentity must be 2-64 characters of [A-Za-z0-9_+=,.@-], not starting aws:")
    return value


def _session_not_on_or_after(assertion: Any) -> float | None:
    limits = [
        _optional_time(statement.get("SessionNotOnOrAfter"), "AuthnStatement SessionNotOnOrAfter")
        for statement in assertion.findall(_q(_SAML, "AuthnStatement"))
    ]
    present = [limit for limit in limits if limit is not None]
    return min(present) if present else None


def condition_keys(
    assertion: SamlAssertion, provider: SamlProvider, attributes: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, ContextValue]:
    """The ``saml:`` trust-policy keys of a verified assertion, lower-cased.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
    """
    keys: dict[str, ContextValue] = {
        "saml:aud": assertion.audience,
        "saml:iss": assertion.issuer,
        "saml:sub": assertion.subject,
        "saml:sub_type": assertion.subject_type,
        "saml:namequalifier": name_qualifier(assertion.issuer, provider),
        "saml:doc": f"{provider.account_id}/{provider.name}",
    }
    source = assertion.attributes if attributes is None else attributes
    for key, attribute in _ATTRIBUTE_KEYS.items():
        values = source.get(attribute)
        if values:
            keys[key] = values[0] if len(values) == 1 else tuple(values)
    return keys


# ---------------------------------------------------------------------- time


def _parse_time(text: str) -> float:
    """xs:dateTime (SAML requires UTC) to epoch seconds."""
    match = _DATETIME_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidParameterError(text)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float("0." + match.group(7)) if match.group(7) else 0.0
    zone = match.group(8) or "Z"
    offset = _dt.timedelta(0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone(offset))
    return moment.timestamp() + fraction


def _optional_time(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        return _parse_time(text)
    except ValueError:
        raise _invalid(f"{what} is not a valid dateTime") from None


def _required_time(text: str | None, what: str) -> float:
    value = _optional_time(text, what)
    if value is None:
        raise _invalid(f"{what} is required")
    return value


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
