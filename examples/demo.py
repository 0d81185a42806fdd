"""iamguard demo: validate the example policies, then ask the engine questions and show why.

Run with ``python3 tasks.py demo`` (sets up .venv first) or, inside the venv,
``python examples/demo.py``. It needs no server and exits by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iamguard.cli import main as iamguard_cli

POLICIES = Path(__file__).resolve().parent / "policies"


def step(title: str, argv: list[str]) -> int:
    """Run one ``iamguard`` command, echoing it first like a terminal session."""
    print(f"\n=== {title}\n$ iamguard {' '.join(argv)}", flush=True)
    code = iamguard_cli(argv)
    print(f"(exit code {code})", flush=True)
    return code


def main() -> int:
    p = {path.stem: str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
         for path in POLICIES.glob("*.json")}
    broken = str(POLICIES / "invalid" / "broken-identity-policy.json")
    report = "arn:aws:s3:::example-reports/2026/q3.csv"
    checks = [
        ("Lint every example policy (errors and Access-Analyzer-style findings)",
         ["validate", *sorted(p.values())], 0),
        ("A malformed policy: every problem, each with its location",
         ["validate", broken], 1),
        ("Allowed: the read-only policy grants s3:GetObject",
         ["simulate", p["s3-read-only"], "-a", "s3:GetObject", "-r", report], 0),
        ("Implicit deny: nothing grants s3:PutObject",
         ["simulate", p["s3-read-only"], "-a", "s3:PutObject", "-r", report], 1),
        ("Explicit deny beats allow: a region guard with NotAction and StringNotEquals",
         ["simulate", p["s3-read-only"], p["deny-outside-regions"], "-a", "s3:GetObject", "-r", report,
          "-c", "aws:RequestedRegion=string:us-east-1"], 1),
        ("The same request from an allowed region",
         ["simulate", p["s3-read-only"], p["deny-outside-regions"], "-a", "s3:GetObject", "-r", report,
          "-c", "aws:RequestedRegion=string:eu-west-1"], 0),
        ("A permissions boundary caps identity grants (policy variables: ${aws:username})",
         ["simulate", p["s3-read-only"], "--boundary", p["permissions-boundary"],
          "--caller-arn", "arn:aws:iam::123456789012:user/alice",
          "-a", "s3:GetObject", "-r", report], 0),
        ("Cross-account: the bucket policy and the caller's own policy must both allow",
         ["simulate", p["s3-read-only"], "--resource-policy", p["bucket-policy-tls-and-org"],
          "--resource-owner", "999988887777", "-a", "s3:GetObject", "-r", "arn:aws:s3:::example-reports/x",
          "-c", "aws:SecureTransport=boolean:true", "-c", "aws:SourceIp=ip:192.0.2.10",
          "-c", "aws:PrincipalOrgID=string:o-a1b2c3d4e5", "--json"], 0),
    ]
    failures = 0
    for title, argv, expected in checks:
        if step(title, argv) != expected:
            failures += 1
            print(f"!! expected exit code {expected}", flush=True)
    print(f"\ndemo finished: {len(checks) - failures} of {len(checks)} steps behaved as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
