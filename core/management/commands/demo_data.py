import importlib

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.dates import business_today


class Command(BaseCommand):
    help = (
        "Load the demo data of every app (<app>/demo.py: load(today=..., stdout=...)). "
        "Idempotent: running it twice changes nothing."
    )

    def handle(self, *args, **options):
        today = business_today()
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            with transaction.atomic():
                module.load(today=today, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
