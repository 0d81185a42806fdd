"""Per-request overhead of iamguard's enforcement on hello-world apps, in process.

For a Flask app (direct WSGI call) and a FastAPI app (direct ASGI call) it times the bare app
and the same app behind iamguard, per request, on a warm decision cache:

* ``sigv4``: a request signed by botocore's SigV4Auth (a store key), the full path: raw-path
  view, signature verification, principal resolution, context keys, cached decision;
* ``authorize``: the authorization step alone (``@require`` / ``Depends(require)`` under an
  already-authenticated principal), i.e. what every guarded view adds after authentication.

Reports the median of several interleaved rounds in µs per request and the median per-round
overhead over the bare app.
Run: ``python -m benchmarks.middleware_bench [--requests N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]

from iamguard.authn.authenticators import Authenticated
from iamguard.enforce.asgi import IAMGuardASGIMiddleware
from iamguard.enforce.guard import AsyncGuard, Guard, RequestState
from iamguard.enforce.require import enter_request, leave_request, require
from iamguard.enforce.wsgi import IAMGuardMiddleware
from iamguard.principal import Principal
from iamguard.store import open_store
from iamguard.store.secrets import SecretBox

ACCOUNT = "123456789012"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
}


def _store() -> tuple[Any, str, str]:
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"b": bytes(32)}, "b"))
    store.create_user("bench")
    key = store.create_access_key("bench")
    policy = store.create_policy("invoke", POLICY)
    store.attach_user_policy("bench", policy.arn)
    return store, key.access_key.access_key_id, key.secret_access_key


def _signed_headers(akid: str, secret: str) -> dict[str, str]:
    request = AWSRequest(method="GET", url="http://localhost/hello", headers={})
    SigV4Auth(Credentials(akid, secret), "execute-api", "us-east-1").add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def _interleaved(calls: dict[str, Callable[[], object]], requests: int, rounds: int) -> dict[str, float]:
    """Median µs per call of each mode, the modes timed in turn within every round.

    Interleaving keeps the comparison fair on a shared machine: a slow stretch hits every mode
    of that round alike instead of whichever mode happened to run during it. The ``added``
    figures printed later are medians of the per-round differences, for the same reason.
    """
    for call in calls.values():
        for _ in range(min(requests, 200)):
            call()
    samples: dict[str, list[float]] = {mode: [] for mode in calls}
    for _ in range(rounds):
        for mode, call in calls.items():
            start = time.perf_counter()
            for _ in range(requests):
                call()
            samples[mode].append((time.perf_counter() - start) / requests * 1e6)
    return _summary(samples)


def _summary(samples: dict[str, list[float]]) -> dict[str, float]:
    """``mode`` -> median µs, and ``mode+`` -> median of its per-round excess over ``bare``."""
    result = {mode: statistics.median(values) for mode, values in samples.items()}
    for mode, values in samples.items():
        if mode != "bare":
            result[mode + "+"] = statistics.median(
                v - b for v, b in zip(values, samples["bare"], strict=False)
            )
    return result


# ---------------------------------------------------------------- Flask / WSGI


def _flask_apps(store: Any) -> tuple[Any, Any]:
    from flask import Flask

    bare = Flask("bare")
    bare.add_url_rule("/hello", "hello", lambda: "hello")
    guarded = Flask("guarded")

    @require("execute-api:Invoke", resource="arn:aws:execute-api:us-east-1:123456789012:api/GET/hello")
    def hello() -> str:
        return "hello"

    guarded.add_url_rule("/hello", "hello", hello)
    return bare, guarded


def _environ(headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/hello",
        "RAW_URI": "/hello",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "HTTP_HOST": "localhost",
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _wsgi_call(app: Any, template: dict[str, Any]) -> Callable[[], object]:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    def call() -> object:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(b"")
        result = app(environ, start_response)
        body = b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
        return body

    return call


def flask_calls() -> dict[str, Callable[[], object]]:
    """One request per call: the bare app, the full SigV4 path, the authorization step alone."""
    store, akid, secret = _store()
    bare, guarded = _flask_apps(store)
    guard = Guard(store)
    signed = IAMGuardMiddleware(guarded.wsgi_app, guard)
    environ = _environ(_signed_headers(akid, secret))
    principal = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/bench")
    state = RequestState(guard, Authenticated(principal))

    def authorize_only() -> object:
        token = enter_request(state)
        try:
            return _wsgi_call(guarded.wsgi_app, environ)()
        finally:
            leave_request(token)

    return {
        "bare": _wsgi_call(bare.wsgi_app, environ),
        "sigv4": _wsgi_call(signed, environ),
        "authorize": authorize_only,
    }


def bench_flask(requests: int, rounds: int) -> dict[str, float]:
    return _interleaved(flask_calls(), requests, rounds)


# ---------------------------------------------------------------- FastAPI / ASGI


def _fastapi_apps() -> tuple[Any, Any, Any, Any]:
    from fastapi import Depends, FastAPI
    from fastapi.responses import PlainTextResponse
    from fastapi_iamguard import require as depends_require

    bare = FastAPI()

    async def bare_hello() -> PlainTextResponse:  # async like the guarded one: no threadpool hop
        return PlainTextResponse("hello")

    bare.add_api_route("/hello", bare_hello)
    guarded = FastAPI()
    needs = depends_require(
        "execute-api:Invoke", resource="arn:aws:execute-api:us-east-1:123456789012:api/GET/hello"
    )

    async def hello(_: Any = Depends(needs)) -> PlainTextResponse:  # noqa: B008 - FastAPI's idiom
        return PlainTextResponse("hello")

    guarded.add_api_route("/hello", hello)

    async def nothing() -> None:
        return None

    with_dependency = FastAPI()

    async def hello_with_dependency(_: Any = Depends(nothing)) -> PlainTextResponse:  # noqa: B008
        return PlainTextResponse("hello")

    with_dependency.add_api_route("/hello", hello_with_dependency)
    decorated = FastAPI()

    @require("execute-api:Invoke", resource="arn:aws:execute-api:us-east-1:123456789012:api/GET/hello")
    async def hello_decorated() -> PlainTextResponse:
        return PlainTextResponse("hello")

    decorated.add_api_route("/hello", hello_decorated)
    return bare, guarded, with_dependency, decorated


def _scope(headers: dict[str, str]) -> dict[str, Any]:
    pairs = [(b"host", b"localhost")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/hello",
        "raw_path": b"/hello",
        "root_path": "",
        "query_string": b"",
        "headers": pairs,
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


def _asgi_call(app: Any, template: dict[str, Any], state: RequestState | None) -> Callable[[], Any]:
    """One request through ``app`` as a coroutine factory (status checked: 200 only)."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message["status"]

    async def one() -> None:
        scope = dict(template)
        if state is not None:
            scope["iamguard"] = state
        await app(scope, receive, send)

    return one


