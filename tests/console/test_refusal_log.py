"""Refused console requests (4xx) leave one log line each: who, what, AWS's error code, and no
form field (an operator sees denials and probing; a password never reaches the log)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.console.test_app import ACCOUNT, PASSWORD, _csrf, world  # noqa: F401  (world: a fixture)


def test_refusals_are_logged_without_form_fields(world: Any, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    store, _, _, served = world
    store.create_user("viewer")
    store.create_login_profile("viewer", PASSWORD)
    caplog.set_level("INFO", logger="iamguard.console")

    # no CSRF token: refused before any handler runs
    requests.post(
        served.base + f"/signin/{ACCOUNT}", data={"user_name": "admin", "password": PASSWORD}, timeout=10
    )
    # a signed-in user without permissions: IAM's AccessDenied
    viewer = served.sign_in("viewer")
    token = _csrf(viewer, served.base + "/home")
    denied = viewer.post(served.base + "/account/alias", data={"alias": "mine", "csrf": token}, timeout=10)
    assert denied.status_code == 403

    lines = [r.getMessage() for r in caplog.records if r.name == "iamguard.console"]
    refused = [line for line in lines if line.startswith("console request refused:")]
    assert any(
        f"POST /signin/{ACCOUNT} -> 403 InvalidCsrfToken (anonymous from 127.0.0.1)" in line
        for line in refused
    ), refused
    assert any(
        "POST /account/alias -> 403 AccessDenied" in line and "user/viewer" in line for line in refused
    ), refused
    assert not any(PASSWORD in line for line in lines)
