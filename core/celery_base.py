"""The base class of every Celery task: queuing never breaks the request when the broker is down.

Tasks are queued after commit (``transaction.on_commit``); if Redis is unreachable then, the
publish error would surface as a server error *after* the data was saved. Instead it is logged
and the work is left to the catch-up jobs that already exist for it: unsent e-mails are retried
every 10 minutes and nightly (``core.mail.email_retry_unsent``, the ``OutboundEmail`` rows are
the outbox), missing PDFs are re-queued nightly (billing's ``missing_pdfs`` job). See
docs/security.md, "Faults".
"""
import logging

from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

try:
    from redis.exceptions import RedisError

    BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, RedisError, OSError)
except ImportError:  # pragma: no cover
    BROKER_ERRORS = (OperationalError, OSError)


class ResilientTask(Task):
    def apply_async(self, args=None, kwargs=None, *rest, **options):
        if self.app.conf.task_always_eager:  # runs in-process: its own errors must propagate
            return super().apply_async(args, kwargs, *rest, **options)
        try:
            return super().apply_async(args, kwargs, *rest, **options)
        except BROKER_ERRORS as exc:
            logger.warning("Broker unreachable, %s not queued (the catch-up job will do it): %s", self.name, exc)
            return None
