"""One exception tree: every error the library raises on purpose is an ``IAMGuardError``, exported
from ``iamguard`` and ``iamguard.errors``; a refused argument is an ``InvalidParameterError``, which
is still a ``ValueError`` for callers that caught that."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import iamguard
import iamguard.errors as errors
from iamguard.authn.canonical import format_amz_date, parse_amz_date
from iamguard.cli import EXIT_USAGE, main
from iamguard.context import parse_typed_value
from iamguard.credentials.refresh import RefreshWindows
from iamguard.policy.limits import PolicyLimits
from iamguard.principal import Principal
from iamguard.sts.auth_message import AuthorizationMessageCodec

PACKAGE = Path(iamguard.__file__).resolve().parent


def _exception_classes() -> list[type[BaseException]]:
    return [
        obj
        for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type) and issubclass(obj, BaseException)
    ]


def test_every_exported_exception_is_in_the_tree() -> None:
    classes = _exception_classes()
    assert len(classes) >= 30
    for cls in classes:
        assert issubclass(cls, errors.IAMGuardError), cls
        assert getattr(iamguard, cls.__name__) is cls, cls.__name__
        assert cls.__name__ in iamguard.__all__, cls.__name__


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        ("InvalidParameterError", "IAMGuardError"),
        ("KeyRingError", "IAMGuardError"),
        ("EncodedAccessDeniedError", "AccessDeniedError"),
        ("EndpointUnavailable", "CredentialsError"),
        ("PayloadRequiredError", "IAMGuardError"),
        ("BodyReadError", "IAMGuardError"),
        ("BodyTooLargeError", "IAMGuardError"),
    ],
)
def test_moved_classes_have_their_branch(child: str, parent: str) -> None:
    assert issubclass(getattr(errors, child), getattr(errors, parent))


def test_old_homes_name_the_same_classes() -> None:
    """Code that imported the classes from where they were defined keeps working."""
    from iamguard._wire import BodyReadError
    from iamguard.authn.authenticators import PayloadRequiredError
    from iamguard.credentials._http import EndpointUnavailable
    from iamguard.enforce.errors import EncodedAccessDeniedError
    from iamguard.sts.keys import KeyRingError

    assert BodyReadError is errors.BodyReadError
    assert PayloadRequiredError is errors.PayloadRequiredError
    assert EndpointUnavailable is errors.EndpointUnavailable
    assert EncodedAccessDeniedError is errors.EncodedAccessDeniedError
    assert KeyRingError is errors.KeyRingError


def test_invalid_parameter_is_a_value_error_with_an_aws_code() -> None:
    error = errors.InvalidParameterError("max_chars must be positive")
    assert isinstance(error, ValueError)
    assert (error.code, error.http_status) == ("InvalidParameterValue", 400)
    assert errors.error_body(error) == {
        "Error": {"Code": "InvalidParameterValue", "Message": "max_chars must be positive"}
    }


REFUSED: list[tuple[str, Callable[[], object]]] = [
    ("not an ARN", lambda: Principal.from_arn("alice")),
    ("refresh windows", lambda: RefreshWindows(advisory=1, mandatory=5)),
    ("max_chars", lambda: PolicyLimits(max_chars=0)),
    ("takes exactly one value", lambda: parse_typed_value("aws:username", "string", ["a", "b"])),
    ("timezone-aware", lambda: format_amz_date(datetime(2024, 1, 1))),
    ("ISO 8601", lambda: parse_amz_date("yesterday")),
    ("at least one key", lambda: AuthorizationMessageCodec({})),
]


@pytest.mark.parametrize(("message", "call"), REFUSED, ids=[m for m, _ in REFUSED])
def test_refused_arguments_raise_invalid_parameter(message: str, call: Callable[[], object]) -> None:
    with pytest.raises(errors.InvalidParameterError, match=message) as caught:
        call()
    assert isinstance(caught.value, ValueError)


def _bare_raises(exception: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(target, ast.Name) and target.id == exception:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


@pytest.mark.parametrize("exception", ["ValueError", "Exception"])
def test_the_library_raises_no_bare_builtin_errors(exception: str) -> None:
    assert _bare_raises(exception) == []


def test_cli_reports_an_invalid_option_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An InvalidParameterError from an option is exit 2 (usage), as the ValueError was."""
    policy = tmp_path / "p.json"
    policy.write_text(
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}', encoding="utf-8"
    )
    code = main(["simulate", str(policy), "--action", "s3:GetObject", "--context", "no-equals-sign"])
    assert code == EXIT_USAGE
    assert "--context expects KEY=TYPE:VALUE" in capsys.readouterr().err
