"""DAG import test and policy checks, run with the Airflow of the MWAA toolchain venv.

    python dag_check.py --dag-folder DIR --package NAME [--plugins-folder DIR] [--file F ...]
                        [--budget-seconds N] [--repo-root DIR] [--out FILE]

Writes one JSON document (to --out, else stdout):
    {"airflowVersion": "...", "files": [{"file", "seconds", "dags": [...]}], "findings": [...]}
Each finding has code, severity, asset, file (relative to --repo-root), line and message; codes are
documented in docs/findings.md. The process exits 0 whenever it could run; findings carry the verdict.

The DAG folder is checked where MWAA puts it: `<tmp>/dags/<package>/` (a link to the repo's DAG
folder; lib/runtime/mwaa/dag-package.ts names the package), with only `<tmp>/dags` (and
`<tmp>/plugins` when the repo has plugins) on sys.path, never the repo root or the DAG folder
itself. So a DAG that imports its helpers as top-level modules (`from common import x`) fails here as
it fails on MWAA, and the finding says to import them as `<package>.common`. Reported files stay
relative to the repo root.

Each file is imported on its own through DagBag (the way the MWAA scheduler parses it), so one file's
import time and errors are attributed to that file. Policy checks read the DAG objects that imported
and the file's syntax tree (for what the objects cannot tell, such as whether catchup was explicit).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

# Calls that do I/O or heavy work when made at module level, i.e. on every scheduler parse.
HEAVY_CALLS = {
    "Variable.get": "reads an Airflow Variable from the metadata database",
    "Connection.get_connection_from_secrets": "reads a connection from the secrets backend",
    "BaseHook.get_connection": "reads a connection from the secrets backend",
    "requests.get": "makes an HTTP request",
    "requests.post": "makes an HTTP request",
    "urllib.request.urlopen": "makes an HTTP request",
    "boto3.client": "creates an AWS client",
    "boto3.resource": "creates an AWS client",
    "time.sleep": "sleeps",
    "subprocess.run": "starts a process",
    "subprocess.check_output": "starts a process",
    "pd.read_csv": "reads a data file",
    "pandas.read_csv": "reads a data file",
    "pd.read_sql": "queries a database",
    "pandas.read_sql": "queries a database",
}
HEAVY_METHOD_SUFFIXES = {
    "get_records": "queries a database",
    "get_pandas_df": "queries a database",
    "get_first": "queries a database",
}

WARM_MODULES = [
    "airflow.models.dag",
    "airflow.models.baseoperator",
    "airflow.datasets",
    "airflow.decorators",
    "airflow.operators.bash",
    "airflow.operators.python",
    "airflow.operators.empty",
    "airflow.operators.trigger_dagrun",
    "airflow.sensors.external_task",
]

TRACEBACK_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def module_level_calls(tree: ast.Module):
    """Calls executed when the module is imported: top level and inside `with` blocks, not in defs."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def dag_constructors(tree: ast.Module):
    """(dag_id or None, line, keyword names) for each DAG(...) call and @dag(...) decorator."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted(node.func) in {"DAG", "airflow.DAG", "models.DAG"}:
            yield node, [k.arg for k in node.keywords if k.arg]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and dotted(dec.func) in {"dag", "airflow.decorators.dag"}:
                    yield dec, [k.arg for k in dec.keywords if k.arg]


def literal_kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name and isinstance(k.value, ast.Constant):
            return k.value.value
    return None


def rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


def import_error_line(trace: str, file: Path) -> int | None:
    """The deepest traceback frame that is in the DAG file itself, else the last frame."""
    lines = [(m.group("file"), int(m.group("line"))) for m in TRACEBACK_LINE.finditer(trace)]
    own = [ln for f, ln in lines if Path(f).resolve() == file.resolve()]
    if own:
        return own[-1]
    return lines[-1][1] if lines else None


def last_error_line(trace: str) -> str:
    stripped = [ln.strip() for ln in trace.strip().splitlines() if ln.strip()]
    return stripped[-1] if stripped else "import failed"


MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '(?P<name>[^']+)'")


class Mwaa:
    """Where the DAG folder sits in the MWAA-shaped tree: `<tmp>/dags/<package>/` is the repo's DAG
    folder (`folder`, `folder_rel` relative to the repo root)."""

    def __init__(self, root: Path, folder: Path, folder_rel: str, package: str):
        self.root = root
        self.folder = folder
        self.folder_rel = folder_rel
        self.package = package


def imported_module_at(file: Path, line: int | None, top: str) -> str | None:
    """The module that the import statement at `line` of `file` names, when it starts with `top`."""
    if line is None:
        return None
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) is None or not node.lineno <= line <= (node.end_lineno or node.lineno):
            continue
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name == top or name.startswith(top + "."):
                return name
    return None


def import_hint(trace: str, file: Path, line: int | None, mwaa: Mwaa) -> str | None:
    """For a module that is importable only with the repo (or its DAG folder) on sys.path, the import
    that works on MWAA: `common.defaults` -> `<package>.common.defaults` (a module of the DAG folder),
    `dags.common` -> `<package>.common` (the DAG folder imported by its repo path), and
    `other.common` -> `<package>.common` (imported through another package name than the repo's)."""
    found = MISSING_MODULE.findall(trace)
    if not found:
        return None
    top = found[-1].split(".")[0]
    module = imported_module_at(file, line, top) or found[-1]
    suggestion = None
    if (mwaa.folder / top).is_dir() or (mwaa.folder / f"{top}.py").is_file():
        suggestion = f"{mwaa.package}.{module}"
    elif mwaa.folder_rel not in ("", "."):
        dotted_folder = mwaa.folder_rel.strip("/").replace("/", ".")
        if module.startswith(dotted_folder + "."):
            suggestion = f"{mwaa.package}.{module[len(dotted_folder) + 1:]}"
    if suggestion is not None:
        return f"on MWAA only dags/ is on sys.path; import it as {suggestion}"
    # `other_name.common`: the DAG folder imported through a package name that is not this repo's
    parts = module.split(".")
    if len(parts) > 1 and top != mwaa.package and ((mwaa.folder / parts[1]).is_dir() or (mwaa.folder / f"{parts[1]}.py").is_file()):
        rest = ".".join(parts[1:])
        return f"on MWAA this repo's DAG folder is dags/{mwaa.package}/ (the repo name as a package); import it as {mwaa.package}.{rest}"
    return None


def check_file(path: Path, mwaa: Mwaa, budget: float):
    from airflow.models.dagbag import DagBag

    root = mwaa.root
    findings = []
    relpath = rel(str(path), root)
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(path), include_examples=False, safe_mode=False, collect_dags=True)
    seconds = time.perf_counter() - started

    for errored_file, trace in bag.import_errors.items():
        line = import_error_line(trace, Path(errored_file))
        message = f"DAG file does not import: {last_error_line(trace)}"
        hint = import_hint(trace, Path(errored_file), line, mwaa)
        if hint:
            message = f"{message}; {hint}"
        findings.append({
            "code": "DAG_IMPORT_ERROR",
            "severity": "error",
            "asset": f"airflow:{relpath}",
            "file": rel(errored_file, root),
            "line": line,
            "message": message,
        })
    if bag.import_errors:
        return {"file": relpath, "seconds": seconds, "dags": []}, findings

    if seconds > budget:
        findings.append({
            "code": "DAG_IMPORT_SLOW",
            "severity": "error",
            "asset": f"airflow:{relpath}",
            "file": relpath,
            "line": 1,
            "message": f"importing the file took {seconds:.2f}s, over the budget of {budget:g}s; move work out of module level",
        })

    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    constructors = list(dag_constructors(tree))

    for call in module_level_calls(tree):
        name = dotted(call.func) or ""
        reason = HEAVY_CALLS.get(name)
        if reason is None and "." in name:
            reason = HEAVY_METHOD_SUFFIXES.get(name.rsplit(".", 1)[1])
        if reason:
            findings.append({
                "code": "DAG_POLICY_MODULE_WORK",
                "severity": "error",
                "asset": f"airflow:{relpath}",
                "file": relpath,
                "line": call.lineno,
                "message": f"{name}() runs at module level and {reason} on every scheduler parse; call it inside a task",
            })

    dags = []
    for dag_id, dag in sorted(bag.dags.items()):
        if getattr(dag, "parent_dag", None) is not None:  # Airflow 3 has no SubDAGs
            continue
        dags.append(dag_id)
        call_line, kw = 1, []
        for call, names in constructors:
            if literal_kw(call, "dag_id") in (dag_id, None):
                call_line, kw = call.lineno, names
                if literal_kw(call, "dag_id") == dag_id:
                    break
        asset = f"airflow:{dag_id}"

        def add(code, message):
            findings.append({"code": code, "severity": "error", "asset": asset, "file": relpath, "line": call_line, "message": message})

        owners = {t.owner for t in dag.tasks}
        if not dag.tasks or owners & {"airflow", "", None}:
            add("DAG_POLICY_OWNER", f"DAG '{dag_id}' has tasks owned by the Airflow default 'airflow'; set default_args owner to the owning team")
        no_retry = sorted(t.task_id for t in dag.tasks if not t.retries or t.retries < 1)
        if no_retry:
            add("DAG_POLICY_RETRIES", f"DAG '{dag_id}' tasks {', '.join(no_retry)} have no retries; set retries >= 1 in default_args")
        if not dag.tags:
            add("DAG_POLICY_TAGS", f"DAG '{dag_id}' has no tags; add at least one tag (team or domain)")
        if "catchup" not in kw:
            add("DAG_POLICY_CATCHUP", f"DAG '{dag_id}' does not set catchup explicitly; pass catchup=False (or True on purpose) so a deploy or rollback cannot start backfills")

    return {"file": relpath, "seconds": seconds, "dags": dags}, findings


