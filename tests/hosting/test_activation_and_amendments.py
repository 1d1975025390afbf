"""CGV H3 (activation conditions) and H5 (change requests, 8 days, amendment from the next billing period)."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contracts.choices import BillingFrequency, ContractStatus
from contracts.selectors import contract_lines_valid_on
from core.dates import paris_datetime
from core.models import AuditLogEntry, OutboundEmail
from hosting import services
from hosting.choices import ChangeRequestOrigin, ChangeRequestStatus, PricingMode, ServiceKind, ServiceStatus
from hosting.exceptions import HostingError
from hosting.models import ChangeRequest
from tests.factories.contracts import ContactFactory, ContractFactory, ContractLineFactory
from tests.factories.hosting import (
    DomainFactory,
    HostingServiceFactory,
    MailboxFactory,
    certificate_for,
    price_table,
)

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
NOW = paris_datetime(datetime.date(2026, 4, 10), 15, 0)  # Friday 10 April 2026, 15:00 Paris


@pytest.fixture
def prices(db):
    return price_table()


def _ready(service, *, not_after=datetime.datetime(2027, 1, 1, tzinfo=UTC)):
    certificate_for(service.domain, not_after=not_after)
    return service


def _hosting_lines(contract):
    return list(contract.lines.filter(source__startswith="hosting.").order_by("valid_from", "pk"))


# --- H3 activation --------------------------------------------------------------------------------


def test_h3_activation_refused_says_both_missing_conditions(prices):
    service = HostingServiceFactory(domain__name="exemple.fr", domain__client_is_administrator=False)
    with pytest.raises(HostingError) as exc:
        services.service_activate(actor=None, service=service, now=NOW)
    assert exc.value.code == "activation_refused"
    assert exc.value.message == (
        "Activation impossible : le client n'est pas confirmé comme administrateur du domaine exemple.fr (CGV H3) ; "
        "aucun certificat SSL valide couvrant exemple.fr n'est enregistré (CGV H3)."
    )
    service.refresh_from_db()
    assert service.status == ServiceStatus.PENDING
    assert _hosting_lines(service.contract) == []


def test_h3_activation_refused_with_only_an_expired_certificate(prices):
    service = HostingServiceFactory(domain__name="exemple.fr")
    certificate_for(service.domain, not_after=datetime.datetime(2026, 4, 10, 12, 59, tzinfo=UTC))
    with pytest.raises(HostingError, match=r"^Activation impossible : aucun certificat SSL valide couvrant exemple\.fr"):
        services.service_activate(actor=None, service=service, now=NOW)


def test_h3_activation_refused_until_administrator_confirmed_then_accepted(prices, staff_user):
    service = _ready(HostingServiceFactory(domain__name="exemple.fr", domain__client_is_administrator=False))
    with pytest.raises(HostingError, match="n'est pas confirmé comme administrateur du domaine exemple.fr"):
        services.service_activate(actor=staff_user, service=service, now=NOW)
    services.domain_confirm_administrator(actor=staff_user, domain=service.domain, today=datetime.date(2026, 4, 10))
    services.service_activate(actor=staff_user, service=service, now=NOW)
    service.refresh_from_db()
    assert service.status == ServiceStatus.ACTIVE and service.activated_on == datetime.date(2026, 4, 10)
    assert service.domain.administrator_confirmed_by == staff_user


def test_a_contract_without_the_hosting_option_gets_no_service():
    contract = ContractFactory(has_hosting=False)
    domain = DomainFactory(client=contract.client)
    with pytest.raises(ValidationError, match="n'a pas l'option « messagerie et hébergement »"):
        services.service_create(actor=None, contract=contract, domain=domain, kind=ServiceKind.IMAP, mailbox_count=2)


def test_a_service_on_another_clients_domain_is_refused():
    contract = ContractFactory(has_hosting=True)
    with pytest.raises(Exception, match="Le domaine doit appartenir au client du contrat"):
        services.service_create(actor=None, contract=contract, domain=DomainFactory(), kind=ServiceKind.IMAP,
                                mailbox_count=2)


def test_h3_activation_refused_on_an_inactive_contract(prices):
    service = _ready(HostingServiceFactory(contract__status=ContractStatus.DRAFT))
    with pytest.raises(HostingError, match="n'est pas actif"):
        services.service_activate(actor=None, service=service, now=NOW)


def test_h5_activation_adds_the_line_from_the_next_billing_period(prices):
    """Exchange in packs, 7 mailboxes, monthly contract, activated 10 April → 2 packs × 40.00 from 1 May."""
    service = _ready(HostingServiceFactory(
        domain__name="exemple.fr", pricing_mode=PricingMode.PACK, mailbox_count=7,
        contract__billing_frequency=BillingFrequency.MONTHLY,
    ))
    ContractLineFactory(contract=service.contract, description="Maintenance", quantity=Decimal("3"),
                        unit_price=Decimal("35.00"))
    services.service_activate(actor=None, service=service, now=NOW)
    (line,) = _hosting_lines(service.contract)
    assert line.valid_from == datetime.date(2026, 5, 1) and line.valid_until is None
    assert (line.quantity, line.unit_price) == (Decimal("2"), Decimal("40.00"))
    assert line.description == "Messagerie Exchange mutualisée — exemple.fr — packs de 5 boîtes aux lettres (7 boîtes)"
    assert line.source == f"hosting.service.{service.pk}"
    service.contract.refresh_from_db()
    assert [ln.description for ln in contract_lines_valid_on(service.contract, datetime.date(2026, 4, 30))] == [
        "Maintenance"
    ]
    assert len(contract_lines_valid_on(service.contract, datetime.date(2026, 5, 1))) == 2
    assert AuditLogEntry.objects.filter(action="hosting.contract.amended").count() == 1


# --- H5 change requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received,due",
    [
        (paris_datetime(datetime.date(2026, 4, 10), 9, 0), datetime.date(2026, 4, 18)),
        (paris_datetime(datetime.date(2026, 4, 10), 23, 59), datetime.date(2026, 4, 18)),
        # 22:30 UTC on 10 April is already 00:30 on 11 April in Paris
        (datetime.datetime(2026, 4, 10, 22, 30, tzinfo=UTC), datetime.date(2026, 4, 19)),
        (paris_datetime(datetime.date(2026, 12, 28), 10, 0), datetime.date(2027, 1, 5)),
    ],
)
def test_h5_due_date_is_received_plus_8_days(received, due):
    service = HostingServiceFactory(mailbox_count=3)
    request = services.change_request_create(
        actor=None, service=service, requested_mailboxes=5, origin=ChangeRequestOrigin.STAFF, now=received
    )
    assert request.due_on == due
    assert request.received_at == received
    assert not request.is_overdue(due) and request.is_overdue(due + datetime.timedelta(days=1))


def test_h5_portal_request_notifies_staff_and_acknowledges_to_the_contact():
    service = HostingServiceFactory(mailbox_count=3, domain__name="exemple.fr")
    contact = ContactFactory(client=service.contract.client, email="paul@exemple.fr")
    request = services.change_request_create(
        actor=None, service=service, requested_mailboxes=6, origin=ChangeRequestOrigin.PORTAL, now=NOW,
        contact=contact, comment="2 commerciaux, 1 stagiaire",
    )
    staff_mail = OutboundEmail.objects.get(key=f"hosting.change_request.{request.pk}.received")
    assert staff_mail.to == ["equipe@micro-info-service.fr"]
    assert "à traiter avant le 18/04/2026" in staff_mail.subject
    ack = OutboundEmail.objects.get(key=f"hosting.change_request.{request.pk}.acknowledged")
    assert ack.to == ["paul@exemple.fr"] and "au plus tard le 18/04/2026" in ack.body


def test_h5_one_open_request_per_service_and_a_real_change_only():
    service = HostingServiceFactory(mailbox_count=3)
    with pytest.raises(HostingError, match="compte déjà 3 boîte"):
        services.change_request_create(actor=None, service=service, requested_mailboxes=3,
                                       origin=ChangeRequestOrigin.STAFF, now=NOW)
    services.change_request_create(actor=None, service=service, requested_mailboxes=4,
                                   origin=ChangeRequestOrigin.STAFF, now=NOW)
    with pytest.raises(HostingError, match="déjà en cours .* traitée au plus tard le 18/04/2026"):
        services.change_request_create(actor=None, service=service, requested_mailboxes=5,
                                       origin=ChangeRequestOrigin.STAFF, now=NOW)
    web = HostingServiceFactory(kind=ServiceKind.WEB, mailbox_count=0, site_url="www.exemple.fr")
    with pytest.raises(HostingError, match="Seul un service de messagerie"):
        services.change_request_create(actor=None, service=web, requested_mailboxes=2,
                                       origin=ChangeRequestOrigin.STAFF, now=NOW)


@pytest.mark.parametrize(
    "frequency,completed_on,old_until,new_from",
    [
        (BillingFrequency.MONTHLY, datetime.date(2026, 4, 14), datetime.date(2026, 4, 30), datetime.date(2026, 5, 1)),
        (BillingFrequency.QUARTERLY, datetime.date(2026, 4, 14), datetime.date(2026, 6, 30), datetime.date(2026, 7, 1)),
        (BillingFrequency.YEARLY, datetime.date(2026, 4, 14), datetime.date(2026, 12, 31), datetime.date(2027, 1, 1)),
        (BillingFrequency.MONTHLY, datetime.date(2026, 12, 31), datetime.date(2026, 12, 31), datetime.date(2027, 1, 1)),
    ],
)
def test_h5_completion_amends_the_contract_from_the_next_billing_period(
    prices, staff_user, frequency, completed_on, old_until, new_from
):
    """Exchange in packs: 4 mailboxes (1 pack) → 6 mailboxes (2 packs)."""
    service = _ready(HostingServiceFactory(pricing_mode=PricingMode.PACK, mailbox_count=4,
                                           contract__billing_frequency=frequency,
                                           contract__signature_date=datetime.date(2025, 1, 10)))
    services.service_activate(actor=None, service=service, now=paris_datetime(datetime.date(2025, 12, 20), 10))
    (first,) = _hosting_lines(service.contract)
    assert (first.valid_from, first.quantity) == (datetime.date(2026, 1, 1), Decimal("1"))
    ContactFactory(client=service.contract.client, email="admin@client.fr")

    received = paris_datetime(completed_on - datetime.timedelta(days=3), 9)
    request = services.change_request_create(actor=None, service=service, requested_mailboxes=6,
                                             origin=ChangeRequestOrigin.STAFF, now=received)
    services.change_request_complete(actor=staff_user, change_request=request, now=paris_datetime(completed_on, 17))

    request.refresh_from_db()
    assert request.status == ChangeRequestStatus.DONE and request.effective_from == new_from
    assert request.completed_by == staff_user
    old, new = _hosting_lines(service.contract)
    assert (old.valid_from, old.valid_until, old.quantity) == (datetime.date(2026, 1, 1), old_until, Decimal("1"))
    assert (new.valid_from, new.valid_until, new.quantity, new.unit_price) == (
        new_from, None, Decimal("2"), Decimal("40.00"))
    valid_before = [ln.quantity for ln in contract_lines_valid_on(service.contract, old_until)]
    valid_after = [ln.quantity for ln in contract_lines_valid_on(service.contract, new_from)]
    assert valid_before == [Decimal("1")] and valid_after == [Decimal("2")]
    service.refresh_from_db()
    assert service.mailbox_count == 6
    done_mail = OutboundEmail.objects.get(key=f"hosting.change_request.{request.pk}.completed")
    assert done_mail.to == ["admin@client.fr"] and f"à partir du {new_from:%d/%m/%Y}" in done_mail.body


def test_h5_a_second_change_in_the_same_period_replaces_the_planned_line(prices):
    service = _ready(HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=2,
                                           contract__signature_date=datetime.date(2025, 1, 10)))
    services.service_activate(actor=None, service=service, now=paris_datetime(datetime.date(2026, 3, 2), 10))
    for wanted, day in [(5, 10), (3, 20)]:
        req = services.change_request_create(actor=None, service=service, requested_mailboxes=wanted,
                                             origin=ChangeRequestOrigin.STAFF,
                                             now=paris_datetime(datetime.date(2026, 4, day), 9))
        services.change_request_complete(actor=None, change_request=req,
                                          now=paris_datetime(datetime.date(2026, 4, day), 11))
    lines = _hosting_lines(service.contract)
    assert [(ln.valid_from, ln.valid_until, ln.quantity, ln.unit_price) for ln in lines] == [
        (datetime.date(2026, 4, 1), datetime.date(2026, 4, 30), Decimal("2"), Decimal("4.00")),
        (datetime.date(2026, 5, 1), None, Decimal("3"), Decimal("4.00")),
    ]


def test_h5_a_change_undone_in_the_same_period_leaves_one_line(prices):
    service = _ready(HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=2,
                                           contract__signature_date=datetime.date(2025, 1, 10)))
    services.service_activate(actor=None, service=service, now=paris_datetime(datetime.date(2026, 3, 2), 10))
    for wanted, day in [(5, 10), (2, 20)]:
        req = services.change_request_create(actor=None, service=service, requested_mailboxes=wanted,
                                             origin=ChangeRequestOrigin.STAFF,
                                             now=paris_datetime(datetime.date(2026, 4, day), 9))
        services.change_request_complete(actor=None, change_request=req,
                                          now=paris_datetime(datetime.date(2026, 4, day), 11))
    lines = _hosting_lines(service.contract)
    assert [(ln.valid_from, ln.valid_until, ln.quantity) for ln in lines] == [
        (datetime.date(2026, 4, 1), None, Decimal("2")),
    ]


def test_h5_going_down_to_zero_mailboxes_ends_the_line_without_a_new_one(prices):
    service = _ready(HostingServiceFactory(pricing_mode=PricingMode.PACK, mailbox_count=3,
                                           contract__signature_date=datetime.date(2025, 1, 10)))
    services.service_activate(actor=None, service=service, now=paris_datetime(datetime.date(2026, 1, 5), 10))
    req = services.change_request_create(actor=None, service=service, requested_mailboxes=0,
                                         origin=ChangeRequestOrigin.STAFF, now=NOW)
    services.change_request_complete(actor=None, change_request=req, now=NOW)
    (line,) = _hosting_lines(service.contract)
    assert (line.valid_from, line.valid_until) == (datetime.date(2026, 2, 1), datetime.date(2026, 4, 30))


def test_h5_removing_mailboxes_needs_them_deactivated_first(prices):
    service = HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=3)
    for name in ["a", "b", "c"]:
        MailboxFactory(service=service, local_part=name)
    req = services.change_request_create(actor=None, service=service, requested_mailboxes=1,
                                         origin=ChangeRequestOrigin.STAFF, now=NOW)
    with pytest.raises(HostingError, match="3 boîtes sont encore actives pour 1 demandées : désactivez-en 2"):
        services.change_request_complete(actor=None, change_request=req, now=NOW)
    assert ChangeRequest.objects.get(pk=req.pk).status == ChangeRequestStatus.OPEN


def test_h5_mailboxes_beyond_the_contracted_number_need_a_change_request():
    service = HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=1, domain__name="exemple.fr")
    services.mailbox_create(actor=None, service=service, local_part="Contact", aliases="info\nvente")
    with pytest.raises(HostingError, match="prévoit 1 boîte\\(s\\) pour exemple.fr, toutes créées"):
        services.mailbox_create(actor=None, service=service, local_part="autre")


def test_aliases_are_imap_only_and_unique_in_the_domain():
    """CGV H4: the client's accounts are recorded (no password here); IMAP is multi-alias (annex art. 3)."""
    imap = HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=3)
    services.mailbox_create(actor=None, service=imap, local_part="contact", aliases="info")
    with pytest.raises(HostingError, match="Adresse déjà utilisée .* info"):
        services.mailbox_create(actor=None, service=imap, local_part="info")
    exchange = HostingServiceFactory(kind=ServiceKind.EXCHANGE, mailbox_count=3)
    with pytest.raises(Exception, match="Les alias sont proposés avec la messagerie IMAP seulement"):
        services.mailbox_create(actor=None, service=exchange, local_part="contact", aliases="info")


def test_closing_a_service_ends_its_line_at_the_end_of_the_period(prices):
    service = _ready(HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=2,
                                           contract__billing_frequency=BillingFrequency.QUARTERLY,
                                           contract__signature_date=datetime.date(2025, 1, 10)))
    services.service_activate(actor=None, service=service, now=paris_datetime(datetime.date(2025, 11, 5), 10))
    services.service_close(actor=None, service=service, today=datetime.date(2026, 5, 20))
    (line,) = _hosting_lines(service.contract)
    assert (line.valid_from, line.valid_until) == (datetime.date(2026, 1, 1), datetime.date(2026, 6, 30))
    service.refresh_from_db()
    assert service.status == ServiceStatus.CLOSED and service.closed_on == datetime.date(2026, 5, 20)
