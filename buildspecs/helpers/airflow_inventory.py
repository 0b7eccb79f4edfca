#!/usr/bin/env python3
"""Static Airflow inventory: reads DAG files with the standard library's ``ast`` and imports nothing
from the repo (no Airflow needed, no DAG code runs). Prints one JSON document on stdout that
lib/checks/inventory/airflow.ts reads and validates.

    python3 airflow_inventory.py --root REPO [--now 2026-01-01T00:00:00Z] FILE...

FILE paths are relative to REPO. For each DAG it records the id (from ``with DAG(...)``,
``DAG(...)`` and ``@dag``), the task ids, ExternalTaskSensor/ExternalTaskMarker targets,
TriggerDagRunOperator targets, Dataset/Asset outlets and schedules (``&``/``|`` too), catchup and where
it is set, start_date and schedule, and per task the dbt commands it runs (verb, --select, --exclude;
see dbt_invocations). A value computed at run time is reported with its source text and
``value: null``: never guessed. Only module-level names assigned exactly once to a constant are
resolved (``DAG_ID = "claims"``, f-strings and ``+`` over such names).
"""
import argparse
import ast
import datetime as dt
import json
import os
import re
import sys

SENSORS = ("ExternalTaskSensor", "ExternalTaskSensorAsync")
MARKERS = ("ExternalTaskMarker",)
TRIGGERS = ("TriggerDagRunOperator",)
DATASET_CALLS = ("Dataset", "Asset")
AND_CALLS = ("DatasetAll", "AssetAll")
OR_CALLS = ("DatasetAny", "AssetAny")
OR_TIME_CALLS = ("DatasetOrTimeSchedule", "AssetOrTimeSchedule")
SCHEDULE_ARGS = ("schedule", "schedule_interval", "timetable")
UNRESOLVED = object()


def call_name(node):
    """Last name of a call's function: DAG for DAG(...), models.DAG(...) and x.y.DAG(...)."""
    f = node.func if isinstance(node, ast.Call) else node
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


class Source:
    """The file's lines, split once, to cut expression source text (ast.get_source_segment re-splits the file per call)."""

    def __init__(self, text):
        self.text = text
        self.lines = text.splitlines(keepends=True)

    def segment(self, node):
        try:
            l0, l1 = node.lineno - 1, node.end_lineno - 1
            c0, c1 = node.col_offset, node.end_col_offset
        except AttributeError:
            return None
        if l1 is None or c1 is None or l1 >= len(self.lines):
            return None
        if l0 == l1:
            return self.lines[l0].encode()[c0:c1].decode(errors="replace")
        first = self.lines[l0].encode()[c0:].decode(errors="replace")
        last = self.lines[l1].encode()[:c1].decode(errors="replace")
        return first + "".join(self.lines[l0 + 1:l1]) + last


def src(text, node):
    seg = text.segment(node) if isinstance(text, Source) else ast.get_source_segment(text, node)
    if seg is None:
        try:
            seg = ast.unparse(node)
        except Exception:  # noqa: BLE001 - unparse of an odd node must not stop the inventory
            seg = "<expression>"
    return seg if len(seg) <= 300 else seg[:297] + "..."


def kwargs(call):
    return {k.arg: k.value for k in call.keywords if k.arg}


