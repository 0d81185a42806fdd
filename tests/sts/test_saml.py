"""Tests for iamguard.sts.saml with real assertions signed in the test (RSA 2048, signxml)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped,unused-ignore]
from signxml.signer import XMLSigner

from iamguard.errors import InvalidInputError, STSError
from iamguard.sts import saml
from iamguard.sts.saml import AWS_SAML_AUDIENCE, SamlAssertion, SamlProvider, SamlVerifier, name_qualifier

CASES = json.loads((Path(__file__).parent.parent / "data" / "sts" / "saml" / "cases.json").read_text())[
    "cases"
]
T0 = 1_770_000_000
ENTITY_ID = "https://idp.example.com/saml/metadata"
PROVIDER_ARN = "arn:aws:iam::123456789012:saml-provider/MyIdP"
ROLE_ARN = "arn:aws:iam::123456789012:role/SamlRole"
REGIONAL = "https://us-east-1.signin.aws.amazon.com/saml"
ATTR = "https://aws.amazon.com/SAML/Attributes/"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- keys, metadata, responses


@dataclass
class SigningKey:
    private: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_b64(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


def make_key(common_name: str = "idp.example.com") -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime.fromtimestamp(T0, dt.timezone.utc) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .sign(private, hashes.SHA256())
    )
    return SigningKey(private, cert)


@pytest.fixture(scope="module")
def idp_key() -> SigningKey:
    return make_key()


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return make_key("evil.example.com")


def metadata(entity_id: str, *certs: str, use: str | None = "signing") -> str:
    use_attr = f' use="{use}"' if use else ""
    keys = "".join(
        f"<md:KeyDescriptor{use_attr}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}"
        f"</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for c in certs
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="{DS}" '
        f'entityID="{entity_id}"><md:IDPSSODescriptor '
        f'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}'
        f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    )


def _iso(offset: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + offset))


DEFAULTS: dict[str, Any] = {
    "issuer": ENTITY_ID,
    "subject": "alice@example.com",
    "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "audience": AWS_SAML_AUDIENCE,
    "recipient": AWS_SAML_AUDIENCE,
    "not_before": -60,
    "not_on_or_after": 300,
    "confirmation_not_on_or_after": 300,
    "status": "urn:oasis:names:tc:SAML:2.0:status:Success",
    "sign": "assertion",
    "attributes": {
        ATTR + "Role": [f"{ROLE_ARN},{PROVIDER_ARN}"],
        ATTR + "RoleSessionName": ["alice"],
    },
}


def spec(override: dict[str, Any] | None = None) -> dict[str, Any]:
    result = copy.deepcopy(DEFAULTS)
    for key, value in (override or {}).items():
        if key == "attributes":
            for name, values in value.items():
                if values is None:
                    result["attributes"].pop(name, None)
                else:
                    result["attributes"][name] = values
        else:
            result[key] = value
    return result


def assertion_xml(s: dict[str, Any], assertion_id: str) -> str:
    attributes = "".join(
        f'<saml:Attribute Name="{name}">'
        + "".join(f"<saml:AttributeValue>{v}</saml:AttributeValue>" for v in values)
        + "</saml:Attribute>"
        for name, values in s["attributes"].items()
    )
    audience = (
        f"<saml:AudienceRestriction><saml:Audience>{s['audience']}</saml:Audience></saml:AudienceRestriction>"
        if s["audience"]
        else ""
    )
    return (
        f'<saml:Assertion xmlns:saml="{SAML}" ID="{assertion_id}" Version="2.0" IssueInstant="{_iso(0)}">'
        f"<saml:Issuer>{s['issuer']}</saml:Issuer>"
        f'<saml:Subject><saml:NameID Format="{s["name_id_format"]}">{s["subject"]}</saml:NameID>'
        f'<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData NotOnOrAfter="{_iso(s["confirmation_not_on_or_after"])}" '
        f'Recipient="{s["recipient"]}"/></saml:SubjectConfirmation></saml:Subject>'
        f'<saml:Conditions NotBefore="{_iso(s["not_before"])}" NotOnOrAfter="{_iso(s["not_on_or_after"])}">'
        f"{audience}</saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{_iso(0)}" SessionNotOnOrAfter="{_iso(3600)}">'
        f"<saml:AuthnContext><saml:AuthnContextClassRef>"
        f"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        f"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"<saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"
    )


def sign(element: Any, key: SigningKey, reference_id: str) -> Any:
    signer = XMLSigner(c14n_algorithm=EXC_C14N)
    return signer.sign(element, key=key.key_pem, cert=[key.cert_pem.decode()], reference_uri=reference_id)


def response_element(key: SigningKey, override: dict[str, Any] | None = None) -> Any:
    """A samlp:Response element built (and signed as ``sign`` says) from the defaults + override."""
    s = spec(override)
    assertion_id = "_a" + uuid.uuid4().hex
    assertion = etree.fromstring(assertion_xml(s, assertion_id))
    if s["sign"] in ("assertion", "both"):
        assertion = sign(assertion, key, assertion_id)
    response_id = "_r" + uuid.uuid4().hex
    response = etree.fromstring(
        f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{response_id}" Version="2.0" '
        f'IssueInstant="{_iso(0)}" Destination="{AWS_SAML_AUDIENCE}"><saml:Issuer>{s["issuer"]}</saml:Issuer>'
        f'<samlp:Status><samlp:StatusCode Value="{s["status"]}"/></samlp:Status></samlp:Response>'
    )
    response.append(assertion)
    if s["sign"] in ("response", "both"):
        response = sign(response, key, response_id)
    return response


def encode(element: Any) -> str:
    return base64.b64encode(etree.tostring(element)).decode()


def make_response(key: SigningKey, override: dict[str, Any] | None = None) -> str:
    return encode(response_element(key, override))


def make_verifier(idp_key: SigningKey, **kwargs: Any) -> SamlVerifier:
    provider = SamlProvider.from_metadata(PROVIDER_ARN, metadata(ENTITY_ID, idp_key.cert_b64))
    kwargs.setdefault("clock", Clock(T0))
    return SamlVerifier({PROVIDER_ARN: provider}, **kwargs)


def expect_error(code: str, status: int, verifier: SamlVerifier, response: str) -> STSError:
    with pytest.raises(STSError) as info:
        verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    assert (info.value.code, info.value.http_status) == (code, status), str(info.value)
    return info.value


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any], idp_key: SigningKey) -> None:
    verifier = make_verifier(idp_key, recipient=(AWS_SAML_AUDIENCE, REGIONAL))
    response = make_response(idp_key, case["override"])
    expect = case["expect"]
    if "code" in expect:
        expect_error(expect["code"], expect["status"], verifier, response)
        return
    result = verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    for name, value in expect["ok"].items():
        actual = getattr(result, name)
        if isinstance(actual, tuple):
            actual = list(actual)
        elif not isinstance(actual, (str, int, type(None))):
            actual = dict(actual)
        assert actual == value, name


# ---------------------------------------------------------------- signatures (security regressions)


def test_valid_result_fields(idp_key: SigningKey) -> None:
    result = make_verifier(idp_key).verify(make_response(idp_key), PROVIDER_ARN, ROLE_ARN)
    assert isinstance(result, SamlAssertion)
    assert result.issuer == ENTITY_ID
    assert result.attributes[ATTR + "RoleSessionName"] == ("alice",)
    assert result.expires_at == T0 + 300
    assert result.session_not_on_or_after == T0 + 3600


def test_wrong_certificate_is_rejected(idp_key: SigningKey, other_key: SigningKey) -> None:
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), make_response(other_key))


def test_wrong_certificate_rejected_even_when_the_signature_embeds_its_own(
    idp_key: SigningKey, other_key: SigningKey
) -> None:
    """The attacker's certificate travels in KeyInfo; only the metadata's certificate is trusted."""
    response = response_element(other_key)
    assert response.find(f".//{{{DS}}}X509Certificate") is not None
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))


@pytest.mark.parametrize("mode", ["assertion", "response", "both"])
def test_attribute_tampered_after_signing(idp_key: SigningKey, mode: str) -> None:
    response = response_element(idp_key, {"sign": mode})
    value = response.find(f".//{{{SAML}}}Attribute[@Name='{ATTR}RoleSessionName']/{{{SAML}}}AttributeValue")
    value.text = "mallory"
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))


def test_signature_wrapping_evil_assertion_beside_the_signed_one(idp_key: SigningKey) -> None:
    """An unsigned Assertion granting another role, inserted before the signed one."""
    response = response_element(idp_key)
    evil = etree.fromstring(
        assertion_xml(
            spec({"subject": "mallory", "attributes": {ATTR + "RoleSessionName": ["mallory"]}}), "_evil"
        )
    )
    response.insert(2, evil)
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))


def test_signature_wrapping_second_layer_reads_only_signed_xml(
    idp_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the one-Assertion check switched off, the evil Assertion is still never read."""
    monkeypatch.setattr(saml, "_response_root", lambda text: saml._parse_xml(base64.b64decode(text)))
    response = response_element(idp_key)
    evil = etree.fromstring(
        assertion_xml(
            spec({"subject": "mallory", "attributes": {ATTR + "RoleSessionName": ["mallory"]}}), "_evil"
        )
    )
    response.insert(2, evil)  # first in document order
    result = make_verifier(idp_key).verify(encode(response), PROVIDER_ARN, ROLE_ARN)
    assert (result.subject, result.role_session_name) == ("alice@example.com", "alice")


