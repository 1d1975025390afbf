"""Nightly jobs of the hosting option: expiry alerts (H3) at 30, 14 and 7 days, once per threshold;
overdue change requests (H5) flagged to staff once; a second run changes nothing."""
import datetime

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command

from contracts.choices import ContactRole
from core.dates import paris_datetime
from core.models import OutboundEmail
from hosting import services
from hosting.choices import ChangeRequestOrigin
from hosting.models import ChangeRequest
from tests.factories.contracts import ClientFactory, ContactFactory
from tests.factories.hosting import DomainFactory, HostingServiceFactory, certificate_for

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
JOBS = ["--only", "hosting.expiry_alerts", "--only", "hosting.overdue_change_requests"]
STAFF = "equipe@micro-info-service.fr"


def nightly(day: datetime.date):
    with time_machine.travel(paris_datetime(day, 1, 30), tick=False):
        call_command("run_nightly", "--date", day.isoformat(), *JOBS)


def _alert_keys():
    return sorted(OutboundEmail.objects.filter(key__contains="expiry").values_list("key", flat=True))


def _counts():
    labels = ["core.OutboundEmail", "core.AuditLogEntry"] + [
        m._meta.label for m in apps.get_app_config("hosting").get_models()
    ]
    return {label: apps.get_model(label).objects.count() for label in labels}


def test_h3_certificate_alerts_at_30_14_and_7_days_once_each():
    """Certificate ending 2026-06-30 14:00 Paris: alerts on 31 May, 16 June and 23 June only."""
    client = ClientFactory()
    ContactFactory(client=client, email="tech@client.fr", portal_role=ContactRole.TECHNICAL, is_technical_contact=True)
    ContactFactory(client=client, email="compta@client.fr", portal_role=ContactRole.BILLING)
    domain = DomainFactory(client=client, name="exemple.fr", expires_on=None)
    cert = certificate_for(domain, not_after=paris_datetime(datetime.date(2026, 6, 30), 14))
    day, sent_on = datetime.date(2026, 5, 25), {}
    while day <= datetime.date(2026, 7, 2):
        before = set(_alert_keys())
        nightly(day)
        for key in set(_alert_keys()) - before:
            sent_on[key] = day
        day += datetime.timedelta(days=1)
    assert sent_on == {
        f"hosting.certificate.{cert.pk}.expiry.20260630.30": datetime.date(2026, 5, 31),
        f"hosting.certificate.{cert.pk}.expiry.20260630.14": datetime.date(2026, 6, 16),
        f"hosting.certificate.{cert.pk}.expiry.20260630.7": datetime.date(2026, 6, 23),
    }
    email = OutboundEmail.objects.get(key=f"hosting.certificate.{cert.pk}.expiry.20260630.7")
    assert email.to == ["tech@client.fr", STAFF]
    assert email.subject == "Certificat SSL de exemple.fr : expiration le 30/06/2026"
    assert "dans 7 jour(s)" in email.body


def test_h3_domain_alerts_and_catch_up_after_missed_runs():
    """Domain expiring 2026-09-15: a run on 20 Aug (26 days) sends the 30-day alert; the next run,
    on 5 Sep (10 days), sends only the 14-day one, never a stale duplicate."""
    domain = DomainFactory(name="exemple.fr", expires_on=datetime.date(2026, 9, 15))
    ContactFactory(client=domain.client, email="gerant@client.fr")
    nightly(datetime.date(2026, 8, 15))
    assert _alert_keys() == []
    nightly(datetime.date(2026, 8, 20))
    nightly(datetime.date(2026, 9, 5))
    nightly(datetime.date(2026, 9, 6))
    assert _alert_keys() == [
        f"hosting.domain.{domain.pk}.expiry.20260915.14",
        f"hosting.domain.{domain.pk}.expiry.20260915.30",
    ]
    email = OutboundEmail.objects.get(key=f"hosting.domain.{domain.pk}.expiry.20260915.14")
    assert email.to == ["gerant@client.fr", STAFF]
    assert "expire le 15/09/2026, dans 10 jour(s)" in email.body


