"""The Celery application. Periodic tasks are declared in mis_backoffice/schedule.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mis_backoffice.settings")

# Queuing survives a broker outage (logged; the catch-up jobs redo the work): core/celery_base.py.
app = Celery("mis_backoffice", task_cls="core.celery_base:ResilientTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
