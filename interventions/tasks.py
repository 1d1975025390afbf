"""Celery entry points of the interventions app: thin, they call services."""
from celery import shared_task
from django.utils import timezone

from interventions import services


@shared_task(acks_late=True)
def sla_scan_task():
    """Every 15 minutes (mis_backoffice/schedule.py): at-risk and breached deadlines, alerts once."""
    return services.sla_scan(now=timezone.now())