class Module:
    """One parsed file: its constants, @task functions and named Datasets."""

    def __init__(self, text, tree, importer=None):
        self.text = Source(text)
        self.tree = tree
        self.all_nodes = list(ast.walk(tree))
        self.env = {}
        #: name -> (defining Module, FunctionDef): module-level functions and ones imported from the repo
        self.functions = {}
        counts = {}
        top_level = {}
        if importer is not None:
            for stmt in tree.body:
                if isinstance(stmt, ast.ImportFrom):
                    for alias in stmt.names:
                        value = importer(stmt, alias.name)
                        if isinstance(value, tuple):
                            self.functions[alias.asname or alias.name] = value
                        elif value is not None:
                            top_level[alias.asname or alias.name] = value
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef):
                self.functions[stmt.name] = (self, stmt)
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                top_level[stmt.targets[0].id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                top_level[stmt.target.id] = stmt.value
        # Every binding anywhere in the file counts (function locals too): a name bound more than
        # once is never resolved, which can only make the reader more careful, never wrong.
        for node in self.all_nodes:
            for name in self.assigned_names(node):
                counts[name] = counts.get(name, 0) + 1
        for name, value in top_level.items():
            if counts.get(name, 0) == 1:
                self.env[name] = value
        self.task_functions = {}
        self.task_groups = {}
        # @task / @task_group functions anywhere (module level or inside a @dag function)
        for stmt in self.all_nodes:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                tid = self.task_decorator_id(stmt)
                if tid is not None:
                    self.task_functions[stmt.name] = (tid, stmt)
                gid = self.task_group_decorator_id(stmt)
                if gid is not None:
                    self.task_groups[stmt.name] = (gid, stmt)

    @staticmethod
    def assigned_names(node):
        targets = []
        if isinstance(node, ast.ImportFrom):
            return [a.asname or a.name for a in node.names]
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        out = []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    out.append(n.id)
        return out

    def task_decorator_id(self, fn):
        for d in fn.decorator_list:
            target = d.func if isinstance(d, ast.Call) else d
            # @task, @task(...), @task.python, @task.bash(...), @task.virtualenv(...)
            base = target
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id == "task":
                if isinstance(d, ast.Call):
                    tid = kwargs(d).get("task_id")
                    if tid is not None:
                        return self.const(tid)
                return fn.name
        return None

    def task_group_decorator_id(self, fn):
        for d in fn.decorator_list:
            if call_name(d) == "task_group" or (isinstance(d, ast.Name) and d.id == "task_group"):
                if isinstance(d, ast.Call):
                    gid = kwargs(d).get("group_id")
                    if gid is not None:
                        return self.const(gid)
                return fn.name
        return None

    def const(self, node, depth=0):
        """The value of a constant expression, or UNRESOLVED."""
        if depth > 20 or node is None:
            return UNRESOLVED
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.const(self.env[node.id], depth + 1)
            return UNRESOLVED
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                elif isinstance(v, ast.FormattedValue) and v.format_spec is None and v.conversion == -1:
                    inner = self.const(v.value, depth + 1)
                    if inner is UNRESOLVED or not isinstance(inner, (str, int)):
                        return UNRESOLVED
                    parts.append(str(inner))
                else:
                    return UNRESOLVED
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self.const(node.left, depth + 1), self.const(node.right, depth + 1)
            if isinstance(a, str) and isinstance(b, str):
                return a + b
            return UNRESOLVED
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.const(e, depth + 1) for e in node.elts]
            return UNRESOLVED if any(i is UNRESOLVED for i in items) else items
        if isinstance(node, ast.Dict):
            return UNRESOLVED
        return UNRESOLVED

    def resolved(self, node):
        """{value, expr}: value when the expression is a constant string, else its source text."""
        v = self.const(node)
        if isinstance(v, str):
            return {"value": v, "expr": None}
        return {"value": None, "expr": src(self.text, node)}

    def deref(self, node, depth=0):
        """Follows a module-level name to the expression it was assigned."""
        while isinstance(node, ast.Name) and node.id in self.env and depth < 20:
            node = self.env[node.id]
            depth += 1
        return node


def exported_value(module, name):
    """A module-level name as a self-contained expression (no references to the defining module):
    a constant string, or a Dataset/Asset call with a constant URI; a function defined there as
    (module, FunctionDef), for the dbt command helpers. None otherwise."""
    fn = module.functions.get(name)
    if fn is not None and fn[0] is module:
        return fn
    if name not in module.env:
        return None
    v = module.const(module.env[name])
    if isinstance(v, str):
        return ast.Constant(value=v, lineno=0, col_offset=0, end_lineno=0, end_col_offset=0)
    node = module.deref(module.env[name])
    if isinstance(node, ast.Call) and call_name(node) in DATASET_CALLS:
        u = dataset_uri(module, node)
        if u["uri"] is not None:
            return ast.Call(func=ast.Name(id=call_name(node), ctx=ast.Load()), args=[ast.Constant(value=u["uri"])], keywords=[],
                            lineno=0, col_offset=0, end_lineno=0, end_col_offset=0)
    return None