WARM_DAG = """
from datetime import datetime
from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator
with DAG(dag_id="dataops_warm_up", schedule=[Dataset("warm://up")], start_date=datetime(2026, 1, 1), catchup=False, tags=["x"]):
    BashOperator(task_id="t", bash_command="true", outlets=[Dataset("warm://down")])
"""


def warm_up_dagbag() -> None:
    """Parses a throw-away DAG so that DagBag's lazy set-up (settings, plugins, listeners) is not
    charged to the first real file."""
    import tempfile

    from airflow.models.dagbag import DagBag

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dataops_warm_up.py"
        path.write_text(WARM_DAG, encoding="utf-8")
        DagBag(dag_folder=str(path), include_examples=False, safe_mode=False)


def mwaa_sys_path(root: Path, folder: Path, tree: Path, plugins: Path | None) -> None:
    """sys.path as MWAA has it: `<tree>/dags` (and `<tree>/plugins`) first; the repo root, the DAG
    folder and this helper's own folder are not on it."""
    own = {root, folder, Path(__file__).resolve().parent}
    kept = [p for p in sys.path if Path(p or ".").resolve() not in own]
    sys.path[:] = [str(tree / "dags")] + ([str(tree / "plugins")] if plugins else []) + kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dag-folder", required=True, help="the repo's Airflow path (relative to the repo root)")
    parser.add_argument("--package", required=True, help="the package the DAG folder is on MWAA (dags/<package>/)")
    parser.add_argument("--plugins-folder", help="the repo's plugins folder (relative to the repo root), put on sys.path as MWAA's plugins/")
    parser.add_argument("--repo-root", default=".")
    parser.add_argument("--file", action="append", default=[], help="only these files (relative to the repo root)")
    parser.add_argument("--budget-seconds", type=float, default=2.0)
    parser.add_argument("--out", help="write the JSON report here instead of stdout (Airflow logs to stdout)")
    args = parser.parse_args()
    if not args.package.isidentifier():
        parser.error(f"--package '{args.package}' is not a Python identifier; pass the repo name with hyphens as underscores")

    root = Path(args.repo_root).resolve()
    folder = (root / args.dag_folder).resolve()
    plugins = (root / args.plugins_folder).resolve() if args.plugins_folder else None
    tree = Path(tempfile.mkdtemp(prefix="dataops-mwaa-"))
    try:
        # The DAG folder is linked, not copied: tracebacks resolve to the repo's own files.
        (tree / "dags").mkdir()
        (tree / "dags" / args.package).symlink_to(folder, target_is_directory=True)
        if plugins:
            (tree / "plugins").symlink_to(plugins, target_is_directory=True)
            os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(tree / "plugins")
        mwaa_sys_path(root, folder, tree, plugins)
        # Airflow adds its DAGS_FOLDER to sys.path when it loads: that is MWAA's dags/, not the repo's.
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(tree / "dags")
        mwaa = Mwaa(root, folder, args.dag_folder, args.package)
        report = run_checks(args, mwaa, tree / "dags" / args.package)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    text = json.dumps(report)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


