"""The demo's client: plain boto3 (and httpx) against the iamguard-guarded S3 example.

``examples/demo.py`` starts the S3 service and the STS endpoint, then runs this script with a
JSON file naming the endpoints and the access keys iamguard issued::

    python examples/s3_demo_client.py demo-config.json

Every step prints what it does and what came back, and checks that it is what IAM's rules say
it must be; the exit status is the number of steps that misbehaved (0: all as expected). Nothing
here is iamguard-specific: it is the code any boto3 user writes, pointed at another endpoint.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import httpx
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

BUCKET = "alice-reports"
ENCODED_MARKER = "Encoded authorization failure message: "
#: SigV4 presigning must be asked for; for custom endpoints boto3 otherwise presigns with SigV2.
S3_CONFIG = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})


class Demo:
    """Runs the steps, prints them, counts the ones that did not behave as expected."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.failures = 0
        self.step_number = 0
        self.encoded_message = ""

    # ------------------------------------------------------------ helpers

    def heading(self, title: str) -> None:
        self.step_number += 1
        print(f"\n=== Step {self.step_number}: {title}", flush=True)

    def say(self, text: str) -> None:
        print(textwrap.indent(text, "    "), flush=True)

    def expect(self, condition: bool, what: str) -> None:
        if condition:
            self.say(f"ok: {what}")
        else:
            self.failures += 1
            self.say(f"!! UNEXPECTED: {what} did not hold")

    def s3(self, access_key: str, secret: str, token: str | None = None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.config["s3_url"],
            region_name="us-east-1",
            config=S3_CONFIG,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )

    def sts(self, access_key: str, secret: str, token: str | None = None) -> Any:
        return boto3.client(
            "sts",
            endpoint_url=self.config["sts_url"],
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )

    def allowed(self, label: str, call: Callable[[], Any]) -> Any:
        """Run ``call``, which IAM must allow."""
        try:
            result = call()
        except ClientError as error:
            self.expect(False, f"{label} is allowed (got {error.response['Error']['Code']})")
            return None
        self.say(f"{label}: allowed")
        return result

    def denied(self, label: str, call: Callable[[], Any], *, explicit: bool) -> str:
        """Run ``call``, which IAM must deny (explicitly or implicitly); returns S3's message."""
        try:
            call()
        except ClientError as error:
            code = error.response["Error"]["Code"]
            message = error.response["Error"].get("Message", "")
            reason, _, encoded = message.partition(ENCODED_MARKER)
            self.say(f"{label}: {code} ({error.response['ResponseMetadata']['HTTPStatusCode']})")
            self.say(textwrap.fill(reason.strip().rstrip("."), 100, subsequent_indent="  "))
            if encoded:
                self.say(f"  + an encoded authorization message ({len(encoded.strip())} characters)")
                self.encoded_message = self.encoded_message or encoded.strip()
            wanted = "with an explicit deny" if explicit else "because no identity-based policy allows"
            self.expect(
                code == "AccessDenied" and wanted in message, f"{'explicit' if explicit else 'implicit'} deny"
            )
            return str(message)
        self.expect(False, f"{label} is denied")
        return ""

    # ------------------------------------------------------------ the steps

    def run(self) -> int:
        alice_key, alice_secret = self.config["alice"]
        bob_key, bob_secret = self.config["bob"]
        alice = self.s3(alice_key, alice_secret)
        bob = self.s3(bob_key, bob_secret)

        self.heading("alice creates her bucket and attaches a bucket policy with explicit Deny statements")
        self.allowed(f"alice CreateBucket {BUCKET}", lambda: alice.create_bucket(Bucket=BUCKET))
        policy = Path(self.config["bucket_policy"]).read_text()
        self.allowed("alice PutBucketPolicy", lambda: alice.put_bucket_policy(Bucket=BUCKET, Policy=policy))
        for statement in json.loads(policy)["Statement"]:
            self.say(
                f"  {statement['Sid']}: {statement['Effect']} {statement['Action']} on {statement['Resource']}"
            )

        self.heading("Allowed: alice writes and reads her own bucket (her identity policy allows alice-*)")
        for key, body in (
            ("reports/q3.csv", b"year,revenue\n2026,42\n"),
            ("audit/2026-11.log", b"login alice\n"),
            ("confidential/plan.txt", b"acquire example.com\n"),
        ):
            self.allowed(f"alice PutObject {key}", _put(alice, key, body))
        got = self.allowed(
            "alice GetObject reports/q3.csv", lambda: alice.get_object(Bucket=BUCKET, Key="reports/q3.csv")
        )
        if got is not None:
            body = got["Body"].read()
            self.say(f"  {body!r}, ETag {got['ETag']}, Last-Modified {got['LastModified']:%Y-%m-%d %H:%M:%S}")
            self.expect(body.startswith(b"year,revenue"), "the object reads back")
        listed = self.allowed(
            "alice ListObjectsV2 (delimiter /)", lambda: alice.list_objects_v2(Bucket=BUCKET, Delimiter="/")
        )
        if listed is not None:
            prefixes = [p["Prefix"] for p in listed.get("CommonPrefixes", [])]
            self.say(f"  common prefixes: {prefixes}")
            self.expect(prefixes == ["audit/", "confidential/", "reports/"], "listing rolls keys up at /")

        self.heading("Allowed: bob is read-only and reads the report")
        got = self.allowed(
            "bob GetObject reports/q3.csv", lambda: bob.get_object(Bucket=BUCKET, Key="reports/q3.csv")
        )
        self.expect(got is not None, "bob's read-only policy grants s3:GetObject")

        self.heading("Explicit deny: the bucket policy's Deny beats alice's own Allow")
        self.denied(
            "alice DeleteObject audit/2026-11.log",
            lambda: alice.delete_object(Bucket=BUCKET, Key="audit/2026-11.log"),
            explicit=True,
        )
        self.denied(
            "bob GetObject confidential/plan.txt",
            lambda: bob.get_object(Bucket=BUCKET, Key="confidential/plan.txt"),
            explicit=True,
        )

        self.heading("Implicit deny: no policy allows bob to write")
        self.denied(
            "bob PutObject reports/bob.csv",
            lambda: bob.put_object(Bucket=BUCKET, Key="reports/bob.csv", Body=b"x"),
            explicit=False,
        )

        self.presigned_step(alice, alice_key, alice_secret)
        self.role_step(alice_key, alice_secret)
        self.decode_step(alice_key, alice_secret)
        return self.failures

    def presigned_step(self, alice: Any, alice_key: str, alice_secret: str) -> None:
        self.heading("A presigned URL, fetched with plain httpx (no AWS SDK, no credentials)")
        url = alice.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "reports/q3.csv"}, ExpiresIn=300
        )
        self.say(f"URL: {url[:100]}...")
        answer = httpx.get(url)
        self.say(f"GET -> {answer.status_code}, {answer.content!r}")
        self.expect(
            answer.status_code == 200 and answer.content.startswith(b"year"), "the presigned GET works"
        )
        legacy = boto3.client(
            "s3",
            endpoint_url=self.config["s3_url"],
            region_name="us-east-1",
            aws_access_key_id=alice_key,
            aws_secret_access_key=alice_secret,
        )
        old_url = legacy.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "reports/q3.csv"}
        )
        refused = httpx.get(old_url)
        self.say(f"boto3 without signature_version='s3v4' presigns with SigV2 -> {refused.status_code}")
        self.expect(
            refused.status_code == 400 and "s3v4" in refused.text, "the SigV2 URL is refused, naming the fix"
        )

    def role_step(self, alice_key: str, alice_secret: str) -> None:
        self.heading("AssumeRole: alice becomes the analyst role at iamguard's STS, then the same calls")
        sts = self.sts(alice_key, alice_secret)
        try:
            assumed = sts.assume_role(
                RoleArn=self.config["role_arn"], RoleSessionName="q3-review", DurationSeconds=900
            )
        except ClientError as error:
            self.expect(False, f"AssumeRole succeeds (got {error.response['Error']['Code']})")
            return
        creds = assumed["Credentials"]
        self.say(
            f"assumed {assumed['AssumedRoleUser']['Arn']} with {creds['AccessKeyId']} "
            f"until {creds['Expiration']:%H:%M:%S}"
        )
        role_sts = self.sts(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        identity = role_sts.get_caller_identity()
        self.say(f"GetCallerIdentity: {identity['Arn']}")
        self.expect(identity["Arn"].endswith(":assumed-role/analyst/q3-review"), "the session is the role")
        role = self.s3(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        got = self.allowed(
            "analyst GetObject reports/q3.csv", lambda: role.get_object(Bucket=BUCKET, Key="reports/q3.csv")
        )
        self.expect(got is not None, "the role's read-only policy allows reading")
        self.denied(
            "analyst DeleteObject audit/2026-11.log",
            lambda: role.delete_object(Bucket=BUCKET, Key="audit/2026-11.log"),
            explicit=True,
        )
        self.denied(
            "analyst PutObject reports/by-role.csv",
            lambda: role.put_object(Bucket=BUCKET, Key="reports/by-role.csv", Body=b"x"),
            explicit=False,
        )

    def decode_step(self, alice_key: str, alice_secret: str) -> None:
        self.heading("Why was it denied? STS DecodeAuthorizationMessage opens the encoded message")
        if not self.encoded_message:
            self.expect(False, "a denial carried an encoded message")
            return
        decoded = self.sts(alice_key, alice_secret).decode_authorization_message(
            EncodedMessage=self.encoded_message
        )
        message = json.loads(decoded["DecodedMessage"])
        context = message.get("context", {})
        self.say(f"decoded JSON ({len(decoded['DecodedMessage'])} characters), in short:")
        self.say(f"  allowed: {message.get('allowed')}, explicitDeny: {message.get('explicitDeny')}")
        self.say(f"  principal: {context.get('principal', {}).get('arn')}")
        self.say(f"  action: {context.get('action')} on {context.get('resource')}")
        for item in message.get("matchedStatements", {}).get("items", []):
            self.say(
                f"  matched: {item.get('effect')} statement {item.get('statementId') or item.get('statementIndex')} "
                f"of the {item.get('sourcePolicyType')} policy {item.get('sourcePolicyId')}"
            )
        self.expect(
            message.get("allowed") is False and message.get("explicitDeny") is True,
            "the decoded message names the explicit deny",
        )


def _put(client: Any, key: str, body: bytes) -> Callable[[], Any]:
    return lambda: client.put_object(Bucket=BUCKET, Key=key, Body=body)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    config = json.loads(Path(argv[1]).read_text())
    failures = Demo(config).run()
    print(
        f"\nclient finished: {'every step behaved as expected' if not failures else f'{failures} unexpected result(s)'}"
    )
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
