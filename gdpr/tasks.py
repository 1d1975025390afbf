"""Celery entry points of the gdpr app: thin, they call services."""
from celery import shared_task
from django.utils import timezone

from gdpr import services


@shared_task
def breach_alerts_task():
    """D6: every 15 minutes (mis_backoffice/schedule.py), alert staff at 24, 48 and 66 hours."""
    return services.breach_send_alerts(now=timezone.now())
