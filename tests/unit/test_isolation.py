"""The unit suite cannot reach a database or a cache, and the layer's modules import without a cycle."""

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.conftest import NetworkInUnitTest
from trigger_platform.adapters.cache import RedisCache
from trigger_platform.adapters.postgres import Database

PACKAGE = ROOT / "layers" / "core" / "trigger_platform"


def test_postgresql_is_out_of_reach() -> None:
    with pytest.raises(NetworkInUnitTest), Database(lambda: "postgresql://postgres@127.0.0.1:5432/postgres").cursor():
        pass


def test_redis_is_out_of_reach() -> None:
    with pytest.raises(NetworkInUnitTest):
        RedisCache("redis://127.0.0.1:6379/0").get("anything")


def _imports(path: Path) -> set[str]:
    """The trigger_platform modules ``path`` imports, at any depth (TYPE_CHECKING blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trigger_platform"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("trigger_platform")}
    return found


def test_the_layer_has_no_import_cycle() -> None:
    modules = {
        ".".join(("trigger_platform", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): path
        for path in PACKAGE.rglob("*.py")
    }
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for dependency in graph[name]:
            visit(dependency)
        visiting.pop()
        done.add(name)

    for name in graph:
        visit(name)