class Importer:
    """Resolves `from pkg.mod import NAME` to modules inside the repo, as Airflow does by putting the
    DAG folder on sys.path: the module is looked up from the importing file's folder up to the repo
    root. On MWAA the DAG folder is itself a package (dags/<repo package>/, see
    lib/runtime/mwaa/dag-package.ts), so `from <package>.common import NAME` is also looked up as
    `common` in those folders. Only constants, Dataset/Asset objects and function definitions (read,
    never called) are taken over; nothing is executed."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.cache = {}

    def module_at(self, path, depth):
        if path in self.cache:
            return self.cache[path]
        self.cache[path] = None  # guards import cycles
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            tree = ast.parse(text, filename=path)
            if depth < 4:
                mod = Module(text, tree, lambda stmt, name: self.resolve(path, stmt, name, depth + 1))
            else:
                mod = Module(text, tree)
        except (OSError, SyntaxError, ValueError, RecursionError):
            mod = None
        self.cache[path] = mod
        return mod

    def resolve(self, importing_file, stmt, name, depth=0):
        parts = (stmt.module or "").split(".") if stmt.module else []
        here = os.path.dirname(os.path.abspath(importing_file))
        if stmt.level > 0:
            bases = [here]
            for _ in range(stmt.level - 1):
                bases = [os.path.dirname(bases[0])]
        else:
            bases = []
            d = here
            while d.startswith(self.root):
                bases.append(d)
                if d == self.root:
                    break
                d = os.path.dirname(d)
        tails = [parts] + ([parts[1:]] if stmt.level == 0 and len(parts) > 1 else [])
        for tail in tails:
            for b in bases:
                target = os.path.join(b, *tail)
                for candidate in (target + ".py", os.path.join(target, "__init__.py")):
                    if tail and os.path.isfile(candidate):
                        mod = self.module_at(candidate, depth)
                        return exported_value(mod, name) if mod is not None else None
        return None


def parse_datetime(module, node, now):
    node = module.deref(node)
    if not isinstance(node, ast.Call):
        return None
    name = call_name(node)
    args = [module.const(a) for a in node.args]
    if name == "days_ago" and args and isinstance(args[0], int):
        d = (now - dt.timedelta(days=args[0])).replace(hour=0, minute=0, second=0, microsecond=0)
        return d.isoformat()
    if name in ("datetime", "DateTime") and len(args) >= 3 and all(isinstance(a, int) for a in args[:6]):
        try:
            return dt.datetime(*args[:6], tzinfo=dt.timezone.utc).isoformat()
        except (TypeError, ValueError):
            return None
    if name in ("parse", "fromisoformat") and args and isinstance(args[0], str):
        try:
            d = dt.datetime.fromisoformat(args[0].replace("Z", "+00:00"))
            if d.tzinfo is None:
                d = d.replace(tzinfo=dt.timezone.utc)
            return d.isoformat()
        except ValueError:
            return None
    return None


def dataset_condition(module, node, depth=0):
    """A Dataset/Asset schedule expression as an and/or tree over URIs."""
    if depth > 30:
        return {"op": "uri", "uri": None, "expr": src(module.text, node)}
    original = node
    node = module.deref(node)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return {"op": "and", "items": [dataset_condition(module, e, depth + 1) for e in node.elts]}
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        op = "and" if isinstance(node.op, ast.BitAnd) else "or"
        items = []
        for side in (node.left, node.right):
            c = dataset_condition(module, side, depth + 1)
            if c.get("op") == op:
                items.extend(c["items"])
            else:
                items.append(c)
        return {"op": op, "items": items}
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name in AND_CALLS or name in OR_CALLS:
            return {"op": "and" if name in AND_CALLS else "or", "items": [dataset_condition(module, a, depth + 1) for a in node.args]}
        if name in DATASET_CALLS:
            return dataset_uri(module, node)
    return {"op": "uri", "uri": None, "expr": src(module.text, original)}


def dataset_uri(module, call):
    kw = kwargs(call)
    arg = kw.get("uri") or (call.args[0] if call.args else None) or kw.get("name")
    if call_name(call) == "Asset" and "uri" not in kw and "name" in kw and not call.args:
        arg = kw["name"]
    v = module.const(arg) if arg is not None else UNRESOLVED
    if isinstance(v, str):
        return {"op": "uri", "uri": v, "expr": None}
    return {"op": "uri", "uri": None, "expr": src(module.text, call)}


def is_dataset_expr(module, node):
    node = module.deref(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        return len(node.elts) > 0 and all(is_dataset_expr(module, e) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        return True
    if isinstance(node, ast.Call):
        return call_name(node) in DATASET_CALLS + AND_CALLS + OR_CALLS
    return False


def schedule_of(module, kw):
    for arg in SCHEDULE_ARGS:
        if arg not in kw:
            continue
        node = kw[arg]
        value = module.deref(node)
        text = src(module.text, node)
        if isinstance(value, ast.Constant) and value.value is None:
            return {"kind": "none", "text": None, "datasets": None, "arg": arg}
        c = module.const(node)
        if isinstance(c, str):
            return {"kind": "preset" if c.startswith("@") else "cron", "text": c, "datasets": None, "arg": arg}
        if isinstance(value, ast.Call) and call_name(value) == "timedelta":
            return {"kind": "timedelta", "text": text, "datasets": None, "arg": arg}
        if isinstance(value, ast.Call) and call_name(value) in OR_TIME_CALLS:
            vk = kwargs(value)
            ds = vk.get("datasets") or vk.get("assets")
            return {"kind": "datasets", "text": text, "datasets": dataset_condition(module, ds) if ds is not None else None, "arg": arg}
        if is_dataset_expr(module, node):
            return {"kind": "datasets", "text": text, "datasets": dataset_condition(module, node), "arg": arg}
        if isinstance(value, ast.Call):
            return {"kind": "timetable", "text": text, "datasets": None, "arg": arg}
        return {"kind": "unresolved", "text": text, "datasets": None, "arg": arg}
    return {"kind": "unset", "text": None, "datasets": None, "arg": None}


def dict_items(module, node):
    node = module.deref(node)
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            key = module.const(k) if k is not None else UNRESOLVED
            if isinstance(key, str):
                out[key] = v
        return out
    if isinstance(node, ast.Call) and call_name(node) == "dict":
        return kwargs(node)
    return None

# --- dbt invocations ------------------------------------------------------------------------------

DBT_VERBS = ("run", "build", "test", "seed", "snapshot")
DBT_SELECT_FLAGS = ("--select", "-s", "--models", "--model", "-m")
DBT_EXCLUDE_FLAGS = ("--exclude",)
SHELL_SEPARATORS = ("&&", "||", ";", "|")


class Hole:
    """A part of a command that is computed at run time (its source text), or a Jinja template."""

    def __init__(self, expr, dbt=False):
        self.expr = expr
        #: a call of a repo helper that mentions dbt but is not simple enough to follow
        self.dbt = dbt


def template(module, node, depth=0, scope=None):
    """A string expression as a list of str and Hole parts: module constants, f-strings, `+` and calls
    of a simple helper function defined in the repo are followed; anything else is a Hole."""
    scope = scope or {}
    if depth > 12 or node is None:
        return [Hole(src(module.text, node) if node is not None else "<expression>")]
    if isinstance(node, ast.Name) and node.id in scope:
        return scope[node.id]
    if isinstance(node, ast.Name) and node.id in module.env:
        return template(module, module.env[node.id], depth + 1, scope)
    if isinstance(node, ast.Constant):
        return [str(node.value)] if isinstance(node.value, (str, int)) and not isinstance(node.value, bool) else [Hole(src(module.text, node))]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue) and v.format_spec is None and v.conversion == -1:
                parts.extend(template(module, v.value, depth + 1, scope))
            else:
                parts.append(Hole(src(module.text, v)))
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return template(module, node.left, depth + 1, scope) + template(module, node.right, depth + 1, scope)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in module.functions:
        out = call_helper(module, node, depth, scope)
        if out is not None:
            return out
        fn_module, fn = module.functions[node.func.id]
        return [Hole(src(module.text, node), dbt="dbt" in (src(fn_module.text, fn) + fn.name).lower())]
    return [Hole(src(module.text, node))]


def call_helper(module, call, depth, scope):
    """The string a helper function returns for this call, when the function is simple: a docstring,
    `if ...: raise ...` guards and one `return <string expression>`. None otherwise."""
    fn_module, fn = module.functions[call.func.id]
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        return None
    for s in body[:-1]:
        if not (isinstance(s, ast.If) and not s.orelse and all(isinstance(b, ast.Raise) for b in s.body)):
            return None
    a = fn.args
    if a.vararg or a.kwarg or a.posonlyargs or any(isinstance(x, ast.Starred) for x in call.args):
        return None
    names = [p.arg for p in a.args]
    if len(call.args) > len(names):
        return None
    bound = {}
    defaults = dict(zip(names[len(names) - len(a.defaults):], a.defaults))
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        names.append(p.arg)
        if d is not None:
            defaults[p.arg] = d
    for name, arg in zip(names, call.args):
        bound[name] = template(module, arg, depth + 1, scope)
    for k in call.keywords:
        if k.arg is None or k.arg not in names:
            return None
        bound[k.arg] = template(module, k.value, depth + 1, scope)
    for name in names:
        if name not in bound:
            if name not in defaults:
                return None
            bound[name] = template(fn_module, defaults[name], depth + 1)
    return template(fn_module, body[-1].value, depth + 1, bound)


def command_parts(module, node):
    """The command line an operator argument holds: a string, or a list of strings (`cmds`,
    `arguments`) joined with spaces as the container (or `sh -c`) sees them."""
    node = module.deref(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        parts = []
        for e in node.elts:
            parts.append(" ")
            parts.extend(template(module, e))
        return parts
    return template(module, node)


def command_lines(module, kw):
    """bash_command, and a pod's `cmds` followed by its `arguments` (the container's argv)."""
    out = []
    if "bash_command" in kw:
        out.append(command_parts(module, kw["bash_command"]))
    if "cmds" in kw or "arguments" in kw:
        parts = []
        for arg in ("cmds", "arguments"):
            if arg in kw:
                parts.extend(command_parts(module, kw[arg]) + [" "])
        out.append(parts)
    return out


def tokens_of(parts):
    """Splits a command template into whitespace tokens; each token is a list of str/Hole parts. Jinja
    `{{ }}` / `{% %}` blocks become Holes, so a selector built in a template is never guessed."""
    holes = []
    text = ""
    for p in parts:
        if isinstance(p, Hole):
            text += f"\x00{len(holes)}\x00"
            holes.append(p)
        else:
            text += p

    def jinja(m):
        holes.append(Hole(m.group(0)))
        return f"\x00{len(holes) - 1}\x00"

    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", jinja, text, flags=re.DOTALL)
    text = re.sub(r"&&|\|\||;|\|", lambda m: f" {m.group(0)} ", text)
    out = []
    for raw in text.split():
        raw = raw.strip("'\"")
        tok = []
        for i, piece in enumerate(raw.split("\x00")):
            if i % 2 == 1:
                tok.append(holes[int(piece)])
            elif piece:
                tok.append(piece)
        out.append(tok)
    return out


def token_text(tok):
    """A token's text, with each computed part as `{source}` (a Jinja block as written)."""
    return "".join(p if isinstance(p, str) else p.expr if p.expr.startswith("{") else "{" + p.expr + "}" for p in tok)


