"""Demo data of payments (idempotent): two mandates, paid direct-debit batches, a rejection, a client in dunning.

Runs after billing's demo (INSTALLED_APPS order), on its invoices:
- Boulangerie Lemoine (CORE) and Cabinet Durand (B2B) sign a mandate; every past
  collection date of their direct-debit invoices becomes a batch, exported and
  settled on that date (first FRST, then RCUR);
- Durand's latest collection is rejected (AM04, insufficient funds): invoice
  back to unpaid, €20 rejection fee charged (B4);
- Garage du Port has no mandate and did not pay: reminded, then a formal notice
  sent 20 days ago (received 18 days ago) runs; B3 applies 30 days after
  receipt (the nightly job then invoices the acceleration, interest and €40 per
  invoice and suspends its contract). It is not applied by the demo itself: the
  interventions demo, which runs after this one, opens tickets on that contract.
Natural keys: the mandate reference, one item per invoice, one rejection per
client, one formal notice per client.
"""
import datetime

from billing.models import Invoice
from contracts.models import Client
from core.dates import paris_datetime
from payments import selectors, services
from payments.choices import BatchStatus, DebitItemStatus, MandateStatus
from payments.models import DebitBatch, DebitItem, FormalNotice, Mandate, Rejection

MANDATES = [
    # (client SIREN, RUM, debtor, IBAN, BIC, signed on, scheme)
    ("845123454", "MIS-RUM-2025-0001", "BOULANGERIE LEMOINE", "FR7630006000011234567890189", "AGRIFRPP",
     datetime.date(2025, 3, 15), "CORE"),
    ("790123459", "MIS-RUM-2024-0002", "CABINET DURAND AVOCATS", "FR1420041010050500013M02606", "PSSTFRPP",
     datetime.date(2024, 1, 1), "B2B"),
]
DUNNING_SIREN = "834123457"  # Garage du Port


def load(*, today, stdout):
    clients = {c.siren: c for c in Client.objects.filter(siren__in=[m[0] for m in MANDATES] + [DUNNING_SIREN])}
    if not clients:
        stdout.write("payments: no demo client, skipped")
        return
    mandates = []
    for siren, rum, debtor, iban, bic, signed_on, scheme in MANDATES:
        client = clients.get(siren)
        if client is None:
            continue
        mandate = Mandate.objects.filter(reference=rum).first() or services.mandate_create(
            actor=None, client=client, reference=rum, debtor_name=debtor, iban=iban, bic=bic, signed_on=signed_on,
            scheme=scheme)
        mandates.append(mandate)
    collected = _paid_batches(mandates, today)
    rejected = _rejection(clients.get("790123459"), today)
    dunning = _dunning(clients.get(DUNNING_SIREN), today)
    stdout.write(f"payments: {len(mandates)} mandate(s), {collected} collection(s), {rejected} rejection(s), "
                 f"dunning: {dunning}")


def _paid_batches(mandates, today) -> int:
    """Every past collection date of the mandated clients' invoices: a batch exported 3 days before, settled on it."""
    active = {m.client_id: m for m in Mandate.objects.filter(pk__in=[m.pk for m in mandates],
                                                             status=MandateStatus.ACTIVE)}
    invoices = list(selectors.direct_debit_candidates(today=today)
                    .filter(client_id__in=active, collection_date__lt=today, debit_items__isnull=True).order_by("collection_date", "pk"))
    by_date = {}
    for inv in invoices:
        by_date.setdefault((inv.collection_date, active[inv.client_id].scheme), []).append(inv)
    count = 0
    for (collection, scheme), rows in sorted(by_date.items()):
        batch = DebitBatch.objects.filter(collection_date=collection, scheme=scheme, status=BatchStatus.OPEN).first()
        batch = batch or DebitBatch.objects.create(collection_date=collection, scheme=scheme)
        fresh = {m.pk: m for m in Mandate.objects.filter(pk__in={active[i.client_id].pk for i in rows})}
        DebitItem.objects.bulk_create([
            DebitItem(batch=batch, invoice=inv, mandate=fresh[active[inv.client_id].pk], amount=inv.open_balance,
                      sequence_type=fresh[active[inv.client_id].pk].sequence,
                      end_to_end_id=f"{inv.number}-{collection:%y%m%d}")
            for inv in rows if inv.open_balance > 0
        ])
        services.batch_export(actor=None, batch=batch,
                              now=paris_datetime(collection - datetime.timedelta(days=3), 10))
        services.batch_settle(actor=None, batch=batch, today=collection)
        count += len(rows)
    return count


def _rejection(client, today) -> int:
    if client is None or Rejection.objects.filter(debit_item__invoice__client=client).exists():
        return 0
    item = (DebitItem.objects.filter(invoice__client=client, status=DebitItemStatus.SETTLED)
            .select_related("batch").order_by("-batch__collection_date").first())
    if item is None:
        return 0
    rejected_on = min(today, item.batch.collection_date + datetime.timedelta(days=4))
    services.debit_reject(actor=None, item=item, reason_code="AM04", rejected_on=rejected_on, today=today)
    return 1


def _dunning(client, today) -> str:
    if client is None or FormalNotice.objects.filter(client=client).exists():
        return "already there" if client else "no client"
    sent_on = today - datetime.timedelta(days=20)
    if not Invoice.objects.filter(client=client, due_date__lt=sent_on, status__in=["issued", "partly_paid"]).exists():
        return "nothing overdue"
    services.overdue_reminders_send(today=sent_on - datetime.timedelta(days=10))
    notice = services.formal_notice_issue(actor=None, client=client, sent_on=sent_on, today=sent_on,
                                          tracking_number="1A 123 456 7890 1")
    notice = services.formal_notice_update_letter(actor=None, notice=notice,
                                                  received_on=sent_on + datetime.timedelta(days=2))
    return f"formal notice {notice.pk}, sanctions from {notice.applies_on:%d/%m/%Y}"
