"""Real Celery worker processes for the tests: started on Redis against the test's PostgreSQL database.

Each worker is ``celery -A mis_backoffice worker -c 1`` in its own process group (so
a SIGKILL takes its pool child with it, like a machine losing the process), with a
log file, and ``PGAPPNAME`` set to its name so PostgreSQL's ``pg_stat_activity``
says which worker a backend belongs to. A unique Redis key prefix keeps each test's
queues and unacknowledged messages apart from any other run sharing the database.
"""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from celery import Celery
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/7")


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for the workers."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    def __init__(self, directory: Path, names=("w1", "w2"), **env):
        self.directory = directory
        self.names = list(names)
        self.prefix = f"mis-test-{uuid.uuid4().hex[:12]}:"
        self.env = {k: str(v) for k, v in env.items()}
        self.procs: dict[str, subprocess.Popen] = {}

    def log_path(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace") if self.log_path(name).exists() else ""

    def start(self, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "PYTEST_", "BILLING_"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "mis_backoffice.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_REDIS_KEY_PREFIX": self.prefix,
            "CELERY_TASK_ALWAYS_EAGER": "False",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "CONN_MAX_AGE": "0",
            "PGAPPNAME": name,
            "LOG_LEVEL": "INFO",
        })
        env.update(self.env)
        log = open(self.log_path(name), "ab")  # noqa: SIM115 (closed with the process)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mis_backoffice", "worker", "-c", "1", "-P", "prefork",
             "-n", f"{name}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()

    def __enter__(self):
        for name in self.names:
            self.start(name)
        self.wait_ready(self.names)
        return self

    def wait_ready(self, names, timeout=120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in names:
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"worker {name} exited:\n{self.log(name)[-3000:]}")
            if all(" ready." in self.log(name) for name in names):
                return
            time.sleep(0.2)
        raise TimeoutError("workers not ready:\n" + "\n".join(self.log(n)[-2000:] for n in names))

    def send(self, task: str, *args, **kwargs) -> None:
        """Queue a task as beat would (the test process itself runs tasks eagerly)."""
        from kombu import Connection

        producer = Celery("scale-test-producer", broker=REDIS_URL, set_as_current=False)
        # An explicit connection: Celery's broker_url prefers the CELERY_BROKER_URL environment variable
        # (CI sets it to another Redis database) over the ``broker`` given here.
        try:
            with Connection(REDIS_URL, transport_options={"global_keyprefix": self.prefix}) as conn:
                producer.send_task(task, args=args, kwargs=kwargs, connection=conn)
        finally:
            producer.close()

    def queue_is_empty(self) -> bool:
        """No message waiting, none taken and not yet acknowledged."""
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            return client.llen(f"{self.prefix}celery") == 0 and client.hlen(f"{self.prefix}unacked") == 0
        finally:
            client.close()

    def kill(self, name: str) -> None:
        """SIGKILL the worker and its pool child: no cleanup, no acknowledgement, no rollback sent."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def __exit__(self, *exc):
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        try:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{self.prefix}*"))
            if keys:
                client.delete(*keys)
            client.close()
        except Exception:  # cleaning is best effort; the keys are unique to this run
            pass
        return False


def wait_for(predicate, *, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
