"""Faults (issue #12): Redis stopped, SMTP failing. Nothing is lost, no page answers 500.

The Redis test runs a throwaway ``redis-server`` of its own on a free port (skipped when the binary
is absent; CI installs it, see .ci/run): Celery is switched from eager mode to that broker for the
test, the cache points at it too, and the server is stopped and started again inside the test.
"""
import shutil
import socket
import subprocess
import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from core.mail import email_queue, email_retry_unsent
from core.models import OutboundEmail
from mis_backoffice.celery import app as celery_app
from tests.security.conftest import verified_login

pytestmark = pytest.mark.django_db
REDIS = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    def __init__(self, port: int):
        self.port, self.proc = port, None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def _reset_celery_connections():
    """Forget pooled broker connections (they point at the previous broker or a dead server)."""
    from kombu import pools

    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def redis_broker(settings, monkeypatch):
    if REDIS is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/5"
    server = ThrowawayRedis(port)
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    settings.CACHES = {"default": {"BACKEND": "core.cache.ResilientRedisCache", "LOCATION": url}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery's conf prefers this variable over broker_url (CI sets it)
    celery_app.conf.broker_url = url
    celery_app.conf.task_always_eager = False
    _reset_celery_connections()
    yield server
    server.stop()
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    _reset_celery_connections()


def _run_one_queued_task():
    """What a worker does: take the next message from the Redis queue and run its task."""
    with celery_app.connection_for_read() as conn:
        queue = conn.SimpleQueue("celery")
        message = queue.get(timeout=5)
        name, args = message.headers["task"], message.payload[0]
        celery_app.tasks[name].apply(args=args)
        message.ack()
        queue.close()
    return name


def test_redis_down_pages_work_work_is_queued_and_delivered_once_it_returns(
    client, staff_user, portal_user, redis_broker, django_capture_on_commit_callbacks
):
    # Redis is stopped (never started on that port): the cache misses instead of raising.
    assert cache.get("anything") is None
    cache.set("anything", 1)

    verified_login(client, staff_user)
    for path in ["/admin/", reverse("admin:core_outboundemail_changelist"), reverse("admin:contracts_client_changelist")]:
        assert client.get(path).status_code == 200, path
    client.logout()
    client.force_login(portal_user)
    assert client.get(reverse("portal:dashboard")).status_code == 200
    client.logout()

    # An action that queues a task after commit: the password reset e-mail.
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:password_reset"), {"email": portal_user.email})
    assert response.status_code == 302
    assert time.monotonic() - started < 10  # fails fast, does not hang the request
    email = OutboundEmail.objects.get(to=[portal_user.email])
    assert email.status == OutboundEmail.Status.QUEUED  # the outbox row is the task that was not queued
    assert mail.outbox == []

    # Redis comes back: the periodic retry (every 10 minutes, and nightly) is queued and delivers it.
    redis_broker.start()
    _reset_celery_connections()
    from core.tasks import retry_unsent_emails_task

    assert retry_unsent_emails_task.delay() is not None
    assert _run_one_queued_task() == "core.tasks.retry_unsent_emails_task"
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [portal_user.email]
    # And new work goes straight through the broker again.
    with django_capture_on_commit_callbacks(execute=True):
        second = email_queue(to="x@example.fr", subject="Test", body="Corps")
    assert _run_one_queued_task() == "core.tasks.send_email_task"
    second.refresh_from_db()
    assert second.status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 2


def test_smtp_failing_keeps_the_email_visible_to_staff_and_the_retry_sends_it_once(
    client, settings, staff_user, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.core.failing_backend.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        email = email_queue(to="client@example.fr", subject="Facture F-2026-000042", body="Votre facture")
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (OutboundEmail.Status.FAILED, 1, "SMTP down")

    verified_login(client, staff_user)
    page = client.get(reverse("admin:core_outboundemail_changelist")).content.decode()
    assert "Facture F-2026-000042" in page and "SMTP down" in page

    assert email_retry_unsent() == 0  # still down: kept, attempts counted
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.FAILED, 2)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_retry_unsent() == 1
    assert email_retry_unsent() == 0  # sent once, never twice
    email.refresh_from_db()
    assert (email.status, email.last_error) == (OutboundEmail.Status.SENT, "")
    assert [m.subject for m in mail.outbox] == ["Facture F-2026-000042"]
