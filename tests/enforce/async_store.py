"""An :class:`~iamguard.resolve.AsyncPolicySource` over any sync store, for tests.

Every read is a coroutine that yields to the event loop once before answering, as a network
store would, and is counted, so a test can tell that the async path really awaited the store.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from iamguard.lookups import AccessKey, ResolvedPrincipal
from iamguard.store import IdentityService
from iamguard.store.records import ManagedPolicy, PolicyVersion

__all__ = ["AsyncStore"]


class AsyncStore:
    """Awaitable reads of ``inner`` (conforms to ``AsyncPolicySource``)."""

    def __init__(self, inner: IdentityService) -> None:
        self.inner = inner
        self.awaited: Counter[str] = Counter()

    async def _hop(self, name: str) -> None:
        self.awaited[name] += 1
        await asyncio.sleep(0)

    async def resolve_principal(self, arn: str) -> ResolvedPrincipal | None:
        await self._hop("resolve_principal")
        return self.inner.resolve_principal(arn)

    async def get_access_key(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        await self._hop("get_access_key")
        return self.inner.get_access_key(access_key_id)

    async def generation(self) -> int:
        await self._hop("generation")
        return self.inner.generation()

    async def get_policy(self, arn: str) -> ManagedPolicy:
        await self._hop("get_policy")
        return self.inner.get_policy(arn)

    async def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        await self._hop("get_policy_version")
        return self.inner.get_policy_version(arn, version_id)
