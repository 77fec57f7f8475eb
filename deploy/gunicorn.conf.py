"""Gunicorn settings for huzhu in production (docs/operations.md).

    gunicorn -c deploy/gunicorn.conf.py huzhu.wsgi:application

Every figure comes from the environment so that one file serves every site:

- ``HUZHU_BIND`` (default ``127.0.0.1:8000``): listen only where the TLS proxy can reach;
  ``unix:/run/huzhu/gunicorn.sock`` works too.
- ``HUZHU_WEB_WORKERS`` (default 2 x CPUs + 1) processes, ``HUZHU_WEB_THREADS`` (default 1)
  threads each.
- ``HUZHU_WEB_TIMEOUT`` (default 120 s: a 100,000-row roster is read and checked in about 20 s
  on PostgreSQL, a settlement delivery in parts) before a silent worker is killed and replaced.
- ``HUZHU_FORWARDED_ALLOW_IPS`` (default ``127.0.0.1,::1``): the proxies whose
  ``X-Forwarded-*`` headers are believed. From any other peer those headers are removed before
  the application sees them, so a client that reaches gunicorn directly cannot claim HTTPS
  (``X-Forwarded-Proto``) or another address (``X-Forwarded-For``).
- ``HUZHU_ACCESS_LOG`` (default ``-``, standard output; empty: no access log).

The access log holds the method, the path WITHOUT its query string, the status, the size, the
time taken and the request id; not the query string and not the Referer (either could carry a
search for a name or an ID number), not the User-Agent, and not the proxy's X-Forwarded-For
(the platform records the client address in its own event log).
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = [b.strip() for b in os.environ.get("HUZHU_BIND", "127.0.0.1:8000").split(",")
        if b.strip()]
workers = _int("HUZHU_WEB_WORKERS", 2 * multiprocessing.cpu_count() + 1)
threads = _int("HUZHU_WEB_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("HUZHU_WEB_TIMEOUT", 120)
graceful_timeout = _int("HUZHU_WEB_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Replace each worker after about this many requests (with jitter, so not all at once): a slow
# leak in a library cannot grow without bound.
max_requests = _int("HUZHU_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Uploads go in the body; the request line and headers stay small.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Heartbeat files in memory, not on a disk that may stall (containers mount /dev/shm).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

FORWARDED_ALLOW_IPS = [a.strip() for a in
                       os.environ.get("HUZHU_FORWARDED_ALLOW_IPS", "127.0.0.1,::1").split(",")
                       if a.strip()]
forwarded_allow_ips = ",".join(FORWARDED_ALLOW_IPS)
_TRUSTED = [ipaddress.ip_network(a, strict=False) for a in FORWARDED_ALLOW_IPS if a != "*"]
FORWARDED_HEADERS = {"X-FORWARDED-PROTO", "X-FORWARDED-FOR", "X-FORWARDED-HOST",
                     "X-FORWARDED-PORT", "X-FORWARDED-SSL", "X-FORWARDED-SCHEME", "FORWARDED",
                     "X-REAL-IP"}

accesslog = os.environ.get("HUZHU_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("HUZHU_LOG_LEVEL", "warning").lower()
# %(U)s is the path without the query string; %(t)s the time; %(M)s milliseconds taken.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
proc_name = "huzhu"


def _trusted(req) -> bool:  # type: ignore[no-untyped-def]
    """Whether the request's TCP peer is one of the trusted proxies (a unix socket is: only
    the proxy on this machine can open it)."""
    peer = getattr(req, "peer_addr", None)
    if not isinstance(peer, tuple | list):
        return True
    if "*" in FORWARDED_ALLOW_IPS:
        return True
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%")[0])
    except ValueError:
        return False
    return any(address in network for network in _TRUSTED)


def pre_request(worker, req) -> None:  # type: ignore[no-untyped-def]
    """Drop the forwarded headers of a request that did not come from a trusted proxy."""
    if _trusted(req):
        return
    req.headers = [(name, value) for name, value in req.headers
                   if name.upper() not in FORWARDED_HEADERS]
