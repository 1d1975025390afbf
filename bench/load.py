"""HTTP load: gunicorn on loopback against the benchmark database, ``wrk`` with a logged-in session cookie.

``wrk --latency`` prints only the 50/75/90/99th percentiles, so a small Lua ``done`` hook prints
p50/p95/p99, the request rate and the errors as one JSON line. Before loading a page, one plain GET
with the cookie must answer 200 (a redirect to the login or 2FA page would be fast and meaningless).
"""
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.test import override_settings

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"p50": %d, "p95": %d, "p99": %d, "max": %d, "requests": %d, "seconds": %f, "errors": %d}\\n',
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, summary.requests,
    summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(*, workers: int, secret_key: str, log, threads: int = 1):
    """gunicorn on 127.0.0.1 with production-like settings (``DEBUG=False``): ``workers`` processes of
    ``threads`` threads (1: sync workers; the README's production command uses 4)."""
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "DEBUG": "False", "SECRET_KEY": secret_key, "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False", "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING",
    })
    binary = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    process = subprocess.Popen(
        [binary, "mis_backoffice.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--log-level", "warning", "--timeout", "120"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.1)
        log(f"  gunicorn ({workers} workers × {threads} threads) on {base}")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def check_status(url: str, cookie: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # timed out: the workers are still busy with a page too slow for the load
        return 0


def wrk(url: str, *, cookie: str, connections: int = 20, seconds: int = 10, threads: int = 2) -> dict:
    """One ``wrk`` run; latencies in milliseconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "10s",
             "-H", f"Cookie: {cookie}", "-s", script.name, url],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("{"))
    data = json.loads(line)
    if not data["requests"]:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None, "rps": 0.0, "errors": data["errors"],
                "requests": 0}
    return {"p50_ms": data["p50"] / 1000, "p95_ms": data["p95"] / 1000, "p99_ms": data["p99"] / 1000,
            "max_ms": data["max"] / 1000, "rps": data["requests"] / data["seconds"], "errors": data["errors"],
            "requests": data["requests"]}


def session_cookie(user, *, staff: bool) -> str:
    """A real session in the database for ``user`` (2FA marked passed for staff), as a Cookie header value."""
    from bench.measure import logged_in_client

    client = logged_in_client(user, staff=staff)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def load(*, staff_user, portal_user, admin_urls, portal_urls, workers: int, connections: int, seconds: int,
         log, threads: int = 1) -> list[dict]:
    rows = []
    key = secrets.token_urlsafe(60)
    with override_settings(SECRET_KEY=key):  # sessions and their auth hash are signed with the server's key
        cookies = {True: session_cookie(staff_user, staff=True), False: session_cookie(portal_user, staff=False)}
    with gunicorn(workers=workers, threads=threads, secret_key=key, log=log) as base:
        for staff, urls in ((True, admin_urls), (False, portal_urls)):
            for path in urls:
                status = check_status(base + path, cookies[staff])
                row = {"url": path, "status": status, "workers": workers, "threads": threads,
                       "connections": connections}
                if status == 200:
                    row.update(wrk(base + path, cookie=cookies[staff], connections=connections, seconds=seconds))
                    time.sleep(2)  # let the workers finish the requests wrk gave up on
                log(f"  wrk {path}: {row}")
                rows.append(row)
    return rows
