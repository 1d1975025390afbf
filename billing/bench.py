"""Benchmarks of billing (run by ``BILLING_BENCH=1 pytest tests/billing/test_bench.py -s`` on a test database).

:func:`bench_recurring` creates N active monthly contracts (2 lines each) and times the
monthly run of ``recurring_invoices_issue`` (rows and numbers, no PDF) with its query count;
:func:`bench_pdf` times the warm rendering of a one-page invoice PDF + Factur-X.
"""
import datetime
import time
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import pdf, services
from billing.choices import InvoiceKind
from billing.models import Invoice
from contracts import terms
from contracts.choices import BillingFrequency, ContractStatus
from contracts.models import Client, Contract, ContractLine

D = datetime.date
BENCH_DAY = D(2026, 2, 1)


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"{(10000000 + n) % 100000000:08d}"
    return base + luhn.calc_check_digit(base)


def bench_recurring(*, contracts: int = 10_000, today: datetime.date = BENCH_DAY) -> dict:
    """Create ``contracts`` monthly contracts starting ``today`` and time one recurring run."""
    started = time.perf_counter()
    clients = Client.objects.bulk_create(
        [Client(name=f"Client bench {i}", siren=_siren(i), address_line1="1 rue du Port", postal_code="83600",
                city="Fréjus", billing_email=f"compta{i}@bench.example.fr") for i in range(contracts)],
        batch_size=2000,
    )
    end = terms.initial_term_end(today)
    rows = Contract.objects.bulk_create(
        [Contract(client=c, reference=f"CT-BENCH-{i:06d}", signature_date=today, start_date=today,
                  status=ContractStatus.ACTIVE, billing_frequency=BillingFrequency.MONTHLY, initial_term_end=end,
                  current_period_start=today, current_period_end=end, notice_deadline=terms.notice_deadline(end))
         for i, c in enumerate(clients)],
        batch_size=2000,
    )
    ContractLine.objects.bulk_create(
        [line for c in rows for line in (
            ContractLine(contract=c, position=0, description="Maintenance poste de travail", quantity=Decimal("4"),
                         unit_price=Decimal("35.00")),
            ContractLine(contract=c, position=1, description="Maintenance serveur", quantity=Decimal("1"),
                         unit_price=Decimal("90.00")),
        )],
        batch_size=4000,
    )
    setup = time.perf_counter() - started
    with CaptureQueriesContext(connection) as ctx:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = services.recurring_invoices_issue(actor=None, today=today, render_pdf=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    numbers = list(Invoice.objects.order_by("sequence").values_list("sequence", flat=True))
    return {
        "contracts": contracts, "issued": result["issued"], "seconds": round(elapsed, 2),
        "python_cpu_seconds": round(cpu, 2),
        "queries": len(ctx.captured_queries), "setup_seconds": round(setup, 2),
        "gapless": numbers == list(range(1, len(numbers) + 1)),
        "vendor": connection.vendor,
    }


def bench_pdf(*, client, runs: int = 20) -> dict:
    """Warm rendering time of a one-page invoice (WeasyPrint PDF/A-3b + Factur-X XML, XSD-checked)."""
    draft = services.invoice_create_draft(
        actor=None, client=client, kind=InvoiceKind.EXTRA,
        lines=[{"description": f"Intervention {i}", "quantity": Decimal("1"), "unit_price": Decimal("95.00")}
               for i in range(5)],
    )
    invoice = services.invoice_issue(actor=None, invoice=draft, today=D(2026, 12, 31))
    invoice = Invoice.objects.select_related("contract", "credited_invoice", "client").get(pk=invoice.pk)
    started = time.perf_counter()
    pdf.invoice_pdf_bytes(invoice)
    cold = time.perf_counter() - started
    timings, cpu_timings = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        data = pdf.invoice_pdf_bytes(invoice)
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
    timings.sort()
    cpu_timings.sort()
    return {"cold_ms": round(cold * 1000), "median_ms": round(timings[len(timings) // 2] * 1000),
            "max_ms": round(timings[-1] * 1000), "median_cpu_ms": round(cpu_timings[len(cpu_timings) // 2] * 1000),
            "bytes": len(data), "runs": runs}
