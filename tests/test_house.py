"""The package's layout keeps its design: no import circles, client and server apart, commands
apart from the library, one error tree, a public surface without module names, small modules.

The import graph is read from the source with `ast` (every ``import`` anywhere in a module,
function-level ones included: a circle through a late import is still a circle).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import emotion_analytics as ea
from emotion_analytics import errors

PACKAGE = Path(ea.__file__).parent
#: A module longer than this says in its docstring why it is one piece ("Why one module: ...").
MAX_LINES = 600


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports (explicitly, anywhere in its source)."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & set(MODULES)
            out |= subs
            if len(subs) < len(node.names):  # a name defined in the module itself
                out.add(target)
    return {m for m in out if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _reach(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    # the reader must see late imports and relative ones, or the checks below prove nothing
    assert "emotion_analytics.protocol" in GRAPH["emotion_analytics.client"]
    assert "emotion_analytics.protocol" in GRAPH["emotion_analytics.server.webhooks"]
    assert "emotion_analytics.io.rttm" in GRAPH["emotion_analytics.io"]
    assert len(MODULES) > 40


def test_no_import_circles():
    assert _cycles() == []


def test_client_and_server_never_import_each_other():
    server = {m for m in MODULES if m.startswith("emotion_analytics.server")}
    assert not _reach("emotion_analytics.client") & server
    for module in server:
        assert "emotion_analytics.client" not in _reach(module), module


def test_protocol_is_imported_by_client_server_and_responses_and_imports_none_of_them():
    assert _reach("emotion_analytics.protocol") <= {"emotion_analytics.errors"}
    users = {m for m, deps in GRAPH.items() if "emotion_analytics.protocol" in deps}
    assert {"emotion_analytics.client", "emotion_analytics.responses"} <= users
    assert any(m.startswith("emotion_analytics.server") for m in users)
    # the reader of answers knows neither side of the wire; the server's modules do not read
    # answers either (recognition does, for them). The client may turn the answers it got into
    # a table (`recognise_many`): that is the flow's direction, answers -> table.
    for module in ("responses", "io.answers"):
        assert not any(d.startswith(("emotion_analytics.client", "emotion_analytics.server"))
                       for d in _reach(f"emotion_analytics.{module}")), module
    for module, deps in GRAPH.items():
        if module.startswith("emotion_analytics.server"):
            assert "emotion_analytics.responses" not in deps, module


def _is_shim(module: str) -> bool:
    """A module of re-exports only (a former home kept for old import paths): no code of its own."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in tree.body)


def test_commands_are_apart_from_the_library():
    commands = {m for m in MODULES if m.startswith("emotion_analytics.commands")}
    assert {"emotion_analytics.commands.analyze", "emotion_analytics.commands.serve"} <= commands
    for module, deps in GRAPH.items():
        if module in commands or module == "emotion_analytics.cli" or _is_shim(module):
            continue
        assert not deps & commands, f"library module {module} imports a command"
        source = MODULES[module].read_text(encoding="utf-8")
        assert "argparse" not in source.split('"""', 2)[-1], f"{module} parses arguments"


def test_dir_shows_only_the_public_surface():
    code = ("import emotion_analytics as ea, emotion_analytics.io, emotion_analytics.errors, "
            "emotion_analytics.client; print(' '.join(dir(ea)))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split()
    assert shown == sorted([*ea.__all__, "__version__"])
    for leaked in ("io", "errors", "accessor", "annotations", "import_module", "Any", "client"):
        assert leaked not in shown
    for name in ea.__all__:
        assert getattr(ea, name) is not None, name


def _error_classes() -> list[type]:
    return [v for v in vars(errors).values()
            if isinstance(v, type) and issubclass(v, BaseException)
            and v.__module__ == errors.__name__]


def test_every_error_is_in_one_tree_and_exported():
    classes = _error_classes()
    assert len(classes) >= 16
    for cls in classes:
        assert issubclass(cls, ea.EmotionAnalyticsError), cls
        assert getattr(ea, cls.__name__) is cls
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} is missing from the tree"
    from emotion_analytics.server.runner import JobFailure
    from emotion_analytics.server.state import Fault

    assert issubclass(Fault, ea.APIError) and issubclass(JobFailure, ea.APIError)


