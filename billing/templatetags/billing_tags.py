from decimal import Decimal

from django import template

from core.money import format_eur, format_number

register = template.Library()


@register.filter
def eur(value):
    """``1 234,50 €``; refuses floats (money is Decimal)."""
    if value in (None, ""):
        return ""
    return format_eur(value)


@register.filter
def frnum(value):
    """A French decimal without useless zeros: 1,5 / 20 / 5,5."""
    if value in (None, ""):
        return ""
    return format_number(value)


@register.filter
def neg(value):
    return -Decimal(value)