def token_str(tok):
    """The token's text when it has no computed part, else None."""
    return "".join(tok) if all(isinstance(p, str) for p in tok) else None


#: a selector the graph can follow: a model name or dotted fqn, with optional `+`/`n+` graph operators
SELECTOR = re.compile(r"^(\d*\+)?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\+\d*)?$")


def selector(tok):
    """{value, expr}: value for a selector the graph can follow (a name, `+`/`n+` graph operators),
    else its text as expr (methods like `tag:`/`path:`/`state:`, wildcards, intersections, computed)."""
    text = token_str(tok)
    if text is not None and SELECTOR.match(text):
        return {"value": text, "expr": None}
    return {"value": None, "expr": token_text(tok)}


def parse_dbt(tokens):
    """The dbt invocations (`dbt <verb> ... --select ... --exclude ...`) in a tokenised command."""
    out = []
    i = 0
    while i < len(tokens):
        t = token_str(tokens[i])
        if t is None or not (t == "dbt" or t.endswith("/dbt")):
            i += 1
            continue
        j = i + 1
        # global flags before the verb (dbt --no-write-json build ...)
        while j < len(tokens) and (token_str(tokens[j]) or "").startswith("-"):
            j += 1
        verb_tok = tokens[j] if j < len(tokens) else None
        verb = token_str(verb_tok) if verb_tok is not None else None
        if verb_tok is None or (verb is not None and verb not in DBT_VERBS):
            i = j + 1
            continue
        inv = {"verb": verb, "verbExpr": None if verb is not None else token_text(verb_tok), "select": [], "exclude": [], "selectGiven": False}
        k = j + 1
        current = None
        while k < len(tokens):
            tok = tokens[k]
            text = token_str(tok)
            if text in SHELL_SEPARATORS or (text is not None and text.startswith("--") and "=" not in text and text not in DBT_SELECT_FLAGS + DBT_EXCLUDE_FLAGS) or (text is not None and text.startswith("-") and not text.startswith("--") and text not in DBT_SELECT_FLAGS):
                if text in SHELL_SEPARATORS:
                    break
                current = None
                if text == "--selector":
                    inv["selectGiven"] = True
                    inv["select"].append({"value": None, "expr": "--selector " + (token_text(tokens[k + 1]) if k + 1 < len(tokens) else "")})
                    k += 1
                k += 1
                continue
            first = tok[0] if tok and isinstance(tok[0], str) else ""
            flag, _, rest = first.partition("=")
            if flag in DBT_SELECT_FLAGS + DBT_EXCLUDE_FLAGS:
                current = "exclude" if flag in DBT_EXCLUDE_FLAGS else "select"
                if current == "select":
                    inv["selectGiven"] = True
                if _:
                    value_tok = ([rest] if rest else []) + tok[1:]
                    if value_tok:
                        inv[current].append(selector(value_tok))
                    current = None
                k += 1
                continue
            if current is not None:
                inv[current].append(selector(tok))
            k += 1
        out.append(inv)
        i = k
    return out


