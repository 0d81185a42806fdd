"""Flask extension: init_app, config, principal on g, @require in views, AWS-shaped errors."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g, jsonify
from flask_iamguard import IAMGuard, current_principal, require

from iamguard.enforce.guard import Guard

from ..enforce.helpers import World, make_world, sign

HOST = "http://localhost"


def _json(response: Any) -> Any:
    """The JSON body (werkzeug types ``Response.json`` as optional; these answers all carry one)."""
    assert response.is_json, response.data
    return response.json


def make_app(world: World, **config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    ext = IAMGuard()

    @app.get("/objects/<bucket>/<path:key>")
    @require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
    def get_object(bucket: str, key: str):  # type: ignore[no-untyped-def]
        principal = current_principal()
        return jsonify(
            principal=principal.arn if principal else None, key=key, same=g.iamguard_principal is principal
        )

    ext.init_app(app)
    return app


@pytest.fixture()
def world() -> World:
    return make_world()


def test_config_driven_setup(world: World) -> None:
    app = make_app(world, IAMGUARD_STORE=world.store, IAMGUARD_SERVICE="s3", IAMGUARD_MESSAGES=world.codec)
    assert isinstance(app.extensions["iamguard"].guard, Guard)
    client = app.test_client()
    url = f"{HOST}/objects/b/dir/a%20b.txt"
    ok = client.get(
        "/objects/b/dir/a%20b.txt", headers=sign("GET", url, world.akid, world.secret, service="s3")
    )
    assert ok.status_code == 200, ok.data
    assert ok.json == {
        "principal": "arn:aws:iam::123456789012:user/alice",
        "key": "dir/a b.txt",
        "same": True,
    }


def test_view_denial_is_rendered_with_the_encoded_message(world: World) -> None:
    app = make_app(
        world, IAMGUARD_STORE=world.store, IAMGUARD_ERROR_STYLE="s3", IAMGUARD_MESSAGES=world.codec
    )
    url = f"{HOST}/objects/secret/x"
    response = app.test_client().get(
        "/objects/secret/x", headers=sign("GET", url, world.akid, world.secret, service="s3")
    )
    assert response.status_code == 403
    text = response.data.decode()
    assert "<Code>AccessDenied</Code>" in text
    encoded = text.split("Encoded authorization failure message: ")[1].split("<")[0]
    assert world.codec.decode(encoded)["context"]["resource"] == "arn:aws:s3:::secret/x"
    assert "Traceback" not in text


def test_guard_argument_and_optional_mode(world: World) -> None:
    app = Flask(__name__)
    app.config["IAMGUARD_REQUIRED"] = False

    @app.get("/whoami")
    def whoami():  # type: ignore[no-untyped-def]
        principal = current_principal()
        return jsonify(principal=principal.arn if principal else None)

    IAMGuard(app, guard=Guard(world.store))
    client = app.test_client()
    assert client.get("/whoami").json == {"principal": None}
    signed = client.get("/whoami", headers=sign("GET", f"{HOST}/whoami", world.akid, world.secret))
    assert signed.json == {"principal": "arn:aws:iam::123456789012:user/alice"}
    bad = client.get("/whoami", headers=sign("GET", f"{HOST}/whoami", world.akid, "z" * 40))
    assert bad.status_code == 403 and _json(bad)["Error"]["Code"] == "SignatureDoesNotMatch"


def test_store_url_config() -> None:
    app = Flask(__name__)
    app.config["IAMGUARD_STORE"] = "memory://"
    IAMGuard(app)
    assert _json(app.test_client().get("/"))["Error"]["Code"] == "MissingAuthenticationToken"


def test_missing_store_config_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        IAMGuard(Flask(__name__))
