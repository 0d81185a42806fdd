"""Run the S3 example and iamguard's STS endpoint side by side on loopback ports.

What the demo and the tests share: :func:`seed_store` applies ``seed.yaml`` through the
declarative apply (one transaction), and :func:`start_services` serves

* the S3 app (:func:`~.app.create_app`) and
* the STS Query endpoint (:class:`~iamguard.sts.wsgi.StsWsgiApp` over a
  :class:`~iamguard.sts.service.TokenService`)

from one identity store, with one session-token keyring (so credentials from AssumeRole work
against S3) and one authorization-message codec (so STS ``DecodeAuthorizationMessage`` opens
the encoded message an S3 ``AccessDenied`` carries). Each server runs werkzeug's threaded
server in a daemon thread; :meth:`Services.close` stops both.

Run it by hand (``IAMGUARD_DEV_MASTER_KEY=1`` is for local trials only)::

    IAMGUARD_DEV_MASTER_KEY=1 python -m examples.s3_service.serve --store sqlite:///iam.db --data s3.db
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import Self
from werkzeug.serving import BaseWSGIServer, make_server

from iamguard import AuthorizationMessageCodec, KeyRing, SessionTokenService, TokenService
from iamguard.declarative import Plan, apply_plan, load_account_file, make_plan
from iamguard.store import IdentityService, open_store
from iamguard.sts import ENV_KEYS, ENV_KEYS_FILE, StsWsgiApp, keyring_from_env

from .app import create_app

__all__ = ["BUCKET_POLICY", "SEED", "Services", "seed_store", "start_services"]

HERE = Path(__file__).resolve().parent
SEED = HERE / "seed.yaml"
BUCKET_POLICY = HERE / "bucket-policy.json"


def seed_store(store: IdentityService, path: str | Path = SEED) -> Plan:
    """Make ``store`` match the account file at ``path``; returns the plan that was applied."""
    spec = load_account_file(path)
    plan = make_plan(store, spec)
    apply_plan(store, spec, plan)
    return plan


@dataclass
class Services:
    """The running S3 and STS servers; ``s3_url``/``sts_url`` are their endpoint URLs."""

    s3_url: str
    sts_url: str
    store: IdentityService
    sessions: SessionTokenService
    codec: AuthorizationMessageCodec
    app: Any
    _servers: list[BaseWSGIServer] = field(default_factory=list, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(
    app: Any, host: str, port: int, ssl_context: ssl.SSLContext | None, name: str
) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return server, thread


def _keyring() -> KeyRing:
    """The deployment's keyring (``IAMGUARD_STS_KEYS`` / ``_FILE``, as ``iamguard keys generate``
    prints) so other processes' sessions verify here; else one for this process only."""
    if os.environ.get(ENV_KEYS) or os.environ.get(ENV_KEYS_FILE):
        return keyring_from_env()
    return KeyRing.generate()


def start_services(
    store: IdentityService,
    *,
    data: str = ":memory:",
    host: str = "127.0.0.1",
    s3_port: int = 0,
    sts_port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    virtual_host_domains: Sequence[str] = ("localhost",),
) -> Services:
    """Start the S3 app and the STS endpoint over ``store``; objects live in ``data`` (SQLite)."""
    sessions = SessionTokenService(_keyring())
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    app = create_app(
        store, data=data, sessions=sessions, messages=codec, virtual_host_domains=virtual_host_domains
    )
    sts = StsWsgiApp(TokenService(store, sessions, message_codec=codec))
    s3_server, s3_thread = _serve(app, host, s3_port, ssl_context, "s3-example")
    sts_server, sts_thread = _serve(sts, host, sts_port, None, "sts-example")
    scheme = "https" if ssl_context is not None else "http"
    shown = f"[{host}]" if ":" in host else host
    return Services(
        f"{scheme}://{shown}:{s3_server.server_port}",
        f"http://{shown}:{sts_server.server_port}",
        store,
        sessions,
        codec,
        app,
        [s3_server, sts_server],
        [s3_thread, sts_thread],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted (a development aid; the demo uses :func:`start_services`)."""
    parser = argparse.ArgumentParser(description="Serve the iamguard S3 example and an STS endpoint")
    parser.add_argument("--store", required=True, help="identity store URL, e.g. sqlite:///iam.db")
    parser.add_argument("--data", default="s3-objects.db", help="SQLite file for buckets and objects")
    parser.add_argument("--seed", action="store_true", help="apply seed.yaml to the store first")
    parser.add_argument("--s3-port", type=int, default=9000)
    parser.add_argument("--sts-port", type=int, default=9001)
    args = parser.parse_args(argv)
    store = open_store(args.store)
    if args.seed:
        sys.stdout.write(seed_store(store).render())
    services = start_services(store, data=args.data, s3_port=args.s3_port, sts_port=args.sts_port)
    print(f"S3:  {services.s3_url}\nSTS: {services.sts_url}\n(Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
