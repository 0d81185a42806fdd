"""Access keys' last use under ``iamguard serve`` and ``iamguard serve-sts``: every authenticated
call records the key's date, service (``iam`` or ``sts``) and region, as AWS does for
GetAccessKeyLastUsed and the credential report.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html
"""

from __future__ import annotations

import argparse
import csv
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from iamguard.cli import build_parser
from iamguard.cli import serve as serve_cli
from iamguard.cli import serve_sts as serve_sts_cli
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind

Serve = Callable[..., int]


def _start(command: str, serve: Serve, url: str) -> tuple[str, threading.Event, threading.Thread]:
    args: argparse.Namespace = build_parser().parse_args([command, "--store", url, "--port", "0"])
    out, err, stop = io.StringIO(), io.StringIO(), threading.Event()
    worker = threading.Thread(target=serve, args=(args,), kwargs={"stop": stop, "out": out, "err": err})
    worker.start()
    deadline = time.monotonic() + 10
    while "AWS_ENDPOINT_URL_STS" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    return out.getvalue().splitlines()[-1].split("=", 1)[1], stop, worker


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, IdentityService]]:
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    url = f"sqlite:///{tmp_path}/iam.db"
    opened = open_store(url, create=True)
    opened.create_user("alice")
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}],
    }
    opened.put_inline_policy(PrincipalKind.USER, "alice", "list", allow)
    yield url, opened


def _client(service: str, endpoint: str, key: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )


def _last_used(iam: Any, key_id: str) -> dict[str, Any]:
    """GetAccessKeyLastUsed once the server has written its records (every second)."""
    deadline = time.monotonic() + 10
    while True:
        used: dict[str, Any] = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
        if used["ServiceName"] != "N/A" or time.monotonic() > deadline:
            return used
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("call", "service"),
    [
        (lambda endpoint, key: _client("iam", endpoint, key).list_users(), "iam"),
        (lambda endpoint, key: _client("sts", endpoint, key).get_caller_identity(), "sts"),
    ],
    ids=["iam-ListUsers", "sts-GetCallerIdentity"],
)
def test_serve_records_a_keys_last_use(
    store: tuple[str, IdentityService], call: Callable[[str, Any], object], service: str
) -> None:
    url, opened = store
    root = opened.create_access_key(None)
    endpoint, stop, worker = _start("serve", serve_cli.serve, url)
    try:
        iam = _client("iam", endpoint, root)
        user_key = opened.create_access_key("alice")  # used only by ``call``
        assert (
            iam.get_access_key_last_used(AccessKeyId=user_key.access_key_id)["AccessKeyLastUsed"][
                "ServiceName"
            ]
            == "N/A"
        )
        call(endpoint, user_key)
        used = _last_used(iam, user_key.access_key_id)
        assert used["ServiceName"] == service
        assert used["Region"] == "us-east-1"
        assert abs(used["LastUsedDate"].timestamp() - time.time()) < 120
        iam.generate_credential_report()
        report = iam.get_credential_report()["Content"].decode()
        rows = list(csv.DictReader(io.StringIO(report)))
        alice = next(row for row in rows if row["user"] == "alice")
        assert alice["access_key_1_last_used_service"] == service
        assert alice["access_key_1_last_used_region"] == "us-east-1"
        assert alice["access_key_1_last_used_date"] != "N/A"
    finally:
        stop.set()
        worker.join(timeout=10)


def test_serve_sts_writes_last_use_on_shutdown(store: tuple[str, IdentityService]) -> None:
    url, opened = store
    key = opened.create_access_key(None)
    endpoint, stop, worker = _start("serve-sts", serve_sts_cli.serve, url)
    try:
        _client("sts", endpoint, key).get_caller_identity()
    finally:
        stop.set()
        worker.join(timeout=10)
    _, service, region = open_store(url).access_key_last_used(key.access_key_id)
    assert (service, region) == ("sts", "us-east-1")
