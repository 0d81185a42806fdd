"""Serve the documents example with uvicorn, on a seeded identity store.

:func:`seed_store` applies ``seed.yaml`` (one transaction, the declarative apply);
:func:`demo_keys` gives alice, bob and carol one access key each and writes them to a file only
the current user can read (never to the terminal or a log). The STS endpoint is part of the app
(``/sts/``), sharing its session-token keyring, so sessions from AssumeRole work against
``/docs`` both signed and as bearer tokens.

Run it by hand (a development aid; ``memory://`` forgets everything on exit)::

    python -m examples.fastapi_app.serve --port 8000 --keys-file demo-keys.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from iamguard.declarative import Plan, apply_plan, load_account_file, make_plan
from iamguard.store import IdentityService, open_store

from .app import create_app

__all__ = ["DEMO_USERS", "SEED", "demo_keys", "main", "seed_store"]

SEED = Path(__file__).resolve().parent / "seed.yaml"
DEMO_USERS = ("alice", "bob", "carol")


def seed_store(store: IdentityService, path: str | Path = SEED) -> Plan:
    """Make ``store`` match the account file at ``path``; returns the plan that was applied."""
    spec = load_account_file(path)
    plan = make_plan(store, spec)
    apply_plan(store, spec, plan)
    return plan


def demo_keys(
    store: IdentityService, path: str | Path, users: Sequence[str] = DEMO_USERS
) -> dict[str, dict[str, str]]:
    """Create one access key per user and write ``{user: {AccessKeyId, SecretAccessKey}}`` to ``path`` (0600)."""
    keys: dict[str, dict[str, str]] = {}
    for user in users:
        created = store.create_access_key(user)
        keys[user] = {
            "AccessKeyId": created.access_key.access_key_id,
            "SecretAccessKey": created.secret_access_key,
        }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(keys, handle, indent=2)
    return keys


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn  # the example's server; the app itself runs under any ASGI server

    parser = argparse.ArgumentParser(description="Serve the iamguard FastAPI documents example")
    parser.add_argument("--store", default="memory://", help="identity store URL (default: memory://)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-seed", action="store_true", help="do not apply seed.yaml to the store")
    parser.add_argument(
        "--keys-file", help="create demo access keys for alice, bob and carol and write them here"
    )
    args = parser.parse_args(argv)
    store = (
        open_store(args.store, account_id="123456789012")
        if args.store == "memory://"
        else open_store(args.store)
    )
    if not args.no_seed:
        sys.stdout.write(seed_store(store).render())
    if args.keys_file:
        demo_keys(store, args.keys_file)
        print(f"demo access keys written to {args.keys_file}", flush=True)
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