def test_signature_wrapping_signed_assertion_hidden_inside_the_evil_one(idp_key: SigningKey) -> None:
    """XSW: the evil Assertion takes the signed one's place (and ID); the signed one hides inside it."""
    response = response_element(idp_key)
    signed = response.find(f"{{{SAML}}}Assertion")
    evil = etree.fromstring(
        assertion_xml(
            spec({"subject": "mallory", "attributes": {ATTR + "RoleSessionName": ["mallory"]}}), "x"
        )
    )
    evil.set("ID", signed.get("ID"))
    signature = copy.deepcopy(signed.find(f"{{{DS}}}Signature"))
    response.remove(signed)
    evil.insert(1, signature)
    signature.append(signed)  # the original, still valid, sits inside the copied Signature
    response.append(evil)
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))


def test_signature_wrapping_with_signed_response_and_extra_assertion(idp_key: SigningKey) -> None:
    response = response_element(idp_key, {"sign": "response"})
    response.append(etree.fromstring(assertion_xml(spec({"subject": "mallory"}), "_evil2")))
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))


def test_only_signed_content_is_read(idp_key: SigningKey) -> None:
    """A comment injected into a signed NameID (ignored by c14n) cannot truncate what is read."""
    response = response_element(idp_key, {"subject": "admin@example.com.evil.com"})
    name_id = response.find(f".//{{{SAML}}}NameID")
    name_id.text = "admin@example.com"
    name_id.append(etree.Comment("x"))
    name_id[-1].tail = ".evil.com"
    result = make_verifier(idp_key).verify(encode(response), PROVIDER_ARN, ROLE_ARN)
    assert result.subject == "admin@example.com.evil.com"


