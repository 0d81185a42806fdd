"""iamguard demo: an S3-compatible service guarded by iamguard, used by plain boto3.

Run with ``python3 tasks.py demo`` (sets up .venv first) or, inside the venv,
``python examples/demo.py``. It needs no network beyond loopback and exits by itself:

* part 1 asks the policy engine questions offline (validate, simulate) and shows why;
* part 2 creates a fresh SQLite identity store in a temporary directory, applies
  ``examples/s3_service/seed.yaml`` (the declarative apply), issues access keys, starts the S3
  example and iamguard's STS endpoint on loopback ports, and runs ``examples/s3_demo_client.py``
  (boto3 and httpx): allowed calls, explicit and implicit denies, a presigned URL, AssumeRole,
  and a decoded authorization message;
* then the IAM API: ``iamguard serve`` (IAM + STS) runs over the same store and the AWS CLI
  (``aws`` from the venv; boto3's ``iam`` client if it is missing) creates user carol, attaches
  the built-in ReadOnlyAccess and creates her access key; that key reads from the S3 example
  and is refused a write. Then everything is shut down.

The exit status is 0 only when every step behaved as expected. ``--offline`` runs part 1 only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from iamguard.cli import main as iamguard_cli

POLICIES = HERE / "policies"
CLIENT_TIMEOUT = 180
READ_ONLY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"


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
            code += iam_api_part(store_url, Path(folder), services.s3_url)
        print("\n=== Servers stopped, temporary store removed", flush=True)
    return code


# ---------------------------------------------------------------- the IAM API, with the AWS CLI


def _aws_binary() -> str | None:
    """The AWS CLI of this interpreter's venv (the test extra installs it), else one on PATH."""
    beside = Path(sys.executable).with_name("aws")
    return str(beside) if beside.exists() else shutil.which("aws")


class _IamServer:
    """``iamguard serve`` over the demo's store, as a subprocess on a free loopback port."""

    def __init__(self, store_url: str) -> None:
        argv = [sys.executable, "-m", "iamguard.cli", "serve", "--store", store_url, "--port", "0"]
        print(f"\n=== Serving the IAM API (and STS) over the same store\n$ iamguard {' '.join(argv[3:])}")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()  # export AWS_ENDPOINT_URL_IAM=http://...
        if not line.startswith("export AWS_ENDPOINT_URL_IAM="):
            self.close()
            raise RuntimeError(f"iamguard serve did not start: {line!r}")
        self.url = line.split("=", 1)[1]
        print(f"    {line}", flush=True)

    def close(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=10)


class _AwsCli:
    """``aws iam ...`` signed with the root user's key, kept in throwaway 0600 files."""

    def __init__(self, binary: str, url: str, folder: Path, key_id: str, secret: str) -> None:
        self.binary, self.url = binary, url
        credentials, config = folder / "aws-credentials", folder / "aws-config"
        credentials.touch(mode=0o600)
        credentials.write_text(f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
        config.write_text("[default]\nregion = us-east-1\noutput = json\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(credentials),
            AWS_EC2_METADATA_DISABLED="true",
        )

    def __call__(self, *args: str) -> Any:
        print(f"$ aws {' '.join(args)} --endpoint-url {self.url}", flush=True)
        done = subprocess.run(
            [self.binary, *args, "--endpoint-url", self.url],
            capture_output=True, text=True, env=self.env, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip())
        return json.loads(done.stdout) if done.stdout.strip() else {}


class _Boto3Iam:
    """The same calls through boto3's ``iam`` client, for a machine without the AWS CLI."""

    def __init__(self, url: str, key_id: str, secret: str) -> None:
        import boto3

        self.client = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )  # fmt: skip

    def __call__(self, *args: str) -> Any:
        _, command, *rest = args
        params = {_camel(rest[i]): rest[i + 1] for i in range(0, len(rest), 2)}
        print(f"$ boto3 iam.{command.replace('-', '_')}({params})", flush=True)
        return getattr(self.client, command.replace("-", "_"))(**params)


def _camel(option: str) -> str:
    """``--user-name`` → ``UserName``, as the AWS CLI maps its options to the API's parameters."""
    return "".join(word.capitalize() for word in option.lstrip("-").split("-"))


def iam_api_part(store_url: str, folder: Path, s3_url: str) -> int:
    """The AWS CLI manages the account through ``iamguard serve``; the key it creates is then
    used on the S3 example. Returns the number of unexpected results."""
    import boto3
    import botocore.exceptions
    from botocore.config import Config

    from iamguard.store import open_store

    banner("Part 3: the IAM API: the AWS CLI manages the account through `iamguard serve`")
    root = open_store(store_url).create_access_key(None)  # the operator's key; its secret stays in a file
    server = _IamServer(store_url)
    try:
        binary = _aws_binary()
        if binary is None:
            print("\n(the AWS CLI `aws` is not installed: the same calls go through boto3's iam client)")
            aws: Any = _Boto3Iam(server.url, root.access_key_id, root.secret_access_key)
        else:
            aws = _AwsCli(binary, server.url, folder, root.access_key_id, root.secret_access_key)
        print("\n=== The AWS CLI creates user carol, attaches ReadOnlyAccess and creates her access key")
        user = aws("iam", "create-user", "--user-name", "carol")["User"]
        print(f"    created {user['Arn']}")
        aws("iam", "attach-user-policy", "--user-name", "carol", "--policy-arn", READ_ONLY)
        key = aws("iam", "create-access-key", "--user-name", "carol")["AccessKey"]
        print(f"    carol: {key['AccessKeyId']} (the secret stays in this process)", flush=True)
    except (RuntimeError, botocore.exceptions.ClientError) as error:
        print(f"!! the IAM API refused a call: {error}", flush=True)
        return 1
    finally:
        server.close()
    s3 = boto3.client(
        "s3", endpoint_url=s3_url, region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )  # fmt: skip
    print("\n=== carol's new key on the S3 example: ReadOnlyAccess reads, and cannot write", flush=True)
    failures = 0
    try:
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        print(f"carol ListBuckets: allowed, {buckets}")
        if "alice-reports" in buckets:  # made by the client above
            body = s3.get_object(Bucket="alice-reports", Key="reports/q3.csv")["Body"].read()
            print(f"carol GetObject reports/q3.csv: allowed, {body!r}")
    except botocore.exceptions.ClientError as error:
        print(f"!! carol's read was refused: {error.response['Error']['Code']}")
        failures += 1
    try:
        s3.create_bucket(Bucket="carol-bucket")
        print("!! carol CreateBucket carol-bucket was allowed")
        failures += 1
    except botocore.exceptions.ClientError as error:
        message = error.response["Error"]["Message"].split(" Encoded authorization failure message")[0]
        print(f"carol CreateBucket carol-bucket: {error.response['Error']['Code']}: {message}")
    return failures


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
