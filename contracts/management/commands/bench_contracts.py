"""Benchmark of the contracts nightly jobs over many contracts (not a test; figures go to docs/benchmarks.md).

Run it on a database of its own, e.g.::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_bench_contracts python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_bench_contracts python manage.py bench_contracts
"""
import datetime
import os
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contracts import services, terms
from contracts.choices import ContractStatus
from contracts.models import Client, Contract, ContractLine, ContractRevision, SyntecIndex

PREFIX = "BENCH-"
SIGNED = datetime.date(2024, 3, 15)  # initial term to 2025-12-31


class Command(BaseCommand):
    help = "Create N contracts with bulk_create and time the 1 January Syntec revision and the renewal job."

    def add_arguments(self, parser):
        parser.add_argument("--contracts", type=int, default=10_000)
        parser.add_argument("--no-letters", action="store_true", help="Skip the revision letters (slow).")
        parser.add_argument("--force", action="store_true",
                            help="Run even if the database holds other contracts (they would be revised too).")

    def handle(self, *args, **options):
        n = options["contracts"]
        if Contract.objects.exclude(reference__startswith=PREFIX).exists() and not options["force"]:
            raise CommandError("This database holds real contracts: run the benchmark on a database of its own.")
        self._setup(n)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        self.stdout.write(f"{connection.vendor}, {n} contracts, {ContractLine.objects.count()} lines, "
                          f"{os.cpu_count()} CPUs, load average {load:.1f}")
        self._measure("contracts.syntec_revision (1 January 2025)",
                      lambda: services.contracts_revise(year=2025))
        self._measure("contracts.syntec_revision again (nothing left)",
                      lambda: services.contracts_revise(year=2025))
        self._measure("contracts.renewal (31 December 2025)",
                      lambda: services.contracts_renew_due(today=datetime.date(2025, 12, 31)))
        self._measure("contracts.renewal again (nothing left)",
                      lambda: services.contracts_renew_due(today=datetime.date(2025, 12, 31)))
        if options["no_letters"]:
            return
        # Rolled back: no e-mail row is kept and no send task reaches the broker.
        with transaction.atomic():
            self._measure("contracts.revision_letters (one e-mail per contract, rolled back)",
                          lambda: services.revision_letters_send())
            transaction.set_rollback(True)

    def _measure(self, label, func):
        with CaptureQueriesContext(connection) as ctx:
            started, cpu = time.perf_counter(), time.process_time()
            result = func()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        db = sum(float(q["time"]) for q in ctx.captured_queries)
        self.stdout.write(
            f"{label}: {elapsed:.2f} s wall ({cpu:.2f} s Python CPU, {db:.2f} s in the database), "
            f"{len(ctx.captured_queries)} queries, {result}"
        )

    @transaction.atomic
    def _setup(self, n):
        ContractRevision.objects.filter(contract__reference__startswith=PREFIX).delete()
        ContractLine.objects.filter(contract__reference__startswith=PREFIX).delete()
        Contract.objects.filter(reference__startswith=PREFIX).delete()
        SyntecIndex.objects.get_or_create(month=datetime.date(2024, 1, 1),
                                          defaults={"value": Decimal("310.5"), "published_on": datetime.date(2024, 2, 29)})
        SyntecIndex.objects.get_or_create(month=datetime.date(2024, 10, 1),
                                          defaults={"value": Decimal("315.0"), "published_on": datetime.date(2024, 11, 29)})
        client, _ = Client.objects.get_or_create(
            siren="732829320", defaults=dict(name="Bench SA", address_line1="1 rue du Banc", postal_code="83600",
                                             city="Fréjus", billing_email="bench@example.fr"))
        end = terms.initial_term_end(SIGNED)
        contracts = Contract.objects.bulk_create([
            Contract(client=client, reference=f"{PREFIX}{i:06d}", signature_date=SIGNED, start_date=SIGNED,
                     status=ContractStatus.ACTIVE, initial_term_end=end, current_period_start=SIGNED,
                     current_period_end=end, notice_deadline=terms.notice_deadline(end))
            for i in range(n)
        ], batch_size=2000)
        if not contracts or contracts[0].pk is None:  # backends that do not return ids
            contracts = list(Contract.objects.filter(reference__startswith=PREFIX))
        ContractLine.objects.bulk_create([
            ContractLine(contract=c, position=p, description=d, quantity=q, unit_price=u)
            for c in contracts
            for p, (d, q, u) in enumerate([("Maintenance serveur", Decimal("1"), Decimal("100.00")),
                                           ("Maintenance poste", Decimal("4"), Decimal("35.00"))])
        ], batch_size=5000)
