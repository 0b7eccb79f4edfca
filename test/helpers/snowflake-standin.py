"""The tests' Snowflake stand-in: the fakesnow server (PyPI), with the few things the platform needs
that fakesnow lacks covered here, each alone (docs/rehearsal.md, "Snowflake" lists them):

- ``ALTER TABLE a SWAP WITH b``: fakesnow cannot parse it. Here it exchanges the two tables' rows,
  comments and LAST_ALTERED, as Snowflake's one atomic statement does.
- ``INFORMATION_SCHEMA.TABLES.LAST_ALTERED``: fakesnow reports 1970-01-01 for every table. Here every
  statement that writes a table (CREATE, INSERT, MERGE, UPDATE, DELETE, TRUNCATE, SWAP) stamps it with
  the server's time, and the view reads that stamp.
- ``UNDROP TABLE``: fakesnow cannot parse it. Here ``DROP TABLE`` keeps the table aside (Time Travel,
  without a retention limit) and ``UNDROP`` brings it back.
- Results for the Node.js driver: fakesnow answers every query in Arrow, which only the Python
  connector reads; Snowflake answers the JavaScript driver in JSON. Here a request whose User-Agent is
  ``JavaScript/…`` gets the JSON rowset Snowflake would send. fakesnow answers DML in JSON already,
  but without ``returned`` (the rows in the chunk), and the driver then waits forever; it is added.
- ``TO_VARCHAR(ts, '…TZH:TZM')`` gives ``+00`` in fakesnow; here ``+00:00``, as Snowflake writes it
  (results for the Node.js driver).
- ``SUM`` and ``AVG``: fakesnow casts every argument to DOUBLE (for VARCHAR arguments, which Snowflake
  casts implicitly), so ``SUM`` of a ``NUMBER(12,2)`` is a FLOAT and a dbt contract declaring
  ``decimal(38, 2)`` fails. Here they keep their argument's type, as Snowflake does for numbers.

Usage: python snowflake-standin.py HOST PORT (databases in memory, one per server)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import sys
import threading

import fakesnow.info_schema as info_schema
import fakesnow.transforms as fs_transforms
import pyarrow as pa
import sqlglot.expressions as sqlglot_exp
import uvicorn
from fakesnow.cursor import FakeSnowflakeCursor
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_LOCK = threading.RLock()
_ALTERED = "_fs_global._fs_information_schema._dataops_altered"
_DROPPED = "_dataops_dropped"

# LAST_ALTERED from the stamp table, falling back to fakesnow's constant.
info_schema.SQL_CREATE_INFORMATION_SCHEMA_TABLES_VIEW.template = info_schema.SQL_CREATE_INFORMATION_SCHEMA_TABLES_VIEW.template.replace(
    'to_timestamp(0)::timestamptz AS "LAST_ALTERED",',
    f"""coalesce((select max(a.altered) from {_ALTERED} a where a.catalog = tables.database_name and a.schema = tables.schema_name and a.name = tables.table_name), to_timestamp(0)::timestamptz) AS "LAST_ALTERED",""",
).replace(
    "and tables.schema_name != '_fs_information_schema'",
    f"and tables.schema_name != '_fs_information_schema' and tables.table_name not like '%{_DROPPED}%'",
)
_global_sql = info_schema.fs_global_creation_sql


def _fs_global_creation_sql() -> str:
    return _global_sql() + f";\nCREATE TABLE IF NOT EXISTS {_ALTERED} (catalog TEXT, schema TEXT, name TEXT, altered TIMESTAMPTZ, PRIMARY KEY (catalog, schema, name));"


info_schema.fs_global_creation_sql = _fs_global_creation_sql

_numeric_agg_implicit_cast = fs_transforms.numeric_agg_implicit_cast


def _numeric_agg_keeping_numbers(expression):  # type: ignore[no-untyped-def]
    if isinstance(expression, (sqlglot_exp.Sum, sqlglot_exp.Avg)):
        return expression
    return _numeric_agg_implicit_cast(expression)


fs_transforms.numeric_agg_implicit_cast = _numeric_agg_keeping_numbers

# after the patches above: importing the server creates fakesnow's shared instance and its global schema
import fakesnow.server as fs_server  # noqa: E402

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = rf"{_IDENT}(?:\.{_IDENT}){{0,2}}"
_SWAP = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?({_NAME})\s+SWAP\s+WITH\s+({_NAME})\s*;?\s*$", re.I | re.S)
_UNDROP = re.compile(rf"^\s*UNDROP\s+TABLE\s+({_NAME})\s*;?\s*$", re.I | re.S)
_DROP = re.compile(rf"^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?({_NAME})\s*(?:CASCADE|RESTRICT)?\s*;?\s*$", re.I | re.S)
_WRITES = re.compile(
    rf"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TRANSIENT\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?|INSERT\s+(?:OVERWRITE\s+)?INTO\s+|MERGE\s+INTO\s+|UPDATE\s+|DELETE\s+FROM\s+|TRUNCATE\s+(?:TABLE\s+)?(?:IF\s+EXISTS\s+)?)({_NAME})",
    re.I | re.S,
)


def _parts(name: str, cur: FakeSnowflakeCursor) -> tuple[str, str, str]:
    """(database, schema, table), upper-cased unless quoted, defaults from the session."""
    raw = re.findall(_IDENT, name)
    parts = [p[1:-1].replace('""', '"') if p.startswith('"') else p.upper() for p in raw]
    conn = cur._conn  # noqa: SLF001
    while len(parts) < 3:
        parts.insert(0, (conn.schema if len(parts) == 1 else conn.database) or "")
    return parts[0], parts[1], parts[2]


def _q(parts: tuple[str, str, str]) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _stamp(cur: FakeSnowflakeCursor, t: tuple[str, str, str]) -> None:
    cur._duck_conn.execute(  # noqa: SLF001
        f"INSERT INTO {_ALTERED} VALUES (?, ?, ?, now()) ON CONFLICT (catalog, schema, name) DO UPDATE SET altered = excluded.altered",
        list(t),
    )


def _meta(cur: FakeSnowflakeCursor, t: tuple[str, str, str]) -> tuple[object, object]:
    duck = cur._duck_conn  # noqa: SLF001
    c = duck.execute("SELECT comment FROM _fs_global._fs_information_schema._fs_tables_ext WHERE ext_table_catalog = ? AND ext_table_schema = ? AND ext_table_name = ?", list(t)).fetchone()
    a = duck.execute(f"SELECT altered FROM {_ALTERED} WHERE catalog = ? AND schema = ? AND name = ?", list(t)).fetchone()
    return (c[0] if c else None, a[0] if a else None)


def _set_meta(cur: FakeSnowflakeCursor, t: tuple[str, str, str], comment: object, altered: object) -> None:
    duck = cur._duck_conn  # noqa: SLF001
    duck.execute("DELETE FROM _fs_global._fs_information_schema._fs_tables_ext WHERE ext_table_catalog = ? AND ext_table_schema = ? AND ext_table_name = ?", list(t))
    if comment is not None:
        duck.execute("INSERT INTO _fs_global._fs_information_schema._fs_tables_ext VALUES (?, ?, ?, ?)", [*t, comment])
    duck.execute(f"DELETE FROM {_ALTERED} WHERE catalog = ? AND schema = ? AND name = ?", list(t))
    if altered is not None:
        duck.execute(f"INSERT INTO {_ALTERED} VALUES (?, ?, ?, ?)", [*t, altered])


_original_execute = FakeSnowflakeCursor.execute


def _execute(self: FakeSnowflakeCursor, command: str, *args, **kwargs):  # type: ignore[no-untyped-def]
    with _LOCK:
        if m := _SWAP.match(command):
            a, b = _parts(m.group(1), self), _parts(m.group(2), self)
            tmp = (a[0], a[1], f"{a[2]}__DATAOPS_SWAP")
            meta_a, meta_b = _meta(self, a), _meta(self, b)
            for stmt in (
                f"CREATE OR REPLACE TABLE {_q(tmp)} AS SELECT * FROM {_q(a)}",
                f"CREATE OR REPLACE TABLE {_q(a)} AS SELECT * FROM {_q(b)}",
                f"CREATE OR REPLACE TABLE {_q(b)} AS SELECT * FROM {_q(tmp)}",
                f"DROP TABLE {_q(tmp)}",
            ):
                _original_execute(self, stmt)
            _set_meta(self, a, *meta_b)
            _set_meta(self, b, *meta_a)
            return _original_execute(self, "SELECT 'Statement executed successfully.' AS \"status\"")
        if m := _UNDROP.match(command):
            t = _parts(m.group(1), self)
            kept = (t[0], t[1], f"{t[2]}{_DROPPED}")
            _original_execute(self, f"CREATE TABLE {_q(t)} AS SELECT * FROM {_q(kept)}")
            _original_execute(self, f"DROP TABLE {_q(kept)}")
            _stamp(self, t)
            return _original_execute(self, f"SELECT 'Table {t[2]} successfully restored.' AS \"status\"")
        if m := _DROP.match(command):
            t = _parts(m.group(2), self)
            kept = (t[0], t[1], f"{t[2]}{_DROPPED}")
            exists = self._duck_conn.execute("SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?", list(t)).fetchone()  # noqa: SLF001
            if exists:
                _original_execute(self, f"CREATE OR REPLACE TABLE {_q(kept)} AS SELECT * FROM {_q(t)}")
        result = _original_execute(self, command, *args, **kwargs)
        if m := _WRITES.match(command):
            _stamp(self, _parts(m.group(1), self))
        return result


FakeSnowflakeCursor.execute = _execute  # type: ignore[method-assign]

_TZ_SHORT = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+-]\d{2})$")


def _json_value(v: object, typ: str, scale: int) -> str | None:
    """A value as Snowflake's JSON result format writes it for the given column type."""
    if v is None:
        return None
    if isinstance(v, dict) and "epoch" in v:
        # fakesnow's Arrow struct for timestamps: epoch seconds, fraction in nanoseconds, timezone
        if v["epoch"] is None:
            return None
        frac = int(v.get("fraction") or 0)
        text = f"{int(v['epoch'])}.{frac:09d}"
        return f"{text} {int(v['timezone'])}" if v.get("timezone") is not None else text
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, dt.datetime):
        return f"{v.timestamp():.9f}"
    if isinstance(v, dt.date):
        return str((v - dt.date(1970, 1, 1)).days)
    if typ == "fixed" and isinstance(v, int) and scale:
        return str(v / (10**scale))
    text = str(v)
    if typ == "text" and _TZ_SHORT.match(text):
        return text + ":00"
    return text


