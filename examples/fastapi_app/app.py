"""A small documents API in FastAPI, guarded by iamguard's FastAPI dependencies.

``create_app(store)`` returns the app. Each route names its IAM action and resource::

    GET    /docs             docs:ListDocuments  arn:aws:docs:::document/*
    GET    /docs/{doc_id}    docs:GetDocument    arn:aws:docs:::document/{doc_id}
    PUT    /docs/{doc_id}    docs:PutDocument    arn:aws:docs:::document/{doc_id}
    DELETE /docs/{doc_id}    docs:DeleteDocument arn:aws:docs:::document/{doc_id}
    GET    /whoami           (no action: like sts:GetCallerIdentity, any caller may ask)
    POST   /sts/             iamguard's STS Query endpoint (AssumeRole, GetSessionToken, ...)

How a request is judged (:func:`fastapi_iamguard.require`):

* **Who**: SigV4 (``Authorization: AWS4-HMAC-SHA256 …`` with scope service ``docs``, long-term
  keys or session credentials with ``X-Amz-Security-Token``) or, because the guard has
  ``bearer=True``, ``Authorization: Bearer <SessionToken>`` with the token of a session the
  mounted STS issued. No credentials: 403 ``MissingAuthenticationToken``, as AWS answers.
* **What applies**: the caller's identity-based policies from the store, plus the document's own
  resource-based policy (:mod:`.documents`; owner → policy), passed through the
  ``resource_policy`` hook.
* **Context**: ``docs:Classification`` of the stored document, so a policy can
  ``Deny`` reading ``secret`` documents.

Authorization happens before the document is looked up for the answer, so a caller who may not
read a document cannot learn whether it exists (403 either way; 404 only for the permitted).
Denials are AWS-shaped JSON bodies carrying the encoded authorization failure message that the
STS endpoint's ``DecodeAuthorizationMessage`` opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi_iamguard import current_principal, install, require
from pydantic import BaseModel, Field

from iamguard import (
    AsyncGuard,
    AuditSink,
    AuthorizationMessageCodec,
    Decision,
    IAMGuardError,
    KeyRing,
    Policy,
    Principal,
    RequestState,
    SessionTokenService,
    TokenService,
)
from iamguard.store import IdentityService
from iamguard.sts import StsAsgiApp

from .documents import ARN_PREFIX, Document, DocumentStore, make_document

__all__ = ["DocsState", "DocumentIn", "create_app"]

SERVICE = "docs"
#: The authenticated caller, injected: ``principal: Caller``.
Caller = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True, slots=True)
class DocsState:
    """What the routes share: ``app.state.docs``."""

    documents: DocumentStore
    guard: AsyncGuard
    account: str
    sessions: SessionTokenService
    messages: AuthorizationMessageCodec
    tokens: TokenService


class DocumentIn(BaseModel):
    """The body of ``PUT /docs/{doc_id}``."""

    body: str = Field(max_length=64 * 1024)
    classification: str = "internal"
    readers: list[str] = Field(default_factory=list, max_length=20)


def _state(request: Request) -> DocsState:
    state: DocsState = request.app.state.docs
    return state


def _stored(request: Request) -> Document | None:
    return _state(request).documents.get(request.path_params["doc_id"])


def document_policy(request: Request) -> tuple[Policy | None, str | None]:
    """The ``resource_policy`` hook: the addressed document's policy, in the app's account."""
    document = _stored(request)
    return (None if document is None else document.policy), _state(request).account


def document_context(request: Request) -> dict[str, object]:
    """The ``context`` hook: condition keys describing the stored document (none when new)."""
    document = _stored(request)
    return {} if document is None else {"docs:Classification": document.classification}


def _guarded(action: str) -> Any:
    """``Depends(require(action))`` on the path's document, with its policy and context.

    Used as ``Annotated[Decision, _guarded("GetDocument")]``.
    """
    return Depends(
        require(
            f"{SERVICE}:{action}",
            resource=ARN_PREFIX + "{doc_id}",
            context=document_context,
            resource_policy=document_policy,
        )
    )


def _not_found(doc_id: str) -> IAMGuardError:
    return IAMGuardError(
        f"Document {doc_id} does not exist", code="ResourceNotFoundException", http_status=404
    )


def _add_routes(app: FastAPI) -> None:
    @app.get("/whoami")
    async def whoami(request: Request, principal: Caller) -> dict[str, Any]:
        """Who is calling. Needs no permission, as ``sts:GetCallerIdentity`` needs none.

        https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
        """
        state: RequestState = request.scope["iamguard"]
        method = state.authenticated.method if state.authenticated is not None else ""
        return {
            "Arn": principal.arn,
            "Account": principal.account,
            "UserId": principal.user_id,
            "Authentication": method,
        }

    @app.get("/docs", dependencies=[Depends(require(f"{SERVICE}:ListDocuments", resource=ARN_PREFIX + "*"))])
    async def list_documents(request: Request) -> dict[str, Any]:
        """The documents the caller may read (each one judged with its own policy and context)."""
        state = _state(request)
        authenticated = request.scope["iamguard"].authenticated
        readable = []
        for document in state.documents.all():
            decision = await state.guard.authorize(
                authenticated,
                f"{SERVICE}:GetDocument",
                document.arn,
                context={"docs:Classification": document.classification},
                resource_policy=document.policy,
                resource_account=state.account,
            )
            if decision.allowed:
                readable.append(document.summary())
        return {"Documents": readable}

    @app.get("/docs/{doc_id}")
    async def get_document(
        doc_id: str, request: Request, _: Annotated[Decision, _guarded("GetDocument")]
    ) -> dict[str, Any]:
        document = _state(request).documents.get(doc_id)
        if document is None:
            raise _not_found(doc_id)
        return document.to_json()

    @app.put("/docs/{doc_id}")
    async def put_document(
        doc_id: str,
        payload: DocumentIn,
        request: Request,
        response: Response,
        principal: Caller,
        _: Annotated[Decision, _guarded("PutDocument")],
    ) -> dict[str, Any]:
        """Create or replace a document; a new one belongs to the caller, a replaced one keeps its owner."""
        documents = _state(request).documents
        existing = documents.get(doc_id)
        owner = existing.owner if existing is not None else principal.arn
        document = make_document(
            doc_id,
            owner=owner,
            classification=payload.classification,
            body=payload.body,
            readers=payload.readers,
        )
        response.status_code = 201 if documents.put(document) else 200
        return document.to_json()

    @app.delete("/docs/{doc_id}", status_code=204)
    async def delete_document(
        doc_id: str, request: Request, _: Annotated[Decision, _guarded("DeleteDocument")]
    ) -> Response:
        if not _state(request).documents.delete(doc_id):
            raise _not_found(doc_id)
        return Response(status_code=204)


def create_app(
    store: IdentityService,
    *,
    sessions: SessionTokenService | None = None,
    messages: AuthorizationMessageCodec | None = None,
    documents: DocumentStore | None = None,
    audit: AuditSink | None = None,
) -> FastAPI:
    """The documents API over ``store``, with iamguard's STS mounted at ``/sts/``.

    ``sessions`` issues (STS) and verifies (SigV4 session credentials, bearer tokens) session
    tokens, one keyring for both; ``messages`` seals the encoded authorization failure messages
    that STS ``DecodeAuthorizationMessage`` opens. Both are generated when not given.
    """
    sessions = sessions if sessions is not None else SessionTokenService(KeyRing.generate())
    messages = (
        messages
        if messages is not None
        else AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    )
    guard = AsyncGuard(store, sessions=sessions, bearer=True, service=SERVICE, messages=messages, audit=audit)
    tokens = TokenService(store, sessions, message_codec=messages)
    # /docs is the API itself, so FastAPI's interactive docs move to /swagger.
    app = FastAPI(title="iamguard documents example", docs_url="/swagger", redoc_url=None)
    app.state.docs = DocsState(
        documents if documents is not None else DocumentStore(),
        guard,
        store.account().account_id,
        sessions,
        messages,
        tokens,
    )
    install(app, guard, error_style="json")
    _add_routes(app)
    app.mount("/sts", StsAsgiApp(tokens))
    return app