def dbt_invocations(module, kw, line):
    """dbt commands in an operator's bash_command / cmds / arguments, each with its verb and its
    selectors. A selector the reader cannot follow statically is recorded with value null."""
    out = []
    for parts in command_lines(module, kw):
        found = parse_dbt(tokens_of(parts)) if any(isinstance(p, str) and "dbt" in p for p in parts) else []
        for inv in found:
            if not inv.pop("selectGiven"):
                inv["select"].append({"value": None, "expr": "<no --select: every model of the project>"})
            inv["line"] = line
            out.append(inv)
        if not found:
            # a helper that builds a dbt command in a way the reader cannot follow: unresolved, never guessed
            for p in parts:
                if isinstance(p, Hole) and p.dbt:
                    out.append({"verb": None, "verbExpr": p.expr, "select": [{"value": None, "expr": p.expr}], "exclude": [], "line": line})
    return out


class DagBuilder:
    """Collects the tasks, references and outlets of one DAG while its body is walked."""

    def __init__(self, module, path, dag_id, declared_by, line, kw, now):
        self.module = module
        self.path = path
        self.tasks = []
        self.refs = []
        self.outlets = []
        self.unresolved_tasks = False
        default_args = dict_items(module, kw["default_args"]) if "default_args" in kw else None
        start = kw.get("start_date")
        start_in = "dag" if start is not None else "none"
        if start is None and default_args and "start_date" in default_args:
            start, start_in = default_args["start_date"], "default_args"
        catch, catch_in = kw.get("catchup"), "dag"
        if catch is None:
            catch_in = "none"
            if default_args and "catchup" in default_args:
                catch, catch_in = default_args["catchup"], "default_args"
        catch_value = module.const(catch) if catch is not None else UNRESOLVED
        self.dag = {
            "id": dag_id,
            "declaredBy": declared_by,
            "file": path,
            "line": line,
            "schedule": schedule_of(module, kw),
            "startDate": {
                "iso": parse_datetime(module, start, now) if start is not None else None,
                "expr": src(module.text, start) if start is not None else None,
                "setIn": start_in,
            },
            "catchup": {
                "value": catch_value if isinstance(catch_value, bool) else None,
                "expr": src(module.text, catch) if catch is not None else None,
                "setIn": catch_in,
                "line": catch.lineno if catch is not None else None,
            },
        }

    def add_call(self, call, prefix, in_loop):
        kw = kwargs(call)
        op = call_name(call)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "partial":
            op = call_name(call.func.value) or "partial"
        if "task_id" not in kw:
            return
        tid = self.module.resolved(kw["task_id"])
        if tid["value"] is not None and prefix is not None:
            tid = {"value": prefix + tid["value"], "expr": None}
        elif prefix is UNRESOLVED:
            tid = {"value": None, "expr": src(self.module.text, kw["task_id"])}
        if tid["value"] is None or in_loop:
            self.unresolved_tasks = True
        dbt = dbt_invocations(self.module, kw, call.lineno)
        task = {"id": tid, "operator": op or "unknown", "line": call.lineno}
        if dbt:
            task["dbt"] = dbt
        self.tasks.append(task)
        self.add_outlets(kw.get("outlets"), tid["value"], call.lineno)
        kind = "sensor" if op in SENSORS else "marker" if op in MARKERS else "trigger" if op in TRIGGERS else None
        if kind is None:
            return
        target = kw.get("trigger_dag_id") if kind == "trigger" else kw.get("external_dag_id")
        task_ids = []
        if kind != "trigger":
            if "external_task_id" in kw:
                v = self.module.deref(kw["external_task_id"])
                if not (isinstance(v, ast.Constant) and v.value is None):
                    task_ids.append(self.module.resolved(kw["external_task_id"]))
            if "external_task_group_id" in kw:
                task_ids.append(self.module.resolved(kw["external_task_group_id"]))
            if "external_task_ids" in kw:
                seq = self.module.deref(kw["external_task_ids"])
                if isinstance(seq, (ast.List, ast.Tuple)):
                    task_ids.extend(self.module.resolved(e) for e in seq.elts)
                elif not (isinstance(seq, ast.Constant) and seq.value is None):
                    task_ids.append({"value": None, "expr": src(self.module.text, kw["external_task_ids"])})
        self.refs.append({
            "kind": kind,
            "operator": op,
            "taskId": tid["value"],
            "dagId": self.module.resolved(target) if target is not None else {"value": None, "expr": "<missing>"},
            "taskIds": task_ids,
            "line": call.lineno,
        })

    def add_outlets(self, node, task_id, line):
        if node is None:
            return
        seq = self.module.deref(node)
        elts = seq.elts if isinstance(seq, (ast.List, ast.Tuple)) else [seq]
        for e in elts:
            target = self.module.deref(e)
            if isinstance(target, ast.Call) and call_name(target) in DATASET_CALLS:
                u = dataset_uri(self.module, target)
                self.outlets.append({"uri": u["uri"], "expr": u["expr"], "taskId": task_id, "line": getattr(e, "lineno", line)})
            else:
                self.outlets.append({"uri": None, "expr": src(self.module.text, e), "taskId": task_id, "line": getattr(e, "lineno", line)})

    def add_task_function(self, name, call, prefix):
        tid, fn = self.module.task_functions[name]
        # my_task.override(task_id="x")() is handled by the caller; here the plain call
        value = tid if isinstance(tid, str) else None
        if value is not None and prefix not in (None, UNRESOLVED):
            value = prefix + value
        if value is None:
            self.unresolved_tasks = True
        self.tasks.append({"id": {"value": value, "expr": None if value else name}, "operator": "@task", "line": call.lineno})
        for d in fn.decorator_list:
            if isinstance(d, ast.Call):
                self.add_outlets(kwargs(d).get("outlets"), value, call.lineno)

    def finish(self):
        seen, tasks = set(), []
        for t in self.tasks:
            key = (t["line"], t["operator"], t["id"]["value"], t["id"]["expr"])
            if key not in seen:
                seen.add(key)
                tasks.append(t)
        self.tasks = tasks
        self.dag.update({"tasks": self.tasks, "hasUnresolvedTasks": self.unresolved_tasks, "refs": self.refs, "outlets": self.outlets})
        return self.dag


