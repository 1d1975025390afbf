"""The nightly sequence: every app registers its jobs here, in business order.

An app declares its jobs in ``<app>/jobs.py``::

    from core.nightly import nightly_job

    @nightly_job(order=200, name="contracts.renewal")
    def renew_contracts(*, today):
        ...
        return {"renewed": 3}

Each job takes the business date it runs for (Europe/Paris), is idempotent
(running it twice, or two at once, changes nothing more) and returns a small
dict of what it did, which :func:`run_nightly` logs. The same sequence runs
from Celery beat (``core.tasks.run_nightly_task``) and from
``python manage.py run_nightly --date YYYY-MM-DD``.
"""
import datetime
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NightlyJob:
    name: str
    order: int
    func: Callable[..., dict | None]


_REGISTRY: dict[str, NightlyJob] = {}


def nightly_job(*, order: int, name: str):
    def decorator(func):
        _REGISTRY[name] = NightlyJob(name=name, order=order, func=func)
        return func

    return decorator


def discover() -> list[NightlyJob]:
    for config in apps.get_app_configs():
        try:
            importlib.import_module(f"{config.name}.jobs")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.jobs":
                raise
    return sorted(_REGISTRY.values(), key=lambda j: (j.order, j.name))


def run_nightly(*, today: datetime.date, only: list[str] | None = None) -> list[dict]:
    """Run every registered job for ``today`` in order; one failing job does not stop the others."""
    results = []
    for job in discover():
        if only and job.name not in only:
            continue
        started = time.perf_counter()
        try:
            outcome = job.func(today=today) or {}
            status = "ok"
        except Exception as exc:
            logger.exception("Nightly job %s failed for %s", job.name, today)
            outcome, status = {"error": str(exc)}, "failed"
        elapsed = time.perf_counter() - started
        logger.info("nightly %s %s: %s %s (%.2fs)", today, job.name, status, outcome, elapsed)
        results.append({"job": job.name, "status": status, "result": outcome, "seconds": elapsed})
    return results
