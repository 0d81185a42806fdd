"""Runs the code blocks of a Markdown file in order, as a reader would (used by test_snippets.py).

What a block is, by its fence's language and the ``<!-- snippet: ... -->`` comment on the line
before it:

* ``python``: executed in one namespace per file, in the file's temporary directory, with the
  environment the earlier blocks exported (and what it sets in ``os.environ`` kept for the next);
* ``bash`` / ``sh``: run by bash (``set -euo pipefail``) with the venv's ``bin`` first on
  ``PATH``; exported variables carry over to the file's later blocks, shell and Python alike;
* ``console``: each ``$ command`` runs the same way; output shown under it is compared with
  what it printed, ``...`` standing for any text (doctest's ELLIPSIS);
* a block with ``file=NAME`` is written to ``NAME`` in the temporary directory instead (the
  README's ``trust.json``, a module a server command imports);
* a block with ``output`` (no language) is what the Python block before it prints, compared
  the same way;
* a shell block with ``background port=N`` (or ``port=N,M``) is a server: it starts in the
  background and the file's next blocks run once it accepts connections on free ports, which
  replace ``N`` (and ``M``) in the rest of the file; it is stopped when the file ends;
* ``skip reason="..."`` leaves a runnable block out, and says why (test_snippets.py lists them);
* ``status=N``: each command of a console block exits with ``N`` (default 0).

Any other block (``text``, ``ini``, ``yaml``, ``json`` without ``file=``, no language) is shown
to the reader, not run.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = frozenset({"bash", "sh", "shell"})
RUNNABLE = SHELLS | {"python", "console"}
#: seconds one command or server start may take
TIMEOUT = 180

_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"<!--\s*snippet:(.*?)-->\s*\n?$", re.S)
_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and its marker's settings."""

    path: Path
    line: int
    lang: str
    code: str
    marker: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"

    @property
    def skipped(self) -> bool:
        return "skip" in self.marker

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE and "file" not in self.marker


class SnippetError(AssertionError):
    """A block did not do what the page says it does."""


def parse_marker(text: str) -> dict[str, str]:
    """``skip reason="a b" port=9000 output`` → ``{"skip": "", "reason": "a b", ...}``."""
    settings: dict[str, str] = {}
    for word in shlex.split(text):
        name, _, value = word.partition("=")
        settings[name] = value
    return settings


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file in order, each with the marker just above it."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n")
        last_line = before.rsplit("\n", 1)[-1]
        marker = _MARKER.search(last_line + "\n")
        line = text.count("\n", 0, match.start()) + 1
        settings = parse_marker(marker.group(1)) if marker else {}
        found.append(Block(path, line, match.group(1).lower(), match.group(2), settings))
    return found


def output_matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is what ``expected`` shows (``...`` matches any text)."""
    return _CHECKER.check_output(expected.strip() + "\n", actual.strip() + "\n", _FLAGS)


def console_commands(code: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` pairs of a console block (``\\`` continues a command)."""
    pairs: list[tuple[str, str]] = []
    command: list[str] = []
    for line in code.splitlines():
        if line.startswith("$ ") and not command:
            command = [line[2:]]
            pairs.append(("", ""))
        elif command:
            command.append(line)
        elif pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
        else:
            raise SnippetError(f"console output before any '$ ' command: {line!r}")
        if command and not command[-1].endswith("\\"):
            pairs[-1] = ("\n".join(command), pairs[-1][1])
            command = []
    return pairs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Runner:
    """Runs one file's blocks in ``workdir``; use as a context manager (servers stop on exit)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.namespace: dict[str, object] = {"__name__": "snippet"}
        bin_dir = str(Path(sys.executable).parent)
        self.env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        self.env.pop("PYTHONSTARTUP", None)
        self.ports: dict[str, str] = {}
        self.servers: list[subprocess.Popen[bytes]] = []
        self.last_output = ""
        (workdir / "examples").symlink_to(ROOT / "examples")

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    def _ported(self, code: str) -> str:
        for shown, real in self.ports.items():
            code = re.sub(rf"\b{shown}\b", real, code)
        return code

    def run(self, block: Block) -> None:
        """Run (or write, or compare) one block; raises :class:`SnippetError` when it fails."""
        for shown in filter(None, block.marker.get("port", "").split(",")):
            self.ports[shown] = str(free_port())
        code = self._ported(block.code)
        if "file" in block.marker:
            (self.workdir / block.marker["file"]).write_text(code, encoding="utf-8")
        elif "output" in block.marker:
            if not output_matches(code, self.last_output):
                raise SnippetError(f"{block.where}: printed\n{self.last_output}\nnot\n{code}")
        elif block.lang == "python":
            self._python(block, code)
        elif block.lang in SHELLS and "background" in block.marker:
            self._background(block, code)
        elif block.lang in SHELLS:
            self._shell(block, code, 0)
        elif block.lang == "console":
            status = int(block.marker.get("status", "0"))
            for command, expected in console_commands(code):
                out = self._shell(block, command, status)
                if expected.strip() and not output_matches(expected, out):
                    raise SnippetError(f"{block.where}: `{command}` printed\n{out}\nnot\n{expected}")

    def _python(self, block: Block, code: str) -> None:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.workdir)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, block.where, "exec"), self.namespace)
            self.env = dict(os.environ)  # what the block exported, later blocks see (as a reader's would)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        self.last_output = out.getvalue()

    def _script(self, code: str) -> str:
        env_out = self.workdir / ".snippet-env"
        return f"set -euo pipefail\n{code}\nexport -p > {shlex.quote(str(env_out))}\n"

    def _shell(self, block: Block, code: str, status: int) -> str:
        env_out = self.workdir / ".snippet-env"
        env_out.unlink(missing_ok=True)
        done = subprocess.run(
            ["bash", "-c", self._script(code)],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        out = done.stdout + done.stderr
        if done.returncode != status:
            raise SnippetError(f"{block.where}: exit status {done.returncode} (expected {status})\n{out}")
        if env_out.exists():
            self.env = dict(_exports(env_out.read_text(encoding="utf-8"), self.workdir))
        self.last_output = out
        return out

    def _background(self, block: Block, code: str) -> None:
        ports = [self.ports[shown] for shown in block.marker.get("port", "").split(",") if shown]
        if not ports:
            raise SnippetError(f"{block.where}: a background block needs port=N (or N,M,...)")
        log = (self.workdir / f".server-{ports[0]}.log").open("wb")
        server = subprocess.Popen(
            ["bash", "-c", f"set -euo pipefail\nexec {code.strip()}"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.servers.append(server)
        deadline = time.monotonic() + TIMEOUT
        waiting = list(ports)
        while waiting and time.monotonic() < deadline:
            if server.poll() is not None:
                raise SnippetError(f"{block.where}: the server exited ({server.returncode})")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", int(waiting[0])), 0.5):
                waiting.pop(0)
                continue
            time.sleep(0.1)
        if waiting:
            raise SnippetError(f"{block.where}: nothing listened on port {waiting[0]} within {TIMEOUT} s")


def _exports(text: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """The variables of bash's ``export -p`` output (read back by bash itself, not parsed here)."""
    dump = subprocess.run(
        ["bash", "-c", f"{text}\nenv -0"],
        cwd=workdir,
        env={},
        capture_output=True,
        check=True,
    ).stdout
    for entry in dump.split(b"\0"):
        name, sep, value = entry.decode().partition("=")
        if sep and name not in {"_", "SHLVL", "PWD", "OLDPWD"}:
            yield name, value
