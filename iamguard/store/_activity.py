"""Access activity: access-key last-used and per-service last-accessed (access advisor) data.

Part of ``store/``; written in batches by the enforcement layer's ``AccessTracker`` without
bumping the store generation (activity changes no decision).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from iamguard.store._base import _Base
from iamguard.store._rows import _dt, _ts
from iamguard.store.protocols import Row, Transaction


@dataclass(frozen=True, slots=True)
class AccessActivity:
    """One authenticated, authorized use, as the enforcement layer's ``AccessTracker`` batches it.

    ``count`` is how many requests the item stands for (the tracker folds repeats together).
    """

    at: datetime
    entity_arn: str  # the stored user or role the request was governed by
    service_namespace: str  # "s3", from the action's prefix
    action: str
    region: str = ""
    access_key_id: str | None = None  # long-term keys only; session keys are not stored
    authenticated_entity: str = ""  # the caller's own ARN (a role session's, for roles)
    count: int = 1


@dataclass(frozen=True, slots=True)
class ServiceLastAccessed:
    """Access-advisor data for one service: when an entity last used it, and how.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceLastAccessed.html
    """

    service_namespace: str
    last_authenticated: datetime
    last_authenticated_entity: str
    last_authenticated_region: str
    last_action: str
    total_requests: int


class _Activity(_Base):
    """``record_access_activity`` and ``get_service_last_accessed``."""

    def record_access_activity(self, batch: Iterable[AccessActivity]) -> None:
        """Record access-key last-used and per-service last-accessed data, in one transaction.

        Activity changes no decision, so this write leaves the generation alone: bumping it
        would empty every decision cache on each flush. Keys that no longer exist are skipped;
        times only ever move forward. Backends that cannot write without announcing a new
        generation (see :meth:`_unversioned_write`) fall back to an ordinary write.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html
        """
        items = list(batch)
        if not items:
            return
        with self._unversioned_write() as tx:
            for item in items:
                if item.access_key_id is not None:
                    self._record_key_use(tx, item)
                self._record_service_use(tx, item)

    def get_service_last_accessed(self, arn: str) -> list[ServiceLastAccessed]:
        """Access-advisor data of the user or role ``arn``, one entry per service used, by name."""
        with self._read() as tx:
            rows = tx.select("service_last_accessed", {"entity_arn": arn})
        return [
            ServiceLastAccessed(
                service_namespace=str(r["service_namespace"]),
                last_authenticated=_dt(r["last_authenticated"]),
                last_authenticated_entity=str(r["last_authenticated_entity"]),
                last_authenticated_region=str(r["last_authenticated_region"]),
                last_action=str(r["last_action"]),
                total_requests=int(str(r["total_requests"])),
            )
            for r in rows
        ]

    def _record_key_use(self, tx: Transaction, item: AccessActivity) -> None:
        assert item.access_key_id is not None
        if tx.get("access_keys", {"access_key_id": item.access_key_id}) is None:
            return
        key = {"access_key_id": item.access_key_id}
        row = tx.get("access_key_activity", key)
        if row is not None and _dt(row["last_used_date"]) >= item.at:
            return
        values: Row = {
            "last_used_date": _ts(item.at),
            "service_name": item.service_namespace,
            "region": item.region,
        }
        if row is None:
            tx.insert("access_key_activity", {**key, **values})
        else:
            tx.update("access_key_activity", key, values)
        tx.update("access_keys", key, {"last_used_date": _ts(item.at)})

    def _record_service_use(self, tx: Transaction, item: AccessActivity) -> None:
        key = {"entity_arn": item.entity_arn, "service_namespace": item.service_namespace}
        row = tx.get("service_last_accessed", key)
        total = item.count + (0 if row is None else int(str(row["total_requests"])))
        if row is not None and _dt(row["last_authenticated"]) >= item.at:
            tx.update("service_last_accessed", key, {"total_requests": total})
            return
        values: Row = {
            "last_authenticated": _ts(item.at),
            "last_authenticated_entity": item.authenticated_entity or item.entity_arn,
            "last_authenticated_region": item.region,
            "last_action": item.action,
            "total_requests": total,
        }
        if row is None:
            tx.insert("service_last_accessed", {**key, **values})
        else:
            tx.update("service_last_accessed", key, values)
