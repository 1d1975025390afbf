"""Gapless, chronological numbering per series and year (L1), e.g. ``F-2026-000123``.

:func:`number_reserve` must run inside the issuing transaction: it locks the
counter row with ``SELECT … FOR UPDATE`` so concurrent issues queue behind one
another, and a rolled-back issue releases its numbers with the transaction (no
gap). It also refuses an issue date earlier than the last one of the series,
so numbers and dates stay in the same order.
"""
import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing import conf
from billing.choices import DocumentType
from billing.exceptions import BillingError
from billing.models import NumberSequence


def series_for(document_type: str) -> str:
    if document_type == DocumentType.CREDIT_NOTE:
        return conf.get("BILLING_CREDIT_NOTE_PREFIX")
    return conf.get("BILLING_INVOICE_PREFIX")


def format_number(series: str, year: int, sequence: int) -> str:
    return f"{series}-{year}-{sequence:06d}"


def _locked_counter(series: str, year: int) -> NumberSequence:
    counter = NumberSequence.objects.select_for_update().filter(series=series, year=year).first()
    if counter is None:
        try:
            with transaction.atomic():  # savepoint: a concurrent creator wins, we then lock its row
                NumberSequence.objects.create(series=series, year=year)
        except IntegrityError:
            pass
        counter = NumberSequence.objects.select_for_update().get(series=series, year=year)
    return counter


def number_reserve(*, series: str, issue_date: datetime.date, count: int = 1) -> list[tuple[int, str]]:
    """Reserve ``count`` consecutive numbers of ``series`` for ``issue_date``'s year.

    Returns ``[(sequence, "F-2026-000124"), …]``. Must be called inside
    ``transaction.atomic`` (the lock lasts until commit or rollback).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_reserve must run inside the issuing transaction")
    if count < 1:
        return []
    counter = _locked_counter(series, issue_date.year)
    if counter.last_issue_date and issue_date < counter.last_issue_date:
        raise BillingError(
            _("La série %(series)s a déjà une pièce datée du %(last)s : une pièce datée du %(date)s "
              "romprait l'ordre chronologique de la numérotation.")
            % {"series": series, "last": counter.last_issue_date.strftime("%d/%m/%Y"),
               "date": issue_date.strftime("%d/%m/%Y")},
            code="numbering_chronology",
        )
    first = counter.last_number + 1
    counter.last_number += count
    counter.last_issue_date = issue_date
    counter.save(update_fields=["last_number", "last_issue_date"])
    return [(seq, format_number(series, issue_date.year, seq)) for seq in range(first, first + count)]


def lock_series(*, series: str, year: int) -> None:
    """Take the series' lock early (bulk runs): concurrent runs then execute one after the other."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_series must run inside a transaction")
    _locked_counter(series, year)
