"""PDF letters of payments with WeasyPrint: the formal notice (mise en demeure) and the statement of account."""
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML

from billing.services import seller_snapshot
from core.models import ProviderProfile
from core.money import ZERO, money
from payments import conf, selectors


def _render(template: str, context: dict) -> bytes:
    with translation.override("fr"):
        profile = ProviderProfile.objects.order_by("pk").first()
        html = render_to_string(template, {"seller": seller_snapshot(profile) if profile else {}, **context})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def formal_notice_pdf_bytes(notice) -> bytes:
    """CGV B3: the letter lists the unpaid invoices and states what happens 30 days after receipt."""
    lines = list(notice.lines.select_related("invoice").order_by("invoice__due_date", "pk"))
    return _render("payments/formal_notice_pdf.html", {
        "notice": notice, "client": notice.client, "lines": lines,
        "total": money(sum((ln.balance for ln in lines), ZERO)),
        "annual_rate": conf.get("PAYMENTS_LATE_INTEREST_ANNUAL_RATE"),
        "indemnity": conf.get("PAYMENTS_RECOVERY_INDEMNITY"),
    })


def statement_pdf_bytes(*, client, today) -> bytes:
    """The client's statement of account (relevé de compte) on ``today``."""
    statement = selectors.statement_of_account(client=client, today=today)
    return _render("payments/statement_pdf.html", {"client": client, "today": today, **statement})



