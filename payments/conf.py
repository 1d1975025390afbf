"""Payments settings, each overridable in Django settings (``PAYMENTS_*``); defaults follow the CGV and the law."""
from decimal import Decimal

from django.conf import settings

DEFAULTS = {
    # L5: the debtor is pre-notified of amount and date at least this many calendar days before collection.
    "PAYMENTS_PRENOTIFICATION_DAYS": 14,
    # Day of the month a collection moves to when the invoice came too late to pre-notify (CGV B1's 15th).
    "PAYMENTS_COLLECTION_DAY": 15,
    # Batches are built this many days ahead of their collection date (staff review, then export; D-1 at least).
    "PAYMENTS_BATCH_LEAD_DAYS": 5,
    # L5: a mandate unused for this many months lapses.
    "PAYMENTS_MANDATE_EXPIRY_MONTHS": 36,
    # CGV B3 (b): 1.5 % per month of delay = 18 % a year, pro rata per day over 365 days.
    "PAYMENTS_LATE_INTEREST_ANNUAL_RATE": Decimal("18.00"),
    # L3: the French legal interest rate (professionals, first half of 2026); the contractual rate must be ≥ 3×.
    "PAYMENTS_LEGAL_INTEREST_RATE": Decimal("2.62"),
    # CGV B3 (c), L3: fixed recovery indemnity per late invoice, outside the scope of VAT.
    "PAYMENTS_RECOVERY_INDEMNITY": Decimal("40.00"),
    # CGV B4: bank-rejection fee charged back to the client (HT), and its VAT rate (None = outside scope).
    "PAYMENTS_REJECTION_FEE": Decimal("20.00"),
    "PAYMENTS_REJECTION_FEE_VAT_RATE": None,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
