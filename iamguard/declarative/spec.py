"""Account files in, validated :class:`AccountSpec` out: the file's model and its reader.

Part of :mod:`iamguard.declarative` (the format is described there). Everything here is pure:
reading a file never touches a store. Every problem in a file is reported at once, each with
its location (``users[alice].tags``).
"""

from __future__ import annotations

import enum
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iamguard.errors import InvalidInputError, PolicyError
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store.passwords import PasswordPolicy

__all__ = [
    "FILE_VERSION",
    "KEEP",
    "AccountSpec",
    "GroupSpec",
    "Inline",
    "PolicySpec",
    "RoleSpec",
    "Tags",
    "UserSpec",
    "load_account_file",
    "parse_account_file",
    "spec_from_data",
    "yaml_module",
]

FILE_VERSION = 1


class _Keep(enum.Enum):
    KEEP = "keep"

    def __repr__(self) -> str:
        return "KEEP"


#: A field the file leaves out: whatever the store holds stays as it is.
KEEP = _Keep.KEEP

Tags = tuple[tuple[str, str], ...]
Inline = tuple[tuple[str, str], ...]  # (policy name, document JSON text)


# ---------------------------------------------------------------- the file's model


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A customer managed policy as the account file declares it; ``KEEP`` leaves a field as stored."""

    name: str
    document: str
    path: str | _Keep = KEEP
    description: str | _Keep = KEEP
    tags: Tags | _Keep = KEEP


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A group: its path, inline policies and attached managed policies."""

    name: str
    path: str | _Keep = KEEP
    inline: Inline | _Keep = KEEP
    attached: tuple[str, ...] | _Keep = KEEP


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A user: path, tags, groups, permissions boundary, inline and attached policies."""

    name: str
    path: str | _Keep = KEEP
    tags: Tags | _Keep = KEEP
    groups: tuple[str, ...] | _Keep = KEEP
    boundary: str | _Keep | None = KEEP
    inline: Inline | _Keep = KEEP
    attached: tuple[str, ...] | _Keep = KEEP


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role: trust policy, path, description, session duration, tags, boundary and policies."""

    name: str
    trust_policy: str | _Keep = KEEP
    path: str | _Keep = KEEP
    description: str | _Keep = KEEP
    max_session_duration: int | _Keep = KEEP
    tags: Tags | _Keep = KEEP
    boundary: str | _Keep | None = KEEP
    inline: Inline | _Keep = KEEP
    attached: tuple[str, ...] | _Keep = KEEP


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A whole account file: the alias, account id, password policy and every entity it declares."""

    alias: str | _Keep | None = KEEP
    account_id: str | _Keep = KEEP
    password_policy: PasswordPolicy | _Keep | None = KEEP
    policies: tuple[PolicySpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    roles: tuple[RoleSpec, ...] = ()


# ---------------------------------------------------------------- reading files


def load_account_file(path: str | Path) -> AccountSpec:
    """Read and validate an account file (``.yaml``/``.yml`` as YAML, anything else as JSON)."""
    path = Path(path)
    return spec_from_data(parse_account_file(path.read_text(encoding="utf-8"), yaml_syntax=_is_yaml(path)))


def parse_account_file(text: str, *, yaml_syntax: bool) -> Any:
    """The data in an account file's text; YAML needs the optional ``pyyaml`` (``iamguard[yaml]``)."""
    if not yaml_syntax:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"account file is not valid JSON: {exc}") from None
    yaml = yaml_module()
    try:
        return yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"account file is not valid YAML: {exc}") from None


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def yaml_module() -> Any:
    """The ``yaml`` module, imported only when a YAML file is read or written (optional extra)."""
    try:
        return importlib.import_module("yaml")
    except ModuleNotFoundError:
        raise InvalidInputError(
            "YAML account files need pyyaml: pip install 'iamguard[yaml]' (or use JSON)"
        ) from None


def _yaml_loader() -> Any:
    """``SafeLoader`` without timestamp resolution: ``Version: 2012-10-17`` must stay a string
    (plain YAML would turn it into a date and the policy would be invalid)."""
    yaml = yaml_module()

    class _Loader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        pass

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _Loader


