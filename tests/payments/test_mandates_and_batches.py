"""SEPA mandates (L5) and direct-debit batches with their pain.008 file (CGV B1, B2)."""
import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import time_machine
import xmlschema
from django.core.exceptions import ValidationError

from billing.choices import InvoiceKind, InvoiceStatus
from contracts.choices import BillingFrequency
from core.models import OutboundEmail
from payments import services
from payments.choices import BatchStatus, DebitItemStatus, MandateStatus, SequenceType
from payments.exceptions import PaymentsError
from payments.models import DebitBatch, DebitItem, Mandate, PreNotification
from tests.factories.contracts import ClientFactory, ContractFactory, ContractLineFactory
from tests.factories.payments import IBAN_B, MandateFactory, issued_invoice

D = datetime.date
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


def test_l5_bad_iban_gives_a_clear_french_error(provider, client_a):
    with pytest.raises(ValidationError) as exc:
        services.mandate_create(actor=None, client=client_a, reference="RUM-1", debtor_name="Client A",
                                iban="FR76 3000 6000 0112 3456 7890 188", signed_on=D(2026, 1, 5))
    assert "IBAN invalide" in str(exc.value.message_dict["iban"])


def test_l5_mandate_is_normalised_and_one_active_per_client(provider, client_a):
    mandate = services.mandate_create(actor=None, client=client_a, reference="RUM-1", debtor_name="Client A",
                                      iban="fr76 3000 6000 0112 3456 7890 189", bic="agrifrpp",
                                      signed_on=D(2026, 1, 5))
    assert (mandate.iban, mandate.bic, mandate.sequence) == ("FR7630006000011234567890189", "AGRIFRPP", "FRST")
    with pytest.raises(PaymentsError):
        services.mandate_create(actor=None, client=client_a, reference="RUM-2", debtor_name="Client A",
                                iban=IBAN_B, signed_on=D(2026, 2, 5))


def test_l5_rum_is_35_characters_at_most(provider, client_a):
    with pytest.raises(ValidationError):
        services.mandate_create(actor=None, client=client_a, reference="R" * 36, debtor_name="A", iban=IBAN_B,
                                signed_on=D(2026, 1, 5))


def test_l5_mandate_unused_36_months_expires(provider):
    old = MandateFactory(signed_on=D(2023, 5, 1))
    used = MandateFactory(signed_on=D(2020, 1, 1), last_collected_on=D(2023, 7, 15))
    fresh = MandateFactory(signed_on=D(2025, 1, 1))
    assert services.mandates_expire(today=D(2026, 6, 30)) == {"expired": 1}
    assert Mandate.objects.get(pk=old.pk).status == MandateStatus.EXPIRED
    assert Mandate.objects.get(pk=used.pk).status == MandateStatus.ACTIVE
    assert Mandate.objects.get(pk=fresh.pk).status == MandateStatus.ACTIVE
    assert services.mandates_expire(today=D(2026, 6, 30)) == {"expired": 0}


def test_l5_rum_and_creditor_id_are_on_direct_debit_invoices(mandate, client_a):
    invoice = issued_invoice(client=client_a, today=D(2026, 3, 2))
    assert invoice.mandate_reference == "RUM-LEMOINE-2025-01"
    assert invoice.seller["sepa_creditor_id"] == "FR12ZZZ123456"
    assert invoice.collection_date == D(2026, 4, 30)  # CGV B2


def _recurring(client, contract, today, period_start, amount="100.00"):
    return issued_invoice(client=client, contract=contract, today=today, amount_ht=amount,
                          kind=InvoiceKind.RECURRING, period_start=period_start,
                          period_end=period_start.replace(day=28))


