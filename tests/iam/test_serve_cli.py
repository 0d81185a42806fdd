"""``iamguard serve`` in process: its options, the lines it prints, IAM and STS on its one port,
the loopback rule it shares with ``serve-sts``, and its refusal to start without a usable master
key (table in ``tests/data/console/master_key.json``)."""

from __future__ import annotations

import argparse
import io
import re
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from iamguard.cli import EXIT_USAGE, build_parser, main
from iamguard.cli.serve import serve
from iamguard.errors import InvalidParameterError
from iamguard.store import open_store
from tests.console._master_key import SETUPS, set_key_environment

_SERVE_SETUPS = [setup for setup in SETUPS if not setup["pending_key"]]  # serve has no pending_key
_PASSWORD = "Carol-Passw0rd!x"


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


@pytest.mark.parametrize("setup", _SERVE_SETUPS, ids=[setup["case"] for setup in _SERVE_SETUPS])
def test_serve_refuses_to_start_without_a_usable_master_key(
    setup: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Its access keys and the console's half-done sign-ins are sealed with the master key:
    without a usable one it exits at start saying what to set, binding no port; with one it
    serves, and a user who must change the password gets through the console's password step."""
    keys = set_key_environment(setup, monkeypatch, tmp_path)
    monkeypatch.delenv("IAMGUARD_STORE", raising=False)
    url = f"sqlite:///{tmp_path}/iam.db"
    store = open_store(url, create=True, account_id="111122223333")
    store.create_user("carol")
    store.create_login_profile("carol", _PASSWORD, password_reset_required=True)
    store.backend.close()
    if setup["serve_refused"] is not None:
        # were it to start anyway, it would return at once instead of serving until a signal
        monkeypatch.setattr("iamguard.cli.serve.wait_for", lambda stop: None)
        assert main(["serve", "--store", url, "--port", "0"]) == EXIT_USAGE
        printed = capsys.readouterr()
        assert "AWS_ENDPOINT_URL" not in printed.out  # nothing served
        said = printed.err
        assert said.splitlines()[-1].startswith("iamguard serve: ServiceFailure: "), said
        assert [part for part in setup["serve_refused"] if part not in said] == [], said
        assert not any(key in printed.out + said for key in keys)
        return
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    worker = threading.Thread(target=serve, args=(_args(url),), kwargs={"stop": stop, "out": out, "err": err})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while "AWS_ENDPOINT_URL_STS" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        endpoint = out.getvalue().splitlines()[0].split("=", 1)[1]
        browser = requests.Session()
        sign_in = browser.get(endpoint + "/console/", timeout=10)
        assert sign_in.url == endpoint + "/console/signin/111122223333"
        csrf = re.search(r'name="csrf" value="([^"]*)"', sign_in.text)
        assert csrf is not None
        fields = {"csrf": csrf.group(1), "user_name": "carol", "password": _PASSWORD}
        change = browser.post(sign_in.url, data=fields, timeout=10)
        assert change.status_code == 200 and "Change your password" in change.text
    finally:
        stop.set()
        worker.join(timeout=10)
