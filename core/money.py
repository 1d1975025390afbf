"""Money helpers: every amount is a ``Decimal`` rounded half-up to the cent.

One helper (:func:`money`) is the only place where amounts are rounded, so
that invoices, charges and penalties agree to the cent. Floats are refused.
"""
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


def to_decimal(value) -> Decimal:
    """Convert ``value`` to ``Decimal`` without going through a float."""
    if isinstance(value, float):
        raise TypeError("Money must never be a float; pass a Decimal, int or str.")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def money(value) -> Decimal:
    """Round to the cent, half-up (0.005 → 0.01), as French invoices expect."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_eur(value) -> str:
    """French display: ``1 234,50 €`` (narrow no-break space as thousands separator)."""
    amount = money(value)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + NARROW_NBSP.join(groups) + "," + cents + NBSP + "€"


def format_number(value) -> str:
    """A French decimal without useless zeros (quantities, rates): ``1,5`` / ``20`` / ``5,5``."""
    return f"{to_decimal(value).normalize():f}".replace(".", ",")
