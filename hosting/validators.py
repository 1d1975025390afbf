"""Domain-name validation: what staff type becomes a lower-case ASCII (punycode) name."""
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def normalize_domain_name(value: str) -> str:
    """``" Exemple.FR. "`` → ``"exemple.fr"``; an accented name becomes its punycode (IDNA)."""
    name = (value or "").strip().rstrip(".").lower()
    if name and not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name


def validate_domain_name(value: str) -> None:
    name = value or ""
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not _TLD.match(labels[-1])
    ):
        raise ValidationError(
            _("« %(name)s » n'est pas un nom de domaine valide (ex. exemple.fr, sans http:// ni www).")
            % {"name": value},
            code="invalid_domain",
        )
