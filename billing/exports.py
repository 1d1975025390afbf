"""The sales journal (journal des ventes) for the accountant: CSV per period."""
import csv
import datetime
import io
from decimal import Decimal

from billing.selectors import sales_journal
from core.money import ZERO


def _fr(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def _rate_label(rate: str | None) -> str:
    if rate is None:
        return "HT hors champ TVA"
    return f"HT {Decimal(rate).normalize():f} %".replace(".", ",")


def sales_journal_csv(*, start: datetime.date, end: datetime.date) -> str:
    """One row per issued invoice or credit note of ``[start, end]``, in number order.

    Columns: number, date, type, client, SIREN, one HT column per VAT rate found
    in the period, VAT, TTC. Semicolon-separated with decimal commas (what French
    spreadsheet and accounting software import); credit notes are negative.
    """
    invoices = list(sales_journal(start=start, end=end))
    rates = sorted({row["rate"] for inv in invoices for row in inv.vat_breakdown},
                   key=lambda r: (r is None, -(Decimal(r) if r else 0)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["numéro", "date", "type", "client", "SIREN", *[_rate_label(r) for r in rates],
                     "TVA", "TTC"])
    for inv in invoices:
        bases = {row["rate"]: Decimal(row["base"]) for row in inv.vat_breakdown}
        writer.writerow([
            inv.number, inv.issue_date.strftime("%d/%m/%Y"), inv.get_document_type_display(),
            inv.buyer.get("name", ""), inv.buyer.get("siren", ""),
            *[_fr(bases.get(r, ZERO)) for r in rates], _fr(inv.total_vat), _fr(inv.total_ttc),
        ])
    return out.getvalue()
