"""The documents the example API serves, each carrying its own resource-based policy.

A document belongs to the principal that created it (``owner``, a principal ARN). Its policy is
derived from the stored fields, never written by clients directly, the way an S3 bucket owner's
grants become a bucket policy:

* the owner may do every ``docs:*`` action on the document;
* each principal in ``readers`` may ``docs:GetDocument`` it.

Within one account a resource-based policy that names a principal grants access on its own: an
identity-based policy need not allow the action too (an *implicit* deny there does not limit it),
while an explicit ``Deny`` anywhere still wins.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html

The policy is parsed once per stored version (:attr:`Document.policy`), so a request evaluates an
already-compiled :class:`~iamguard.policy.model.Policy`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from iamguard import IAMGuardError, Policy, PolicyError, PolicyKind, parse_policy

__all__ = ["ARN_PREFIX", "CLASSIFICATIONS", "Document", "DocumentStore", "document_arn", "make_document"]

#: Resource ARNs: ``arn:aws:docs:::document/<doc_id>`` (a custom service prefix; no region or
#: account segment, like S3's ``arn:aws:s3:::bucket``).
ARN_PREFIX = "arn:aws:docs:::document/"
CLASSIFICATIONS = ("public", "internal", "secret")
#: Document ids: what fits in a URL path segment and an ARN without escaping or wildcards.
_DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: A principal a document may be shared with: an IAM user or role, or a role session.
_PRINCIPAL = re.compile(
    r"arn:aws:(iam::\d{12}:(user|role)/[\w+=,.@/-]+|sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+)"
)


def document_arn(doc_id: str) -> str:
    return ARN_PREFIX + doc_id


def _invalid(message: str) -> IAMGuardError:
    return IAMGuardError(message, code="ValidationError", http_status=400)


@dataclass(frozen=True, slots=True)
class Document:
    """One stored document; ``policy`` is its resource-based policy, derived from the fields."""

    doc_id: str
    owner: str
    classification: str
    body: str
    readers: tuple[str, ...]
    policy: Policy = field(repr=False, compare=False)

    @property
    def arn(self) -> str:
        return document_arn(self.doc_id)

    def summary(self) -> dict[str, Any]:
        return {"DocId": self.doc_id, "Owner": self.owner, "Classification": self.classification}

    def to_json(self) -> dict[str, Any]:
        return {**self.summary(), "Body": self.body, "Readers": list(self.readers)}


def policy_document(doc_id: str, owner: str, readers: Sequence[str]) -> dict[str, Any]:
    """The resource-based policy of a document (a plain policy JSON object)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnerFullControl",
            "Effect": "Allow",
            "Principal": {"AWS": owner},
            "Action": "docs:*",
            "Resource": document_arn(doc_id),
        }
    ]
    if readers:
        statements.append(
            {
                "Sid": "SharedReaders",
                "Effect": "Allow",
                "Principal": {"AWS": list(readers)},
                "Action": "docs:GetDocument",
                "Resource": document_arn(doc_id),
            }
        )
    return {"Version": "2012-10-17", "Id": document_arn(doc_id), "Statement": statements}


def make_document(
    doc_id: str, *, owner: str, classification: str, body: str, readers: Sequence[str]
) -> Document:
    """A validated document with its parsed policy; ``ValidationError`` (400) for bad input."""
    if not _DOC_ID.fullmatch(doc_id):
        raise _invalid(
            f"Value '{doc_id}' at 'docId' failed to satisfy constraint: Member must match {_DOC_ID.pattern}"
        )
    if classification not in CLASSIFICATIONS:
        raise _invalid(
            f"Value '{classification}' at 'classification' must be one of {', '.join(CLASSIFICATIONS)}"
        )
    for reader in readers:
        if not _PRINCIPAL.fullmatch(reader):
            raise _invalid(f"Value '{reader}' at 'readers' is not an IAM user, role or role session ARN")
    try:
        policy = parse_policy(
            policy_document(doc_id, owner, readers), name=document_arn(doc_id), kind=PolicyKind.RESOURCE
        )
    except PolicyError as error:  # fail closed: a document without a valid policy is not stored
        raise IAMGuardError(str(error), code="MalformedPolicyDocument", http_status=400) from error
    return Document(doc_id, owner, classification, body, tuple(dict.fromkeys(readers)), policy)


class DocumentStore:
    """Documents by id, in memory (thread-safe: a server may run handlers on several threads)."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}
        self._lock = threading.Lock()

    def get(self, doc_id: str) -> Document | None:
        return self._documents.get(doc_id)

    def put(self, document: Document) -> bool:
        """Store ``document``; ``True`` when it is new."""
        with self._lock:
            created = document.doc_id not in self._documents
            self._documents[document.doc_id] = document
        return created

    def delete(self, doc_id: str) -> bool:
        with self._lock:
            return self._documents.pop(doc_id, None) is not None

    def all(self) -> list[Document]:
        with self._lock:
            return sorted(self._documents.values(), key=lambda d: d.doc_id)
