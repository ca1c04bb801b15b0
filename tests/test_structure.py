"""The package's shape, read from its source: layers import downward only, no cycles, no
function-local imports of spattenc modules, short functions, small stateful classes and
no caches keyed by object identity (docs/architecture.md, "Invariants")."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spattenc"

#: Each module's layer, by the longest matching name prefix; a module imports only from
#: its own layer or the layers below (a smaller number).
LAYERS = {
    "spattenc._version": 0,
    "spattenc.ir": 1,
    "spattenc.front": 2,
    "spattenc.middle": 3,
    "spattenc.backends": 4,
    "spattenc.driver": 5,
    "spattenc.files": 5,
    "spattenc.run": 6,
    "spattenc.present": 7,
    "spattenc.api": 8,
    "spattenc.cli": 9,
    "spattenc.__main__": 9,
    "spattenc": 9,  # the package facade (spattenc.load, spattenc.SpecError)
}

MAX_FUNCTION_LINES = 80
MAX_STATE_ATTRIBUTES = 12


@dataclass(frozen=True)
class Import:
    """One import statement of a module: the spattenc module it names, where, and whether
    it sits inside a function."""

    module: str
    target: str
    line: int
    local: bool


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, is_package: bool, node: ast.stmt, known: set[str]) -> list[str]:
    """The spattenc modules an import statement loads (`from a import b`, b a module, is b)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "spattenc"]
    base = _resolve(module, is_package, node)
    if base.split(".")[0] != "spattenc":
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def imports_of(path: Path, known: set[str], root: Path = PACKAGE) -> list[Import]:
    """Every import of spattenc modules in a source file, module-level or local."""
    module = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    local_lines = {n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _targets(module, path.name == "__init__.py", node, known):
                out.append(Import(module, target, node.lineno, node.lineno in local_lines))
    return out


def layer_of(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def sources(root: Path = PACKAGE) -> list[Path]:
    # backends/simlib holds the simulators' runtime: standalone modules pasted into
    # generated files, importing only numpy and each other (tests/test_simlib.py).
    return sorted(p for p in root.rglob("*.py") if "simlib" not in p.parts)


def graph(root: Path = PACKAGE) -> list[Import]:
    known = {module_name(p, root) for p in root.rglob("*.py")}
    return [i for p in sources(root) for i in imports_of(p, known, root)]


def upward(imports: list[Import]) -> list[str]:
    return [f"{i.module}:{i.line} imports {i.target} (layer {layer_of(i.module)} -> {layer_of(i.target)})"
            for i in imports if layer_of(i.target) > layer_of(i.module)]


def cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for i in imports:
        if i.target != i.module and not i.module.startswith(i.target + "."):  # a package's own __init__
            edges.setdefault(i.module, set()).add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def long_functions(root: Path = PACKAGE) -> list[str]:
    out = []
    for path in sources(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({n} lines)")
    return out


def stateful_classes(root: Path = PACKAGE) -> list[str]:
    """Classes assigning more than MAX_STATE_ATTRIBUTES distinct `self.x` in their methods."""
    out = []
    for path in sources(root):
        for cls in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(cls, ast.ClassDef):
                continue
            attrs = {n.attr for f in cls.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                     for n in ast.walk(f)
                     if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
                     and isinstance(n.value, ast.Name) and n.value.id == "self"}
            if len(attrs) > MAX_STATE_ATTRIBUTES:
                out.append(f"{path.relative_to(root.parent)}:{cls.lineno} {cls.name} ({len(attrs)} attributes)")
    return out


def identity_keys(root: Path = PACKAGE) -> list[str]:
    """Calls of id(...): an object's identity as a key (caches that outlive their object)."""
    return [f"{p.relative_to(root.parent)}:{n.lineno}" for p in sources(root)
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "id"]


def test_every_module_has_a_layer():
    known = {module_name(p) for p in sources()}
    assert known and all(layer_of(m) >= 0 for m in known)


def test_layers_import_downward_only():
    assert upward(graph()) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_no_function_local_imports_of_spattenc_modules():
    assert [f"{i.module}:{i.line} {i.target}" for i in graph() if i.local] == []


def test_functions_fit_on_a_screen():
    assert long_functions() == []


def test_stateful_classes_are_small():
    assert stateful_classes() == []


def test_no_identity_keyed_caches():
    assert identity_keys() == []


# ---------------------------------------------------------------- the checks can fail
BAD = {
    "ir/nodes.py": "from spattenc.middle import lower\n",
    "ir/errors.py": "",
    "middle/lower.py": "def f():\n    from spattenc.run import sweep\n    return sweep\n",
    "run/sweep.py": "from spattenc.present import plots\n",
    "present/plots.py": "from spattenc.run import sweep\n",
    "front/parser.py": "import spattenc.ir.nodes as n\n",
}


@pytest.fixture()
def bad_package(tmp_path) -> Path:
    root = tmp_path / "spattenc"
    for rel, text in BAD.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for folder in {root, *(p.parent for p in root.rglob("*.py"))}:
        (folder / "__init__.py").touch()
    return root


def test_the_import_checks_find_upward_imports_cycles_and_local_imports(bad_package):
    imports = graph(bad_package)
    ups = upward(imports)
    assert any(u.startswith("spattenc.ir.nodes:1 imports spattenc.middle.lower") for u in ups)
    assert any(u.startswith("spattenc.middle.lower:2 imports spattenc.run.sweep") for u in ups)
    assert any(u.startswith("spattenc.run.sweep:1 imports spattenc.present.plots") for u in ups)
    assert not any(u.startswith("spattenc.front.parser") for u in ups)
    assert cycles(imports) == [["spattenc.present.plots", "spattenc.run.sweep"]]
    assert [(i.module, i.target) for i in imports if i.local] == [("spattenc.middle.lower", "spattenc.run.sweep")]


def test_the_shape_checks_find_long_functions_big_classes_and_identity_keys(tmp_path):
    root = tmp_path / "spattenc"
    root.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    attrs = "\n".join(f"        self.a{i} = {i}" for i in range(MAX_STATE_ATTRIBUTES + 1))
    (root / "m.py").write_text(f"def long():\n{body}\n\n\nclass Big:\n    def __init__(self):\n{attrs}\n\n\n"
                               "_CACHE = {}\n\n\ndef cached(x):\n    return _CACHE.setdefault(id(x), x)\n")
    assert [s.split(" ")[1] for s in long_functions(root)] == ["long"]
    assert [s.split(" ")[1] for s in stateful_classes(root)] == ["Big"]
    assert len(identity_keys(root)) == 1
