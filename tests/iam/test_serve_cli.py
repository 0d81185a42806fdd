"""``iamguard serve`` in process: its options, the lines it prints, IAM and STS on its one port,
and the loopback rule it shares with ``serve-sts``."""

from __future__ import annotations

import argparse
import io
import threading
import time
from pathlib import Path

import boto3
import pytest

from iamguard.cli import build_parser
from iamguard.cli.serve import serve
from iamguard.errors import InvalidParameterError
from iamguard.store import open_store


def _args(store_url: str, *extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", "--store", store_url, "--port", "0", *extra])


def test_serve_answers_iam_and_sts_on_one_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    url = f"sqlite:///{tmp_path}/iam.db"
    store = open_store(url, create=True)
    root = store.create_access_key(None)
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    worker = threading.Thread(target=serve, args=(_args(url),), kwargs={"stop": stop, "out": out, "err": err})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while "AWS_ENDPOINT_URL_STS" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        lines = out.getvalue().splitlines()
        assert lines[0].startswith("export AWS_ENDPOINT_URL_IAM=http://127.0.0.1:")
        endpoint = lines[0].split("=", 1)[1]
        assert lines[1] == f"export AWS_ENDPOINT_URL_STS={endpoint}"
        assert "no keyring configured" in err.getvalue()  # a per-process STS keyring, said aloud
        keys = {"aws_access_key_id": root.access_key_id, "aws_secret_access_key": root.secret_access_key}
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **keys)
        sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", **keys)
        assert iam.create_user(UserName="served")["User"]["UserName"] == "served"
        assert sts.get_caller_identity()["Arn"].endswith(":root")
        assert store.get_user("served").name == "served"  # the same store, as the server wrote it
    finally:
        stop.set()
        worker.join(timeout=10)
    assert "stopped" in err.getvalue()


def test_serve_refuses_a_public_address_unless_asked(tmp_path: Path) -> None:
    args = _args(f"sqlite:///{tmp_path}/iam.db", "--host", "0.0.0.0")
    with pytest.raises(InvalidParameterError, match="--allow-non-loopback"):
        serve(args, stop=threading.Event(), out=io.StringIO(), err=io.StringIO())


def test_serve_is_listed_beside_serve_sts() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "--store", "memory://"]).command == "serve"
    assert parser.parse_args(["serve-sts", "--store", "memory://"]).command == "serve-sts"
