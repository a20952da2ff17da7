"""The architecture's arrows, enforced: the import-linter contracts in .importlinter,
no import cycle among our modules (imports inside functions counted), no capability
reaching into another's private names, and every import inside a function of ours
saying why it is there."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
OURS = ("states", "workflow", "notifications", "cli", "web")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in OURS:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _imports(tree: ast.AST, name: str, is_pkg: bool) -> list[tuple[ast.stmt, str, str]]:
    """(statement, module imported from, imported name) for each import of ours."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node, a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
            out += [(node, base, a.name) for a in node.names]
    return [(n, m, a) for n, m, a in out if m.split(".")[0] in OURS]


def test_import_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(linter), "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_cycles_counting_imports_inside_functions() -> None:
    mods = _modules()

    def resolve(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for _, base, name in _imports(tree, m, f.name == "__init__.py"):
            target = resolve(f"{base}.{name}" if f"{base}.{name}" in mods else base)
            if target and target != m and not m.startswith(target + "."):
                graph[m].add(target)
    # a cycle exists when a module reaches itself
    cycles = []
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node == start:
                cycles.append(start)
                break
            if node not in seen:
                seen.add(node)
                todo += graph[node]
    assert not cycles, f"modules in an import cycle: {sorted(cycles)}"


def _capability(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "workflow" else parts[0]


def test_no_capability_imports_another_ones_private_names() -> None:
    wrong = []
    for m, f in _modules().items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node, base, name in _imports(tree, m, f.name == "__init__.py"):
            private = name.startswith("_") and name != "__future__"
            if private and _capability(base) != _capability(m):
                wrong.append(f"{f.relative_to(ROOT)}:{node.lineno} imports {base}.{name}")
    assert not wrong, "\n".join(wrong)


def _says_start_up(lines: list[str], first: int, end: int) -> bool:
    """The import's own lines, or the comment heading its block of imports, say 'start-up'."""
    if any("start-up" in line for line in lines[first:end]):
        return True
    i = first - 1
    while i >= 0 and lines[i].strip().startswith(("from ", "import ", "#")):
        if "start-up" in lines[i]:
            return True
        i -= 1
    return False


def test_imports_inside_functions_say_why() -> None:
    """An import of ours inside a function is kept only to start up quickly (the CLI
    builds its commands lazily); the line or the one above says so with 'start-up'."""
    silent = []
    for m, f in _modules().items():
        lines = f.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        inner = {id(x) for fn in funcs for x in ast.walk(fn)}
        for node, _, _ in _imports(tree, m, f.name == "__init__.py"):
            if id(node) not in inner:
                continue
            if not _says_start_up(lines, node.lineno - 1, node.end_lineno or node.lineno):
                silent.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert not silent, "imports inside functions without a start-up comment:\n" + "\n".join(
        sorted(set(silent))
    )
