"""The platform's outer edges: health, the huzhu command, security headers."""

from __future__ import annotations

import subprocess
import sys

from django.test import Client

from huzhu.cli import main


def test_healthz_answers_with_the_database(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_pages_carry_security_headers(db):
    response = Client().get("/login/")
    assert response["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert len(response["X-Request-ID"]) == 32


def test_huzhu_command_maps_groups_to_commands(world, capsys):
    assert main(["audit", "verify"]) == 0
    assert "事件日志完整" in capsys.readouterr().out


def test_huzhu_help_runs_without_a_database():
    result = subprocess.run([sys.executable, "-m", "huzhu.cli", "help"], capture_output=True,
                            text=True, env={"HUZHU_DEV": "1", "PATH": "/usr/bin:/bin"},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "demo_seed" in result.stdout and "audit_verify" in result.stdout


def test_production_refuses_to_start_without_secrets(tmp_path):
    code = "import huzhu.settings"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HUZHU_VAR_DIR": str(tmp_path)},
                            timeout=60)
    assert result.returncode != 0
    assert "HUZHU_SECRET_KEY" in result.stderr
