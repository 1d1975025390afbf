"""Demo data of billing (idempotent): a year of recurring invoices for the demo contracts, a few
extra-work invoices, a credit note, a shop sale and a quote signed electronically (with its deposit).

Everything goes through the services with past dates, in date order, so numbers stay chronological.
Natural keys: the charges' ``source_key``, (contract, period) for recurring invoices, the quote's
client + title, the shop sale's client.
"""
import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from billing import pdf, services
from billing.choices import InvoiceKind, PaymentMethod, QuoteStatus
from billing.models import Charge, Invoice, Quote
from contracts.models import Client, Contract
from core.dates import paris_datetime

DEMO_CONTRACTS = ["CT-2025-0001", "CT-2024-0002", "CT-2026-0003"]
EXTRAS = [
    # (source_key, client SIREN, months before today, description, quantity, unit price)
    ("demo:billing:extra:1", "845123454", 9, "Intervention hors heures ouvrables (S5) — panne caisse", "1.5", "95.00"),
    ("demo:billing:extra:2", "845123454", 9, "Remplacement clavier et souris (hors contrat, S6)", "1", "49.00"),
    ("demo:billing:extra:3", "790123459", 5, "Restauration de données par MIS (K8), 2 sites", "1", "180.00"),
    ("demo:billing:extra:4", "845123454", 2, "Intervention hors heures ouvrables (S5) — samedi", "2", "95.00"),
]
QUOTE_TITLE = "Remplacement du serveur de l'atelier"


def load(*, today, stdout):
    contracts = list(Contract.objects.filter(reference__in=DEMO_CONTRACTS).select_related("client"))
    if not contracts:
        stdout.write("billing: no demo contract, skipped")
        return
    clients = {c.siren: c for c in Client.objects.filter(siren__in=["845123454", "790123459", "834123457"])}
    start = (today - relativedelta(months=11)).replace(day=1)
    days = {start + relativedelta(months=m) for m in range(12)}
    days |= {c.start_date for c in contracts if start <= c.start_date <= today}
    extras_by_day = {}
    for key, siren, months_ago, description, quantity, price in EXTRAS:
        service_date = (today - relativedelta(months=months_ago)).replace(day=10)
        invoice_day = (service_date + relativedelta(months=1)).replace(day=1)
        days.add(invoice_day)
        extras_by_day.setdefault(invoice_day, []).append(
            (key, clients.get(siren), service_date, description, Decimal(quantity), Decimal(price)))
    quote_sent = (today - relativedelta(months=2)).replace(day=5)
    days |= {quote_sent, quote_sent + datetime.timedelta(days=3)}
    issued = 0
    for day in sorted(d for d in days if d <= today):
        issued += services.recurring_invoices_issue(
            actor=None, today=day, contract_ids=[c.pk for c in contracts], catch_up_days=0
        )["issued"]
        charge_ids = []
        for key, client, service_date, description, quantity, price in extras_by_day.get(day, []):
            if client is None:
                continue
            charge, _ = services.charge_record(
                actor=None, client=client, source="demo.extra", source_key=key, description=description,
                quantity=quantity, unit_price=price, service_date=service_date,
            )
            if charge.status == Charge.Status.PENDING:
                charge_ids.append(charge.pk)
        if charge_ids:
            issued += len(services.charges_invoice(actor=None, today=day, charge_ids=charge_ids))
            _credit_note_demo(day)
        if day == quote_sent:
            _quote_demo(clients.get("834123457"), day)
        if day == quote_sent + datetime.timedelta(days=3):
            _quote_sign_demo(clients.get("834123457"), day)
            issued += _shop_demo(clients.get("834123457"), day)
    stdout.write(f"billing: {issued} invoice(s) issued, {Invoice.objects.count()} in total")


def _credit_note_demo(day):
    """One hour invoiced twice on the first extra-work invoice: a partial credit note."""
    charge = Charge.objects.filter(source_key="demo:billing:extra:1").select_related("invoice").first()
    if charge is None or charge.invoice is None or charge.invoice.credit_notes.exists():
        return
    line = charge.invoice.lines.order_by("position").first()
    services.invoice_credit(actor=None, invoice=charge.invoice, today=day, lines=[(line, Decimal("0.5"))],
                            reason="une demi-heure facturée en trop")


def _quote_demo(client, day):
    if client is None or Quote.objects.filter(client=client, title=QUOTE_TITLE).exists():
        return
    quote = services.quote_create(
        actor=None, client=client, title=QUOTE_TITLE, deposit_rate=Decimal("30"),
        lines=[
            {"description": "Serveur tour 2 × SSD 1 To, RAID 1", "quantity": Decimal("1"),
             "unit_price": Decimal("1650.00")},
            {"description": "Installation, migration des données et mise en service", "quantity": Decimal("6"),
             "unit_price": Decimal("80.00")},
        ],
    )
    services.quote_send(actor=None, quote=quote, today=day)
    pdf.quote_render_and_store(quote.pk)  # rendered now: the client signs this exact PDF below


def _quote_sign_demo(client, day):
    quote = Quote.objects.filter(client=client, title=QUOTE_TITLE, status=QuoteStatus.SENT).first()
    signer = client.contacts.filter(email="luis@garageduport.fr").first() if client else None
    if quote is None or signer is None:
        return
    services.quote_sign_electronically(
        quote=quote, signer_contact=signer, ip="203.0.113.42",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0", now=paris_datetime(day, 10, 12),
    )


def _shop_demo(client, day) -> int:
    if client is None or Invoice.objects.filter(client=client, kind=InvoiceKind.SHOP).exists():
        return 0
    services.shop_sale_record(
        actor=None, client=client, payment_method=PaymentMethod.CARD, today=day,
        lines=[{"description": "Onduleur 1500 VA", "quantity": Decimal("1"), "unit_price": Decimal("189.00")},
               {"description": "Câble RJ45 cat. 6, 5 m", "quantity": Decimal("4"), "unit_price": Decimal("6.50")}],
    )
    return 1
