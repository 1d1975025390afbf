"""MIS's own personal data (CGV D1–D3, L2): export of everything about a person, anonymisation everywhere
except the legal records, found by introspection so later models are covered."""
import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType

from billing import services as billing_services
from billing.models import Invoice
from contracts import services as contract_services
from contracts.models import Contact
from core.mail import email_queue
from core.models import AuditLogEntry, OutboundEmail
from gdpr import personal_data, services
from gdpr.choices import RequestKind
from gdpr.models import Anonymisation
from interventions.models import Ticket
from tests.factories.billing import line
from tests.factories.contracts import ContactFactory
from tests.factories.core import UserFactory
from tests.factories.interventions import TicketFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime.datetime(2026, 6, 10, 11, 0, tzinfo=PARIS)
IDENTIFIERS = ["Camille Dupontel", "Dupontel Camille", "camille.dupontel@example.fr", "06 12 34 56 78",
               "old.camille@example.fr"]


@pytest.fixture
def person(client_a, provider):
    """A contact with data in many places: login, ticket, e-mails, audit, request, and an issued invoice."""
    contact = contract_services.contact_create(
        actor=None, client=client_a, last_name="Dupontel", first_name="Camille", email="camille.dupontel@example.fr",
        phone="06 12 34 56 78", job_title="Comptable", is_billing_contact=True,
    )
    contract_services.contact_enable_portal(actor=None, contact=contact, password="long-password-2026")
    # A rectification recorded earlier: the former address must disappear too.
    AuditLogEntry.objects.create(
        actor_label="admin", content_type=ContentType.objects.get_for_model(Contact), object_id=str(contact.pk),
        object_repr=str(contact), action="contracts.contact.updated",
        changes={"email": ["old.camille@example.fr", "camille.dupontel@example.fr"]},
    )
    TicketFactory(client=client_a, contact=contact, title="Imprimante en panne",
                  description="Camille Dupontel signale une panne ; rappeler au 06 12 34 56 78.")
    email_queue(to=["camille.dupontel@example.fr"], subject="Votre ticket", body="Bonjour Camille Dupontel,\n…")
    services.request_record(
        actor=None, client=client_a, kind=RequestKind.ACCESS, requester_name="Camille Dupontel",
        requester_email="camille.dupontel@example.fr", description="Copie de mes données.", contact=contact,
        received_at=NOW, now=NOW,
    )
    invoice = billing_services.invoice_create_draft(
        actor=None, client=client_a, kind="extra", lines=[line("Intervention sur site", unit_price="90.00")],
        notes="À l'attention de Camille Dupontel (camille.dupontel@example.fr)",
    )
    billing_services.invoice_issue(actor=None, invoice=invoice, today=datetime.date(2026, 6, 1), now=NOW)
    return contact


def _invoice_values():
    return list(Invoice.objects.order_by("pk").values())


def test_d3_export_contains_every_field_about_the_person_and_is_logged(person, staff_user):
    export = services.contact_export(actor=staff_user, contact=person, now=NOW)
    export = json.loads(json.dumps(export))  # JSON-ready (portability)
    subject = export["subject"]
    for f in Contact._meta.concrete_fields:
        value = getattr(person, f.attname)
        assert subject[f.attname] == personal_data.jsonable(value), f.attname
    assert subject["last_name"] == "Dupontel" and subject["phone"] == "06 12 34 56 78"
    assert subject["job_title"] == "Comptable" and subject["client_name"] == "Client A"
    assert export["portal_account"]["username"] == "camille.dupontel@example.fr"
    assert "password" not in export["portal_account"]
    tickets = export["related"]["interventions.Ticket"]
    assert [t["description"] for t in tickets] == ["Camille Dupontel signale une panne ; rappeler au 06 12 34 56 78."]
    assert export["related"]["gdpr.DataSubjectRequest"][0]["requester_name"] == "Camille Dupontel"
    assert [e["subject"] for e in export["emails"]] == [
        "Votre ticket", export["emails"][1]["subject"]
    ] and export["emails"][1]["subject"].startswith("[RGPD] Demande d'exercice de droits")
    assert [a["action"] for a in export["audit"]] == [
        "contracts.contact.created", "contracts.contact.portal_enabled", "contracts.contact.updated"
    ]
    kept = [m for m in export["mentions"] if m["kept_by_law"]]
    assert {m["model"] for m in kept} == {"billing.Invoice", "core.AuditLogEntry"}
    # D2: the access to the export is in the audit log, with who did it.
    entry = AuditLogEntry.objects.get(action="gdpr.contact.exported")
    assert entry.actor == staff_user and entry.object_id == str(person.pk)