@time_machine.travel("2026-04-10 02:00 +02:00")
def test_b1_b2_batch_per_collection_date_and_scheme_and_pain008_validates(provider, client_a, client_b):
    """Invoices collected on the 15th (B1) and the 30th (B2), CORE and B2B: one batch per date and scheme."""
    core = MandateFactory(client=client_a, reference="RUM-A-001", signed_on=D(2025, 1, 10))
    b2b = MandateFactory(client=client_b, reference="RUM-B-001", iban=IBAN_B, bic="", scheme="B2B",
                         signed_on=D(2025, 2, 1), sequence=SequenceType.RECURRING)
    contract_a = ContractFactory(client=client_a, billing_frequency=BillingFrequency.MONTHLY)
    contract_b = ContractFactory(client=client_b, billing_frequency=BillingFrequency.MONTHLY)
    extra_a = issued_invoice(client=client_a, today=D(2026, 3, 20), amount_ht="45.00")  # 54,00 € on 30/04
    inv_a = _recurring(client_a, contract_a, D(2026, 3, 31), D(2026, 4, 1), "100.00")  # 120,00 € on 15/04
    inv_b = _recurring(client_b, contract_b, D(2026, 3, 31), D(2026, 4, 1), "250.50")  # 300,60 € on 15/04
    assert (inv_a.collection_date, inv_b.collection_date, extra_a.collection_date) == (
        D(2026, 4, 15), D(2026, 4, 15), D(2026, 4, 30))

    result = services.batches_build(today=D(2026, 4, 10))
    assert result == {"batched": 2, "batches": 2, "no_mandate": 0, "not_prenotified": 0}
    assert services.batches_build(today=D(2026, 4, 10))["batched"] == 0  # idempotent
    batch_core = DebitBatch.objects.get(collection_date=D(2026, 4, 15), scheme="CORE")
    batch_b2b = DebitBatch.objects.get(collection_date=D(2026, 4, 15), scheme="B2B")
    assert services.batches_build(today=D(2026, 4, 25))["batched"] == 1  # the 30th joins 5 days ahead

    services.batch_export(actor=None, batch=batch_core)
    services.batch_export(actor=None, batch=batch_b2b)
    batch_core.refresh_from_db()
    xml = batch_core.file.read()
    schema = xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"))
    schema.validate(xml)
    root = ET.fromstring(xml)
    [tx] = root.findall(".//p:DrctDbtTxInf", NS)
    assert tx.find("p:InstdAmt", NS).text == "120.00"
    assert tx.find(".//p:MndtId", NS).text == "RUM-A-001"
    assert tx.find(".//p:DtOfSgntr", NS).text == "2025-01-10"
    assert tx.find(".//p:DbtrAcct/p:Id/p:IBAN", NS).text == "FR7630006000011234567890189"
    assert root.find(".//p:PmtInf/p:ReqdColltnDt", NS).text == "2026-04-15"
    assert root.find(".//p:PmtTpInf/p:SeqTp", NS).text == "FRST"
    assert root.find(".//p:LclInstrm/p:Cd", NS).text == "CORE"
    assert root.find(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", NS).text == "FR12ZZZ123456"
    assert root.find(".//p:GrpHdr/p:CtrlSum", NS).text == "120.00"

    root_b2b = ET.fromstring(DebitBatch.objects.get(pk=batch_b2b.pk).file.read())
    schema.validate(ET.tostring(root_b2b))
    assert root_b2b.find(".//p:LclInstrm/p:Cd", NS).text == "B2B"
    assert root_b2b.find(".//p:PmtTpInf/p:SeqTp", NS).text == "RCUR"
    assert root_b2b.find(".//p:DrctDbtTxInf/p:InstdAmt", NS).text == "300.60"
    assert root_b2b.find(".//p:MndtId", NS).text == "RUM-B-001"

    core.refresh_from_db()
    assert (core.sequence, core.last_collected_on) == (SequenceType.RECURRING, D(2026, 4, 15))
    assert b2b.pk

    # On the collection date the nightly job settles the exported batches: invoices paid.
    assert services.batches_settle_due(today=D(2026, 4, 15)) == {"settled_batches": 2}
    inv_a.refresh_from_db()
    assert (inv_a.status, inv_a.amount_paid, inv_a.paid_at) == (InvoiceStatus.PAID, Decimal("120.00"),
                                                               D(2026, 4, 15))


def test_l5_late_invoice_is_prenotified_and_moved(provider, mandate, client_a, django_capture_on_commit_callbacks):
    """An invoice issued 5 days before its collection date cannot pre-notify: an e-mail announces a later date."""
    contract = ContractFactory(client=client_a)
    invoice = issued_invoice(client=client_a, contract=contract, today=D(2026, 4, 10), kind=InvoiceKind.RECURRING,
                             period_start=D(2026, 4, 1), period_end=D(2026, 4, 30), collection_date=D(2026, 4, 15))
    assert services.batches_build(today=D(2026, 4, 10))["not_prenotified"] == 1
    assert services.prenotifications_send(today=D(2026, 4, 10)) == {"prenotified": 1}
    assert services.prenotifications_send(today=D(2026, 4, 10)) == {"prenotified": 0}
    note = PreNotification.objects.get(invoice=invoice)
    assert (note.collection_date, note.amount) == (D(2026, 5, 15), Decimal("120.00"))
    [email] = OutboundEmail.objects.filter(key__startswith="payments.prenotification:")
    assert "15/05/2026" in email.subject and "120,00" in email.body and "FR12ZZZ123456" in email.body
    assert services.batches_build(today=D(2026, 5, 10))["batched"] == 1
    assert DebitItem.objects.get().batch.collection_date == D(2026, 5, 15)


def test_batch_review_removes_an_item_before_export(mandate, client_a):
    issued_invoice(client=client_a, today=D(2026, 3, 2))
    services.batches_build(today=D(2026, 4, 26))
    item = DebitItem.objects.get()
    services.debit_item_remove(actor=None, item=item)
    assert DebitItem.objects.count() == 0
    assert DebitBatch.objects.get().status == BatchStatus.OPEN


def test_no_batch_without_an_active_mandate(provider):
    client = ClientFactory()
    issued_invoice(client=client, today=D(2026, 3, 2))
    assert services.batches_build(today=D(2026, 4, 26))["no_mandate"] == 1
    assert ContractLineFactory._meta.model.objects.count() == 0
    assert not DebitItem.objects.filter(status=DebitItemStatus.PENDING).exists()