def walk_body(builder, nodes, prefix=None, in_loop=False, seen_groups=()):
    """Visits the statements that belong to a DAG: its `with` body or its @dag function body."""
    module = builder.module
    for stmt in nodes:
        stack = [(stmt, prefix, in_loop)]
        while stack:
            node, pfx, loop = stack.pop()
            if isinstance(node, (ast.With, ast.AsyncWith)):
                new_pfx = pfx
                for item in node.items:
                    ce = item.context_expr
                    if isinstance(ce, ast.Call) and call_name(ce) == "TaskGroup":
                        kw = kwargs(ce)
                        gid_node = kw.get("group_id") or (ce.args[0] if ce.args else None)
                        gid = module.const(gid_node) if gid_node is not None else UNRESOLVED
                        keep = kw.get("prefix_group_id")
                        if isinstance(keep, ast.Constant) and keep.value is False:
                            continue
                        if isinstance(gid, str) and new_pfx is not UNRESOLVED:
                            new_pfx = (new_pfx or "") + gid + "."
                        else:
                            new_pfx = UNRESOLVED
                    elif isinstance(ce, ast.Call) and call_name(ce) == "DAG":
                        new_pfx = "__nested_dag__"
                if new_pfx == "__nested_dag__":
                    continue  # a nested DAG is its own declaration
                for child in item_calls(node):
                    stack.append((child, pfx, loop))
                for child in node.body:
                    stack.append((child, new_pfx, loop))
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Call):
                name = call_name(node)
                if isinstance(node.func, ast.Name) and name in module.task_functions:
                    builder.add_task_function(name, node, pfx)
                elif isinstance(node.func, ast.Name) and name in module.task_groups and name not in seen_groups:
                    gid, fn = module.task_groups[name]
                    gp = UNRESOLVED if not isinstance(gid, str) or pfx is UNRESOLVED else (pfx or "") + gid + "."
                    walk_body(builder, fn.body, gp, loop, seen_groups + (name,))
                elif (isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Attribute)
                      and node.func.func.attr == "override" and isinstance(node.func.func.value, ast.Name)
                      and node.func.func.value.id in module.task_functions):
                    builder.add_call(node.func, pfx, loop)
                    stack.extend((a, pfx, loop) for a in node.args)
                    continue
                else:
                    builder.add_call(node, pfx, loop)
            is_loop = isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.comprehension))
            for child in ast.iter_child_nodes(node):
                stack.append((child, pfx, loop or is_loop))


