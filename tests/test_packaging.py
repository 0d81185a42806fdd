"""The distribution as a user receives it.

The sdist and the wheel are built (offline, ``python -m build --no-isolation``) from a copy of the
files the build reads, then opened: the wheel holds exactly ``iamguard``, ``flask_iamguard`` and
``fastapi_iamguard`` at top level (never a generic ``integrations`` another distribution could
overwrite), each with ``py.typed``, the policy data, the Apache-2.0 LICENSE and SPDX metadata; the
sdist holds the LICENSE too. Without its framework, an integration names the pip command to run.
The slow test installs the built wheel with ``[flask]`` into a fresh venv (dependencies from the
package index) and runs the README's Flask quick start, as marked there, verbatim.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - import-linter depends on tomli there
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
VERSION = str(PROJECT["version"])
DIST_INFO = f"iamguard-{VERSION}.dist-info"
#: The top-level packages the wheel installs, and where each lives in the repository.
PACKAGES = {
    "iamguard": "iamguard",
    "flask_iamguard": "integrations/flask_iamguard",
    "fastapi_iamguard": "integrations/fastapi_iamguard",
}
#: SHA-256 of the Apache License 2.0 as published (https://www.apache.org/licenses/LICENSE-2.0.txt,
#: the same bytes Debian ships as /usr/share/common-licenses/Apache-2.0).
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
#: Marks the README's Flask quick start, the fenced block right after it.
QUICKSTART_MARKER = "<!-- quickstart: flask -->"


@dataclass(frozen=True)
class Built:
    source: Path
    wheel: Path
    sdist: Path
    log: str


def _copy_build_inputs(dest: Path) -> None:
    """The files a build reads (pyproject, readme, license files, the packages), no caches."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.db", "*.db-*", "*.sqlite3")
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", PROJECT["readme"], *PROJECT["license-files"]):
        shutil.copy2(ROOT / name, dest / name)
    for folder in ("iamguard", "integrations"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("packaging")
    source, out = base / "src", base / "dist"
    _copy_build_inputs(source)
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Built(source, wheel, sdist, log)


def _wheel_names(built: Built) -> list[str]:
    with zipfile.ZipFile(built.wheel) as wheel:
        return wheel.namelist()


def _wheel_text(built: Built, name: str) -> str:
    with zipfile.ZipFile(built.wheel) as wheel:
        return wheel.read(name).decode("utf-8")


def _metadata(text: str) -> Message:
    return HeaderParser().parsestr(text)


def _build_warnings(log: str) -> list[str]:
    """The warnings in a build's output: each line that says warning or deprecated, with the
    ``!!``-framed block setuptools prints under it (where the details, e.g. a file name, are)."""
    lines = log.splitlines()
    found, i = [], 0
    while i < len(lines):
        if re.search(r"warn|deprecat", lines[i], re.IGNORECASE):
            end = i
            if i + 1 < len(lines) and lines[i + 1].strip() == "!!":
                closing = [j for j in range(i + 2, len(lines)) if lines[j].strip() == "!!"]
                end = closing[0] if closing else len(lines) - 1
            found.append("\n".join(lines[i : end + 1]))
            i = end
        i += 1
    return found


def test_the_build_prints_no_license_warning(built: Built) -> None:
    """SPDX ``license`` + ``license-files`` (PEP 639): setuptools has nothing to warn about."""
    assert [w for w in _build_warnings(built.log) if "license" in w.lower()] == []


def test_the_warning_reader_sees_setuptools_license_warnings() -> None:
    """The two shapes setuptools used for this project's license before: a deprecated table,
    a license file pattern matching nothing."""
    table = (
        "configuration error\nWARNING `project.license` as a TOML table is deprecated\n!!\n\n"
        "        ****\n        Please use a simple string containing a SPDX expression\n        ****\n\n!!\n"
    )
    pattern = (
        "/x/setuptools/dist.py:483: BuildBackendWarning: Cannot find any files for the given pattern.\n"
        "!!\n\n        ****\n        Pattern 'LICENSE' did not match any files.\n        ****\n\n!!\n"
        "adding license file 'LICENSE'\nwarning: build_py: byte-compiling is disabled, skipping.\n"
    )
    assert len(_build_warnings(table)) == 1 and "license" in _build_warnings(table)[0]
    found = _build_warnings(pattern)
    assert [("LICENSE" in w) for w in found] == [True, False]


def test_wheel_top_level_is_exactly_the_three_packages(built: Built) -> None:
    top_level = {name.split("/", 1)[0] for name in _wheel_names(built)}
    assert top_level == {*PACKAGES, DIST_INFO}
    assert _wheel_text(built, f"{DIST_INFO}/top_level.txt").split() == sorted(PACKAGES)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_ships_py_typed(built: Built, package: str) -> None:
    assert f"{package}/py.typed" in _wheel_names(built)


def test_wheel_holds_every_module_and_the_policy_data(built: Built) -> None:
    """Each ``.py`` and ``.json`` of the packages' folders lands under its installed name."""
    expected = set()
    for package, folder in PACKAGES.items():
        for path in (built.source / folder).rglob("*"):
            if path.suffix in (".py", ".json"):
                expected.add(f"{package}/{path.relative_to(built.source / folder).as_posix()}")
    assert any(name.startswith("iamguard/policy/data/") and name.endswith(".json") for name in expected)
    assert sorted(expected - set(_wheel_names(built))) == []


def test_license_ships_in_the_wheel_and_is_the_apache_2_0_text(built: Built) -> None:
    license_bytes = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(license_bytes).hexdigest() == APACHE_2_0_SHA256
    with zipfile.ZipFile(built.wheel) as wheel:
        assert wheel.read(f"{DIST_INFO}/licenses/LICENSE") == license_bytes


def test_wheel_metadata_is_spdx_with_the_extras(built: Built) -> None:
    meta = _metadata(_wheel_text(built, f"{DIST_INFO}/METADATA"))
    assert Version(meta["Metadata-Version"]) >= Version("2.4")  # License-Expression: PEP 639
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["License"] is None  # the deprecated free-text field is gone
    assert {"flask", "fastapi"} <= set(meta.get_all("Provides-Extra") or [])

    requirements = [Requirement(text) for text in meta.get_all("Requires-Dist") or []]

    def pulled_by(extra: str) -> set[str]:
        return {
            r.name.lower() for r in requirements if r.marker is None or r.marker.evaluate({"extra": extra})
        }

    core = pulled_by("")
    assert {"flask", "fastapi", "uvicorn"}.isdisjoint(core)  # no framework without its extra
    assert "flask" in pulled_by("flask") - core
    assert {"fastapi", "uvicorn"} <= pulled_by("fastapi") - core


def test_wheel_declares_the_cli_entry_point(built: Built) -> None:
    entry_points = _wheel_text(built, f"{DIST_INFO}/entry_points.txt")
    for name, target in PROJECT["scripts"].items():
        assert f"{name} = {target}" in entry_points


def test_sdist_holds_the_license_and_the_integrations_folder(built: Built) -> None:
    prefix = f"iamguard-{VERSION}/"
    with tarfile.open(built.sdist) as sdist:
        names = set(sdist.getnames())
        license_file = sdist.extractfile(prefix + "LICENSE")
        pkg_info = sdist.extractfile(prefix + "PKG-INFO")
        assert license_file is not None and pkg_info is not None
        assert license_file.read() == (ROOT / "LICENSE").read_bytes()
        assert _metadata(pkg_info.read().decode("utf-8"))["License-Expression"] == "Apache-2.0"
    assert {prefix + "pyproject.toml", prefix + "integrations/flask_iamguard/__init__.py"} <= names
    # the wheel is built from this sdist (python -m build's default), so it is complete
    assert prefix + "integrations/__init__.py" not in names


def _import_in_child(code: str, cwd: Path) -> str:
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.strip()


_TRY_IMPORT = """
import sys
sys.modules[{hidden!r}] = None  # as if not installed
try:
    import {module}
except ImportError as error:
    print(type(error).__name__, error.name, error, sep="|")
else:
    print("imported")
"""


@pytest.mark.parametrize(
    ("module", "framework", "hint"),
    [
        ("flask_iamguard", "flask", 'flask_iamguard needs Flask: pip install "iamguard[flask]"'),
        ("fastapi_iamguard", "fastapi", 'fastapi_iamguard needs FastAPI: pip install "iamguard[fastapi]"'),
    ],
)
def test_missing_extra_names_the_pip_command(tmp_path: Path, module: str, framework: str, hint: str) -> None:
    out = _import_in_child(_TRY_IMPORT.format(hidden=framework, module=module), tmp_path)
    assert out == f"ModuleNotFoundError|{framework}|{hint}"


@pytest.mark.parametrize(
    ("module", "dependency"), [("flask_iamguard", "werkzeug"), ("fastapi_iamguard", "starlette")]
)
def test_a_broken_framework_install_is_not_blamed_on_the_extra(
    tmp_path: Path, module: str, dependency: str
) -> None:
    """The framework is there but one of its own dependencies is not: pip's own error stands."""
    out = _import_in_child(_TRY_IMPORT.format(hidden=dependency, module=module), tmp_path)
    kind, name, message = out.split("|")
    assert (kind, name.split(".")[0]) == ("ModuleNotFoundError", dependency)
    assert "iamguard[" not in message


def test_installed_names_are_the_integrations_own(tmp_path: Path) -> None:
    """From outside the checkout, the two packages import by their names; ``integrations`` does not."""
    code = (
        "import importlib.util, json, pathlib, flask_iamguard, fastapi_iamguard\n"
        "print(json.dumps({'integrations': importlib.util.find_spec('integrations') is not None,\n"
        "    'typed': [(pathlib.Path(m.__file__).parent / 'py.typed').is_file()\n"
        "              for m in (flask_iamguard, fastapi_iamguard)]}))"
    )
    assert json.loads(_import_in_child(code, tmp_path)) == {"integrations": False, "typed": [True, True]}


def _readme_flask_quickstart() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(re.escape(QUICKSTART_MARKER) + r"\s*```python\n(.*?)```", readme, re.S)
    assert found, f"README.md has no ```python block right after {QUICKSTART_MARKER}"
    return found.group(1)


def test_the_readme_marks_a_flask_quick_start() -> None:
    snippet = _readme_flask_quickstart()
    assert "flask_iamguard" in snippet and "integrations" not in snippet


def _printed_as_documented(snippet: str, output: str) -> list[str]:
    """Lines of ``output`` that no ``# ...`` comment of ``snippet`` announces (the quick start
    says what each ``print`` shows in a comment: ``print(...)  # 403: not signed``)."""
    comments = [line.split("#", 1)[1].strip() for line in snippet.splitlines() if "#" in line]
    return [line for line in output.splitlines() if not any(c.startswith(line.strip()) for c in comments)]


def test_the_output_check_sees_an_undocumented_line() -> None:
    snippet = 'print("hello alice")  # hello alice\nprint(403)  # 403: not signed\n'
    assert _printed_as_documented(snippet, "hello alice\n403\n") == []
    assert _printed_as_documented(snippet, "hello alice\n200\n") == ["200"]


#: Where the fresh venv's Python finds the packages (must be its own site-packages, not the checkout)
_WHERE = (
    "import json, iamguard, flask_iamguard\nprint(json.dumps([iamguard.__file__, flask_iamguard.__file__]))"
)


@pytest.mark.slow
def test_fresh_venv_installs_the_wheel_with_flask_and_runs_the_quick_start(
    built: Built, tmp_path: Path
) -> None:
    """``pip install "dist/iamguard-….whl[flask]"`` into a new venv, then the README's Flask quick
    start as written there (``python quickstart.py``): it runs and prints what it says it prints."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    # The dependencies come from the package index: only this install step leaves the suite's
    # network guard (tests/_netguard, on PYTHONPATH); the quick start itself runs under it.
    guard_dir = str(ROOT / "tests" / "_netguard")
    pip_env = dict(os.environ)
    pip_env["PYTHONPATH"] = os.pathsep.join(
        p for p in pip_env.get("PYTHONPATH", "").split(os.pathsep) if p and p != guard_dir
    )
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{built.wheel}[flask]"],
        env=pip_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    app_dir = tmp_path / "app"
    app_dir.mkdir()
    where = subprocess.run(
        [str(python), "-c", _WHERE], cwd=app_dir, capture_output=True, text=True, timeout=120, check=False
    )
    assert where.returncode == 0, where.stdout + where.stderr
    files = json.loads(where.stdout)
    assert all(Path(f).is_relative_to(env_dir) for f in files), files

    snippet = _readme_flask_quickstart()
    (app_dir / "quickstart.py").write_text(snippet, encoding="utf-8")
    run = subprocess.run(
        [str(python), "quickstart.py"], cwd=app_dir, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.strip(), "the quick start printed nothing"
    assert _printed_as_documented(snippet, run.stdout) == [], run.stdout
