"""pytest plugin that writes failed tests as findings JSON (file, line, message) for `dataops validate`.

Loaded with `-p pytest_findings` (this folder on PYTHONPATH); the output file is named by the
environment variable DATAOPS_PYTEST_FINDINGS. Each entry: {nodeid, file, line, message, when}.
Paths are relative to the pytest rootdir; lines are 1-based.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

_failures: list[dict] = []


def _crash(report):
    longrepr = getattr(report, "longrepr", None)
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.path, crash.lineno, crash.message
    text = str(longrepr) if longrepr is not None else "failed"
    return None, None, text.strip().splitlines()[-1] if text.strip() else "failed"


def _entry(report, when: str) -> dict:
    fspath, lineno0, _domain = report.location if getattr(report, "location", None) else (report.fspath, None, None)
    crash_path, crash_line, message = _crash(report)
    line = (lineno0 + 1) if lineno0 is not None else None
    # Point at the failing line when it is in the test file itself, else at the test function.
    if crash_path and crash_line and Path(crash_path).resolve() == Path(fspath).resolve():
        line = crash_line
    return {"nodeid": report.nodeid, "file": fspath, "line": line, "message": message.strip().splitlines()[0] if message else "failed", "when": when}


def pytest_runtest_logreport(report):
    if report.failed:
        _failures.append(_entry(report, report.when))


def pytest_collectreport(report):
    if report.failed:
        _failures.append(_entry(report, "collect"))


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("DATAOPS_PYTEST_FINDINGS")
    if out:
        Path(out).write_text(json.dumps({"exitstatus": int(exitstatus), "failures": _failures}), encoding="utf-8")
