"""The README's code works as written: its Python blocks run, its Flask example serves a request
signed by real botocore."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from iamguard.store.records import PrincipalKind

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_quick_start_runs_and_prints_its_decision(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(_python_blocks()[0], "README quick start", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("allowed allowed by identity-based policy")


def test_flask_example_serves_a_botocore_signed_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    monkeypatch.chdir(tmp_path)
    from iamguard import open_store

    store = open_store(f"sqlite:///{tmp_path}/iam.db", create=True)
    store.create_user("alice")
    store.put_inline_policy(
        store_kind_user(),
        "alice",
        "reports",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        },
    )
    key = store.create_access_key("alice")
    namespace: dict[str, object] = {"__name__": "readme_flask"}
    exec(compile(_python_blocks()[1], "README Flask example", "exec"), namespace)
    app = namespace["app"]

    url = "http://localhost/reports/b/q3.csv"
    request = AWSRequest(method="GET", url=url, headers={"Host": "localhost"})
    S3SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "s3", "us-east-1").add_auth(request)
    response = app.test_client().get("/reports/b/q3.csv", headers=dict(request.headers.items()))  # type: ignore[attr-defined]
    assert response.status_code == 200, response.data
    assert response.data.decode() == "hello arn:aws:iam::123456789012:user/alice"

    unsigned = app.test_client().get("/reports/b/q3.csv")  # type: ignore[attr-defined]
    assert unsigned.status_code in (401, 403)
    assert b"Traceback" not in unsigned.data


def store_kind_user() -> PrincipalKind:
    from iamguard.store.records import PrincipalKind

    return PrincipalKind.USER
