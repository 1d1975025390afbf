import datetime
from decimal import Decimal

import factory
from dateutil.relativedelta import relativedelta
from stdnum import luhn

from contracts import terms
from contracts.choices import BillingFrequency, ContactRole, ContractStatus, EquipmentKind, EquipmentOwnership
from contracts.models import (
    AvailabilityRecord,
    Client,
    Contact,
    Contract,
    ContractLine,
    Equipment,
    Site,
    SyntecIndex,
)
from tests.factories.core import UserFactory


def _siren(n: int) -> str:
    base = f"{(40000000 + n * 7919) % 100000000:08d}"
    return base + luhn.calc_check_digit(base)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Société {n}")
    legal_form = "SARL"
    siren = factory.Sequence(_siren)
    address_line1 = factory.Sequence(lambda n: f"{n} rue du Port")
    postal_code = "83600"
    city = "Fréjus"
    billing_email = factory.Sequence(lambda n: f"compta{n}@client.example.fr")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    client = factory.SubFactory(ClientFactory)
    last_name = factory.Sequence(lambda n: f"Nom{n}")
    first_name = "Camille"
    email = factory.Sequence(lambda n: f"contact{n}@client.example.fr")
    job_title = "Gérant"
    portal_role = ContactRole.ADMIN
    is_billing_contact = True

    @factory.post_generation
    def with_login(obj, create, extracted, **kwargs):
        """``ContactFactory(with_login=True)`` gives the contact a portal user (its e-mail)."""
        if create and extracted:
            obj.user = UserFactory(username=obj.email, email=obj.email)
            obj.save(update_fields=["user"])


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    address_line1 = "1 avenue de Provence"
    postal_code = "83600"
    city = "Fréjus"


class ContractFactory(factory.django.DjangoModelFactory):
    """An active contract with its term dates computed as contract_activate would (C1, C3)."""

    class Meta:
        model = Contract

    client = factory.SubFactory(ClientFactory)
    reference = factory.Sequence(lambda n: f"CT-TEST-{n:05d}")
    signature_date = datetime.date(2026, 3, 15)
    start_date = factory.LazyAttribute(lambda o: o.signature_date)
    status = ContractStatus.ACTIVE
    billing_frequency = BillingFrequency.MONTHLY
    initial_term_end = factory.LazyAttribute(lambda o: terms.initial_term_end(o.signature_date))
    current_period_start = factory.LazyAttribute(lambda o: o.start_date)
    current_period_end = factory.LazyAttribute(lambda o: o.initial_term_end)
    notice_deadline = factory.LazyAttribute(lambda o: terms.notice_deadline(o.current_period_end))


class ContractLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractLine

    contract = factory.SubFactory(ContractFactory)
    description = "Maintenance poste de travail"
    quantity = Decimal("1")
    unit_price = Decimal("100.00")


class SyntecIndexFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyntecIndex
        django_get_or_create = ("month",)

    month = datetime.date(2025, 1, 1)
    value = Decimal("315.20")
    published_on = factory.LazyAttribute(lambda o: (o.month + relativedelta(months=2)) - datetime.timedelta(days=1))


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    contract = factory.SubFactory(ContractFactory)
    kind = EquipmentKind.WORKSTATION
    maker = "Dell"
    model = "OptiPlex 7010"
    serial_number = factory.Sequence(lambda n: f"SN{n:06d}")
    ownership = EquipmentOwnership.LEASED


class AvailabilityRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityRecord

    contract = factory.SubFactory(ContractFactory)
    month = datetime.date(2027, 1, 1)
    availability = Decimal("99.50")
