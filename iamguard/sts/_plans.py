"""What a new role session will carry (tags, transitive keys, source identity) and its condition keys.

Part of ``sts/``. A plan is worked out and authorized before any token is issued: new tags plus
the caller's incoming transitive tags for AssumeRole, the IdP's claims for the federation calls.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iamguard.errors import STSError
from iamguard.sts._errors import constraint
from iamguard.sts._params import MAX_TAGS, SOURCE_IDENTITY, check_tags
from iamguard.sts._results import Tag

if TYPE_CHECKING:
    from iamguard.authn.session_token import SessionClaims
    from iamguard.context import ContextValue
    from iamguard.sts.oidc import WebIdentityClaims

__all__ = ["SessionPlan", "plan_context", "session_plan", "web_identity_plan"]


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """What a new role session will carry, worked out before it is issued."""

    tags: dict[str, str]
    transitive: tuple[str, ...]
    source_identity: str | None
    requested_tags: bool


def session_plan(
    session: SessionClaims | None,
    tags: Sequence[Tag],
    transitive: Sequence[str],
    source_identity: str | None,
) -> SessionPlan:
    """New tags plus incoming transitive ones; the source identity, which never changes once set.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-chaining
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
    """
    requested = check_tags(tags, transitive)
    incoming: dict[str, str] = {}
    if session is not None:
        incoming = {
            k: v
            for k, v in session.tags.items()
            if k.lower() in {t.lower() for t in session.transitive_tag_keys}
        }
    clash = {k.lower() for k in incoming} & {k.lower() for k in requested}
    if clash:
        raise STSError(
            f"One or more session tags conflict with incoming transitive tags: {sorted(clash)}",
            code="InvalidParameterValue",
            http_status=400,
        )
    merged = {**incoming, **requested}
    if len(merged) > MAX_TAGS:
        raise constraint("<tags>", "tags", f"Member must have length less than or equal to {MAX_TAGS}")
    keys = tuple(incoming) + tuple(k for k in transitive if k.lower() not in {i.lower() for i in incoming})
    inherited = session.source_identity if session is not None else None
    if inherited is not None and source_identity is not None and source_identity != inherited:
        raise STSError(
            "Source identity cannot be changed once it is set in a session.",
            code="AccessDenied",
            http_status=403,
        )
    return SessionPlan(merged, keys, inherited or source_identity, bool(requested))


def plan_context(plan: SessionPlan) -> dict[str, ContextValue]:
    """``aws:RequestTag/*``, ``aws:TagKeys``, ``sts:TransitiveTagKeys``, ``sts:SourceIdentity`` of a plan."""
    context: dict[str, ContextValue] = {}
    for key, value in plan.tags.items():
        context["aws:requesttag/" + key.lower()] = value
    if plan.tags:
        context["aws:tagkeys"] = tuple(plan.tags)
    if plan.transitive:
        context["sts:transitivetagkeys"] = plan.transitive
    if plan.source_identity is not None:
        context["sts:sourceidentity"] = plan.source_identity
    return context


_TAGS_CLAIM = "https://aws.amazon.com/tags"
_SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"


def web_identity_plan(claims: WebIdentityClaims) -> SessionPlan:
    """Session tags and source identity an ID token carries in AWS's claims.

    ``"https://aws.amazon.com/tags": {"principal_tags": {"Key": ["Value"]}, "transitive_tag_keys": [...]}``
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_adding-assume-role-idp
    ``"https://aws.amazon.com/source_identity": "..."``
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
    """
    block = claims.claims.get(_TAGS_CLAIM)
    tags: list[Tag] = []
    transitive: list[str] = []
    if block is not None:
        principal_tags = block.get("principal_tags") if isinstance(block, dict) else None
        keys = block.get("transitive_tag_keys", []) if isinstance(block, dict) else None
        if not isinstance(principal_tags, dict) or not isinstance(keys, list):
            raise STSError(
                f"The {_TAGS_CLAIM} claim is malformed", code="InvalidIdentityToken", http_status=400
            )
        for key, values in principal_tags.items():
            if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
                raise STSError(
                    f"Session tag {key!r} must have exactly one string value",
                    code="InvalidIdentityToken",
                    http_status=400,
                )
            tags.append(Tag(str(key), values[0]))
        transitive = [str(k) for k in keys]
    source = claims.claims.get(_SOURCE_IDENTITY_CLAIM)
    if source is not None and (
        not isinstance(source, str)
        or SOURCE_IDENTITY.fullmatch(source) is None
        or source.lower().startswith("aws:")
    ):
        raise STSError("The source identity claim is malformed", code="InvalidIdentityToken", http_status=400)
    checked = check_tags(tags, transitive)
    return SessionPlan(checked, tuple(transitive), source, bool(checked))
