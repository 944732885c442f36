"""The package's layers import only downward, without cycles (read with ast: nothing is imported).

The layers, bottom to top, as docs/architecture.md draws them. A module may import
modules of its own layer or below; within a layer the imports must not form a cycle.
"""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "nablanet"

LAYERS = [
    ("maths", ["_version", "errors", "blas", "registry", "defaults", "activations", "costs", "initializers"]),
    ("network", ["buffers", "network"]),
    ("backprop", ["backprop"]),
    ("optimizers", ["optimizers"]),
    ("loop", ["batches", "parallel", "train"]),
    ("files and data", ["io", "datasets"]),
    ("training plugins", ["training"]),
    ("interfaces", ["teaching", "viz", "estimators", "export", "cli", "web", "__init__", "__main__"]),
]
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    assert top in RANK, f"{module} is in no layer: add it to LAYERS and to docs/architecture.md"
    return RANK[top]


def imports(path: pathlib.Path):
    """(line, imported nablanet module, inside a function?) for every import, TYPE_CHECKING aside."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return _imports(path.read_text(), package)


def _imports(source: str, package: str):
    tree = ast.parse(source)
    skip = set()
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks are for the type checker only
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == "nablanet"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if stem.split(".")[0] != "nablanet":
                continue
            # `from . import x` may name a module; `from .m import f` names m.
            targets = [f"{stem}.{a.name}" if _is_module(f"{stem}.{a.name}") else stem for a in node.names]
        for t in targets:
            yield node.lineno, t, id(node) in in_function


def _is_module(name: str) -> bool:
    rel = pathlib.Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


FILES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in FILES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down_and_not_from_inside_functions(path):
    here = module_name(path)
    problems = []
    for line, target, in_function in imports(path):
        if target == "nablanet" and here != "nablanet":
            problems.append(f"line {line}: imports the package root, the top layer")
        elif layer_of(target) > layer_of(here):
            problems.append(f"line {line}: {target} is in a higher layer than {here}")
        if in_function:
            problems.append(f"line {line}: imports {target} inside a function (an upward import in disguise)")
    assert not problems, f"{here}:\n" + "\n".join(problems)


def test_no_import_cycle():
    graph = {module_name(p): {t for _, t, _ in imports(p)} for p in FILES}
    # A module importing its own package's __init__ (or a submodule) is not a cycle of modules.
    graph = {m: {t for t in ts if t in graph and t != m} for m, ts in graph.items()}
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for t in graph[m]:
            if t.startswith(m + "."):  # a package's __init__ re-exporting its own modules
                continue
            if state.get(t) == 1:
                cycle = path[path.index(t) :] + [t]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_the_check_can_fail():
    """An upward import, and one hidden in a function, are both found."""
    found = list(_imports("from .train import fit\n\ndef f():\n    from .io import model\n", "nablanet"))
    assert [(t, inside) for _, t, inside in found] == [("nablanet.train", False), ("nablanet.io.model", True)]
    assert layer_of("nablanet.train") > layer_of("nablanet.network")
