"""Hosting prices (CGV H5): mailboxes per unit, or packs of 5 for shared Exchange.

Pure functions: the price table rows are read by the caller (selectors) and
passed in, so the arithmetic is testable without a database.
"""
from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core.money import money
from hosting.choices import PriceItem, PricingMode, ServiceKind

PACK_SIZE = 5


def packs_needed(mailboxes: int) -> int:
    """H5: n mailboxes → ⌈n/5⌉ packs (0 → 0, 1 → 1, 5 → 1, 6 → 2, 10 → 2)."""
    if mailboxes < 0:
        raise ValueError("A number of mailboxes cannot be negative.")
    return -(-mailboxes // PACK_SIZE)


@dataclass(frozen=True)
class BillingQuantity:
    """What the contract line bills for a service: a price-table item and a quantity."""

    item: str
    quantity: int


def billing_quantity(*, kind: str, pricing_mode: str, mailboxes: int) -> BillingQuantity:
    if kind == ServiceKind.WEB:
        return BillingQuantity(PriceItem.WEB_SITE, 1)
    if kind == ServiceKind.EXCHANGE and pricing_mode == PricingMode.PACK:
        return BillingQuantity(PriceItem.EXCHANGE_PACK, packs_needed(mailboxes))
    if kind == ServiceKind.EXCHANGE:
        return BillingQuantity(PriceItem.EXCHANGE_MAILBOX, mailboxes)
    return BillingQuantity(PriceItem.IMAP_MAILBOX, mailboxes)


def monthly_amount(*, quantity: int, unit_price: Decimal) -> Decimal:
    """Monthly total HT of a line, to the cent."""
    return money(Decimal(quantity) * unit_price)


def line_description(*, kind: str, pricing_mode: str, domain: str, mailboxes: int, site: str = "") -> str:
    """The wording of the contract line (it ends up on the recurring invoice, L1)."""
    if kind == ServiceKind.WEB:
        return _("Hébergement de site web — %(site)s") % {"site": site or domain}
    label = ServiceKind(kind).label
    if kind == ServiceKind.EXCHANGE and pricing_mode == PricingMode.PACK:
        return _("%(label)s — %(domain)s — packs de 5 boîtes aux lettres (%(n)s boîtes)") % {
            "label": capfirst(label),
            "domain": domain,
            "n": mailboxes,
        }
    return _("%(label)s — %(domain)s — boîtes aux lettres") % {"label": capfirst(label), "domain": domain}
