"""SIREN / SIRET / VAT validation with messages a user can act on (foundation; invoices need them, L1)."""
import pytest
from django.core.exceptions import ValidationError

from contracts.models import Client
from core.validators import validate_siren, validate_siret, validate_vat_number


@pytest.mark.parametrize("value", ["512345679", "845123454"])
def test_valid_siren(value):
    validate_siren(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("512345678", "clé de contrôle est fausse"),
        ("51234567", "longueur incorrecte, 9 chiffres attendus"),
        ("51234567A", "seuls des chiffres"),
    ],
)
def test_invalid_siren_says_why(value, message):
    with pytest.raises(ValidationError) as exc:
        validate_siren(value)
    assert message in exc.value.messages[0]


def test_siret_checksum():
    validate_siret("51234567900017")
    with pytest.raises(ValidationError) as exc:
        validate_siret("51234567900018")
    assert "clé de contrôle" in exc.value.messages[0]


def test_vat_number():
    validate_vat_number("FR75512345679")
    with pytest.raises(ValidationError) as exc:
        validate_vat_number("FR76512345679")
    assert "TVA" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        validate_vat_number("XX123")
    assert "préfixe pays" in exc.value.messages[0]


@pytest.mark.django_db
def test_client_cross_checks_siret_and_vat_against_siren():
    client = Client(
        name="X", siren="512345679", siret="84512345400017", vat_number="FR88845123454",
        address_line1="1 rue", postal_code="83600", city="Fréjus", billing_email="a@b.fr",
    )
    with pytest.raises(ValidationError) as exc:
        client.full_clean()
    assert set(exc.value.message_dict) == {"siret", "vat_number"}
    assert "commencer par le SIREN (512345679)" in exc.value.message_dict["siret"][0]


@pytest.mark.django_db
def test_client_with_spaces_is_normalised():
    client = Client(
        name="X", siren="512 345 679", vat_number="fr 75 512345679",
        address_line1="1 rue", postal_code="83600", city="Fréjus", billing_email="a@b.fr",
    )
    client.full_clean()
    assert client.siren == "512345679"
    assert client.vat_number == "FR75512345679"
