import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from mis_backoffice.schedule import PERIODIC_TASKS


class Command(BaseCommand):
    help = "Create or update the periodic tasks of mis_backoffice/schedule.py in the beat database scheduler."

    @transaction.atomic
    def handle(self, *args, **options):
        for name, (task, cron, kwargs) in PERIODIC_TASKS.items():
            cron_kwargs = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
            cron_kwargs.update(cron)
            schedule, _ = CrontabSchedule.objects.get_or_create(timezone="Europe/Paris", **cron_kwargs)
            obj, created = PeriodicTask.objects.get_or_create(
                name=name, defaults={"task": task, "crontab": schedule, "kwargs": json.dumps(kwargs)}
            )
            if not created:
                # Keep the staff's enabled/disabled choice; update what the code defines.
                obj.task, obj.crontab, obj.interval, obj.kwargs = task, schedule, None, json.dumps(kwargs)
                obj.save()
            self.stdout.write(f"{'created' if created else 'updated'}: {name} -> {task}")