def test_d3_l2_anonymisation_leaves_invoices_intact_and_the_person_unfindable(person, client_a, staff_user):
    other = ContactFactory(client=client_a, first_name="Paul", last_name="Autre", email="paul@a.fr")
    invoices_before = _invoice_values()
    assert {h.model for h in personal_data.locate(IDENTIFIERS) if not h.legal_hold} >= {
        "contracts.Contact", "interventions.Ticket", "core.OutboundEmail", "core.AuditLogEntry", "auth.User",
        "gdpr.DataSubjectRequest",
    }

    proof = services.contact_anonymise(actor=staff_user, contact=person, now=NOW, reason="Demande d'effacement")

    # L2: the issued invoice (with the buyer snapshot and the name in its notes) is untouched.
    assert _invoice_values() == invoices_before
    assert "Camille Dupontel" in Invoice.objects.get().notes
    # Unfindable anywhere else: every remaining mention is a legal record.
    remaining = personal_data.locate(IDENTIFIERS)
    assert remaining and all(h.legal_hold for h in remaining), [h for h in remaining if not h.legal_hold]
    assert {h.model for h in remaining} == {"billing.Invoice", "core.AuditLogEntry"}
    person.refresh_from_db()
    assert (person.last_name, person.first_name, person.email, person.phone, person.job_title) == (
        "[anonymisé]", "", f"anonyme-{person.pk}@anonymise.invalid", "", ""
    )
    assert not person.is_active and not person.is_billing_contact
    user = person.user
    user.refresh_from_db()
    assert (user.username, user.email, user.is_active, user.has_usable_password()) == (
        f"anonyme-{person.pk}", "", False, False
    )
    ticket = Ticket.objects.get()
    assert ticket.contact_id == person.pk  # the link stays, to an anonymous contact
    assert ticket.description == "[anonymisé] signale une panne ; rappeler au [anonymisé]."
    assert OutboundEmail.objects.filter(subject="Votre ticket").get().to == [f"anonyme-{person.pk}@anonymise.invalid"]
    other.refresh_from_db()
    assert (other.first_name, other.last_name, other.email, other.is_active) == ("Paul", "Autre", "paul@a.fr", True)
    assert proof.summary["interventions.Ticket"] == 1 and proof.summary["contracts.Contact"] == 1
    assert proof.kept == {"billing.Invoice": 1, "core.AuditLogEntry": 1}
    assert AuditLogEntry.objects.filter(action="gdpr.contact.anonymised", actor=staff_user).count() == 1


def test_anonymisation_twice_changes_nothing(person):
    first = services.contact_anonymise(actor=None, contact=person, now=NOW, reason="x")
    audit_count = AuditLogEntry.objects.count()
    second = services.contact_anonymise(actor=None, contact=person, now=NOW, reason="x")
    assert second == first and Anonymisation.objects.count() == 1
    assert AuditLogEntry.objects.count() == audit_count


def test_a_model_declares_its_personal_fields_and_later_models_are_found_by_introspection(person):
    """Ticket has no declaration: its free text is scrubbed by mention; with a declaration the field is blanked."""
    relations = {r.label for r in personal_data.relations_to(Contact)}
    assert {"interventions.Ticket", "interventions.PhoneCall", "gdpr.DataSubjectRequest"} <= relations
    personal_data.register_personal_fields("interventions.ticket", ["title"])
    try:
        services.contact_anonymise(actor=None, contact=person, now=NOW, reason="x")
    finally:
        personal_data._PERSONAL_FIELDS.pop("interventions.ticket")
    assert Ticket.objects.get().title == "[anonymisé]"


def test_locate_finds_accented_names_in_json_on_every_database(client_a):
    contact = ContactFactory(client=client_a, first_name="Hélène", last_name="Öztürk", email="helene@ex.fr")
    AuditLogEntry.objects.create(
        actor_label="x", content_type=ContentType.objects.get_for_model(Contact), object_id="999",
        object_repr="autre", action="t", changes={"note": ["Hélène Öztürk", None]},
    )
    models_hit = sorted(h.model for h in personal_data.locate(personal_data.identifiers(contact)))
    assert models_hit == ["contracts.Contact", "core.AuditLogEntry"]


def test_staff_user_rows_do_not_make_a_contact_findable(client_a):
    UserFactory(username="dupont")  # a staff account, unrelated
    contact = ContactFactory(client=client_a, first_name="Ana", last_name="Dupont", email="ana@ex.fr")
    assert [h.model for h in personal_data.locate(personal_data.identifiers(contact))] == ["contracts.Contact"]