async def _asgi_interleaved(
    calls: dict[str, Callable[[], Any]], requests: int, rounds: int
) -> dict[str, float]:
    """:func:`_interleaved` for coroutine factories, on one event loop."""
    for one in calls.values():
        for _ in range(min(requests, 200)):
            await one()
    samples: dict[str, list[float]] = {mode: [] for mode in calls}
    for _ in range(rounds):
        for mode, one in calls.items():
            start = time.perf_counter()
            for _ in range(requests):
                await one()
            samples[mode].append((time.perf_counter() - start) / requests * 1e6)
    return _summary(samples)


def fastapi_calls() -> dict[str, Callable[[], Any]]:
    """Coroutine factories, one request each: as :func:`flask_calls`, plus ``no-op dep`` (the
    bare app with a dependency that does nothing: FastAPI's own price of ``Depends``)."""
    store, akid, secret = _store()
    bare, guarded, with_dependency, decorated = _fastapi_apps()
    guard = AsyncGuard(store)
    guarded.state.iamguard = guard
    signed = IAMGuardASGIMiddleware(guarded, guard)
    signed_decorated = IAMGuardASGIMiddleware(decorated, guard)
    scope = _scope(_signed_headers(akid, secret))
    principal = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/bench")
    state = RequestState(guard, Authenticated(principal))
    return {
        "bare": _asgi_call(bare, scope, None),
        "no-op dep": _asgi_call(with_dependency, scope, None),
        "sigv4": _asgi_call(signed, scope, None),
        "authorize": _asgi_call(guarded, scope, state),
        "sigv4 @require": _asgi_call(signed_decorated, scope, None),
    }


def bench_fastapi(requests: int, rounds: int) -> dict[str, float]:
    return asyncio.run(_asgi_interleaved(fastapi_calls(), requests, rounds))


def run_only(target: str, count: int) -> None:
    """Set up ``app:mode`` and run exactly ``count`` requests after the usual warm-up."""
    app, _, mode = target.partition(":")
    if app == "flask":
        call = flask_calls()[mode]
        for _ in range(200 + count):
            call()
        return

    async def loop() -> None:
        one = fastapi_calls()[mode]
        for _ in range(200 + count):
            await one()

    asyncio.run(loop())


_MODES = {
    "flask": ("bare", "sigv4", "authorize"),
    "fastapi": ("bare", "no-op dep", "sigv4", "authorize", "sigv4 @require"),
}


def count_instructions(low: int, high: int) -> dict[str, dict[str, float]]:
    """Instructions per request of every app and mode, counted by valgrind's callgrind.

    Instruction counts do not drift with the machine's load as times do: each configuration
    runs twice in a fresh process (``low`` and ``high`` requests) and the difference divided by
    ``high - low`` is what one request costs, start-up and warm-up cancelled out.
    """
    results: dict[str, dict[str, float]] = {}
    for app, modes in _MODES.items():
        for mode in modes:
            totals = [_callgrind_total(f"{app}:{mode}", n) for n in (low, high)]
            results.setdefault(app, {})[mode] = (totals[1] - totals[0]) / (high - low)
    return results


