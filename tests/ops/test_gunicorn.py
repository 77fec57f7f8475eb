"""The production server (Part 8, TRUST S-01): gunicorn with deploy/gunicorn.conf.py, in
production mode (no HUZHU_DEV, every secret given), serving the login page over HTTP with the
security headers; its access log holds no query string; forwarded headers count only from the
trusted proxy."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ops.support import BIN, ROOT, migrated_sqlite, production_env

ID_NUMBER = "11010519491231002X"  # a searched-for ID number: must never reach the access log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(tmp_path: Path, template: Path, **extra: str) -> Iterator[tuple[int, Path]]:
    db = migrated_sqlite(template, tmp_path / "db.sqlite3")
    port = free_port()
    log = tmp_path / "access.log"
    env = production_env(tmp_path, f"sqlite:///{db}", HUZHU_BIND=f"127.0.0.1:{port}",
                         HUZHU_WEB_WORKERS="2", HUZHU_ACCESS_LOG=str(log), **extra)
    server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                               "huzhu.wsgi:application"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
            try:
                status, _, _ = fetch(port, "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)
        yield port, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def fetch(port: int, path: str, headers: dict[str, str] | None = None
          ) -> tuple[int, http.client.HTTPMessage, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": "huzhu.example.org", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        conn.close()


def test_gunicorn_serves_the_login_page_with_security_headers(tmp_path, sqlite_template):
    with gunicorn(tmp_path, sqlite_template) as (port, log):
        status, headers, body = fetch(port, f"/login/?next=/members/%3Fq%3D{ID_NUMBER}",
                                      {"X-Forwarded-Proto": "https"})
        assert status == 200
        assert "登录" in body
        assert headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload")
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        cookies = headers.get_all("Set-Cookie") or []
        csrf = [c for c in cookies if c.startswith("csrftoken=")]
        assert csrf and "Secure" in csrf[0]
        request_id = headers["X-Request-ID"]
        # Plain HTTP from the proxy (no X-Forwarded-Proto) is sent to HTTPS.
        status, headers, _ = fetch(port, "/login/")
        assert status == 301
        assert headers["Location"] == "https://huzhu.example.org/login/"
    text = log.read_text()
    assert '"GET /login/" 200' in text
    assert f"id={request_id}" in text
    assert ID_NUMBER not in text and "next=" not in text and "?" not in text


def test_forwarded_headers_count_only_from_the_trusted_proxy(tmp_path, sqlite_template):
    """A client reaching gunicorn directly (not from HUZHU_FORWARDED_ALLOW_IPS) cannot claim
    HTTPS: its X-Forwarded-Proto is dropped and it is redirected like plain HTTP."""
    with gunicorn(tmp_path, sqlite_template, HUZHU_FORWARDED_ALLOW_IPS="10.9.9.9") as (port, _):
        status, headers, _ = fetch(port, "/login/", {"X-Forwarded-Proto": "https"})
        assert status == 301
        assert headers["Location"] == "https://huzhu.example.org/login/"
        assert "Strict-Transport-Security" not in headers