def item_calls(with_node):
    return [item.context_expr for item in with_node.items]


def is_dag_call(node):
    return isinstance(node, ast.Call) and call_name(node) == "DAG"


def dag_id_of(module, call):
    kw = kwargs(call)
    node = kw.get("dag_id") or (call.args[0] if call.args else None)
    if node is None:
        return {"value": None, "expr": "<missing dag_id>"}
    return module.resolved(node)


def inventory_file(path, text, now, importer=None, full_path=None):
    tree = ast.parse(text, filename=path)
    module = Module(text, tree, (lambda stmt, name: importer.resolve(full_path, stmt, name)) if importer else None)
    dags = []
    handled = set()
    dag_vars = {}

    nodes = module.all_nodes
    # with DAG(...) as dag:
    for node in nodes:
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if is_dag_call(item.context_expr):
                    call = item.context_expr
                    handled.add(id(call))
                    b = DagBuilder(module, path, dag_id_of(module, call), "with", call.lineno, kwargs(call), now)
                    walk_body(b, node.body)
                    if isinstance(item.optional_vars, ast.Name):
                        dag_vars.setdefault(item.optional_vars.id, b)
                    dags.append(b)

    # dag = DAG(...) and any other DAG(...) call
    for node in nodes:
        if isinstance(node, ast.Assign) and is_dag_call(node.value) and id(node.value) not in handled:
            call = node.value
            handled.add(id(call))
            b = DagBuilder(module, path, dag_id_of(module, call), "call", call.lineno, kwargs(call), now)
            for t in node.targets:
                if isinstance(t, ast.Name):
                    dag_vars.setdefault(t.id, b)
            dags.append(b)
    for node in nodes:
        if is_dag_call(node) and id(node) not in handled:
            handled.add(id(node))
            dags.append(DagBuilder(module, path, dag_id_of(module, node), "call", node.lineno, kwargs(node), now))

    # tasks attached with dag=var, and `with dag:` blocks over a DAG variable
    for node in nodes:
        if isinstance(node, ast.Call) and not is_dag_call(node):
            kw = kwargs(node)
            target = kw.get("dag")
            if isinstance(target, ast.Name) and target.id in dag_vars and "task_id" in kw:
                b = dag_vars[target.id]
                if not any(t["line"] == node.lineno and t["operator"] == call_name(node) for t in b.tasks):
                    b.add_call(node, None, False)
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.context_expr, ast.Name) and item.context_expr.id in dag_vars:
                    walk_body(dag_vars[item.context_expr.id], node.body)

    # @dag-decorated functions that the module calls
    called = {call_name(n) for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for node in nodes:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for d in node.decorator_list:
            if call_name(d) == "dag" or (isinstance(d, ast.Name) and d.id == "dag"):
                kw = kwargs(d) if isinstance(d, ast.Call) else {}
                if node.name not in called:
                    continue
                if "dag_id" in kw:
                    dag_id = module.resolved(kw["dag_id"])
                else:
                    dag_id = {"value": node.name, "expr": None}
                b = DagBuilder(module, path, dag_id, "decorator", node.lineno, kw, now)
                walk_body(b, node.body)
                dags.append(b)
    return [b.finish() for b in dags]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True)
    p.add_argument("--now", default=None, help="reference time for days_ago(), ISO 8601")
    p.add_argument("files", nargs="*")
    a = p.parse_args(argv)
    now = dt.datetime.fromisoformat(a.now.replace("Z", "+00:00")) if a.now else dt.datetime.now(dt.timezone.utc)
    files = a.files or [line.strip() for line in sys.stdin if line.strip()]
    out = {"files": [], "dags": []}
    importer = Importer(a.root)
    for rel in files:
        full = a.root.rstrip("/") + "/" + rel
        entry = {"path": rel, "error": None, "line": None}
        try:
            with open(full, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            out["dags"].extend(inventory_file(rel, text, now, importer, full))
        except SyntaxError as e:
            entry["error"] = "syntax error: %s" % (e.msg,)
            entry["line"] = e.lineno
        except (OSError, RecursionError, ValueError) as e:
            entry["error"] = "%s: %s" % (type(e).__name__, e)
        out["files"].append(entry)
    sys.stdout.write(json.dumps(out, separators=(",", ":")))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
