"""The soak test's admin process: revokes on a schedule and says when each change committed.

Run as ``python -m tests.soak.admin PLAN_JSON`` by the driver (tests/soak/soak.py), with the run's
``IAMGUARD_MASTER_KEY`` and ``IAMGUARD_STS_KEYS_FILE``. It mints role sessions (AssumeRole
through iamguard's :class:`~iamguard.sts.service.TokenService`, signed with the keyring file's
primary), prints ``ready``, waits for a line on stdin (the go signal), then runs the plan:

* ``deactivate_key`` / ``delete_key`` / ``detach_policy`` on one user;
* ``revoke_sessions`` on the role: AWS's "revoke active sessions", an inline Deny-all policy
  with ``DateLessThan aws:TokenIssueTime`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html),
  then fresh sessions, which must keep working;
* ``stage_key``: a new signing key added ``STAGE_LEAD`` seconds ahead (every worker re-reads the
  file first), then sessions signed by it, which every worker must accept;
* ``retire_key``: the oldest live key retired; every session it signed must be refused within
  the workers' re-read interval.

Output, one JSON object a line: ``session`` (new credentials: the only line with secrets, read
by the driver through a pipe and never written to disk), ``plan`` (targets, half a second
ahead, so the load can focus on them), ``revoke`` (``t_begin`` read before the write started
and ``t_commit`` after it committed, both ``time.monotonic()``; ``bound``: how long after
``t_commit`` the design may still allow, 0 for the store, the re-read interval for the keyring).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from iamguard.authn.session_token import SessionTokenService
from iamguard.principal import Principal
from iamguard.store import open_store
from iamguard.store.records import AccessKeyStatus, PrincipalKind
from iamguard.sts.keyring_source import DEFAULT_INTERVAL, FollowingKeyRing, update_keyring_file
from iamguard.sts.keys import ENV_KEYS_FILE, SigningKey
from iamguard.sts.service import TokenService

STAGE_LEAD = 3  # seconds between staging a key and its first signature (> DEFAULT_INTERVAL)
SESSIONS_PER_MINT = 3
PLAN_AHEAD = 0.5


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Admin:
    def __init__(self, plan: dict[str, Any], keyring_path: str) -> None:
        self.plan = plan
        self.store = open_store(plan["store_url"])
        self.account = self.store.account().account_id
        self.keyring_path = keyring_path
        self.ring = FollowingKeyRing(keyring_path)
        self.sts = TokenService(self.store, SessionTokenService(self.ring))
        self.minter = Principal.from_arn(f"arn:aws:iam::{self.account}:user/{plan['minter']}")
        self.role_arn = f"arn:aws:iam::{self.account}:role/{plan['role']}"
        self.sessions: dict[str, tuple[int, str]] = {}  # credential id -> (iat, kid)

    def mint(self, count: int = SESSIONS_PER_MINT) -> None:
        for _ in range(count):
            name = f"s{len(self.sessions)}"
            result = self.sts.assume_role(self.minter, role_arn=self.role_arn, role_session_name=name)
            creds, claims = result.credentials, result.claims
            self.sessions[f"session:{name}"] = (claims.issued_at, claims.kid)
            _emit(
                {
                    "ev": "session",
                    "id": f"session:{name}",
                    "akid": creds.access_key_id,
                    "secret": creds.secret_access_key,
                    "token": creds.session_token,
                    "iat": claims.issued_at,
                    "kid": claims.kid,
                }
            )

    def run(self, actions: list[dict[str, Any]], start: float) -> None:
        for action in actions:
            _sleep_until(start + action["at"] - PLAN_AHEAD)
            getattr(self, "_" + action["kind"])(action, start + action["at"])
        _emit({"ev": "done", "t": time.monotonic()})

    # ------------------------------------------------------------ one method per kind

    def _revoke(
        self, action: dict[str, Any], at: float, targets: list[str], write: Any, bound: float
    ) -> None:
        _emit({"ev": "plan", "kind": action["kind"], "targets": targets, "t": time.monotonic()})
        _sleep_until(at)
        t_begin = time.monotonic()
        write()
        t_commit = time.monotonic()
        _emit(
            {
                "ev": "revoke",
                "kind": action["kind"],
                "targets": targets,
                "t_begin": t_begin,
                "t_commit": t_commit,
                "bound": bound,
            }
        )

    def _deactivate_key(self, action: dict[str, Any], at: float) -> None:
        user = action["user"]

        def write() -> None:
            self.store.update_access_key(self.plan["keys"][user], AccessKeyStatus.INACTIVE)

        self._revoke(action, at, [f"key:{user}"], write, 0.0)

    def _delete_key(self, action: dict[str, Any], at: float) -> None:
        user = action["user"]
        self._revoke(
            action, at, [f"key:{user}"], lambda: self.store.delete_access_key(self.plan["keys"][user]), 0.0
        )

    def _detach_policy(self, action: dict[str, Any], at: float) -> None:
        user = action["user"]

        def write() -> None:
            self.store.detach_policy(PrincipalKind.USER, user, self.plan["policy_arn"])

        self._revoke(action, at, [f"key:{user}"], write, 0.0)

    def _revoke_sessions(self, action: dict[str, Any], at: float) -> None:
        threshold = math.floor(time.time()) + 1  # every session minted so far has iat < threshold
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": ["*"],
                    "Resource": ["*"],
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": _iso(threshold)}},
                }
            ],
        }
        targets = [cid for cid, (iat, _) in self.sessions.items() if iat < threshold]

        def write() -> None:
            self.store.put_inline_policy(
                PrincipalKind.ROLE, self.plan["role"], "AWSRevokeOlderSessions", document
            )

        self._revoke(action, at, targets, write, 0.0)
        while time.time() < threshold:
            time.sleep(0.05)
        self.mint()

    def _stage_key(self, action: dict[str, Any], at: float) -> None:
        _sleep_until(at)
        key = SigningKey.generate(now=math.floor(time.time()) + STAGE_LEAD)
        update_keyring_file(self.keyring_path, lambda ring: ring.add(key))
        _emit({"ev": "staged", "kid": key.kid, "t": time.monotonic(), "not_before": key.not_before})
        while time.time() < key.not_before:
            time.sleep(0.05)
        self.ring.reload()
        self.mint()

    def _retire_key(self, action: dict[str, Any], at: float) -> None:
        self.ring.reload()
        primary = self.ring.primary().kid
        old = min(
            (k for k in self.ring.keys if not k.retired and k.kid != primary), key=lambda k: k.not_before
        )
        targets = [cid for cid, (_, kid) in self.sessions.items() if kid == old.kid]

        def write() -> None:
            update_keyring_file(self.keyring_path, lambda ring: ring.retire(old.kid))

        self._revoke(action, at, targets, write, DEFAULT_INTERVAL)
        self.ring.reload()


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sleep_until(at: float) -> None:
    delay = at - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def main() -> int:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    admin = Admin(plan, os.environ[ENV_KEYS_FILE])
    admin.mint(plan["initial_sessions"])
    _emit({"ev": "ready"})
    sys.stdin.readline()
    admin.run(plan["actions"], time.monotonic())
    admin.store.backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
