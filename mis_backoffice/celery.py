"""The Celery application. Periodic tasks are declared in mis_backoffice/schedule.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mis_backoffice.settings")

app = Celery("mis_backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
