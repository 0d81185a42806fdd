"""Process A of the change-feed tests: answers one authorization question in a loop.

Run as ``python decider.py STORE_URL SCENARIO [--seconds N] [--mode feed|pull]``. It prints
``ready`` once, then one JSON line per answer: ``{"t": unix time, "allowed": bool, "kind": ...}``.

``--mode feed`` (default) is a push-style consumer: it memoizes everything it reads from the
store (resolved policy sets, the access key, the trust policy) keyed by ``ChangeFeed.current()``
and never asks the store for the generation itself, so its answers can only change because the
feed told it the store moved. ``--mode pull`` re-resolves on every question (the store's own
generation check keeps ``IdentityService``'s cache honest). Both evaluate through
``iamguard.resolve`` and ``CachedEvaluator``.

Scenarios (the store is prepared by the test; names match tests/store/test_change_feed.py):

* ``detach``, ``delete_user``: may user alice do s3:GetObject on arn:aws:s3:::b/k?
* ``deactivate_key``: the same question asked as the holder of alice's access key, which must be
  Active to authenticate at all (an inactive key is refused, as AWS answers InvalidClientTokenId).
* ``trust``: may alice call sts:AssumeRole on role reader? (the trust policy is the resource policy)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal
from iamguard.resolve import resolve_policy_set
from iamguard.store import open_store
from iamguard.store.feed import clear_on_change, open_change_feed
from iamguard.store.records import AccessKeyStatus

T = TypeVar("T")
ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reader"
OBJECT = "arn:aws:s3:::b/k"


class Memo:
    """Values read from the store, each tagged with the feed generation current *before* the
    read; reused only while the feed still reports that generation (so a change that lands
    during a read can never leave a stale value behind)."""

    def __init__(self, generation: Callable[[], int]) -> None:
        self._generation = generation
        self._values: dict[str, tuple[int, Any]] = {}

    def get(self, key: str, load: Callable[[], T]) -> T:
        generation = self._generation()
        hit = self._values.get(key)
        if hit is not None and hit[0] == generation:
            value: T = hit[1]
            return value
        value = load()
        self._values[key] = (generation, value)
        return value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("scenario", choices=["detach", "delete_user", "deactivate_key", "trust"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--mode", choices=["feed", "pull"], default="feed")
    parser.add_argument("--access-key-id", default="")
    parser.add_argument("--interval", type=float, default=None)
    args = parser.parse_args()

    store = open_store(args.url)
    feed = open_change_feed(store, interval=args.interval)
    evaluator = CachedEvaluator()
    clear_on_change(feed, evaluator)  # frees memory; correctness comes from the keys
    memo = Memo(feed.current if args.mode == "feed" else (lambda: time.monotonic_ns()))
    alice = Principal.from_arn(ALICE)

    def policies(principal: Principal) -> PolicySet:
        return memo.get(f"policies:{principal.arn}", lambda: resolve_policy_set(principal, store))

    def ask() -> tuple[bool, str]:
        if args.scenario in ("detach", "delete_user"):
            decision = evaluator.evaluate(Request(alice, "s3:GetObject", OBJECT), policies(alice))
        elif args.scenario == "deactivate_key":
            found = memo.get("key", lambda: store.get_access_key(args.access_key_id))
            if found is None or found[0].status is not AccessKeyStatus.ACTIVE:
                return False, "InvalidClientTokenId"
            caller = Principal.from_arn(found[0].owner_arn)
            decision = evaluator.evaluate(Request(caller, "s3:GetObject", OBJECT), policies(caller))
        else:
            trust = memo.get(
                "trust",
                lambda: parse_policy(store.get_role("reader").assume_role_policy, kind=PolicyKind.RESOURCE),
            )
            base = policies(alice)
            with_trust = PolicySet(
                identity=base.identity,
                boundary=base.boundary,
                resource=trust,
                resource_account=ACCOUNT,
                generation=base.generation,
            )
            decision = evaluator.evaluate(Request(alice, "sts:AssumeRole", ROLE), with_trust)
        return decision.allowed, decision.kind.value

    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    try:
        while time.monotonic() < deadline:
            allowed, kind = ask()
            print(json.dumps({"t": time.time(), "allowed": allowed, "kind": kind}), flush=True)
            time.sleep(0.01)
    finally:
        feed.close()
        store.backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
