"""Imports flow one way (DESIGN.md): router emits, collector stores, analytics reads, dashboard
shows; the catalog is a leaf. Checked on the source (AST), and on what a fresh process loads."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Our top-level packages, and the directory each lives in (sql/ installs as mmoa.sql).
PACKAGES = {
    "catalog": "catalog",
    "router": "router",
    "collector": "collector",
    "analytics": "analytics",
    "dashboard": "dashboard",
    "mmoa": "mmoa",
    "mmoa.sql": "sql",
}

# package -> (forbidden module prefixes, allowed exceptions to them)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "catalog": (("router", "collector", "analytics", "dashboard", "mmoa"), ()),
    "router": (
        (
            "collector",
            "analytics",
            "dashboard",
            "mmoa",
            "opentelemetry.sdk",
            "opentelemetry.exporter",
        ),
        (),
    ),
    "collector": (("router", "analytics", "dashboard", "mmoa"), ("mmoa.sql",)),
    "analytics": (("router", "collector", "dashboard", "mmoa"), ("mmoa.sql",)),
    "dashboard": (("catalog", "router", "collector", "mmoa"), ()),
}


def _module_name(package: str, path: Path) -> str:
    """Dotted name of a source file, e.g. router/providers/base.py -> router.providers.base."""
    rel = path.relative_to(REPO / PACKAGES[package]).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([package, *parts])


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module a source file imports, anywhere in it (functions and TYPE_CHECKING too).

    `from a import b` yields `a.b` (b may be a submodule); relative imports are resolved.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(base if alias.name == "*" else f"{base}.{alias.name}")
    return found


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(package: str, imported: set[str]) -> list[str]:
    forbidden, allowed = RULES[package]
    return sorted(
        name
        for name in imported
        if any(_matches(name, f) for f in forbidden) and not any(_matches(name, a) for a in allowed)
    )


def _sources(package: str) -> list[Path]:
    return sorted((REPO / PACKAGES[package]).rglob("*.py"))


# ------------------------------------------------------------------------- the checker itself


def test_checker_sees_every_kind_of_import() -> None:
    source = (
        "import collector\n"
        "import opentelemetry.sdk.trace as sdk\n"
        "from mmoa import settings\n"
        "from . import telemetry\n"
        "from ..catalog import Usage\n"
        "def later():\n"
        "    from analytics.report import build\n"
        "if TYPE_CHECKING:\n"
        "    from dashboard import *\n"
    )
    found = imports_of(source, "router.providers.base")
    assert found == {
        "collector",
        "opentelemetry.sdk.trace",
        "mmoa.settings",
        "router.providers.telemetry",
        "router.catalog.Usage",
        "analytics.report.build",
        "dashboard",
    }
    assert violations("router", found) == [
        "analytics.report.build",
        "collector",
        "dashboard",
        "mmoa.settings",
        "opentelemetry.sdk.trace",
    ]


@pytest.mark.parametrize(
    ("package", "imported", "expected"),
    [
        ("collector", {"mmoa.sql", "catalog.Catalog"}, []),
        ("collector", {"mmoa.sql.read", "mmoa.cli"}, ["mmoa.cli"]),
        ("analytics", {"mmoa.sql", "catalog.cost"}, []),
        ("analytics", {"router.config"}, ["router.config"]),
        ("catalog", {"mmoa.sql", "yaml"}, ["mmoa.sql"]),
        ("dashboard", {"analytics.report", "mmoa.sql", "catalog"}, ["catalog", "mmoa.sql"]),
        ("router", {"opentelemetry.trace", "routerx"}, []),
    ],
)
def test_rules(package: str, imported: set[str], expected: list[str]) -> None:
    assert violations(package, imported) == expected


def test_relative_import_in_package_init() -> None:
    assert imports_of("from .errors import X", "collector", is_package=True) == {
        "collector.errors.X"
    }


# ---------------------------------------------------------------------------- the repository


def test_every_package_has_sources() -> None:
    for package in RULES:
        assert _sources(package), f"{package}/ has no .py files"


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_flow_one_way(package: str) -> None:
    problems = []
    for path in _sources(package):
        module = _module_name(package, path)
        found = imports_of(
            path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py"
        )
        problems += [f"{path.relative_to(REPO)}: {name}" for name in violations(package, found)]
    assert problems == []


# ---------------------------------------------------------------------- what processes import


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


HEAVY_FOR_ROUTER = ["anthropic", "openai", "google.genai", "streamlit", "polars"]


def test_import_router_stays_light() -> None:
    probe = (
        "import json, sys\n"
        "import router\n"
        f"print(json.dumps([m for m in {HEAVY_FOR_ROUTER!r} if m in sys.modules]))\n"
        "print(json.dumps('router.router' in sys.modules))\n"
    )
    result = _run("-c", probe)
    assert result.returncode == 0, result.stderr
    heavy, loaded = result.stdout.splitlines()
    assert json.loads(heavy) == []
    assert json.loads(loaded) is True


def test_mmoa_help_exits_zero() -> None:
    result = _run("-m", "mmoa", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mmoa")


HEAVY_FOR_HELP = ("duckdb", "streamlit", "polars", "genai_prices")


def test_mmoa_help_stays_light() -> None:
    result = _run("-X", "importtime", "-m", "mmoa", "--help")
    assert result.returncode == 0
    # lines look like "import time:       123 |        456 |     mmoa.cli"
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "mmoa.cli" in imported  # the scan really sees our imports
    assert sorted(m for m in imported if any(_matches(m, h) for h in HEAVY_FOR_HELP)) == []
