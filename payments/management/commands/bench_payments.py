"""Benchmark of the dunning run over many invoices (not a test; figures go to docs/benchmarks.md).

Run it on a database of its own, e.g.::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_payments_bench python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_payments_bench python manage.py bench_payments

Creates (bulk_create) 2,000 clients with a monthly contract and 100,000 issued
invoices, 5 % of them overdue and unpaid, concentrated on 200 clients in arrears
(25 invoices each); 20 of those clients have a formal notice left without
effect. Then times the nightly dunning jobs (reminders, then B3 application),
and their second run. Everything is rolled back at the end.
"""
import cProfile
import datetime
import io
import os
import pstats
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice
from contracts.models import Client, Contract, ContractLine
from core.models import ProviderProfile
from payments import jobs
from payments.models import FormalNotice, FormalNoticeInvoice

TODAY = datetime.date(2026, 6, 12)


class Command(BaseCommand):
    help = "Time the payments dunning jobs over 100,000 invoices (5 % overdue) on a database of its own."

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, default=100_000)
        parser.add_argument("--clients", type=int, default=2_000)
        parser.add_argument("--arrears-clients", type=int, default=200)
        parser.add_argument("--notices", type=int, default=20)
        parser.add_argument("--profile", action="store_true", help="cProfile the B3 application (top 25 by own time)")

    def handle(self, *args, **o):
        self.verbosity = o["verbosity"]
        self.profile = o["profile"]
        if Invoice.objects.exists() or Client.objects.exists():
            raise CommandError("This database holds data: run the benchmark on an empty database of its own.")
        with transaction.atomic():
            self._setup(o["invoices"], o["clients"], o["arrears_clients"], o["notices"])
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            overdue = Invoice.objects.filter(status="issued", due_date__lt=TODAY).count()
            self.stdout.write(f"{connection.vendor}, {Invoice.objects.count()} invoices, {overdue} overdue, "
                              f"{Client.objects.count()} clients, {FormalNotice.objects.count()} formal notices, "
                              f"{os.cpu_count()} CPUs, load average {load:.1f}")
            total = 0.0
            for label, func in [
                ("payments.overdue_reminders", jobs.overdue_reminders),
                ("payments.dunning (B3 applied)", jobs.dunning),
                ("payments.overdue_reminders again", jobs.overdue_reminders),
                ("payments.dunning again", jobs.dunning),
            ]:
                total += self._measure(label, lambda func=func: func(today=TODAY))
            transaction.set_rollback(True)

    def _measure(self, label, func) -> float:
        with CaptureQueriesContext(connection) as ctx:
            profiler = cProfile.Profile() if self.profile and "B3" in label else None
            started = time.perf_counter()
            result = profiler.runcall(func) if profiler else func()
            elapsed = time.perf_counter() - started
        db = sum(float(q["time"]) for q in ctx.captured_queries)
        self.stdout.write(f"{label}: {elapsed:.2f} s (database {db:.2f} s), {len(ctx.captured_queries)} queries "
                          f"→ {result}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            self.stdout.write(out.getvalue())
        if self.verbosity > 1:
            for q in sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:5]:
                self.stdout.write(f"    {float(q['time']):.3f} s  {q['sql'][:300]}")
        return elapsed

    def _setup(self, n_invoices, n_clients, n_arrears, n_notices):
        started = time.perf_counter()
        if not ProviderProfile.objects.exists():
            ProviderProfile.objects.create(
                legal_name="MICRO INFO SERVICE", address_line1="Chemin des Vernèdes", postal_code="83480",
                city="Puget-sur-Argens", siren="512345679", vat_number="FR75512345679",
                iban="FR7630006000011234567890189", bic="AGRIFRPP", sepa_creditor_id="FR12ZZZ123456",
                email="contact@micro-info-service.fr")
        clients = Client.objects.bulk_create([
            Client(name=f"Bench {i:05d}", siren=f"{100000000 + i:09d}", address_line1="1 rue du Port",
                   postal_code="83600", city="Fréjus", billing_email=f"compta{i}@bench.example.fr")
            for i in range(n_clients)
        ], batch_size=2000)
        contracts = Contract.objects.bulk_create([
            Contract(client=c, reference=f"BENCH-{i:05d}", signature_date=datetime.date(2026, 1, 5),
                     start_date=datetime.date(2026, 1, 5), status="active", billing_frequency="monthly",
                     initial_term_end=datetime.date(2027, 12, 31), current_period_start=datetime.date(2026, 1, 5),
                     current_period_end=datetime.date(2027, 12, 31), notice_deadline=datetime.date(2027, 9, 30))
            for i, c in enumerate(clients)
        ], batch_size=2000)
        ContractLine.objects.bulk_create([
            ContractLine(contract=c, description="Maintenance", unit_price=Decimal("100.00")) for c in contracts
        ], batch_size=2000)
        per_arrears = (n_invoices * 5 // 100) // n_arrears
        invoices = []
        seq = 0
        for i, client in enumerate(clients):
            contract = contracts[i]
            for k in range(n_invoices // n_clients):
                seq += 1
                late = i < n_arrears and k < per_arrears
                # Recurring-like invoices of the first 5 months of 2026; the late ones fell due in March–May.
                issue = datetime.date(2026, 1 + k % 5, 1)
                due = TODAY - datetime.timedelta(days=10 + k) if late else issue + datetime.timedelta(days=14)
                invoices.append(Invoice(
                    document_type="invoice", kind="extra", status="issued" if late else "paid", series="B",
                    fiscal_year=2026, sequence=seq, number=f"B-2026-{seq:06d}", client=client, contract=contract,
                    issue_date=issue, due_date=due, payment_method="transfer", total_ht=Decimal("100.00"),
                    total_vat=Decimal("20.00"), total_ttc=Decimal("120.00"),
                    amount_paid=Decimal("0.00") if late else Decimal("120.00"), paid_at=None if late else due,
                ))
        Invoice.objects.bulk_create(invoices, batch_size=5000)
        notices = FormalNotice.objects.bulk_create([
            FormalNotice(client=clients[i], sent_on=datetime.date(2026, 5, 8), received_on=datetime.date(2026, 5, 11),
                         applies_on=datetime.date(2026, 6, 11), amount_due=Decimal("120.00") * per_arrears,
                         tracking_number=f"1A{i:011d}")
            for i in range(n_notices)
        ])
        late_by_client = {}
        for inv in Invoice.objects.filter(status="issued", client_id__in=[n.client_id for n in notices]):
            late_by_client.setdefault(inv.client_id, []).append(inv)
        FormalNoticeInvoice.objects.bulk_create([
            FormalNoticeInvoice(notice=n, invoice=inv, balance=inv.total_ttc)
            for n in notices for inv in late_by_client.get(n.client_id, [])
        ])
        self.stdout.write(f"setup: {time.perf_counter() - started:.1f} s")
