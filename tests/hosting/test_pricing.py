"""CGV H5 prices (per unit, packs of 5 for shared Exchange) and the next billing period (B1)."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contracts.choices import BillingFrequency
from hosting import selectors
from hosting.choices import PriceItem, PricingMode, ServiceKind
from hosting.exceptions import HostingError
from hosting.models import HostingPrice
from hosting.periods import next_billing_period_start
from hosting.pricing import billing_quantity, monthly_amount, packs_needed
from hosting.validators import normalize_domain_name, validate_domain_name
from tests.factories.hosting import PRICES


@pytest.mark.parametrize(
    "mailboxes,packs,amount",
    [(0, 0, "0.00"), (1, 1, "40.00"), (5, 1, "40.00"), (6, 2, "80.00"), (10, 2, "80.00")],
)
def test_h5_exchange_in_packs_of_5_bills_ceil_n_over_5_packs(mailboxes, packs, amount):
    assert packs_needed(mailboxes) == packs
    qty = billing_quantity(kind=ServiceKind.EXCHANGE, pricing_mode=PricingMode.PACK, mailboxes=mailboxes)
    assert qty.item == PriceItem.EXCHANGE_PACK and qty.quantity == packs
    assert monthly_amount(quantity=qty.quantity, unit_price=PRICES[PriceItem.EXCHANGE_PACK]) == Decimal(amount)


@pytest.mark.parametrize(
    "kind,mode,mailboxes,item,quantity,amount",
    [
        (ServiceKind.IMAP, PricingMode.UNIT, 7, PriceItem.IMAP_MAILBOX, 7, "28.00"),
        (ServiceKind.EXCHANGE, PricingMode.UNIT, 6, PriceItem.EXCHANGE_MAILBOX, 6, "57.00"),
        (ServiceKind.WEB, PricingMode.UNIT, 0, PriceItem.WEB_SITE, 1, "15.00"),
    ],
)
def test_h5_per_unit_prices(kind, mode, mailboxes, item, quantity, amount):
    """CGV H1 (IMAP, Exchange, web sites) priced per CGV H5."""
    qty = billing_quantity(kind=kind, pricing_mode=mode, mailboxes=mailboxes)
    assert (qty.item, qty.quantity) == (item, quantity)
    assert monthly_amount(quantity=qty.quantity, unit_price=PRICES[item]) == Decimal(amount)


def test_packs_refuse_a_negative_number():
    with pytest.raises(ValueError):
        packs_needed(-1)


@pytest.mark.parametrize(
    "frequency,day,expected",
    [
        (BillingFrequency.MONTHLY, datetime.date(2026, 4, 10), datetime.date(2026, 5, 1)),
        (BillingFrequency.MONTHLY, datetime.date(2026, 4, 1), datetime.date(2026, 5, 1)),
        (BillingFrequency.MONTHLY, datetime.date(2026, 12, 31), datetime.date(2027, 1, 1)),
        (BillingFrequency.QUARTERLY, datetime.date(2026, 4, 10), datetime.date(2026, 7, 1)),
        (BillingFrequency.QUARTERLY, datetime.date(2026, 3, 31), datetime.date(2026, 4, 1)),
        (BillingFrequency.QUARTERLY, datetime.date(2026, 11, 2), datetime.date(2027, 1, 1)),
        (BillingFrequency.YEARLY, datetime.date(2026, 4, 10), datetime.date(2027, 1, 1)),
        (BillingFrequency.YEARLY, datetime.date(2026, 1, 1), datetime.date(2027, 1, 1)),
    ],
)
def test_b1_h5_next_billing_period_start(frequency, day, expected):
    assert next_billing_period_start(frequency, day) == expected


@pytest.mark.django_db
def test_h5_the_price_in_force_is_the_latest_row_not_after_the_day():
    HostingPrice.objects.create(item=PriceItem.EXCHANGE_PACK, unit_price=Decimal("40.00"), valid_from=datetime.date(2026, 1, 1))
    HostingPrice.objects.create(item=PriceItem.EXCHANGE_PACK, unit_price=Decimal("42.50"), valid_from=datetime.date(2027, 1, 1))
    assert selectors.price_on(item=PriceItem.EXCHANGE_PACK, day=datetime.date(2026, 12, 31)).unit_price == Decimal("40.00")
    assert selectors.price_on(item=PriceItem.EXCHANGE_PACK, day=datetime.date(2027, 1, 1)).unit_price == Decimal("42.50")
    with pytest.raises(HostingError, match="Aucun tarif « boîte aux lettres IMAP » en vigueur au 01/01/2027"):
        selectors.price_on(item=PriceItem.IMAP_MAILBOX, day=datetime.date(2027, 1, 1))


@pytest.mark.parametrize(
    "raw,clean", [(" Exemple.FR. ", "exemple.fr"), ("boulangerie-lemoine.fr", "boulangerie-lemoine.fr"),
                  ("café.fr", "xn--caf-dma.fr")]
)
def test_h3_domain_names_are_normalised(raw, clean):
    name = normalize_domain_name(raw)
    assert name == clean
    validate_domain_name(name)


@pytest.mark.parametrize("bad", ["localhost", "http://exemple.fr", "-exemple.fr", "exemple..fr", "exemple.f", "ex emple.fr"])
def test_h3_invalid_domain_names_are_refused(bad):
    with pytest.raises(ValidationError, match="n'est pas un nom de domaine valide"):
        validate_domain_name(normalize_domain_name(bad))