def _callgrind_total(target: str, count: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.middleware_bench",
        "--only",
        target,
        "--count",
        str(count),
    ]
    # A fixed hash seed: the same dict layouts (and probe counts) in every run.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    root = Path(__file__).resolve().parents[1]  # ``-m benchmarks.…`` resolves from the checkout
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=environment, cwd=root)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total for {target}: {done.stderr[-500:]}")
    return int(found.group(1))


def _print_times(times: dict[str, dict[str, float]]) -> None:
    print(f"{'app':<10}{'mode':<16}{'µs/request':>12}{'added µs':>12}")
    for app, results in times.items():
        for mode, micros in results.items():
            if mode.endswith("+"):
                continue
            added = "" if mode == "bare" else f"{results[mode + '+']:.1f}"
            print(f"{app:<10}{mode:<16}{micros:>12.1f}{added:>12}")


def _print_instructions(counted: dict[str, dict[str, float]]) -> None:
    print(f"{'app':<10}{'mode':<16}{'instr/request':>15}{'added':>12}{'× bare':>8}")
    for app, modes in counted.items():
        for mode, instructions in modes.items():
            added = instructions - modes["bare"]
            extra = "" if mode == "bare" else f"{added:>12,.0f}{instructions / modes['bare']:>8.2f}"
            print(f"{app:<10}{mode:<16}{instructions:>15,.0f}{extra}")


def markdown(
    times: dict[str, dict[str, float]], counted: dict[str, dict[str, float]] | None, args: Any
) -> str:
    """The results page: both measures side by side, with what was measured and how."""
    import platform
    from datetime import datetime, timezone
    from importlib.metadata import version

    from benchmarks.sigv4_bench import git_head

    lines = [
        "# Middleware overhead in process: bare hello-world vs guarded by iamguard",
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by `benchmarks/middleware_bench.py` "
        f"at {git_head()} — Python {platform.python_version()}, {os.cpu_count()} CPUs, Flask {version('flask')} "
        f"(direct WSGI call), FastAPI {version('fastapi')} (direct ASGI call). {args.rounds} interleaved rounds of "
        f"{args.requests} requests per mode.",
        "",
        "| app | mode | µs/request (median) | added µs (median of per-round differences) |"
        + (" instructions/request | added instructions | × bare |" if counted else ""),
        "|---|---|---:|---:|" + ("---:|---:|---:|" if counted else ""),
    ]
    for app, results in times.items():
        for mode, micros in results.items():
            if mode.endswith("+"):
                continue
            added = "" if mode == "bare" else f"{results[mode + '+']:.1f}"
            row = f"| {app} | {mode} | {micros:.1f} | {added} |"
            if counted:
                instructions = counted[app][mode]
                bare = counted[app]["bare"]
                more = "" if mode == "bare" else f"{instructions - bare:,.0f}"
                ratio = "" if mode == "bare" else f"{instructions / bare:.2f}"
                row += f" {instructions:,.0f} | {more} | {ratio} |"
            lines.append(row)
    lines += [
        "",
        "* **sigv4**: a request signed by botocore's `SigV4Auth` with a store key, through the whole path: "
        "WSGI/ASGI middleware, signature verification, principal, request context, `@require` / "
        "`Depends(require(...))` and a cached Allow. **authorize**: the authorization step alone (the "
        "request already authenticated). **no-op dep**: the bare FastAPI app with a dependency that does "
        "nothing — FastAPI's own price of `Depends`, which every route guarded with `Depends(require(...))` pays. "
        "**sigv4 @require**: the same SigV4 path with `@require` decorating the FastAPI endpoint itself "
        "(the ASGI middleware authenticates; no `Depends`).",
        "* Times drift with the machine's load (this 2-core machine is shared): the modes are timed in turn "
        "within each round, and *added* is the median of the per-round differences.",
        "* Instructions (valgrind's callgrind, when run with `--instructions`) do not drift: each configuration "
        "runs in a fresh process twice and the difference is divided by the extra request count. Added "
        "instructions ÷ bare instructions is the overhead as a share of the bare request, whatever the load.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind")
    parser.add_argument("--markdown", type=Path, help="write the results page here")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # app:mode, for the callgrind runs
    parser.add_argument("--count", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        run_only(args.only, args.count)
        return 0
    times = {
        "flask": bench_flask(args.requests, args.rounds),
        "fastapi": bench_fastapi(args.requests, args.rounds),
    }
    _print_times(times)
    counted = None
    if args.instructions:
        counted = count_instructions(200, 200 + args.count)
        _print_instructions(counted)
    if args.markdown:
        args.markdown.write_text(markdown(times, counted, args), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