async def _query_request(request: Request) -> JSONResponse:
    response = await fs_server.query_request(request)
    if not request.headers.get("user-agent", "").startswith("JavaScript/"):
        return response
    body = json.loads(response.body)
    data = body.get("data") or {}
    if data.get("queryResultFormat") == "json" and "rowset" in data and "returned" not in data:
        # fakesnow answers DML (INSERT, UPDATE, DELETE, MERGE) in JSON already, without the rows the
        # chunk returned; the JavaScript driver then waits for rows that never come
        data["returned"] = len(data["rowset"])
        return JSONResponse(body, status_code=response.status_code)
    if data.get("queryResultFormat") != "arrow":
        return response
    rows: list[list[str | None]] = []
    if data.get("rowsetBase64"):
        table = pa.ipc.open_stream(base64.b64decode(data["rowsetBase64"])).read_all()
        types = [(c.get("type", "text"), int(c.get("scale") or 0)) for c in data["rowtype"]]
        columns = [col.to_pylist() for col in table.columns]
        rows = [[_json_value(v, *types[i]) for i, v in enumerate(r)] for r in zip(*columns, strict=True)] if columns else []
    data.pop("rowsetBase64", None)
    data.update({"queryResultFormat": "json", "rowset": rows, "total": len(rows), "returned": len(rows)})
    return JSONResponse(body, status_code=response.status_code)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    routes = [Route(r.path, _query_request, methods=["POST"]) if r.path == "/queries/v1/query-request" else r for r in fs_server.routes]
    print(f"snowflake stand-in on http://{host}:{port}", flush=True)
    uvicorn.run(Starlette(routes=routes), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
