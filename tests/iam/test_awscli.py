"""``iamguard serve`` as a real process, driven by the real AWS CLI, and the key it makes used on
an iamguard-guarded app.

The server runs as ``python -m iamguard.cli serve --store sqlite:///...`` (a subprocess, on an
ephemeral loopback port it prints); the CLI runs with throwaway config and credentials files and
signs as the account's root user. It creates a user, attaches a policy and creates an access
key; that key then signs S3 requests to the S3 example (``examples/s3_service``) over the same
store, which allows what the attached policy allows and refuses the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from examples.s3_service.serve import start_services
from iamguard.store import IdentityService, open_store

_VENV_AWS = Path(sys.executable).with_name("aws")
AWS = str(_VENV_AWS) if _VENV_AWS.exists() else shutil.which("aws")
# Each CLI run starts an interpreter (~1 s); the module takes well over ten seconds.
pytestmark = [pytest.mark.skipif(AWS is None, reason="the AWS CLI (aws) is not installed"), pytest.mark.slow]
READ_ONLY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"


class Stack:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url_store = f"sqlite:///{folder / 'iam.db'}"
        self.store: IdentityService = open_store(self.url_store, create=True)
        root = self.store.create_access_key(None)
        (folder / "credentials").write_text(
            f"[default]\naws_access_key_id = {root.access_key_id}\naws_secret_access_key = {root.secret_access_key}\n"
        )
        (folder / "config").write_text("[default]\nregion = us-east-1\n")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iamguard.cli", "serve", "--store", self.url_store, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        second = self.process.stdout.readline().strip()
        assert first.startswith("export AWS_ENDPOINT_URL_IAM=http://127.0.0.1:"), first
        assert second == first.replace("_IAM=", "_STS="), second
        self.url = first.split("=", 1)[1]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "AWS_CONFIG_FILE": str(self.folder / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.folder / "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "IAMGUARD_DEV_MASTER_KEY": "1",
            }
        )
        return env

    def aws(self, *args: str) -> Any:
        """``aws ARGS --endpoint-url URL --output json``; the parsed JSON answer (``None`` if empty)."""
        assert AWS is not None
        done = subprocess.run(
            [AWS, *args, "--endpoint-url", self.url, "--output", "json"],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    def aws_error(self, *args: str) -> str:
        assert AWS is not None
        done = subprocess.run(
            [AWS, *args, "--endpoint-url", self.url],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=60,
        )
        assert done.returncode != 0
        return done.stderr

    def close(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    old = os.environ.get("IAMGUARD_DEV_MASTER_KEY")
    os.environ["IAMGUARD_DEV_MASTER_KEY"] = "1"
    running = Stack(tmp_path_factory.mktemp("iam-awscli"))
    try:
        yield running
    finally:
        running.close()
        if old is None:
            os.environ.pop("IAMGUARD_DEV_MASTER_KEY", None)
        else:
            os.environ["IAMGUARD_DEV_MASTER_KEY"] = old


def test_the_cli_creates_a_user_attaches_a_policy_and_makes_a_key_that_works(stack: Stack) -> None:
    user = stack.aws("iam", "create-user", "--user-name", "carol", "--tags", "Key=team,Value=data")["User"]
    assert user["Arn"].endswith(":user/carol") and user["Tags"] == [{"Key": "team", "Value": "data"}]
    assert stack.aws("iam", "attach-user-policy", "--user-name", "carol", "--policy-arn", READ_ONLY) is None
    attached = stack.aws("iam", "list-attached-user-policies", "--user-name", "carol")["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    key = stack.aws("iam", "create-access-key", "--user-name", "carol")["AccessKey"]
    assert key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40
    listed = stack.aws("iam", "list-access-keys", "--user-name", "carol")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]] and "SecretAccessKey" not in listed[0]

    # The same server answers STS for the new key (routed by the signature's service).
    env_key = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    sts = boto3.client("sts", endpoint_url=stack.url, region_name="us-east-1", **env_key)
    assert sts.get_caller_identity()["Arn"] == user["Arn"]

    # The key signs requests to a guarded app over the same store: reads allowed, writes refused.
    with start_services(stack.store, data=str(stack.folder / "objects.db")) as services:
        s3 = boto3.client(
            "s3",
            endpoint_url=services.s3_url,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
            **env_key,
        )
        assert s3.list_buckets()["Buckets"] == []
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            s3.create_bucket(Bucket="carol-bucket")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        # Deactivated through the CLI, the key stops working at once.
        stack.aws(
            "iam",
            "update-access-key",
            "--user-name",
            "carol",
            "--access-key-id",
            key["AccessKeyId"],
            "--status",
            "Inactive",
        )
        with pytest.raises(botocore.exceptions.ClientError) as inactive:
            s3.list_buckets()
        assert inactive.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_the_cli_shows_aws_errors(stack: Stack) -> None:
    stack.aws("iam", "create-user", "--user-name", "Dana")
    message = stack.aws_error("iam", "create-user", "--user-name", "dana")
    assert "(EntityAlreadyExists) when calling the CreateUser operation" in message
    message = stack.aws_error("iam", "get-user", "--user-name", "nobody")
    assert "(NoSuchEntity) when calling the GetUser operation" in message
