"""A role assumed through iamguard's own STS endpoint is refreshed before expiry, end to end.

A real WSGI server on 127.0.0.1 (ephemeral port) runs ``StsWsgiApp`` over a memory store with a
user, its access key and a role. The client is the default roles-first chain reading a temp
config profile (``role_arn`` + ``source_profile``, ``duration_seconds = 900``) with
``AWS_ENDPOINT_URL_STS`` pointing at the server. Time is simulated: one ``SimClock`` drives the
client's refresh windows *and* the server's token issue/expiry checks (TokenService and
SessionTokenService), so "900 s later" means the same on both sides. SigV4 request freshness stays
on the wall clock (clients sign with it, as real ones do). Nothing sleeps.
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (DurationSeconds >= 900)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import botocore.exceptions
import httpx
import pytest
from botocore.config import Config

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.credentials.auth import SigV4Auth
from iamguard.credentials.chain import default_credential_chain
from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import RefreshableCredentials, scaled_windows
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.keys import KeyRing
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/App"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/App/app-e2e"
LIFETIME = 900
THREADS = 10


class SimClock:
    """Simulated POSIX seconds shared by client and server; ``dt`` is its aware-datetime face."""

    def __init__(self) -> None:
        self._now = float(int(time.time()))
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self(), timezone.utc)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class CountingTokens(SessionTokenService):
    """Records every access key id the server issues, with the simulated time of issue."""

    def __init__(self, keyring: KeyRing, clock: SimClock) -> None:
        super().__init__(keyring, clock=clock)
        self.sim = clock
        self.issued: list[tuple[str, float]] = []
        self.issued_lock = threading.Lock()

    def issue(self, **kwargs: Any) -> Any:
        result = super().issue(**kwargs)
        with self.issued_lock:
            self.issued.append((result[0].access_key_id, self.sim()))
        return result


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server:
    def __init__(self, clock: SimClock) -> None:
        store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"))
        store.create_user("app")
        store.put_inline_policy(
            PrincipalKind.USER,
            "app",
            "assume",
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE}],
            },
        )
        store.create_role(
            "App",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
        )
        self.key = store.create_access_key("app")
        self.tokens = CountingTokens(KeyRing.generate(clock=clock), clock)
        service = TokenService(store, self.tokens, clock=clock)
        self.httpd = make_server(
            "127.0.0.1", 0, StsWsgiApp(service), server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def issued_keys(self) -> list[str]:
        with self.tokens.issued_lock:
            return [key for key, _ in self.tokens.issued]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sim() -> SimClock:
    return SimClock()


@pytest.fixture
def server(sim: SimClock) -> Iterator[Server]:
    running = Server(sim)
    yield running
    running.close()


@pytest.fixture
def chain_env(server: Server, base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    (tmp_path / "credentials").write_text(
        f"[base]\naws_access_key_id = {server.key.access_key_id}\n"
        f"aws_secret_access_key = {server.key.secret_access_key}\n"
    )
    (tmp_path / "config").write_text(
        f"[profile app]\nrole_arn = {ROLE}\nsource_profile = base\nrole_session_name = app-e2e\n"
        f"duration_seconds = {LIFETIME}\nregion = us-east-1\n"
    )
    return {**base_env, "AWS_PROFILE": "app", "AWS_ENDPOINT_URL_STS": server.url}


def _resolve(env: dict[str, str], sim: SimClock) -> RefreshableCredentials:
    resolved = default_credential_chain(env=env, clock=sim.dt).resolve()
    assert isinstance(resolved, RefreshableCredentials)
    return resolved


def _caller_arn(creds: Credentials, url: str) -> str:
    client = boto3.client(
        "sts",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=Config(retries={"max_attempts": 1}),
    )
    return str(client.get_caller_identity()["Arn"])


def test_long_running_client_refreshes_once_per_advisory_window(
    server: Server, sim: SimClock, chain_env: dict[str, str]
) -> None:
    explanation = default_credential_chain(env=chain_env, clock=sim.dt).explain()
    assert explanation.winner == "assume-role"
    creds = _resolve(chain_env, sim)
    windows = scaled_windows(LIFETIME)  # advisory 225 s, mandatory 112.5 s; jitter <= 10 % of advisory
    seen: list[tuple[float, Credentials]] = []
    seen_lock = threading.Lock()
    start, stop = threading.Barrier(THREADS + 1), threading.Barrier(THREADS + 1)
    running = True

    def worker() -> None:
        while True:
            start.wait()
            if not running:
                return
            for _ in range(3):
                got = creds.get()
                with seen_lock:
                    seen.append((sim(), got))
            stop.wait()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    auth_client = httpx.Client(auth=SigV4Auth(creds, region="us-east-1", service="sts"))
    verified: set[str] = set()
    try:
        for _ in range(3 * 3600 // 30):  # three hours of simulated time in 30 s steps
            sim.advance(30)
            start.wait()
            stop.wait()
            current = creds.get()
            if current.access_key_id not in verified:  # each new set is accepted by the endpoint
                answer = auth_client.post(
                    server.url + "/", data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}
                )
                assert answer.status_code == 200 and SESSION_ARN in answer.text
                verified.add(current.access_key_id)
    finally:
        running = False
        start.wait()
        for t in threads:
            t.join(10)
        auth_client.close()

    # never handed out expired credentials
    assert all(got.expiration is not None and got.expiration.timestamp() > at for at, got in seen)
    # every key the server issued (after the explain() probe) is one the clients used, in order
    issued = server.tokens.issued[1:]
    used = list(dict.fromkeys(got.access_key_id for _, got in seen))
    assert [key for key, _ in issued] == used
    assert len(issued) >= 3 * 3600 // LIFETIME + 1
    # each refresh happened inside the advisory window of the credentials it replaced: once per window
    for (_, before), (_, at) in pairwise(issued):
        expires = before + LIFETIME
        assert expires - windows.advisory * 1.1 <= at < expires - windows.mandatory
    assert verified == set(used)


def test_ten_threads_in_mandatory_window_cause_one_assume_role(
    server: Server, sim: SimClock, chain_env: dict[str, str]
) -> None:
    creds = _resolve(chain_env, sim)
    first = creds.get()
    sim.advance(LIFETIME - 60)  # a suspended process wakes inside the mandatory window
    barrier = threading.Barrier(THREADS)
    got: list[str] = []

    def worker() -> None:
        barrier.wait()
        got.append(creds.get().access_key_id)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    issued = server.issued_keys()
    assert len(issued) == 2 and issued[0] == first.access_key_id
    assert got == [issued[1]] * THREADS
    assert _caller_arn(creds.get(), server.url) == SESSION_ARN


def test_after_expiry_old_keys_are_refused_and_get_returns_new_ones(
    server: Server, sim: SimClock, chain_env: dict[str, str]
) -> None:
    creds = _resolve(chain_env, sim)
    old = creds.get()
    assert _caller_arn(old, server.url) == SESSION_ARN
    sim.advance(LIFETIME + 1)  # the server's clock moved too: the old token is expired there
    with pytest.raises(botocore.exceptions.ClientError) as info:
        _caller_arn(old, server.url)
    assert info.value.response["Error"]["Code"] == "ExpiredToken"
    new = creds.get()
    assert new.access_key_id != old.access_key_id
    assert new.expiration is not None and new.expiration.timestamp() == pytest.approx(sim() + LIFETIME, abs=1)
    assert _caller_arn(new, server.url) == SESSION_ARN
    assert server.issued_keys() == [old.access_key_id, new.access_key_id]
