"""The code's shape, checked by reading it: one writer of run folders, status words in one module, no import cycle in
``training/``, and a trainer short enough to read as the flow it is.

Each check scans the source with ``ast`` and has a companion test showing the scan finds the thing it forbids, so a
scan that silently matches nothing fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LAB_PACKAGES = ("training", "runstore", "analysis", "serving", "dashboard", "labkeras")

# What a run folder holds that only runstore/writer.py may write.
RUN_FILE_CONSTANTS = {"RUN_FILE", "HISTORY_FILE", "PREDICTIONS_FILE", "MODEL_FILE", "SUMMARY_FILE"}
RUN_FILE_NAMES = {"run.json", "history.csv", "predictions.npz", "model.keras", "summary.txt"}
WRITE_CALLS = {"atomic_write_json", "atomic_write_text", "atomic_write_bytes", "write_text", "write_bytes", "save",
               "save_weights", "savez", "savez_compressed", "replace", "rename", "copy", "copyfile", "copy2", "move"}
WRITERS = {"runstore/writer.py", "runstore/atomic.py"}

STATUS_WORDS = {"running", "complete", "failed", "interrupted", "broken", "resumable"}
STATUS_HOME = "runstore/status.py"


def lab_modules() -> dict[str, ast.Module]:
    """Every module of the lab (not tests or benchmarks), by path relative to the repository."""
    paths = [path for package in LAB_PACKAGES for path in (REPO_ROOT / package).rglob("*.py")]
    paths += [path for path in REPO_ROOT.glob("*.py")]
    return {path.relative_to(REPO_ROOT).as_posix(): ast.parse(path.read_text(encoding="utf-8")) for path in sorted(paths)}


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else None


def _writes(call: ast.Call) -> bool:
    name = _call_name(call)
    if name == "open":
        modes = call.args[1:2] + [keyword.value for keyword in call.keywords if keyword.arg == "mode"]
        return any(isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+") for mode in modes)
    return name in WRITE_CALLS


def _names_a_run_file(node: ast.AST) -> bool:
    """Whether ``node`` names a run-folder file: a layout constant, or its literal name joined onto a path."""
    for item in ast.walk(node):
        if isinstance(item, (ast.Name, ast.Attribute)) and getattr(item, "id", getattr(item, "attr", None)) in RUN_FILE_CONSTANTS:
            return True
        if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Div):
            if any(isinstance(side, ast.Constant) and side.value in RUN_FILE_NAMES for side in (item.left, item.right)):
                return True
    return False


def run_file_writers(modules: dict[str, ast.Module]) -> list[str]:
    """``path:function`` of every function outside the writer that names a run-folder file and writes a file."""
    found = []
    for path, tree in modules.items():
        if path in WRITERS:
            continue
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            writes = any(isinstance(node, ast.Call) and _writes(node) for node in ast.walk(function))
            if writes and _names_a_run_file(function):
                found.append(f"{path}:{function.name}")
    return found


def status_literals(modules: dict[str, ast.Module]) -> list[str]:
    """``path:line 'word'`` of every status word spelled as a string outside ``runstore/status.py`` (docstrings aside)."""
    found = []
    for path, tree in modules.items():
        if path == STATUS_HOME:
            continue
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in STATUS_WORDS and id(node) not in docstrings:
                found.append(f"{path}:{node.lineno} {node.value!r}")
    return found


def training_import_graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    """``training.x`` -> the ``training.*`` modules it imports, at the top or inside functions."""
    graph: dict[str, set[str]] = {}
    for path, tree in modules.items():
        if not path.startswith("training/"):
            continue
        name = path[:-3].replace("/", ".").removesuffix(".__init__")
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("training"):
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name.startswith("training"))
        graph[name] = imported
    return {module: {target for target in targets if target in graph and target != module} for module, targets in graph.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk of ``graph`` (each reported once, from where the walk met it)."""
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


@pytest.fixture(scope="module")
def modules():
    return lab_modules()


def test_only_the_writer_writes_run_folder_files(modules):
    assert run_file_writers(modules) == []


def test_the_writer_scan_finds_a_writer_elsewhere():
    snippet = ast.parse(
        "def mark(folder):\n"
        "    record = json.loads((folder / RUN_FILE).read_text())\n"
        "    atomic_write_json(folder / RUN_FILE, {**record, 'status': 'x'})\n"
        "def save(folder, model):\n"
        "    model.save(folder / 'model.keras')\n"
        "def upload(folder, data):\n"
        "    (folder / f\"history-{'history.csv'}\").write_bytes(data)  # a staged upload, not a run file\n"
    )
    assert run_file_writers({"analysis/x.py": snippet}) == ["analysis/x.py:mark", "analysis/x.py:save"]
    assert run_file_writers({"runstore/writer.py": snippet}) == []


def test_status_words_are_spelled_only_in_runstore_status(modules):
    assert status_literals(modules) == []


def test_the_status_scan_finds_a_spelled_status():
    snippet = ast.parse('"""complete"""\nif info.status == "complete":\n    pass\nlabel = "running (epoch 3 done)"\n')
    assert status_literals({"dashboard/x.py": snippet}) == ["dashboard/x.py:2 'complete'"]


def test_training_has_no_import_cycle(modules):
    assert import_cycles(training_import_graph(modules)) == []


def test_the_cycle_scan_finds_a_cycle():
    graph = {"training.suites": {"training.executors"}, "training.executors": {"training.suites"}, "training.cli": set()}
    assert import_cycles(graph) == [["training.executors", "training.suites", "training.executors"]]


def test_the_trainer_reads_as_the_flow_only():
    lines = (REPO_ROOT / "training" / "train.py").read_text(encoding="utf-8").count("\n")
    assert lines < 350, f"training/train.py has {lines} lines; move what is not the flow into its own module"
