"""The hosting demo data: two domains, a certificate close to expiry, Exchange in packs, IMAP,
an open change request; loading it twice changes nothing."""
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps

from contracts import demo as contracts_demo
from core import demo as core_demo
from core.dates import paris_datetime
from hosting import demo
from hosting.choices import ChangeRequestStatus, PricingMode, ServiceKind, ServiceStatus
from hosting.models import Certificate, ChangeRequest, Domain, HostingService

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 30)


def _counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def _load():
    with time_machine.travel(paris_datetime(TODAY, 8), tick=False):
        out = io.StringIO()
        core_demo.load(today=TODAY, stdout=out)
        contracts_demo.load(today=TODAY, stdout=out)
        demo.load(today=TODAY, stdout=out)


def test_hosting_demo_is_complete_and_idempotent():
    _load()
    first = _counts()
    _load()
    assert _counts() == first
    assert set(Domain.objects.values_list("name", flat=True)) == {"garageduport.fr", "garageduport-location.fr"}
    exchange = HostingService.objects.get(kind=ServiceKind.EXCHANGE)
    assert exchange.pricing_mode == PricingMode.PACK and exchange.status == ServiceStatus.ACTIVE
    assert HostingService.objects.get(kind=ServiceKind.IMAP).status == ServiceStatus.ACTIVE
    soon = Certificate.objects.get(domain__name="garageduport.fr")
    assert soon.not_valid_after.date() == datetime.date(2026, 12, 20)
    assert ChangeRequest.objects.get().status == ChangeRequestStatus.OPEN
    # Yearly contract: the hosting lines start with the next billing year.
    line = exchange.contract.lines.get(source=exchange.contract_line_source)
    assert (line.valid_from, line.quantity, line.unit_price) == (datetime.date(2027, 1, 1), Decimal("2"), Decimal("40.00"))
