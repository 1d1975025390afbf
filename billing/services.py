"""Writes of billing. Other apps call ``charge_record`` to put something billable in the queue."""
import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from billing.models import VAT_STANDARD, Charge
from core.audit import audit_record, snapshot
from core.money import money, to_decimal


def charge_record(
    *,
    actor,
    client,
    source: str,
    source_key: str,
    description: str,
    unit_price: Decimal,
    service_date: datetime.date,
    quantity: Decimal = Decimal("1"),
    contract=None,
    vat_rate: Decimal | None = VAT_STANDARD,
) -> tuple[Charge, bool]:
    """Record a billable item once per ``source_key``; returns ``(charge, created)``.

    Amounts are Decimal, rounded half-up to the cent. Recording the same
    ``source_key`` again returns the existing charge unchanged (idempotent jobs).
    """
    existing = Charge.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing, False
    charge = Charge(
        client=client,
        contract=contract,
        source=source,
        source_key=source_key,
        description=description,
        quantity=to_decimal(quantity),
        unit_price=money(unit_price),
        vat_rate=vat_rate,
        service_date=service_date,
    )
    charge.full_clean()
    try:
        with transaction.atomic():
            charge.save()
            audit_record(actor=actor, obj=charge, action="billing.charge.recorded", changes=snapshot(charge))
    except IntegrityError:
        # A concurrent run recorded the same event first.
        return Charge.objects.get(source_key=source_key), False
    return charge, True
