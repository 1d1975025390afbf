import datetime
from decimal import Decimal

import factory

from billing.models import Charge
from tests.factories.contracts import ClientFactory


class ChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charge

    client = factory.SubFactory(ClientFactory)
    source = "interventions.out_of_hours"
    source_key = factory.Sequence(lambda n: f"test:charge:{n}")
    description = "Intervention hors heures ouvrables (S5)"
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    service_date = datetime.date(2026, 3, 10)


def line(description="Prestation", quantity="1", unit_price="100.00", vat_rate=Decimal("20.00")):
    """An invoice/quote line spec for the services."""
    return {"description": description, "quantity": Decimal(quantity), "unit_price": Decimal(unit_price),
            "vat_rate": vat_rate}