class _Problems:
    """Every problem in a file, each with its location, raised together."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}" if where else message)

    def raise_any(self, what: str) -> None:
        if self.items:
            raise InvalidInputError(f"{what}: " + "; ".join(self.items))


_TOP = frozenset({"version", "account", "policies", "groups", "users", "roles"})
_ACCOUNT = frozenset({"account_id", "AccountId", "alias", "password_policy"})
_POLICY = frozenset({"name", "document", "path", "description", "tags"})
_GROUP = frozenset({"name", "path", "inline_policies", "attached_policies"})
_USER = frozenset(
    {"name", "path", "tags", "groups", "permissions_boundary", "inline_policies", "attached_policies"}
)
_ROLE = frozenset(
    {"name", "trust_policy", "path", "description", "max_session_duration", "tags", "permissions_boundary",
     "inline_policies", "attached_policies"}
)  # fmt: skip


def spec_from_data(data: Any) -> AccountSpec:
    """Validate file data into an :class:`AccountSpec`; :class:`InvalidInputError` lists every
    problem with its location (``users[alice].tags``)."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise InvalidInputError("an account file holds a mapping (version, account, policies, ...)")
    _unknown(data, _TOP, "", problems)
    if data.get("version", FILE_VERSION) != FILE_VERSION:
        problems.add(
            "version", f"unsupported version {data.get('version')!r} (this iamguard reads {FILE_VERSION})"
        )
    account = data.get("account") or {}
    alias: str | _Keep | None = KEEP
    account_id: str | _Keep = KEEP
    password: PasswordPolicy | _Keep | None = KEEP
    if not isinstance(account, Mapping):
        problems.add("account", "must be a mapping")
    else:
        _unknown(account, _ACCOUNT, "account", problems)
        account_id = _account_id(account, problems)
        if "alias" in account:
            alias = _opt_str(account["alias"], "account.alias", problems)
        if "password_policy" in account:
            password = _password_policy(account["password_policy"], problems)
    spec = AccountSpec(
        alias=alias,
        account_id=account_id,
        password_policy=password,
        policies=tuple(_entities(data, "policies", _POLICY, _policy_spec, problems)),
        groups=tuple(_entities(data, "groups", _GROUP, _group_spec, problems)),
        users=tuple(_entities(data, "users", _USER, _user_spec, problems)),
        roles=tuple(_entities(data, "roles", _ROLE, _role_spec, problems)),
    )
    problems.raise_any("invalid account file")
    return spec


def _unknown(data: Mapping[str, Any], known: frozenset[str], where: str, problems: _Problems) -> None:
    for key in data:
        if key not in known:
            problems.add(
                f"{where}.{key}" if where else str(key),
                f"unknown field (expected one of {', '.join(sorted(known))})",
            )


def _entities(
    data: Mapping[str, Any], key: str, known: frozenset[str], build: Callable[[Mapping[str, Any], str, _Problems], Any],
    problems: _Problems,
) -> list[Any]:  # fmt: skip
    items = data.get(key) or []
    if not isinstance(items, list):
        problems.add(key, "must be a list")
        return []
    found: list[Any] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        where = f"{key}[{name}]" if isinstance(name, str) and name else f"{key}[{index}]"
        if not isinstance(item, Mapping) or not isinstance(name, str) or not name:
            problems.add(where, "each entry is a mapping with a non-empty 'name'")
            continue
        if name.lower() in seen:
            problems.add(where, "listed twice (IAM names ignore case)")
            continue
        seen.add(name.lower())
        _unknown(item, known, where, problems)
        found.append(build(item, where, problems))
    return found


def _policy_spec(item: Mapping[str, Any], where: str, problems: _Problems) -> PolicySpec:
    return PolicySpec(
        name=item["name"],
        document=_document(
            item.get("document"), f"{where}.document", PolicyKind.IDENTITY, problems, required=True
        ),
        path=_field(item, "path", where, problems, _path),
        description=_field(item, "description", where, problems, _str),
        tags=_field(item, "tags", where, problems, _tags),
    )


def _group_spec(item: Mapping[str, Any], where: str, problems: _Problems) -> GroupSpec:
    return GroupSpec(
        name=item["name"],
        path=_field(item, "path", where, problems, _path),
        inline=_field(item, "inline_policies", where, problems, _inline),
        attached=_field(item, "attached_policies", where, problems, _names),
    )


