"""Small template helpers of the portal: money display and the navigation's aria-current."""
from django import template
from django.utils.safestring import mark_safe

from core.money import format_eur

register = template.Library()


@register.filter
def eur(value):
    """``1 234,50 €`` exactly as on the invoice (core.money.format_eur); empty for ``None``."""
    if value is None or value == "":
        return ""
    return format_eur(value)


@register.simple_tag(takes_context=True)
def aria_current(context, page: str, *section: str):
    """``aria-current="page"`` on the link of the current page, ``"true"`` on its section's link."""
    match = getattr(context.get("request"), "resolver_match", None)
    name = getattr(match, "url_name", None)
    if name == page:
        return mark_safe(' aria-current="page"')
    if name in section:
        return mark_safe(' aria-current="true"')
    return ""
