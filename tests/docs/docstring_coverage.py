"""How much of the public API has docstrings: ``python -m tests.docs.docstring_coverage [-v]``.

Public means reachable from a curated ``__all__``: ``iamguard``'s, each subpackage's that has
one (found as the API reference finds them, docs/_gen_ref.py) and the two integrations'. For each
exported class, its own public methods and properties count too (inherited ones are counted
where they are defined). A class's docstring must be its own (a dataclass's generated
``Name(field, ...)`` signature does not count); a method may inherit its base's, as
``inspect.getdoc`` and the API reference do. ``-v`` lists what lacks one, by defining file.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTEGRATIONS = ("flask_iamguard", "fastapi_iamguard")
OWN_PACKAGES = ("iamguard", *INTEGRATIONS)


@dataclass(frozen=True)
class Item:
    """One public function, class, method or property and whether it has a docstring."""

    qualname: str
    file: str
    documented: bool


def public_modules() -> list[str]:
    """``iamguard``, its subpackages with a curated ``__all__``, the integrations."""
    import iamguard

    found = ["iamguard"]
    for info in pkgutil.iter_modules(iamguard.__path__):
        init = ROOT / "iamguard" / info.name / "__init__.py"
        if info.ispkg and not info.name.startswith("_") and init.exists():
            tree = ast.parse(init.read_text(encoding="utf-8"))
            names = {
                t.id
                for n in tree.body
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            if "__all__" in names:
                found.append(f"iamguard.{info.name}")
    return [*found, *INTEGRATIONS]


def _own(obj: object) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] in OWN_PACKAGES


def _file(obj: object) -> str:
    try:
        return str(Path(inspect.getfile(obj)).resolve().relative_to(ROOT))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"


def _class_documented(cls: type) -> bool:
    doc = cls.__dict__.get("__doc__")
    if not doc or not doc.strip():
        return False
    return not doc.startswith(f"{cls.__name__}(")  # a dataclass's generated signature


def _members(cls: type) -> Iterator[tuple[str, object, object]]:
    """``(name, the function or property, what to take its docstring from)`` defined in ``cls``."""
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(raw, (staticmethod, classmethod)):
            yield name, raw.__func__, getattr(cls, name)
        elif isinstance(raw, property) or inspect.isfunction(raw):
            yield name, raw, raw


def _method_documented(cls: type, name: str, member: object) -> bool:
    if getattr(member, "__doc__", None):
        return True
    for base in cls.__mro__[1:]:
        inherited = base.__dict__.get(name)
        if inherited is not None and getattr(inherited, "__doc__", None):
            return True
    return False


def collect() -> list[Item]:
    """Every public item once (a name exported by several modules counts once)."""
    sys.path.insert(0, str(ROOT / "integrations"))
    seen: set[int] = set()
    items: list[Item] = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen or not _own(obj) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            seen.add(id(obj))
            if inspect.isfunction(obj):
                items.append(Item(obj.__qualname__, _file(obj), bool(obj.__doc__)))
                continue
            items.append(Item(obj.__qualname__, _file(obj), _class_documented(obj)))
            for member_name, member, _ in _members(obj):
                if id(member) in seen:
                    continue
                seen.add(id(member))
                documented = _method_documented(obj, member_name, member)
                items.append(Item(f"{obj.__qualname__}.{member_name}", _file(obj), documented))
    return items


def main(argv: list[str]) -> int:
    items = collect()
    missing = [item for item in items if not item.documented]
    share = 100 * (len(items) - len(missing)) / len(items)
    print(
        f"{len(items)} public functions, classes, methods and properties; {len(missing)} without a docstring"
    )
    print(f"({share:.1f}% documented)")
    if "-v" in argv:
        for file in sorted({item.file for item in missing}):
            names = [item.qualname for item in missing if item.file == file]
            print(f"\n{file} ({len(names)})")
            for qualname in names:
                print(f"  {qualname}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
