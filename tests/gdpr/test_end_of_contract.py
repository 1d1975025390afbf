"""End of contract (CGV D10, art. 14.9): return or delete at the client's choice; the nightly retention job."""
import datetime
import io
import json
import zipfile
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command

from billing import services as billing_services
from billing.models import Invoice
from contracts.choices import ContractStatus
from contracts.models import Contact
from core.models import AuditLogEntry, OutboundEmail
from gdpr import personal_data, services
from gdpr.choices import DispositionChoice, DispositionStatus, RequestStatus
from gdpr.exceptions import GdprError
from gdpr.jobs import retention
from gdpr.models import Anonymisation, DataDisposition, DataSubjectRequest
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory, ContactFactory, ContractFactory
from tests.factories.gdpr import DataSubjectRequestFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime.datetime(2027, 1, 5, 2, 0, tzinfo=PARIS)
TODAY = datetime.date(2027, 1, 5)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _ended_client(name="Ancien client", **contract):
    client = ClientFactory(name=name)
    ContactFactory(client=client, first_name="Léa", last_name=f"Martin-{name}", email=f"lea@{client.siren}.fr",
                   phone="06 99 88 77 66", is_dpo=True)
    ContractFactory(client=client, status=ContractStatus.ENDED, signature_date=datetime.date(2025, 2, 1), **contract)
    return client


def _counts():
    return {
        "dispositions": list(DataDisposition.objects.order_by("pk").values_list("pk", "status", "choice")),
        "emails": OutboundEmail.objects.count(),
        "audit": AuditLogEntry.objects.count(),
        "anonymisations": Anonymisation.objects.count(),
        "contacts": list(Contact.objects.order_by("pk").values_list("email", "is_active")),
        "requests": list(DataSubjectRequest.objects.order_by("pk").values_list("requester_name", flat=True)),
    }


def test_d10_a_client_whose_last_contract_ended_is_asked_to_choose(provider):
    client = _ended_client()
    running = ClientFactory(name="Client actif")
    ContractFactory(client=running, status=ContractStatus.ENDED)
    ContractFactory(client=running, status=ContractStatus.ACTIVE)  # still a running contract: nothing to do
    result = retention(today=TODAY)
    assert result["dispositions_opened"] == 1
    disposition = DataDisposition.objects.get()
    assert disposition.client == client and disposition.status == DispositionStatus.AWAITING_CHOICE
    assert disposition.contract_ended_on == datetime.date(2026, 12, 31)
    email = OutboundEmail.objects.get(key=f"gdpr.disposition.{disposition.pk}.choice_asked")
    assert email.to == [f"lea@{client.siren}.fr"]
    assert "restitution ou suppression" in email.subject
    assert "Sans réponse dans un délai de 90 jours" in email.body


def test_d10_only_the_last_ended_contract_counts(provider):
    client = _ended_client()
    ContractFactory(client=client, status=ContractStatus.TERMINATED, signature_date=datetime.date(2023, 5, 1))
    retention(today=TODAY)
    retention(today=TODAY + datetime.timedelta(days=1))
    assert DataDisposition.objects.count() == 1
    assert DataDisposition.objects.get().contract.signature_date == datetime.date(2025, 2, 1)


