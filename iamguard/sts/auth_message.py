"""Encoded authorization-failure messages, as ``DecodeAuthorizationMessage`` decodes them.

Part of ``sts/``; pure. When AWS denies a request it may return an *encoded* message: the decision,
the statements that produced it and the request context, readable only by a principal allowed
``sts:DecodeAuthorizationMessage`` (the details can be sensitive: they show policy content).
https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html

* :func:`build_message` shapes a :class:`~iamguard.decision.Decision` like AWS's decoded JSON:
  ``allowed``, ``explicitDeny``, ``matchedStatements``, ``failures``, ``context``.
* :class:`AuthorizationMessageCodec` turns it into opaque URL-safe text and back: zlib-compressed
  JSON, padded to a multiple of 128 bytes (so length says little about content), sealed with
  AES-256-GCM under a named key. The key id travels in the clear and is authenticated with the
  ciphertext, so keys can rotate: encode with the ``primary`` key, decode with any known one.
  Anything that does not decrypt and authenticate is ``InvalidAuthorizationMessageException``
  (HTTP 400), with one message for every cause so that failures reveal nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from iamguard.context import ContextValue
from iamguard.decision import DecisionKind, PolicyRole
from iamguard.errors import InvalidParameterError, STSError

if TYPE_CHECKING:
    from iamguard.decision import Decision, MatchedStatement
    from iamguard.evaluate.inputs import PolicySet
    from iamguard.policy.model import Statement
    from iamguard.principal import Principal

__all__ = ["AuthorizationMessageCodec", "build_message"]

_VERSION = 1
_KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12
_PAD_TO = 128
_MAX_TEXT_CHARS = 65536
_MAX_JSON_BYTES = 1 << 20  # refuse to inflate beyond 1 MiB (zip bombs)
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_TEXT_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
DEFAULT_KEY_ID = "default"


# ---------------------------------------------------------------------- the message


def _items(values: Any) -> dict[str, list[dict[str, str]]]:
    return {"items": [{"value": value} for value in values]}


def _condition_items(context: Mapping[str, ContextValue]) -> dict[str, list[dict[str, Any]]]:
    items = []
    for key in sorted(context):
        value = context[key]
        values = (value,) if isinstance(value, str) else value
        items.append({"key": key, "values": _items(values)})
    return {"items": items}


def _find_statement(matched: MatchedStatement, policies: PolicySet | None) -> Statement | None:
    if policies is None:
        return None
    by_role = {
        PolicyRole.IDENTITY: policies.identity,
        PolicyRole.SESSION: policies.session or (),
        PolicyRole.BOUNDARY: (policies.boundary,) if policies.boundary is not None else (),
        PolicyRole.RESOURCE: (policies.resource,) if policies.resource is not None else (),
    }
    for policy in by_role[matched.policy_role]:
        if policy.name == matched.policy_name:
            for statement in policy.statements:
                if statement.index == matched.statement_index:
                    return statement
    return None


def _statement_item(
    matched: MatchedStatement, principal: Principal, policies: PolicySet | None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "statementId": matched.sid or "",
        "effect": matched.effect.upper(),
        "sourcePolicyId": matched.policy_name,
        "sourcePolicyType": matched.policy_role.value,
        "statementIndex": matched.statement_index,
        "principals": _items([principal.user_id or principal.arn]),
        "principalGroups": {"items": []},
    }
    statement = _find_statement(matched, policies)
    if statement is not None:
        for name, values in (
            ("actions", statement.action),
            ("notActions", statement.not_action),
            ("resources", statement.resource),
            ("notResources", statement.not_resource),
        ):
            if values is not None:
                item[name] = _items(values)
        item["conditions"] = {
            "items": [
                {"key": c.key, "operator": c.operator, "values": _items(c.values)}
                for c in statement.conditions
            ]
        }
    return item


def build_message(
    decision: Decision,
    *,
    principal: Principal,
    context: Mapping[str, ContextValue],
    policies: PolicySet | None = None,
) -> dict[str, Any]:
    """The decoded-message JSON of AWS for ``decision``.

    ``context`` is the request context; the principal's own keys (``aws:userid``,
    ``aws:PrincipalArn``, ...) are added beneath it, as evaluation sees them. With ``policies``
    (the set the decision was made from) each matched statement also lists its actions,
    resources and conditions, as AWS's messages do.
    """
    keys: dict[str, ContextValue] = {**principal.context_keys(), **dict(context)}
    principal_json = {"id": principal.user_id or principal.arn, "arn": principal.arn}
    if principal.name:
        principal_json["name"] = principal.name
    return {
        "allowed": decision.kind is DecisionKind.ALLOWED,
        "explicitDeny": decision.kind is DecisionKind.EXPLICIT_DENY,
        "matchedStatements": {"items": [_statement_item(m, principal, policies) for m in decision.matched]},
        "failures": {"items": [{"message": error} for error in decision.errors]},
        "context": {
            "principal": principal_json,
            "action": decision.action,
            "resource": decision.resource,
            "conditions": _condition_items(keys),
        },
    }


# ---------------------------------------------------------------------- the codec


def _invalid() -> STSError:
    return STSError(
        "The authorization message is invalid or was not issued with a known key",
        code="InvalidAuthorizationMessageException",
        http_status=400,
    )


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AuthorizationMessageCodec:
    """Seals messages with AES-256-GCM under named keys; ``primary`` is the one new messages use.

    ``key`` is one 32-byte key (named ``"default"``) or a mapping of key id → key. A mapping of
    several keys needs ``primary``. Key ids are 1-64 characters of ``[A-Za-z0-9_-]``.
    """

    def __init__(self, key: bytes | Mapping[str, bytes], *, primary: str | None = None) -> None:
        keys = {DEFAULT_KEY_ID: key} if isinstance(key, (bytes, bytearray)) else dict(key)
        if not keys:
            raise InvalidParameterError("at least one key is required")
        for key_id, secret in keys.items():
            if _KEY_ID_RE.fullmatch(key_id) is None:
                raise InvalidParameterError(f"invalid key id {key_id!r}")
            if not isinstance(secret, (bytes, bytearray)) or len(secret) != _KEY_BYTES:
                raise InvalidParameterError(f"key {key_id!r} must be {_KEY_BYTES} bytes (AES-256)")
        if primary is None:
            if len(keys) != 1:
                raise InvalidParameterError("primary is required when several keys are given")
            primary = next(iter(keys))
        if primary not in keys:
            raise InvalidParameterError(f"primary key id {primary!r} is not among the keys")
        self.primary = primary
        self._ciphers = {key_id: AESGCM(bytes(secret)) for key_id, secret in keys.items()}

    @staticmethod
    def generate_key() -> bytes:
        """A fresh random AES-256 key."""
        return AESGCM.generate_key(bit_length=256)

    def encode(self, message: Mapping[str, Any]) -> str:
        """``message`` as URL-safe text: header (version, key id) + nonce + sealed, padded zlib JSON."""
        body = zlib.compress(
            json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 9
        )
        body += b"\0" * (-len(body) % _PAD_TO)
        header = _header(self.primary)
        nonce = os.urandom(_NONCE_BYTES)
        return _b64encode(header + nonce + self._ciphers[self.primary].encrypt(nonce, body, header))

    def decode(self, text: str) -> dict[str, Any]:
        """The message sealed in ``text``; ``InvalidAuthorizationMessageException`` if it is not ours."""
        if not isinstance(text, str) or not 0 < len(text) <= _MAX_TEXT_CHARS or not _TEXT_RE.fullmatch(text):
            raise _invalid()
        try:
            raw = _b64decode(text)
        except (binascii.Error, ValueError):
            raise _invalid() from None
        key_id, header_length = _read_header(raw)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise _invalid()
        header, nonce = raw[:header_length], raw[header_length : header_length + _NONCE_BYTES]
        try:
            body = cipher.decrypt(nonce, raw[header_length + _NONCE_BYTES :], header)
        except (InvalidTag, ValueError):
            raise _invalid() from None
        return _inflate_json(body)


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes((_VERSION, len(encoded))) + encoded


def _read_header(raw: bytes) -> tuple[str, int]:
    if len(raw) < 2 or raw[0] != _VERSION:
        raise _invalid()
    length = 2 + raw[1]
    if len(raw) < length + _NONCE_BYTES + 16:  # 16: the GCM tag
        raise _invalid()
    key_id = raw[2:length].decode("ascii", errors="replace")
    if _KEY_ID_RE.fullmatch(key_id) is None:
        raise _invalid()
    return key_id, length


def _inflate_json(body: bytes) -> dict[str, Any]:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, _MAX_JSON_BYTES)
    except zlib.error:
        raise _invalid() from None
    # INVARIANT: authenticated bytes were ours, yet a message is still refused unless it is whole.
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data.strip(b"\0"):
        raise _invalid()
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _invalid() from None
    if not isinstance(message, dict):
        raise _invalid()
    return message
