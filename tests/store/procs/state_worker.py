"""One app process of the shared-security-state tests (tests/store/test_security_state.py).

Run as ``python state_worker.py STORE_URL [--max-failures N]``. It opens the store, prints
``ready``, then answers one JSON command per stdin line with one JSON line on stdout, so a test
can drive two such processes against one SQLite file or PostgreSQL schema. A command may carry
``"at"`` (Unix time): the worker waits until then before acting, so two processes race for real.

Commands (``op``):

* ``consume``  ``{ns, key, ttl}`` → ``{"first": bool}`` (``IdentityService.consume_once``)
* ``saml``     ``{metadata, provider_arn, role_arn, response, clock}`` → ``{"ok", "code"}``:
  AssumeRoleWithSAML through ``TokenService`` and a ``SamlVerifier`` whose replay store is this
  store (``clock`` fixes the verifier's time to the test IdP's assertion times)
* ``mfa``      ``{user, code}`` → ``{"ok": bool}`` (``verify_mfa_code``)
* ``login``    ``{user, password, n}`` → ``{"outcomes": [{ok, locked}, ...]}`` (``check_password``)
* ``assume``   ``{caller, role, session}`` → ``{"issued_at"}``: AssumeRole, session kept here
* ``decide``   ``{session, action, resource}`` → ``{"allowed": bool}`` for a kept session
* ``revoke``   ``{role}`` → ``{"committed": unix time}`` (``revoke_role_sessions``)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from iamguard.authn.session_token import SessionClaims, SessionTokenService
from iamguard.errors import STSError
from iamguard.evaluate.engine import evaluate
from iamguard.evaluate.inputs import Request
from iamguard.principal import Principal
from iamguard.resolve import resolve_policy_set
from iamguard.store import open_store
from iamguard.store.passwords import LockoutPolicy
from iamguard.store.service import IdentityService
from iamguard.sts.keys import KeyRing
from iamguard.sts.saml import SamlProvider, SamlVerifier
from iamguard.sts.service import TokenService


class Worker:
    def __init__(self, store: IdentityService) -> None:
        self.store = store
        self.sessions: dict[str, SessionClaims] = {}
        self.tokens = TokenService(store, SessionTokenService(KeyRing.generate()))

    def consume(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"first": self.store.consume_once(cmd["ns"], cmd["key"], time.time() + cmd["ttl"])}

    def saml(self, cmd: dict[str, Any]) -> dict[str, Any]:
        clock = float(cmd["clock"])
        provider = SamlProvider(cmd["provider_arn"], cmd["metadata"])
        verifier = SamlVerifier({provider.arn: provider}, clock=lambda: clock, replay_store=self.store)
        service = TokenService(
            self.store,
            SessionTokenService(KeyRing.generate(clock=lambda: clock), clock=lambda: clock),
            clock=lambda: clock,
            saml_verifier=verifier,
        )
        try:
            service.assume_role_with_saml(
                role_arn=cmd["role_arn"], principal_arn=provider.arn, saml_assertion=cmd["response"]
            )
        except STSError as exc:
            return {"ok": False, "code": exc.code}
        return {"ok": True, "code": ""}

    def mfa(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"ok": self.store.verify_mfa_code(cmd["user"], cmd["code"])}

    def login(self, cmd: dict[str, Any]) -> dict[str, Any]:
        outcomes = [self.store.check_password(cmd["user"], cmd["password"]) for _ in range(cmd["n"])]
        return {"outcomes": [{"ok": o.ok, "locked": o.locked} for o in outcomes]}

    def assume(self, cmd: dict[str, Any]) -> dict[str, Any]:
        role_arn = self.store.get_role(cmd["role"]).arn
        result = self.tokens.assume_role(
            Principal.from_arn(cmd["caller"]), role_arn=role_arn, role_session_name=cmd["session"]
        )
        self.sessions[cmd["session"]] = result.claims
        return {"issued_at": result.claims.issued_at}

    def decide(self, cmd: dict[str, Any]) -> dict[str, Any]:
        principal = self.sessions[cmd["session"]].to_principal()
        policies = resolve_policy_set(principal, self.store)
        return {"allowed": evaluate(Request(principal, cmd["action"], cmd["resource"]), policies).allowed}

    def revoke(self, cmd: dict[str, Any]) -> dict[str, Any]:
        self.store.revoke_role_sessions(cmd["role"])
        return {"committed": time.time()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--max-failures", type=int, default=5)
    args = parser.parse_args()
    store = open_store(args.url, lockout=LockoutPolicy(max_failures=args.max_failures, lockout_seconds=900))
    worker = Worker(store)
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            cmd = json.loads(line)
            delay = float(cmd.get("at", 0)) - time.time()
            if delay > 0:
                time.sleep(delay)
            try:
                reply = getattr(worker, cmd["op"])(cmd)
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        store.backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
