"""``iamguard keys generate`` gives every process the same keys, so STS credentials minted by a
separate ``iamguard serve-sts`` process are accepted by the S3 example.

Before: the S3 example always made its own keyring, so sessions from another STS process were
refused with ``InvalidClientTokenId``; there was no command to generate the deployment keys.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import iamguard.cli
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.keys import KeyRing

ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _generate(*argv: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert iamguard.cli.main(["keys", "generate", *argv]) == 0
    exports = {}
    for line in capsys.readouterr().out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = value.strip("'")
    return exports


def test_printed_keys_are_what_the_environment_variables_accept(capsys: pytest.CaptureFixture[str]) -> None:
    exports = _generate(capsys=capsys)
    assert set(exports) == {"IAMGUARD_MASTER_KEY", "IAMGUARD_STS_KEYS"}
    SecretBox.from_env({"IAMGUARD_MASTER_KEY": exports["IAMGUARD_MASTER_KEY"]})
    assert KeyRing.from_env({"IAMGUARD_STS_KEYS": exports["IAMGUARD_STS_KEYS"]}).primary() is not None
    assert _generate(capsys=capsys) != exports  # new keys every time


def test_out_writes_private_files_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports = _generate("--out", str(tmp_path / "keys"), capsys=capsys)
    assert set(exports) == {"IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_STS_KEYS_FILE"}
    for path in exports.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    SecretBox.from_env({"IAMGUARD_MASTER_KEY_FILE": exports["IAMGUARD_MASTER_KEY_FILE"]})
    KeyRing.from_env({"IAMGUARD_STS_KEYS_FILE": exports["IAMGUARD_STS_KEYS_FILE"]})
    before = Path(exports["IAMGUARD_MASTER_KEY_FILE"]).read_text()
    assert iamguard.cli.main(["keys", "generate", "--out", str(tmp_path / "keys")]) != 0
    assert Path(exports["IAMGUARD_MASTER_KEY_FILE"]).read_text() == before


@pytest.mark.slow
def test_sessions_from_a_separate_serve_sts_process_work_in_the_s3_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = _generate("--out", str(tmp_path / "keys"), capsys=capsys)
    for name in ("IAMGUARD_MASTER_KEY", "IAMGUARD_DEV_MASTER_KEY", "IAMGUARD_STS_KEYS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    store = open_store(url, create=True, account_id="123456789012")
    store.create_user("alice")
    store.put_inline_policy(PrincipalKind.USER, "alice", "s3", ALLOW_S3)
    key = store.create_access_key("alice")
    store.backend.close()

    sts_process = subprocess.Popen(
        [sys.executable, "-m", "iamguard.cli", "serve-sts", "--store", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
    )
    try:
        line = sts_process.stdout.readline() if sts_process.stdout else ""
        assert line.startswith("export AWS_ENDPOINT_URL_STS="), line
        sts = boto3.client(
            "sts",
            endpoint_url=line.strip().split("=", 1)[1],
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
        )
        session = sts.get_session_token()["Credentials"]
    finally:
        sts_process.terminate()
        sts_process.wait(timeout=10)

    from examples.s3_service.app import create_app

    app = create_app(url)  # keyring from IAMGUARD_STS_KEYS_FILE, as the serve-sts process had it
    request = AWSRequest(method="GET", url="http://127.0.0.1/", headers={"Host": "127.0.0.1"})
    credentials = Credentials(session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    response = app.test_client().get("/", headers=dict(request.headers.items()))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert b"ListAllMyBucketsResult" in response.data
