"""schemathesis against the live app (ADR 0013, issue 13).

``tests/api/live_app.py`` serves the app on Django's threaded WSGI server in a subprocess, on a
fresh SQLite file with a small demo province and a token of a province-level reviewer; the
schemathesis command line then reads ``/api/openapi.json`` from it and runs every phase
(examples, coverage, fuzzing, stateful) and every check against every operation, with a
bounded number of examples and a fixed seed. The run must find no server error, no answer
outside the schema (status, content type, body) and no request handled against the schema.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("HUZHU_SCHEMATHESIS_EXAMPLES", "6"))
SEED = int(os.environ.get("HUZHU_SCHEMATHESIS_SEED", "2026"))
MIN_OPERATIONS = 22  # the operations of the schema when this test was written

pytestmark = [pytest.mark.live, pytest.mark.xdist_group("schemathesis")]


def _started(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The ``{"port", "token"}`` line the server prints once it listens."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=1):
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith('{"port"'):
            return json.loads(line)
    raise AssertionError("the live server did not start")


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("live")
    env = {**os.environ, "HUZHU_DEV": "1", "HUZHU_VAR_DIR": str(home),
           "DATABASE_URL": f"sqlite:///{home / 'live.sqlite3'}", "HUZHU_TASKS": "immediate",
           "PYTHONPATH": str(ROOT)}
    log = (home / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "tests.api.live_app"], cwd=home, env=env,
                               stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        started = _started(process, timeout=180)
        yield {"url": f"http://127.0.0.1:{started['port']}", "token": started["token"],
               "home": home, "log": home / "server.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_api):
    report = live_api["home"] / "schemathesis.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
        "--no-color", "run", f"{live_api['url']}/api/openapi.json",
        "--header", f"Authorization: Bearer {live_api['token']}",
        "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--workers", "1", "--generation-database", "none",
        "--report", "json", "--report-json-path", str(report),
    ]
    with urllib.request.urlopen(f"{live_api['url']}/api/openapi.json", timeout=30) as answer:
        schema = json.load(answer)
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert operations >= MIN_OPERATIONS
    started = time.monotonic()
    run = subprocess.run(command, cwd=live_api["home"], capture_output=True, text=True,
                         timeout=600)
    seconds = time.monotonic() - started
    output = run.stdout[-20000:] + run.stderr[-5000:]
    assert report.exists(), output
    result = json.loads(report.read_text())
    assert result["complete"], output
    assert result["errors"] == [], output
    assert result["failures"] == [], output
    assert run.returncode == 0, output
    assert result["operations"]["tested"] == operations, result["operations"]
    assert result["test_cases"]["generated"] >= operations * MAX_EXAMPLES, result["test_cases"]
    assert "Traceback" not in live_api["log"].read_text()
    print(f"\nschemathesis: {result['operations']['tested']} operations, "
          f"{result['test_cases']['generated']} test cases "
          f"(max {MAX_EXAMPLES} examples per operation and phase, seed {SEED}), "
          f"{seconds:.1f} s; phases {', '.join(result['phases'])}")
