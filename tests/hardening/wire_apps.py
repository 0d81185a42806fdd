"""Apps the wire tests serve with real servers (Werkzeug, gunicorn, uvicorn), by import path.

``python -m wire_apps werkzeug PORT`` serves the S3 example with Werkzeug's threaded dev server;
gunicorn loads ``wire_apps:s3_app`` / ``wire_apps:sts_app`` and uvicorn ``wire_apps:fastapi_app``
(the documents example, its STS mounted at ``/sts``). Each process seeds its own ``memory://``
store from the examples' seed files, so nothing is shared between runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("IAMGUARD_DEV_MASTER_KEY", "1")  # memory:// store, local test only


def _s3() -> Any:
    from examples.s3_service.app import create_app
    from examples.s3_service.serve import seed_store
    from iamguard.store import open_store

    store = open_store("memory://")
    seed_store(store)
    return create_app(store)


def _sts() -> Any:
    from examples.s3_service.serve import seed_store
    from iamguard.authn.session_token import SessionTokenService
    from iamguard.store import open_store
    from iamguard.sts.keys import KeyRing
    from iamguard.sts.service import TokenService
    from iamguard.sts.wsgi import StsWsgiApp

    store = open_store("memory://")
    seed_store(store)
    return StsWsgiApp(TokenService(store, SessionTokenService(KeyRing.generate())))


def _fastapi() -> Any:
    from examples.fastapi_app.app import create_app
    from examples.fastapi_app.serve import seed_store
    from iamguard.store import open_store

    store = open_store("memory://")
    seed_store(store)
    return create_app(store)


def __getattr__(name: str) -> Any:  # built on first use: gunicorn imports only what it serves
    factories = {"s3_app": _s3, "sts_app": _sts, "fastapi_app": _fastapi}
    if name not in factories:
        raise AttributeError(name)
    app = factories[name]()
    globals()[name] = app
    return app


if __name__ == "__main__":
    from werkzeug.serving import make_server

    kind, port = sys.argv[1], int(sys.argv[2])
    server = make_server("127.0.0.1", port, _sts() if kind == "sts" else _s3(), threaded=True)
    print("ready", flush=True)
    server.serve_forever()