def test_signed_response_destination_must_be_a_sign_in_url(idp_key: SigningKey) -> None:
    response = response_element(idp_key, {"sign": "none"})
    response.set("Destination", "https://evil.example.com/acs")
    response = sign(response, idp_key, response.get("ID"))
    error = expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))
    assert "Destination" in str(error)


def test_sha1_signatures_are_refused(idp_key: SigningKey) -> None:
    s = spec()
    assertion = etree.fromstring(assertion_xml(s, "_sha1"))

    class Sha1Signer(XMLSigner):
        def check_deprecated_methods(self) -> None:  # an old IdP still signing with SHA-1
            pass

    signed = Sha1Signer(
        signature_algorithm="rsa-sha1", digest_algorithm="sha1", c14n_algorithm=EXC_C14N
    ).sign(assertion, key=idp_key.key_pem, cert=[idp_key.cert_pem.decode()], reference_uri="_sha1")
    response = response_element(idp_key, {"sign": "none"})
    response.remove(response.find(f"{{{SAML}}}Assertion"))
    response.append(signed)
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), encode(response))


def test_rotated_metadata_accepts_either_certificate(idp_key: SigningKey, other_key: SigningKey) -> None:
    provider = SamlProvider(PROVIDER_ARN, metadata(ENTITY_ID, other_key.cert_b64, idp_key.cert_b64))
    verifier = SamlVerifier({PROVIDER_ARN: provider}, clock=Clock(T0))
    assert verifier.verify(make_response(idp_key), PROVIDER_ARN, ROLE_ARN).subject == "alice@example.com"
    assert verifier.verify(make_response(other_key), PROVIDER_ARN, ROLE_ARN).subject == "alice@example.com"


