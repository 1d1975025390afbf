"""Benchmark of the SLA engine: deadline throughput and the 15-minute scan over many open tickets.

Run it on a database of its own (it inserts rows)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_interventions_bench \\
        python manage.py migrate && python manage.py benchmark_sla --tickets 100000

Figures go to docs/benchmarks.md, section "interventions".
"""
import datetime
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import override_settings
from stdnum import luhn

from contracts.models import Client, Contract
from core.business_time import business_add
from core.dates import PARIS
from interventions import services, sla
from interventions.choices import Category, Channel, SlaState
from interventions.models import Ticket

BENCH_TITLE = "benchmark"


class Command(BaseCommand):
    help = "Measure deadline computations per second and the SLA scan over N open tickets (own database!)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--deadlines", type=int, default=100_000)
        parser.add_argument("--keep", action="store_true", help="keep the inserted tickets")

    def handle(self, *args, tickets, deadlines, keep, **options):
        rng = random.Random(2026)
        base = datetime.datetime(2026, 1, 5, 9, tzinfo=PARIS)
        starts = [base + datetime.timedelta(minutes=rng.randrange(0, 525_600)) for _ in range(deadlines)]
        subs = ["", "57", "6AE"]
        for sub in subs:  # build the calendars once, as a running process has them
            business_add(base, 1, subdivision=sub)
        # CPU time is the figure that does not depend on what else runs on the machine; wall time is shown too.
        w0, c0 = time.perf_counter(), time.process_time()
        for i, start in enumerate(starts):
            business_add(start, 24, subdivision=subs[i % 3])
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        self.stdout.write(f"business_add (24 h, 3 calendars): {deadlines / cpu:,.0f} deadlines/s CPU, "
                          f"{deadlines / wall:,.0f}/s wall")
        w0, c0 = time.perf_counter(), time.process_time()
        for i, start in enumerate(starts):
            sla.sla_times(opened_at=start, hours=24 if i % 2 else 4, subdivision=subs[i % 3], pauses=[])
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        self.stdout.write(f"ticket SLA (risk + deadline = 2 additions): {deadlines / cpu:,.0f} tickets/s CPU, "
                          f"{deadlines / wall:,.0f}/s wall")

        if Ticket.objects.exclude(title=BENCH_TITLE).exists():
            raise CommandError("This database holds real tickets: run the benchmark on a database of its own.")
        siren = "73282932"
        siren += luhn.calc_check_digit(siren)
        client, _ = Client.objects.get_or_create(
            siren=siren, defaults=dict(name="Benchmark", address_line1="1 rue", postal_code="83600", city="Fréjus",
                                       billing_email="bench@example.fr"))
        contract, _ = Contract.objects.get_or_create(
            reference="CT-BENCH", defaults=dict(client=client, signature_date=datetime.date(2026, 1, 1),
                                                start_date=datetime.date(2026, 1, 1), status="active"))
        Ticket.objects.filter(title=BENCH_TITLE).delete()
        now = datetime.datetime(2026, 11, 30, 12, tzinfo=PARIS)
        rows = []
        t0 = time.perf_counter()
        for i in range(tickets):
            # 1 % become breached and 1 % at risk at `now`; the rest are on track.
            if i % 100 == 0:
                opened = now - datetime.timedelta(days=10)
            elif i % 100 == 1:
                opened = now - datetime.timedelta(days=4, hours=1)  # Thu 11:00: 19 of 24 business hours used
            else:
                opened = now - datetime.timedelta(minutes=rng.randrange(1, 300))
            risk, deadline = sla.sla_times(opened_at=opened, hours=24, subdivision="", pauses=[])
            rows.append(Ticket(client=client, contract=contract, channel=Channel.PHONE, category=Category.HARDWARE,
                               severity=2, title=BENCH_TITLE, opened_at=opened, sla_hours=24, risk_at=risk,
                               deadline_at=deadline))
        compute = time.perf_counter() - t0
        t0 = time.perf_counter()
        with transaction.atomic():
            Ticket.objects.bulk_create(rows, batch_size=5000)
        insert = time.perf_counter() - t0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE interventions_ticket")
        self.stdout.write(f"{tickets:,} tickets: deadlines computed in {compute:.2f} s, inserted in {insert:.2f} s")
        timings = []
        for run in (1, 2):
            t0 = time.perf_counter()
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                                   CELERY_TASK_ALWAYS_EAGER=True):
                result = services.sla_scan(now=now)
            timings.append(time.perf_counter() - t0)
            self.stdout.write(f"scan {run} ({connection.vendor}): {timings[-1]:.3f} s — {result}")
        breached = Ticket.objects.filter(title=BENCH_TITLE, sla_state=SlaState.BREACHED).count()
        self.stdout.write(f"breached after the scans: {breached:,}")
        if not keep:
            Ticket.objects.filter(title=BENCH_TITLE).delete()
