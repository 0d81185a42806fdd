"""iamguard demo: an S3-compatible service guarded by iamguard, used by plain boto3.

Run with ``python3 tasks.py demo`` (sets up .venv first) or, inside the venv,
``python examples/demo.py``. It needs no network beyond loopback and exits by itself:

* part 1 asks the policy engine questions offline (validate, simulate) and shows why;
* part 2 creates a fresh SQLite identity store in a temporary directory, applies
  ``examples/s3_service/seed.yaml`` (the declarative apply), issues access keys, starts the S3
  example and iamguard's STS endpoint on loopback ports, and runs ``examples/s3_demo_client.py``
  (boto3 and httpx): allowed calls, explicit and implicit denies, a presigned URL, AssumeRole,
  and a decoded authorization message. Then everything is shut down.

The exit status is 0 only when every step behaved as expected. ``--offline`` runs part 1 only.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from iamguard.cli import main as iamguard_cli

POLICIES = HERE / "policies"
CLIENT_TIMEOUT = 180


def banner(text: str) -> None:
    print(f"\n{'#' * 78}\n# {text}\n{'#' * 78}", flush=True)


def step(title: str, argv: list[str]) -> int:
    """Run one ``iamguard`` command, echoing it first like a terminal session."""
    print(f"\n=== {title}\n$ iamguard {' '.join(argv)}", flush=True)
    code = iamguard_cli(argv)
    print(f"(exit code {code})", flush=True)
    return code


def offline_part() -> int:
    """Part 1: validate and simulate, no server. Returns the number of unexpected results."""
    banner("Part 1: the policy engine, offline (iamguard validate / simulate)")
    p = {path.stem: os.path.relpath(path) for path in POLICIES.glob("*.json")}
    report = "arn:aws:s3:::example-reports/2026/q3.csv"
    checks = [
        (
            "Lint every example policy (errors and Access-Analyzer-style findings)",
            ["validate", *sorted(p.values())],
            0,
        ),
        (
            "A malformed policy: every problem, each with its location",
            ["validate", os.path.relpath(POLICIES / "invalid" / "broken-identity-policy.json")],
            1,
        ),
        (
            "Allowed: the read-only policy grants s3:GetObject",
            ["simulate", p["s3-read-only"], "-a", "s3:GetObject", "-r", report],
            0,
        ),
        (
            "Implicit deny: nothing grants s3:PutObject",
            ["simulate", p["s3-read-only"], "-a", "s3:PutObject", "-r", report],
            1,
        ),
        (
            "Explicit deny beats allow: a region guard with NotAction and StringNotEquals",
            [
                "simulate",
                p["s3-read-only"],
                p["deny-outside-regions"],
                "-a",
                "s3:GetObject",
                "-r",
                report,
                "-c",
                "aws:RequestedRegion=string:us-east-1",
            ],
            1,
        ),
        (
            "A permissions boundary caps identity grants (policy variables: ${aws:username})",
            [
                "simulate",
                p["s3-read-only"],
                "--boundary",
                p["permissions-boundary"],
                "--caller-arn",
                "arn:aws:iam::123456789012:user/alice",
                "-a",
                "s3:GetObject",
                "-r",
                report,
            ],
            0,
        ),
    ]
    failures = 0
    for title, argv, expected in checks:
        if step(title, argv) != expected:
            failures += 1
            print(f"!! expected exit code {expected}", flush=True)
    return failures


def live_part() -> int:
    """Part 2: the S3 example and STS on loopback, driven by the boto3 client script."""
    banner("Part 2: an S3-compatible service guarded by iamguard, used by unmodified boto3")
    if not (os.environ.get("IAMGUARD_MASTER_KEY") or os.environ.get("IAMGUARD_MASTER_KEY_FILE")):
        # Access keys are sealed with a master key; a throwaway demo store uses the dev key.
        os.environ["IAMGUARD_DEV_MASTER_KEY"] = "1"
    from examples.s3_service.serve import BUCKET_POLICY, SEED, seed_store, start_services
    from iamguard.store import open_store

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log lines

    with tempfile.TemporaryDirectory(prefix="iamguard-demo-") as folder:
        store_url = f"sqlite:///{folder}/iam.db"
        store = open_store(store_url, create=True)
        print(
            f"\n=== Seeding a fresh store ({store_url}) from {os.path.relpath(SEED)} (declarative apply)",
            flush=True,
        )
        print(seed_store(store, SEED).render(), end="", flush=True)
        config: dict[str, object] = {
            "bucket_policy": str(BUCKET_POLICY),
            "role_arn": f"arn:aws:iam::{store.account().account_id}:role/analyst",
        }
        print(
            "\n=== Issuing access keys (the secrets go only to the client, through a 0600 file)", flush=True
        )
        for user in ("alice", "bob"):
            created = store.create_access_key(user)
            config[user] = [created.access_key.access_key_id, created.secret_access_key]
            print(f"    {user}: {created.access_key.access_key_id}", flush=True)
        with start_services(store, data=f"{folder}/objects.db") as services:
            print(f"\n=== Serving S3 at {services.s3_url} and STS at {services.sts_url}", flush=True)
            config.update(s3_url=services.s3_url, sts_url=services.sts_url)
            config_path = Path(folder) / "client.json"
            config_path.touch(mode=0o600)
            config_path.write_text(json.dumps(config))
            print(f"$ python {os.path.relpath(HERE / 's3_demo_client.py')} {config_path}", flush=True)
            try:
                result = subprocess.run(
                    [sys.executable, str(HERE / "s3_demo_client.py"), str(config_path)],
                    timeout=CLIENT_TIMEOUT,
                    check=False,
                )
                code = result.returncode
            except subprocess.TimeoutExpired:
                print(f"!! the client did not finish within {CLIENT_TIMEOUT} s", flush=True)
                code = 1
        print("\n=== Servers stopped, temporary store removed", flush=True)
    return code


def main(argv: list[str]) -> int:
    failures = offline_part()
    live = 0 if "--offline" in argv else live_part()
    if live:
        print(f"!! the live part reported {live} unexpected result(s)", flush=True)
    ok = not failures and not live
    print(
        f"\ndemo finished: {'every step behaved as expected' if ok else 'some steps misbehaved'}", flush=True
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
