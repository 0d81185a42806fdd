"""Generate the API reference at build time (run by the mkdocs-gen-files plugin).

One page per public package: ``iamguard`` and every subpackage whose ``__init__`` curates an
``__all__`` (so a new public package appears without editing this file), plus the Flask and
FastAPI integrations. Each page documents exactly the names in that ``__all__``, in its order;
``reference/SUMMARY.md`` is the section's navigation (read by mkdocs-literate-nav).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[1]
#: packages outside ``iamguard/`` that a user imports by name (see the Install section)
INTEGRATIONS = ("flask_iamguard", "fastapi_iamguard")


def _curates_all(init: Path) -> bool:
    """Whether a package's ``__init__.py`` assigns ``__all__`` (checked without importing it)."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


def public_packages() -> list[str]:
    """``iamguard``, then its curated subpackages in alphabetical order, then the integrations."""
    import iamguard

    found = ["iamguard"]
    for info in pkgutil.iter_modules(iamguard.__path__):
        init = ROOT / "iamguard" / info.name / "__init__.py"
        if info.ispkg and not info.name.startswith("_") and init.exists() and _curates_all(init):
            found.append(f"iamguard.{info.name}")
    sys.path.insert(0, str(ROOT / "integrations"))
    for name in INTEGRATIONS:
        importlib.import_module(name)  # the docs extra installs Flask and FastAPI: a page, never a gap
        found.append(name)
    return found


def page(package: str) -> str:
    """The Markdown of one package's reference page."""
    module = importlib.import_module(package)
    summary = (module.__doc__ or "").strip().split("\n\n")[0]
    lines = [f"# `{package}`", "", f"::: {package}", "    options:", "      members: false"]
    lines += ["      show_root_heading: false", ""]
    if not summary:
        lines[2:6] = []
    for name in module.__all__:
        lines += [f"::: {_identifier(package, name, getattr(module, name))}", "    options:"]
        lines += [f"      heading: {name}", f"      toc_label: {name}", ""]
    return "\n".join(lines)


def _identifier(package: str, name: str, obj: object) -> str:
    """What mkdocstrings should render for ``package.name``.

    Usually that path itself. Where a submodule has the same name as the function the package
    exports (``iamguard.evaluate``, ``iamguard.enforce.require``), the static loader finds the
    module first, so the function is named by its defining module instead.
    """
    path = f"{package}.{name}"
    shadowed = importlib.util.find_spec(path) if not inspect.ismodule(obj) else None
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if shadowed is not None and module and qualname and not module.startswith(package + "."):
        return path
    if shadowed is not None and module and qualname:
        return f"{module}.{qualname}"
    return path


def main() -> None:
    nav = []
    for package in public_packages():
        with mkdocs_gen_files.open(f"reference/{package}.md", "w") as out:
            out.write(page(package))
        nav.append(f"* [{package}]({package}.md)\n")
    with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as out:
        out.writelines(nav)


main()
