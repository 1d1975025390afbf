"""The pain.008 (SEPA direct debit initiation) file of a batch, built with ``sepaxml``.

``sepaxml.SepaDD`` takes a config dict (creditor name, IBAN, BIC, creditor
identifier, currency, ``batch=True`` and the ``instrument`` CORE or B2B) and one
``add_payment`` per debit (amount in cents, ``type`` FRST/RCUR, collection date,
mandate id and signature date, debtor name, IBAN, BIC, description, end-to-end
id); ``export(validate=True)`` checks the XML against the bundled XSD.
With ``clean=True`` it transliterates names to the SEPA character set (70 characters).
"""
from sepaxml import SepaDD

from core.models import ProviderProfile
from payments.exceptions import PaymentsError

SCHEMA = "pain.008.001.02"


def pain008(*, batch, items) -> tuple[str, bytes]:
    """``(message_id, xml)`` of ``items`` (``DebitItem`` with invoice and mandate) collected on the batch's date."""
    profile = ProviderProfile.get()
    if not (profile.iban and profile.bic and profile.sepa_creditor_id):
        raise PaymentsError(
            "Complétez l'IBAN, le BIC et l'identifiant créancier SEPA (ICS) de MIS dans le profil du prestataire.",
            code="creditor_incomplete",
        )
    sepa = SepaDD({
        "name": profile.legal_name, "IBAN": profile.iban.replace(" ", ""), "BIC": profile.bic,
        "batch": True, "creditor_id": profile.sepa_creditor_id, "currency": "EUR", "instrument": batch.scheme,
    }, schema=SCHEMA, clean=True)
    for item in items:
        mandate, invoice = item.mandate, item.invoice
        payment = {
            "name": mandate.debtor_name, "IBAN": mandate.iban,
            "amount": int(item.amount * 100), "type": item.sequence_type,
            "collection_date": batch.collection_date, "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on, "description": f"Facture {invoice.number}",
            "endtoend_id": item.end_to_end_id,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        sepa.add_payment(payment)
    return sepa.msg_id, sepa.export(validate=True)