def run_checks(args, mwaa: Mwaa, linked: Path) -> dict:
    import airflow  # noqa: F401

    # The scheduler's parsing process has Airflow and its common operators loaded already; load them
    # before timing so that their cost is not charged to whichever DAG file happens to come first.
    for module in WARM_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    warm_up_dagbag()

    if args.file:
        files = []
        for f in args.file:
            path = (mwaa.root / f).resolve()
            try:
                files.append(linked / path.relative_to(mwaa.folder))
            except ValueError:
                files.append(path)
    else:
        from airflow.utils.file import list_py_file_paths

        # safe_mode=True is MWAA's default discovery: only files that mention both "airflow" and "dag".
        # Airflow 3 never lists example DAGs here and dropped the include_examples argument.
        no_examples = {"include_examples": False} if "include_examples" in inspect.signature(list_py_file_paths).parameters else {}
        files = [Path(p) for p in list_py_file_paths(str(linked), safe_mode=True, **no_examples)]

    report = {"airflowVersion": airflow.__version__, "files": [], "findings": []}
    for path in sorted(files):
        if not path.exists():
            continue
        entry, findings = check_file(path, mwaa, args.budget_seconds)
        report["files"].append(entry)
        report["findings"].extend(findings)
    return report


if __name__ == "__main__":
    sys.exit(main())