def test_expired_certificate_is_rejected(idp_key: SigningKey) -> None:
    verifier = make_verifier(idp_key, clock=Clock(T0 + 400 * 86400))
    response = make_response(idp_key)
    expect_error("InvalidIdentityToken", 400, verifier, response)


# ---------------------------------------------------------------- replay


def test_replayed_assertion_is_rejected(idp_key: SigningKey) -> None:
    verifier = make_verifier(idp_key)
    response = make_response(idp_key)
    verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    expect_error("InvalidIdentityToken", 400, verifier, response)


def test_rejected_assertion_is_not_consumed(idp_key: SigningKey) -> None:
    """A request for a role the assertion does not grant must not burn its ID."""
    verifier = make_verifier(idp_key)
    response = make_response(idp_key)
    with pytest.raises(STSError):
        verifier.verify(response, PROVIDER_ARN, "arn:aws:iam::123456789012:role/Other")
    assert verifier.verify(response, PROVIDER_ARN, ROLE_ARN).role_session_name == "alice"


def test_replay_cache_is_bounded_and_forgets_expired_ids(idp_key: SigningKey) -> None:
    clock = Clock(T0)
    verifier = make_verifier(idp_key, clock=clock, replay_cache_size=2)
    responses = [make_response(idp_key) for _ in range(3)]
    for response in responses:
        verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    assert len(verifier._replays) == 2
    clock.now = T0 + 300 + 300  # past NotOnOrAfter + skew: entries are dropped, assertion expired
    with pytest.raises(STSError) as info:
        verifier.verify(responses[-1], PROVIDER_ARN, ROLE_ARN)
    assert info.value.code == "ExpiredTokenException"
    # The next accepted assertion finds the expired IDs gone: only its own remains.
    assert verifier._replays.add((ENTITY_ID, "_fresh"), clock.now + 60, clock.now)
    assert len(verifier._replays) == 1
    assert not verifier._replays.add((ENTITY_ID, "_fresh"), clock.now + 60, clock.now)


# ---------------------------------------------------------------- document shape


@pytest.mark.parametrize(
    "text",
    [
        "%%%not base64%%%",
        base64.b64encode(b"not xml").decode(),
        base64.b64encode(b"<a/>").decode(),
        "",
        "A" * 100_001,
    ],
)
def test_malformed_input(idp_key: SigningKey, text: str) -> None:
    expect_error("InvalidIdentityToken", 400, make_verifier(idp_key), text)


def test_doctype_and_entities_are_refused(idp_key: SigningKey) -> None:
    """XXE / billion laughs: any DOCTYPE is refused before anything is expanded or fetched."""
    body = etree.tostring(response_element(idp_key)).decode()
    evil = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + body
    expect_error(
        "InvalidIdentityToken", 400, make_verifier(idp_key), base64.b64encode(evil.encode()).decode()
    )