def _user_spec(item: Mapping[str, Any], where: str, problems: _Problems) -> UserSpec:
    return UserSpec(
        name=item["name"],
        path=_field(item, "path", where, problems, _path),
        tags=_field(item, "tags", where, problems, _tags),
        groups=_field(item, "groups", where, problems, _names),
        boundary=_field(item, "permissions_boundary", where, problems, _opt_str),
        inline=_field(item, "inline_policies", where, problems, _inline),
        attached=_field(item, "attached_policies", where, problems, _names),
    )


def _role_spec(item: Mapping[str, Any], where: str, problems: _Problems) -> RoleSpec:
    trust: str | _Keep = KEEP
    if "trust_policy" in item:
        trust = _document(
            item["trust_policy"], f"{where}.trust_policy", PolicyKind.RESOURCE, problems, required=True
        )
    return RoleSpec(
        name=item["name"],
        trust_policy=trust,
        path=_field(item, "path", where, problems, _path),
        description=_field(item, "description", where, problems, _str),
        max_session_duration=_field(item, "max_session_duration", where, problems, _int),
        tags=_field(item, "tags", where, problems, _tags),
        boundary=_field(item, "permissions_boundary", where, problems, _opt_str),
        inline=_field(item, "inline_policies", where, problems, _inline),
        attached=_field(item, "attached_policies", where, problems, _names),
    )


def _field(
    item: Mapping[str, Any], key: str, where: str, problems: _Problems, convert: Callable[..., Any]
) -> Any:
    return convert(item[key], f"{where}.{key}", problems) if key in item else KEEP


def _str(value: Any, where: str, problems: _Problems) -> str:
    if not isinstance(value, str):
        problems.add(where, "must be a string")
        return ""
    return value


def _opt_str(value: Any, where: str, problems: _Problems) -> str | None:
    return None if value is None else _str(value, where, problems)


def _path(value: Any, where: str, problems: _Problems) -> str:
    text = _str(value, where, problems)
    if text and not (text.startswith("/") and text.endswith("/")):
        problems.add(where, "a path starts and ends with '/'")
    return text


def _int(value: Any, where: str, problems: _Problems) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, "must be an integer")
        return 0
    return value


def _tags(value: Any, where: str, problems: _Problems) -> Tags:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        problems.add(where, "must map tag keys to string values")
        return ()
    return tuple(sorted(value.items()))


def _names(value: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.add(where, "must be a list of names")
        return ()
    return tuple(value)


def _inline(value: Any, where: str, problems: _Problems) -> Inline:
    if not isinstance(value, Mapping):
        problems.add(where, "must map inline policy names to documents")
        return ()
    return tuple(
        sorted(
            (str(name), _document(doc, f"{where}.{name}", PolicyKind.IDENTITY, problems, required=True))
            for name, doc in value.items()
        )
    )


def _document(value: Any, where: str, kind: PolicyKind, problems: _Problems, *, required: bool) -> str:
    """A policy document (a mapping, or JSON text) as compact JSON text, checked by the parser."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, Mapping):
        text = json.dumps(value, separators=(",", ":"))
    else:
        problems.add(where, "must be a policy document (a mapping)")
        return "{}"
    try:
        parse_policy(text, name=where, kind=kind)
    except PolicyError as exc:
        problems.add(where, str(exc))
    return text


def _account_id(account: Mapping[str, Any], problems: _Problems) -> str | _Keep:
    """``account.account_id`` (``AccountId``, AWS's spelling, is read the same): 12 digits.
    YAML reads an unquoted id as a number, so an integer of 12 digits is taken as written; one
    that lost its leading zeros (or was read as octal) is refused with the advice to quote it."""
    given = [key for key in ("account_id", "AccountId") if key in account]
    if not given:
        return KEEP
    if len(given) == 2 and str(account["account_id"]) != str(account["AccountId"]):
        problems.add("account.account_id", "account_id and AccountId differ; give one of them")
    where = f"account.{given[0]}"
    value = account[given[0]]
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(text, str) and len(text) == 12 and text.isascii() and text.isdigit()):
        quote = " (write it in quotes)" if isinstance(value, int) else ""
        problems.add(where, f"an AWS account id is 12 digits, got {value!r}{quote}")
        return KEEP
    return text


def _password_policy(value: Any, problems: _Problems) -> PasswordPolicy | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add("account.password_policy", "must be a mapping of AWS PasswordPolicy fields, or null")
        return None
    try:
        return PasswordPolicy.from_json(value)
    except InvalidInputError as exc:
        problems.add("account.password_policy", str(exc))
        return None