def test_d10_delete_anonymises_the_clients_people_keeps_invoices_and_issues_a_certificate(provider, run_on_commit):
    client = _ended_client()
    person = Contact.objects.get(client=client)
    DataSubjectRequestFactory(client=client, requester_name="Jean Client-Final", requester_email="jean@final.fr")
    invoice = billing_services.invoice_create_draft(actor=None, client=client, kind="extra", lines=[line()])
    billing_services.invoice_issue(actor=None, invoice=invoice, today=datetime.date(2026, 12, 1), now=NOW)
    invoice_before = list(Invoice.objects.values())
    retention(today=TODAY)
    disposition = DataDisposition.objects.get()
    services.disposition_record_choice(
        actor=None, disposition=disposition, choice=DispositionChoice.DELETE, chosen_on=TODAY,
        requested_by="Léa Martin, gérante, e-mail du 05/01/2027",
    )
    with run_on_commit():
        report = retention(today=TODAY)
    assert report["deletions_made"] == 1
    disposition.refresh_from_db()
    assert disposition.status == DispositionStatus.DONE and disposition.destroyed_at is not None
    with default_storage.open(disposition.certificate.name, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert disposition.report["people_anonymised"] == 1
    assert disposition.report["rows_changed"]["gdpr.DataSubjectRequest"] >= 1
    assert Invoice.objects.count() == 1 and list(Invoice.objects.values()) == invoice_before  # L2
    assert [h for h in personal_data.locate(["Léa Martin-Ancien client", f"lea@{client.siren}.fr", "jean@final.fr",
                                             "Jean Client-Final"]) if not h.legal_hold] == []
    person.refresh_from_db()
    assert not person.is_active
    certificate = OutboundEmail.objects.get(key=f"gdpr.disposition.{disposition.pk}.certificate")
    # The certificate goes to the billing address: the client's people are anonymised by then.
    assert certificate.to == [client.billing_email]
    assert certificate.attachments[0]["name"] == f"certificat-suppression-{client.siren}.pdf"


def test_d10_return_builds_an_archive_then_destroys_the_copies_30_days_later(provider):
    client = _ended_client()
    person = Contact.objects.get(client=client)
    DataSubjectRequestFactory(client=client, contact=person)
    retention(today=TODAY)
    disposition = DataDisposition.objects.get()
    services.disposition_record_choice(
        actor=None, disposition=disposition, choice=DispositionChoice.RETURN, chosen_on=TODAY, requested_by="Léa"
    )
    assert retention(today=TODAY)["returns_made"] == 1
    disposition.refresh_from_db()
    assert disposition.status == DispositionStatus.RETURNED
    with default_storage.open(disposition.archive.name, "rb") as fh:
        archive = zipfile.ZipFile(io.BytesIO(fh.read()))
    names = set(archive.namelist())
    assert {"client.json", "tables/contracts_contact.json", "tables/contracts_contact.csv",
            "tables/contracts_contract.json", "tables/gdpr_datasubjectrequest.json",
            f"personnes/contact-{person.pk}.json", "registre-des-traitements.csv", "manifest.json"} <= names
    people = json.loads(archive.read("tables/contracts_contact.json"))
    assert people[0]["email"] == f"lea@{client.siren}.fr" and people[0]["phone"] == "06 99 88 77 66"
    assert "Léa" in archive.read("tables/contracts_contact.csv").decode("utf-8-sig")
    # Within the grace period nothing more happens…
    later = NOW + datetime.timedelta(days=29)
    assert services.retention_apply(today=later.date(), now=later)["copies_destroyed_after_return"] == 0
    # …then the copies are destroyed, the archive too, and a certificate is issued.
    later = NOW + datetime.timedelta(days=30, minutes=1)
    assert services.retention_apply(today=later.date(), now=later)["copies_destroyed_after_return"] == 1
    disposition.refresh_from_db()
    assert disposition.status == DispositionStatus.DONE and not disposition.archive
    assert disposition.certificate and disposition.report["archive_destroyed"] is True
    assert Anonymisation.objects.filter(contact=person, disposition=disposition).exists()


def test_d10_without_an_answer_in_90_days_deletion_applies(provider):
    _ended_client()
    retention(today=TODAY)
    day89 = NOW + datetime.timedelta(days=89)
    assert services.retention_apply(today=day89.date(), now=day89)["dispositions_defaulted_to_delete"] == 0
    day90 = NOW + datetime.timedelta(days=90)
    report = services.retention_apply(today=day90.date(), now=day90)
    assert report["dispositions_defaulted_to_delete"] == 1 and report["deletions_made"] == 1
    disposition = DataDisposition.objects.get()
    assert disposition.default_applied and disposition.choice == DispositionChoice.DELETE


def test_d10_a_choice_is_recorded_once(provider):
    _ended_client()
    retention(today=TODAY)
    disposition = DataDisposition.objects.get()
    services.disposition_record_choice(actor=None, disposition=disposition, choice="delete", chosen_on=TODAY,
                                       requested_by="x")
    with pytest.raises(GdprError, match="déjà enregistré"):
        services.disposition_record_choice(actor=None, disposition=disposition, choice="return", chosen_on=TODAY,
                                           requested_by="x")


def test_d3_answered_requests_are_anonymised_after_5_years(client_a):
    old = DataSubjectRequestFactory(client=client_a, status=RequestStatus.ANSWERED,
                                    answered_at=datetime.datetime(2021, 12, 1, tzinfo=PARIS))
    recent = DataSubjectRequestFactory(client=client_a, status=RequestStatus.ANSWERED,
                                       answered_at=datetime.datetime(2022, 6, 1, tzinfo=PARIS))
    assert retention(today=TODAY)["requests_anonymised"] == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.requester_name, old.requester_email, old.description) == ("[anonymisé]", "", "[anonymisé]")
    assert recent.requester_name == "Jeanne Martin"


def test_retention_job_run_twice_changes_nothing(provider):
    for i in range(3):
        _ended_client(name=f"Ancien {i}")
    DataSubjectRequestFactory(status=RequestStatus.ANSWERED, answered_at=datetime.datetime(2020, 1, 1, tzinfo=PARIS))
    call_command("run_nightly", "--date", TODAY.isoformat(), "--only", "gdpr.retention")
    first = _counts()
    report = retention(today=TODAY)
    assert _counts() == first
    assert report == {
        "dispositions_opened": 0, "dispositions_defaulted_to_delete": 0, "returns_made": 0, "deletions_made": 0,
        "copies_destroyed_after_return": 0, "requests_anonymised": 0,
    }
    assert OutboundEmail.objects.filter(key=f"gdpr.retention.{TODAY.isoformat()}").count() == 1
    # And once every disposition is done, a second execution changes nothing either.
    for disposition in DataDisposition.objects.all():
        services.disposition_record_choice(actor=None, disposition=disposition, choice="delete", chosen_on=TODAY,
                                           requested_by="x")
    retention(today=TODAY)
    done = _counts()
    retention(today=TODAY)
    assert _counts() == done
    assert {d[1] for d in done["dispositions"]} == {DispositionStatus.DONE}


@pytest.mark.parametrize("n", [5, 50])
def test_retention_job_query_count_does_not_grow_with_rows(provider, django_assert_num_queries, n):
    for i in range(n):
        _ended_client(name=f"Ancien {i}")
        DataSubjectRequestFactory(status=RequestStatus.ANSWERED,
                                  answered_at=datetime.datetime(2020, 1, 1, tzinfo=PARIS))
    retention(today=TODAY)  # opens n dispositions (one e-mail each)
    # Nothing left: ended contracts (1), awaiting past the wait (1), chosen (1), returned past grace (1),
    # old requests UPDATE (1).
    with django_assert_num_queries(5):
        retention(today=TODAY)
