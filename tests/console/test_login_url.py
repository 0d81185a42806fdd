"""One login URL: what ``iamguard serve`` prints, what ``iamguard account show --console-url``
prints and what the console answers (its sign-in page) are the same address, the alias's once
there is one."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from pathlib import Path

import pytest
import requests

from iamguard.cli import build_parser, main
from iamguard.cli.serve import serve
from iamguard.store import open_store


def _signin_url(err: io.StringIO) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.search(r"sign in at (\S+)", err.getvalue())
        if found:
            return found.group(1)
        time.sleep(0.02)
    raise AssertionError(err.getvalue())


@pytest.mark.parametrize("alias", [None, "example-co"])
def test_serve_cli_and_console_agree_on_the_login_url(
    alias: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    monkeypatch.delenv("IAMGUARD_CONSOLE_URL", raising=False)
    url = f"sqlite:///{tmp_path}/iam.db"
    store = open_store(url, create=True)
    if alias:
        store.create_account_alias(alias)
    label = alias or store.account().account_id
    args = build_parser().parse_args(["serve", "--store", url, "--port", "0"])
    out, err, stop = io.StringIO(), io.StringIO(), threading.Event()
    worker = threading.Thread(target=serve, args=(args,), kwargs={"stop": stop, "out": out, "err": err})
    worker.start()
    try:
        signin = _signin_url(err)
        endpoint = out.getvalue().splitlines()[0].split("=", 1)[1]
        assert signin == f"{endpoint}/console/signin/{label}"
        page = requests.get(signin, timeout=10)
        assert page.status_code == 200 and 'name="password"' in page.text  # the sign-in form
        capsys.readouterr()
        code = main(["account", "show", "--store", url, "--json", "--console-url", f"{endpoint}/console"])
        assert code == 0
        assert json.loads(capsys.readouterr().out)["SignInUrl"] == signin
    finally:
        stop.set()
        worker.join(timeout=10)