def test_errors_are_defined_in_errors_py_and_no_tuple_is_named_like_one():
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
            if "NamedTuple" in bases:
                assert not node.name.endswith(("Error", "Exception")), (module, node.name)
            is_error = any(b.endswith(("Error", "Exception")) for b in bases)
            if is_error and module != "emotion_analytics.errors":
                pytest.fail(f"{module}.{node.name} is an error outside emotion_analytics.errors")


#: Modules over the limit whose split is still to do (issue 9), by their owners' work this round.
#: The list can only shrink: a module listed here that is short again fails the test below.
NOT_YET_SPLIT: set[str] = set()  # every module is split now; keep it empty


def test_long_modules_say_why_they_are_one_piece():
    long = set()
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > MAX_LINES and "Why one module:" not in doc:
            long.add(module)
    assert long - NOT_YET_SPLIT == set(), "split these modules, or say why they are one piece"
    assert NOT_YET_SPLIT - long == set(), "these are short now: take them off NOT_YET_SPLIT"


#: One spelling for each concept in code identifiers: the spelling of the fixed public names
#: (``recognise`` from the design guide; ``analyze`` and pandas' ``normalize=``). Prose may keep
#: British spelling. Patterns: (British, American); "analysis" is the noun of both.
SPELLINGS = {
    "normalize": (r"normalis", r"normaliz"),
    "analyze": (r"analys(?!is)", r"analyz"),
    "recognise": (r"recognis", r"recogniz"),
    "colour": (r"colour", r"color"),
    "standardise": (r"standardis", r"standardiz"),
}
#: Former names kept as aliases (``old = new`` at module level under a ``#: Alias of`` comment).
ALIASES = {
    "emotion_analytics.schema": {"normalise"},
    "emotion_analytics.widgets": {"analyse_uploads"},
    "emotion_analytics.model.fitting": {"speaker_normalise"},
}


def _defined_names(source: str) -> tuple[set[str], set[str]]:
    """The identifiers a module defines (functions, classes, parameters, assigned names and
    attributes, import aliases), and those of them that are documented aliases."""
    tree = ast.parse(source)
    lines = source.splitlines()
    names: set[str] = set()
    aliases: set[str] = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Name)
                and node.lineno > 1 and lines[node.lineno - 2].startswith("#: Alias of")):
            aliases.add(node.targets[0].id)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
    return names, aliases


def _spellings(named: dict[str, set[str]]) -> dict[str, dict[str, set[str]]]:
    """Per concept that has both spellings: ``{"British": {where: name}, "American": ...}``."""
    import re

    mixed = {}
    for concept, patterns in SPELLINGS.items():
        found = [{f"{where}.{n}" for where, ns in named.items() for n in ns if re.search(p, n)}
                 for p in patterns]
        if all(found):
            mixed[concept] = dict(zip(("British", "American"), found, strict=True))
    return mixed


def test_the_spelling_check_can_fail():
    names, aliases = _defined_names(
        "def normalise(df):\n    return df\n\n\ndef f(x, *, normalize=False):\n    return x\n"
        "\n\n#: Alias of `f`.\nanalyse = f\n"
    )
    assert aliases == {"analyse"}
    assert set(_spellings({"m": names})) == {"normalize"}


def test_one_spelling_for_each_concept_in_code():
    named = {}
    for module, path in MODULES.items():
        names, aliases = _defined_names(path.read_text(encoding="utf-8"))
        assert aliases == ALIASES.get(module, set()), f"{module}: aliases {aliases}"
        named[module] = names - aliases
    assert _spellings(named) == {}
    for module, old in ALIASES.items():
        mod = __import__(module, fromlist=["_"])
        for name in old:
            assert name in (mod.__doc__ or "") or name in MODULES[module].read_text(), name
