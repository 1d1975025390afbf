"""Billing settings, each overridable in Django settings (``BILLING_*``); defaults follow the CGV."""
from decimal import Decimal

from django.conf import settings

DEFAULTS = {
    # Numbering series prefixes (L1: one continuous series per prefix and year).
    "BILLING_INVOICE_PREFIX": "F",
    "BILLING_CREDIT_NOTE_PREFIX": "AV",
    "BILLING_QUOTE_PREFIX": "DV",
    # CGV B1: recurring invoices are issued this many days before the period starts (0 = on its first day).
    "BILLING_RECURRING_LEAD_DAYS": 0,
    # CGV B1: the 15th of the month is the collection day of recurring fees.
    "BILLING_RECURRING_COLLECTION_DAY": 15,
    # L5: SEPA pre-notification; a collection closer than this to the issue date moves to next month's 15th.
    "BILLING_SEPA_PRENOTIFICATION_DAYS": 14,
    # Missed nights are caught up when the planned issue date is at most this many days old.
    "BILLING_RECURRING_CATCH_UP_DAYS": 62,
    # CGV B2: pending charges are grouped into an invoice on this day of the month by the nightly job.
    "BILLING_EXTRA_INVOICE_DAY": 1,
    # CGV B5: payment within 2 months of the signature (or of the deposit).
    "BILLING_QUOTE_PAYMENT_MONTHS": 2,
    "BILLING_QUOTE_VALIDITY_DAYS": 30,
    # CGV B3 (b): late interest 1.5 % per month = 18 % a year (above L3's floor of 3 × the legal rate).
    "BILLING_LATE_PENALTY_RATE_TEXT": "1,5 % par mois de retard (18 % l'an)",
    "BILLING_RECOVERY_INDEMNITY": Decimal("40.00"),
    # Recurring invoices are created in batches of this many contracts (memory bound; queries per batch).
    "BILLING_RECURRING_BATCH": 2000,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
