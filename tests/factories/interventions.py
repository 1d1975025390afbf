import datetime
import hashlib
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.core.files.base import ContentFile

from interventions.choices import Category, Channel, InterventionKind, InterventionStatus, RateKind, Severity
from interventions.models import (
    Intervention,
    Outage,
    OutOfHoursRate,
    PreventivePlan,
    Ticket,
    TicketAttachment,
)
from tests.factories.contracts import ClientFactory, ContractFactory

PARIS = ZoneInfo("Europe/Paris")


class TicketFactory(factory.django.DjangoModelFactory):
    """A raw ticket row (tests of the service use ``ticket_open``; this is for lists and benchmarks)."""

    class Meta:
        model = Ticket

    client = factory.SubFactory(ClientFactory)
    contract = factory.SubFactory(ContractFactory, client=factory.SelfAttribute("..client"))
    channel = Channel.PHONE
    category = Category.HARDWARE
    severity = Severity.MINOR
    title = factory.Sequence(lambda n: f"Panne {n}")
    opened_at = datetime.datetime(2026, 11, 30, 10, tzinfo=PARIS)
    sla_hours = 24
    risk_at = datetime.datetime(2026, 12, 2, 9, tzinfo=PARIS)
    deadline_at = datetime.datetime(2026, 12, 2, 16, tzinfo=PARIS)


PDF_BYTES = b"%PDF-1.4\n% compte rendu\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100 + b"This program cannot be run in DOS mode."


def stored_attachment_names() -> list[str]:
    """The attachment files in storage (to prove nothing was stored, or what was)."""
    from django.core.files.storage import default_storage

    from interventions.models import ATTACHMENT_PREFIX

    return default_storage.listdir(ATTACHMENT_PREFIX)[1] if default_storage.exists(ATTACHMENT_PREFIX) else []


class TicketAttachmentFactory(factory.django.DjangoModelFactory):
    """A stored attachment row and its file (tests of the checks use ``ticket_attachments_add``)."""

    class Meta:
        model = TicketAttachment

    ticket = factory.SubFactory(TicketFactory)
    client = factory.SelfAttribute("ticket.client")
    original_name = factory.Sequence(lambda n: f"capture-{n}.pdf")
    content_type = "application/pdf"
    size = len(PDF_BYTES)
    sha256 = hashlib.sha256(PDF_BYTES).hexdigest()
    file = factory.LazyFunction(lambda: ContentFile(PDF_BYTES, name="capture.pdf"))


class InterventionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Intervention

    client = factory.SubFactory(ClientFactory)
    contract = factory.SubFactory(ContractFactory, client=factory.SelfAttribute("..client"))
    kind = InterventionKind.ONSITE
    status = InterventionStatus.PLANNED
    scheduled_start = datetime.datetime(2026, 12, 1, 9, tzinfo=PARIS)


class PreventivePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PreventivePlan

    contract = factory.SubFactory(ContractFactory)
    frequency_months = 3
    next_visit_on = datetime.date(2026, 12, 5)


class OutOfHoursRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutOfHoursRate
        django_get_or_create = ("kind", "valid_from")

    kind = RateKind.WEEKDAY_EVENING
    hourly_rate = Decimal("90.00")
    valid_from = datetime.date(2026, 1, 1)


class OutageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outage

    contract = factory.SubFactory(ContractFactory)
    started_at = datetime.datetime(2026, 6, 1, 10, tzinfo=PARIS)
    ended_at = datetime.datetime(2026, 6, 1, 12, tzinfo=PARIS)