def test_unknown_provider(idp_key: SigningKey) -> None:
    verifier = make_verifier(idp_key)
    with pytest.raises(STSError) as info:
        verifier.verify(make_response(idp_key), "arn:aws:iam::123456789012:saml-provider/Nope", ROLE_ARN)
    assert info.value.code == "InvalidIdentityToken"


def test_provider_lookup_callable(idp_key: SigningKey) -> None:
    provider = SamlProvider(PROVIDER_ARN, metadata(ENTITY_ID, idp_key.cert_b64, use=None))
    verifier = SamlVerifier(lambda arn: provider if arn == PROVIDER_ARN else None, clock=Clock(T0))
    assert verifier.verify(make_response(idp_key), PROVIDER_ARN, ROLE_ARN).issuer == ENTITY_ID


# ---------------------------------------------------------------- condition keys


def test_condition_keys_and_namequalifier(idp_key: SigningKey) -> None:
    """saml:namequalifier = BASE64(SHA1(issuer + account id + "/" + provider name)).

    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html (NameQualifier)
    """
    override = {
        "attributes": {
            "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ["alice@example.edu"],
            "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["member", "staff"],
        }
    }
    result = make_verifier(idp_key).verify(make_response(idp_key, override), PROVIDER_ARN, ROLE_ARN)
    expected_qualifier = base64.b64encode(
        hashlib.sha1((ENTITY_ID + "123456789012" + "/MyIdP").encode()).digest()
    ).decode()
    assert result.condition_keys == {
        "saml:aud": AWS_SAML_AUDIENCE,
        "saml:iss": ENTITY_ID,
        "saml:sub": "alice@example.com",
        "saml:sub_type": "persistent",
        "saml:namequalifier": expected_qualifier,
        "saml:doc": "123456789012/MyIdP",
        "saml:edupersonprincipalname": "alice@example.edu",
        "saml:edupersonaffiliation": ("member", "staff"),
    }


def test_namequalifier_documented_example() -> None:
    """The pseudocode example in the AssumeRoleWithSAML reference, computed independently."""
    provider = SamlProvider.__new__(SamlProvider)
    object.__setattr__(provider, "arn", "arn:aws:iam::123456789012:saml-provider/MySAMLIdP")
    expected = base64.b64encode(
        hashlib.sha1(b"https://example.com/saml123456789012/MySAMLIdP").digest()
    ).decode()
    assert name_qualifier("https://example.com/saml", provider) == expected


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize(
    ("arn", "document"),
    [
        (PROVIDER_ARN, "not xml"),
        (PROVIDER_ARN, "<md:EntitiesDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'/>"),
        (PROVIDER_ARN, metadata("", "MIIB")),
        (PROVIDER_ARN, metadata(ENTITY_ID)),  # no certificate
        (PROVIDER_ARN, metadata(ENTITY_ID, "bm90IGEgY2VydA==")),  # base64, not DER
        (PROVIDER_ARN, metadata(ENTITY_ID, "QUJD", use="encryption")),  # only an encryption key
        ("arn:aws:iam::123456789012:role/NotAProvider", metadata(ENTITY_ID, "QUJD")),
    ],
)
def test_bad_metadata(arn: str, document: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SamlProvider.from_metadata(arn, document)
    assert info.value.code == "InvalidInput"


def test_metadata_reads_entity_and_certificates(idp_key: SigningKey, other_key: SigningKey) -> None:
    provider = SamlProvider.from_metadata(
        PROVIDER_ARN, metadata(ENTITY_ID, idp_key.cert_b64, other_key.cert_b64)
    )
    assert provider.entity_id == ENTITY_ID
    assert provider.certificates == (idp_key.cert, other_key.cert)
    assert (provider.account_id, provider.name) == ("123456789012", "MyIdP")
