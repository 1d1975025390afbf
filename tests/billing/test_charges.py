"""Charges waiting to be invoiced: idempotent on their source key, money rounded to the cent."""
import datetime
from decimal import Decimal

import pytest

from billing.models import Charge
from billing.services import charge_record
from tests.factories.contracts import ClientFactory

pytestmark = pytest.mark.django_db


def test_charge_is_recorded_once_per_source_key():
    client = ClientFactory()
    first, created = charge_record(
        actor=None, client=client, source="interventions.out_of_hours", source_key="intervention:7:ooh",
        description="Intervention hors heures ouvrables (S5)", quantity=Decimal("1.5"),
        unit_price=Decimal("95.005"), service_date=datetime.date(2026, 11, 28),
    )
    again, created_again = charge_record(
        actor=None, client=client, source="interventions.out_of_hours", source_key="intervention:7:ooh",
        description="autre", unit_price=Decimal("1"), service_date=datetime.date(2026, 11, 28),
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert Charge.objects.count() == 1
    assert first.unit_price == Decimal("95.01")
    assert first.vat_rate == Decimal("20.00")


def test_out_of_scope_charge_has_no_vat_rate():
    client = ClientFactory()
    charge, _ = charge_record(
        actor=None, client=client, source="payments.indemnity", source_key="indemnity:F-2026-000001",
        description="Indemnité forfaitaire pour frais de recouvrement", unit_price=Decimal("40"),
        service_date=datetime.date(2026, 11, 28), vat_rate=None,
    )
    charge.refresh_from_db()
    assert charge.vat_rate is None
    assert charge.unit_price == Decimal("40.00")
