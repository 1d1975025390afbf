"""Validators for French company identifiers, with messages a user can act on.

Checksums come from python-stdnum: SIREN (9 digits, Luhn), SIRET (14 digits,
Luhn, with La Poste's exception) and intra-EU VAT numbers (country prefix and
checksum; for France, ``FR`` + 2-character key + SIREN).
"""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exc
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret


def _explain(exc: Exception, label: str, expected: str) -> str:
    if isinstance(exc, stdnum_exc.InvalidLength):
        return _("%(label)s : longueur incorrecte, %(expected)s attendus.") % {"label": label, "expected": expected}
    if isinstance(exc, stdnum_exc.InvalidFormat):
        return _("%(label)s : seuls des chiffres sont acceptés (%(expected)s).") % {
            "label": label,
            "expected": expected,
        }
    if isinstance(exc, stdnum_exc.InvalidChecksum):
        return _("%(label)s : la clé de contrôle est fausse, vérifiez le numéro (faute de frappe ?).") % {
            "label": label
        }
    return _("%(label)s invalide.") % {"label": label}


def normalize_siren(value: str) -> str:
    return fr_siren.compact(value or "")


def validate_siren(value: str) -> None:
    try:
        fr_siren.validate(value)
    except stdnum_exc.ValidationError as exc:
        raise ValidationError(_explain(exc, _("SIREN"), _("9 chiffres")), code="invalid_siren") from exc


def validate_siret(value: str) -> None:
    try:
        fr_siret.validate(value)
    except stdnum_exc.ValidationError as exc:
        raise ValidationError(_explain(exc, _("SIRET"), _("14 chiffres")), code="invalid_siret") from exc


def validate_vat_number(value: str) -> None:
    """An intra-EU VAT number, e.g. ``FR40303265045``."""
    try:
        eu_vat.validate(value)
    except stdnum_exc.InvalidComponent as exc:
        raise ValidationError(
            _("Numéro de TVA intracommunautaire : préfixe pays inconnu (ex. FR pour la France)."),
            code="invalid_vat",
        ) from exc
    except stdnum_exc.ValidationError as exc:
        raise ValidationError(
            _explain(exc, _("Numéro de TVA intracommunautaire"), _("FR + 2 caractères + SIREN")),
            code="invalid_vat",
        ) from exc


def check_siren_matches(*, siren: str, siret: str = "", vat_number: str = "") -> dict:
    """Cross-field checks: the SIRET starts with the SIREN; a French VAT number ends with it."""
    errors = {}
    siren = normalize_siren(siren)
    if siret and fr_siret.compact(siret)[:9] != siren:
        errors["siret"] = _("Le SIRET doit commencer par le SIREN (%(siren)s).") % {"siren": siren}
    vat = (vat_number or "").replace(" ", "").upper()
    if vat.startswith("FR") and vat[4:] != siren:
        errors["vat_number"] = _("Un numéro de TVA français se termine par le SIREN (%(siren)s).") % {
            "siren": siren
        }
    return errors
