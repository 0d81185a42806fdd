"""The public API is exactly ``iamguard.__all__`` plus each subpackage's curated ``__init__``: every
name resolves, nothing private leaks, every type in a public signature is exported, and
``integrations/`` and ``examples/`` use nothing else (the model: httpx's test_exported_members)."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import iamguard

ROOT = Path(__file__).resolve().parent.parent

#: The public modules: the package and its subpackages' curated ``__init__``s.
SUBPACKAGES = (
    "iamguard.analysis",
    "iamguard.authn",
    "iamguard.credentials",
    "iamguard.enforce",
    "iamguard.evaluate",
    "iamguard.iam",
    "iamguard.policy",
    "iamguard.store",
    "iamguard.sts",
)
PUBLIC = ("iamguard", *SUBPACKAGES)
#: Also importable by a third party: the CLI entry point and the account-file API.
ALSO_IMPORTABLE = ("iamguard.cli", "iamguard.declarative")


def _module(name: str) -> ModuleType:
    # importlib, not attribute access: ``iamguard.evaluate`` the attribute is the function.
    return importlib.import_module(name)


@pytest.mark.parametrize("name", PUBLIC)
def test_all_names_resolve(name: str) -> None:
    module = _module(name)
    for member in module.__all__:
        assert getattr(module, member) is not None, (name, member)
        assert member in dir(module), (name, member)


def _isort_style(member: str) -> tuple[int, str]:
    """ruff's RUF022 order (which `ruff check --fix` keeps): CONSTANTS, then Classes, then the rest."""
    group = 0 if member.isupper() else 1 if member[:1].isupper() else 2
    return group, member


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_and_unique(name: str) -> None:
    exported = list(_module(name).__all__)
    assert exported == sorted(set(exported), key=_isort_style)


@pytest.mark.parametrize("name", PUBLIC)
def test_exported_objects_are_public(name: str) -> None:
    module = _module(name)
    for member in module.__all__:
        assert not member.startswith("_"), member
        obj = getattr(module, member)
        if inspect.isclass(obj) or inspect.isfunction(obj):  # not aliases (AuthFlow) or constants
            assert obj.__module__.split(".")[0] == "iamguard", (member, obj.__module__)


def test_unknown_names_raise_attribute_error() -> None:
    for name in PUBLIC:
        with pytest.raises(AttributeError):
            _module(name).NoSuchName  # noqa: B018


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackages_say_their_modules_are_private(name: str) -> None:
    doc = _module(name).__doc__ or ""
    assert "public API" in doc and "private" in doc, name


def test_issue_types_are_exported_from_iamguard() -> None:
    """The types the issue named as missing from the API, each reachable as ``iamguard.X``."""
    for member in (
        "RequestView",
        "Authenticated",
        "RequestState",
        "SessionTokenService",
        "KeyRing",
        "Credentials",
        "SigV4Auth",
    ):
        assert member in iamguard.__all__, member
        assert isinstance(getattr(iamguard, member), type), member


def test_exceptions_name_their_public_home() -> None:
    for member in iamguard.__all__:
        obj = getattr(iamguard, member)
        if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ != "iamguard":
            # Defined with its stage (WrongRegionError in authn): still a public package.
            assert obj.__module__.rsplit(".", 1)[0] in PUBLIC, (member, obj.__module__)
    assert iamguard.InvalidParameterError.__module__ == "iamguard"


def _exported_objects() -> dict[int, str]:
    found: dict[int, str] = {}
    for name in PUBLIC:
        module = _module(name)
        for member in module.__all__:
            found.setdefault(id(getattr(module, member)), f"{name}.{member}")
    return found


def _public_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for name in PUBLIC:
        module = _module(name)
        namespace.update({member: getattr(module, member) for member in module.__all__})
    return namespace


def _signatures(obj: object) -> list[Any]:
    """The callables whose annotations make up ``obj``'s public signature."""
    if inspect.isclass(obj):
        members = [m for n, m in vars(obj).items() if not n.startswith("_") and inspect.isfunction(m)]
        return [f for f in (obj.__init__, *members) if inspect.isfunction(f)]
    return [obj] if inspect.isfunction(obj) else []


def _classes_in(annotation: Any, found: set[type]) -> None:
    if isinstance(annotation, type):
        found.add(annotation)
    for argument in typing.get_args(annotation):
        _classes_in(argument, found)


def test_every_type_in_a_public_signature_is_exported() -> None:
    exported = _exported_objects()
    namespace = _public_namespace()
    missing: dict[str, str] = {}
    checked = 0
    for name in PUBLIC:
        module = _module(name)
        for member in module.__all__:
            for function in _signatures(getattr(module, member)):
                globalns = {**namespace, **vars(sys.modules[function.__module__])}
                hints = typing.get_type_hints(function, globalns=globalns)
                classes: set[type] = set()
                for annotation in hints.values():
                    _classes_in(annotation, classes)
                for cls in classes:
                    checked += 1
                    if cls.__module__.startswith("iamguard") and id(cls) not in exported:
                        missing[f"{cls.__module__}.{cls.__qualname__}"] = f"{name}.{member}"
    assert checked > 200
    assert missing == {}


def _private_imports(folder: Path) -> list[str]:
    allowed = set(PUBLIC) | set(ALSO_IMPORTABLE)
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module.split(".")[0] == "iamguard" and module not in allowed:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {module}")
    return found


@pytest.mark.parametrize("folder", ["integrations", "examples"])
def test_integrations_and_examples_import_only_the_public_api(folder: str) -> None:
    """They use iamguard as a third party would: ``iamguard`` and the subpackages' ``__init__``."""
    assert _private_imports(ROOT / folder) == []


def test_the_private_import_check_sees_private_imports(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from iamguard import Guard\n"
        "from iamguard.enforce.guard import RequestState\n"
        "import iamguard._wire\n",
        encoding="utf-8",
    )
    root = ROOT
    try:
        globals()["ROOT"] = tmp_path
        assert _private_imports(tmp_path) == ["app.py:2: iamguard.enforce.guard", "app.py:3: iamguard._wire"]
    finally:
        globals()["ROOT"] = root


def test_quick_start_round_trip() -> None:
    """The README quick start, as a test: parse, evaluate, explain."""
    policy = iamguard.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/${aws:username}/*",
                }
            ],
        },
        name="reports-read",
    )
    alice = iamguard.Principal.from_arn("arn:aws:iam::123456789012:user/alice")
    allowed = iamguard.evaluate(
        iamguard.Request(alice, "s3:GetObject", "arn:aws:s3:::reports/alice/q3.csv"),
        iamguard.PolicySet(identity=(policy,)),
    )
    denied = iamguard.evaluate(
        iamguard.Request(alice, "s3:GetObject", "arn:aws:s3:::reports/bob/q3.csv"),
        iamguard.PolicySet(identity=(policy,)),
    )
    assert allowed.kind is iamguard.DecisionKind.ALLOWED
    assert allowed.matched[0].policy_name == "reports-read"
    assert denied.kind is iamguard.DecisionKind.IMPLICIT_DENY
