"""The printers package stays pure hardware code."""

from __future__ import annotations

import ast
from pathlib import Path

import printers

FORBIDDEN = ("flask", "sqlalchemy", "station", "flask_sqlalchemy", "flask_login", "flask_wtf")
PACKAGE = Path(printers.__file__).resolve().parent


def _imported_roots(tree: ast.AST) -> set[str]:
    """Return the top-level module names imported anywhere in *tree*."""
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_printers_import_no_flask_sqlalchemy_or_station() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        assert not roots & set(FORBIDDEN), f"{path.name} imports {sorted(roots & set(FORBIDDEN))}"


def test_public_api_is_sorted_and_resolves() -> None:
    assert printers.__all__ == sorted(printers.__all__)
    assert len(set(printers.__all__)) == len(printers.__all__)
    for name in printers.__all__:
        assert getattr(printers, name) is not None
