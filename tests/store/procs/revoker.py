"""Process B of the change-feed tests: one revoking write, then its commit time.

Run as ``python revoker.py STORE_URL SCENARIO [--access-key-id ID]``. It opens the store, prints
``ready``, reads one line from stdin (the go signal, so its start-up time is not counted), makes
the write, and prints ``{"committed": unix time}`` taken right after the transaction committed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from iamguard.store import open_store
from iamguard.store.records import AccessKeyStatus, PrincipalKind

ACCOUNT = "123456789012"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/read-b"
#: The new trust policy names another account only: alice is no longer trusted.
OTHER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("scenario", choices=["detach", "delete_user", "deactivate_key", "trust"])
    parser.add_argument("--access-key-id", default="")
    args = parser.parse_args()

    store = open_store(args.url)
    print("ready", flush=True)
    sys.stdin.readline()
    if args.scenario == "detach":
        store.detach_policy(PrincipalKind.USER, "alice", POLICY)
    elif args.scenario == "delete_user":
        store.delete_user("alice", force=True)
    elif args.scenario == "deactivate_key":
        store.update_access_key(args.access_key_id, AccessKeyStatus.INACTIVE)
    else:
        store.update_assume_role_policy("reader", OTHER_TRUST)
    committed = time.time()
    print(json.dumps({"committed": committed, "generation": store.generation()}), flush=True)
    store.backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