def test_h3_a_renewed_domain_is_alerted_again_next_year():
    domain = DomainFactory(expires_on=datetime.date(2026, 9, 15))
    nightly(datetime.date(2026, 9, 10))
    domain.expires_on = datetime.date(2027, 9, 15)
    domain.save()
    nightly(datetime.date(2027, 9, 10))
    assert len(_alert_keys()) == 2


def test_h3_a_superseded_certificate_is_not_alerted():
    domain = DomainFactory(expires_on=None)
    certificate_for(domain, not_after=paris_datetime(datetime.date(2026, 6, 30), 14))
    certificate_for(domain, not_after=paris_datetime(datetime.date(2027, 6, 30), 14))
    nightly(datetime.date(2026, 6, 20))
    assert _alert_keys() == []


def test_h5_overdue_change_requests_are_flagged_to_staff_once():
    service = HostingServiceFactory(mailbox_count=3, domain__name="exemple.fr")
    request = services.change_request_create(
        actor=None, service=service, requested_mailboxes=5, origin=ChangeRequestOrigin.STAFF,
        now=paris_datetime(datetime.date(2026, 4, 10), 9),
    )
    nightly(datetime.date(2026, 4, 18))  # due today: not late yet
    assert ChangeRequest.objects.get(pk=request.pk).overdue_flagged_at is None
    nightly(datetime.date(2026, 4, 19))
    request.refresh_from_db()
    assert request.overdue_flagged_at == paris_datetime(datetime.date(2026, 4, 19), 1, 30)
    nightly(datetime.date(2026, 4, 20))
    (email,) = OutboundEmail.objects.filter(key__startswith="hosting.change_requests.overdue.")
    assert email.to == [STAFF]
    assert email.subject.startswith("[Hébergement] 1 demande(s) de modification des boîtes en retard")
    assert "3 → 5 boîtes, reçue le 10/04/2026 09:00, due le 18/04/2026" in email.body


def test_a_second_run_nightly_changes_nothing():
    for i in range(3):
        domain = DomainFactory(expires_on=datetime.date(2026, 5, 1) + datetime.timedelta(days=i * 5))
        certificate_for(domain, not_after=paris_datetime(datetime.date(2026, 4, 20), 12) + datetime.timedelta(days=i))
        ContactFactory(client=domain.client)
    service = HostingServiceFactory(mailbox_count=1)
    services.change_request_create(actor=None, service=service, requested_mailboxes=2,
                                   origin=ChangeRequestOrigin.STAFF, now=paris_datetime(datetime.date(2026, 4, 1), 9))
    nightly(datetime.date(2026, 4, 12))
    first = _counts()
    assert first["core.OutboundEmail"] == 1 + 6 + 1  # request received (staff) + 3 certs + 3 domains + overdue digest
    nightly(datetime.date(2026, 4, 12))
    assert _counts() == first


@pytest.mark.parametrize("rows", [5, 50])
def test_nightly_query_count_does_not_grow_with_rows(rows, django_assert_num_queries):
    """Steady state (every alert already sent): the same queries for 5 and 50 domains and certificates:
    certificates, domains, keys already sent, overdue candidates — 4 queries."""
    for _ in range(rows):
        domain = DomainFactory(expires_on=datetime.date(2026, 5, 1))
        certificate_for(domain, not_after=paris_datetime(datetime.date(2026, 5, 2), 12))
    nightly(datetime.date(2026, 4, 20))
    assert OutboundEmail.objects.count() == 2 * rows
    with django_assert_num_queries(4):
        services.expiry_alerts_send(today=datetime.date(2026, 4, 20))
        services.change_requests_flag_overdue(today=datetime.date(2026, 4, 20), now=paris_datetime(datetime.date(2026, 4, 20), 1))


def test_hosting_jobs_are_in_the_600_band():
    from core.nightly import discover

    orders = {job.name: job.order for job in discover() if job.name.startswith("hosting.")}
    assert orders == {"hosting.expiry_alerts": 600, "hosting.overdue_change_requests": 610}
