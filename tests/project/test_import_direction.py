"""The product (``proactief``) never depends on the test harness (``proactief_sim``), and its packages import each
other in one direction only: a package-level import cycle is how the harness once got into the product (the
city-file readers loaded the population generator).

Both checks read every import statement, at module level and inside functions (the CLI imports lazily)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "include" / "proactief"
HARNESS = "proactief_sim"

# Package-level cycles allowed to remain: none (grants <-> notify went when the delivery basics moved to
# proactief.delivery and the composition root to proactief.wiring). Never add to it.
KNOWN_CYCLES: list[set[str]] = []


def _product_modules() -> dict[str, Path]:
    """Dotted name -> file for every module of ``proactief`` (magda_ref holds reference data, no code)."""
    out = {}
    for path in sorted(PRODUCT.rglob("*.py")):
        parts = path.relative_to(PRODUCT.parent).with_suffix("").parts
        if "magda_ref" in parts:
            continue
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imported(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in the file, wherever it stands; ``from pkg import mod`` names both
    ``pkg`` and ``pkg.mod`` (either may be a module)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")):
            found.append((node.lineno, node.args[0].value))
    return found


def _unit(module: str) -> str | None:
    """The package (or top-level module) of ``proactief`` a module belongs to: ``advice``, ``cli``, …"""
    parts = module.split(".")
    return parts[1] if parts[0] == "proactief" and len(parts) > 1 else None


def _package_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> where (``module:line -> target``), for imports between different units."""
    modules = _product_modules()
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, path in modules.items():
        for line, target in _imported(module, path):
            here, there = _unit(module), _unit(target)
            if here and there and here != there and (f"proactief.{there}" in modules):
                graph[here][there].append(f"{module}:{line} -> {target}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[set[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_no_product_module_imports_the_harness() -> None:
    offenders = [f"{module}:{line} imports {target}"
                 for module, path in _product_modules().items()
                 for line, target in _imported(module, path)
                 if target == HARNESS or target.startswith(HARNESS + ".")]
    assert not offenders, "the product must not import the test harness:\n" + "\n".join(offenders)


def test_importing_every_product_module_and_running_a_product_command_loads_no_harness_module() -> None:
    """At runtime too: importing every module of ``proactief`` (and asking the CLI for a product command, which
    looks commands up by name) leaves ``proactief_sim`` unloaded."""
    # alembic's migration scripts run only inside alembic (they read alembic.context at import)
    importable = sorted(m for m in _product_modules() if ".migrations" not in m and not m.endswith(".__main__"))
    script = f"""
import importlib, json, sys
for name in {importable!r}:
    importlib.import_module(name)
from typer.testing import CliRunner
from proactief.cli import app
result = CliRunner().invoke(app, ["db", "upgrade", "--help"])
assert result.exit_code == 0, result.output
print(json.dumps(sorted(m for m in sys.modules if m == {HARNESS!r} or m.startswith({HARNESS!r} + "."))))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_harness_commands_are_offered_by_the_product_cli_through_the_entry_point() -> None:
    """`proactief magda-sim|population|demo` still exist, registered by proactief_sim's entry points."""
    from typer.testing import CliRunner

    from proactief.cli import app

    runner = CliRunner()
    listing = runner.invoke(app, ["--help"]).output
    assert all(name in listing for name in ("magda-sim", "population", "demo", "db", "consult"))
    generate = runner.invoke(app, ["population", "generate", "--help"])
    assert generate.exit_code == 0 and "--seed" in generate.output and "--as-of" in generate.output
    assert runner.invoke(app, ["no-such-command"]).exit_code != 0


def test_the_product_packages_import_each_other_without_cycles() -> None:
    graph = _package_graph()
    assert {"advice", "citydata", "lifecycle", "magda", "cli"} <= set(graph) | {u for v in graph.values() for u in v}
    unexpected = [c for c in _cycles(graph) if c not in KNOWN_CYCLES]
    detail = [f"{a} -> {b}: {graph[a][b][:3]}" for c in unexpected for a in sorted(c) for b in sorted(c)
              if b in graph.get(a, {})]
    assert not unexpected, "import cycle between packages of proactief:\n" + "\n".join(detail)


def test_the_known_cycles_list_names_only_cycles_that_still_exist() -> None:
    """So the allow-list shrinks as cycles are removed instead of hiding a new one later."""
    cycles = _cycles(_package_graph())
    assert [c for c in KNOWN_CYCLES if c not in cycles] == []


def test_imports_inside_functions_and_relative_imports_are_read(tmp_path: Path) -> None:
    path = tmp_path / "engine.py"
    path.write_text("from . import city\n\ndef run():\n    from proactief_sim.population import generate\n")
    assert _imported("proactief.advice.engine", path) == [
        (1, "proactief.advice"), (1, "proactief.advice.city"),
        (4, "proactief_sim.population"), (4, "proactief_sim.population.generate")]


def test_the_cycle_finder_reports_each_cycle_once() -> None:
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert _cycles(graph) == [{"a", "b", "c"}]
