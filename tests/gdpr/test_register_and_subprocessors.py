"""Processing register (Art. 30(2), CGV D8) and sub-processors (CGV D9)."""
import datetime

import pytest
from django.core.exceptions import ValidationError

from contracts.choices import ContactRole, ContractStatus
from core.models import OutboundEmail
from gdpr import services
from gdpr.exceptions import GdprError
from gdpr.jobs import sync_register
from gdpr.models import (
    ProcessingActivity,
    ProcessingActivitySubProcessor,
    SubProcessor,
    SubProcessorAuthorisation,
)
from tests.factories.contracts import ClientFactory, ContactFactory, ContractFactory
from tests.factories.gdpr import SubProcessorFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=datetime.UTC)


def test_d9_the_two_subprocessors_of_the_terms_are_seeded_with_their_legal_details():
    rows = list(SubProcessor.objects.order_by("name").values_list("name", "address", "rcs", "siren", "services",
                                                                 "listed_in_terms"))
    assert rows == [
        ("AMS SOLUTION", "139 Chem. des Vernèdes, 83480 Puget-sur-Argens", "RCS Fréjus B 843 236 522", "843236522",
         "Téléphonie et internet", True),
        ("COMIP", "Chemin des Vernèdes, 83480 Puget-sur-Argens", "RCS Fréjus B 798 444 303", "798444303",
         "Téléphonie et internet", True),
    ]


def test_d9_a_new_subprocessor_notifies_every_active_client_once(client_a, client_b):
    ContactFactory(client=client_a, email="dpo@a.fr", is_dpo=True, portal_role=ContactRole.TECHNICAL)
    ClientFactory(is_active=False)
    sub = services.subprocessor_add(
        actor=None, now=NOW, name="OVH", address="2 rue Kellermann, 59100 Roubaix", siren="424761419",
        rcs="RCS Lille Métropole 424 761 419", services="Hébergement des sauvegardes",
    )
    assert not sub.listed_in_terms and sub.requires_authorisation
    emails = OutboundEmail.objects.filter(key__startswith=f"gdpr.subprocessor.{sub.pk}.").order_by("key")
    assert sorted(e.to[0] for e in emails) == sorted(["dpo@a.fr", client_b.billing_email])
    body = emails.filter(to=["dpo@a.fr"]).get().body
    assert "OVH (2 rue Kellermann, 59100 Roubaix, RCS Lille Métropole 424 761 419)" in body
    assert "autorisation préalable" in body


def test_d9_a_subprocessor_is_refused_for_a_client_without_its_prior_authorisation(client_a, client_b):
    ContractFactory(client=client_a)
    services.register_sync()
    activity = ProcessingActivity.objects.get(client=client_a)
    sub = SubProcessorFactory(name="Nouvel Hébergeur")
    with pytest.raises(GdprError, match="sans son autorisation préalable"):
        services.activity_add_subprocessor(actor=None, activity=activity, sub_processor=sub)
    link = ProcessingActivitySubProcessor(activity=activity, sub_processor=sub)
    with pytest.raises(ValidationError, match="autorisation préalable"):
        link.full_clean()  # what the admin inline runs
    services.subprocessor_authorisation_record(
        actor=None, client=client_b, sub_processor=sub, authorised_on=datetime.date(2026, 5, 2), given_by="B"
    )
    with pytest.raises(GdprError):  # B's authorisation says nothing for A
        services.subprocessor_check_authorised(client=client_a, sub_processor=sub)
    services.subprocessor_authorisation_record(
        actor=None, client=client_a, sub_processor=sub, authorised_on=datetime.date(2026, 5, 3),
        given_by="Mme Durand, gérante", evidence="e-mail du 03/05/2026",
    )
    services.activity_add_subprocessor(actor=None, activity=activity, sub_processor=sub)
    assert set(activity.sub_processors.values_list("name", flat=True)) == {"COMIP", "AMS SOLUTION", "Nouvel Hébergeur"}
    with pytest.raises(GdprError, match="déjà enregistrée"):
        services.subprocessor_authorisation_record(
            actor=None, client=client_a, sub_processor=sub, authorised_on=datetime.date(2026, 5, 3), given_by="x"
        )
    comip = SubProcessor.objects.get(name="COMIP")
    with pytest.raises(GdprError, match="prévu aux CGV"):
        services.subprocessor_authorisation_record(
            actor=None, client=client_a, sub_processor=comip, authorised_on=datetime.date(2026, 5, 3), given_by="x"
        )
    assert SubProcessorAuthorisation.objects.count() == 2


def test_d8_register_lines_follow_the_contract_options_and_the_sync_is_idempotent(client_a, client_b):
    ContractFactory(client=client_a, has_backup=True, has_hosting=True)
    ContractFactory(client=client_b)
    ContractFactory(client=ClientFactory(), status=ContractStatus.ENDED)  # no running contract: no line
    assert sync_register(today=datetime.date(2026, 5, 4)) == {"register_lines_created": 4}
    assert sync_register(today=datetime.date(2026, 5, 4)) == {"register_lines_created": 0}
    assert sorted(ProcessingActivity.objects.values_list("client__name", "code")) == [
        ("Client A", "backup"), ("Client A", "hosting"), ("Client A", "maintenance"), ("Client B", "maintenance"),
    ]
    line = ProcessingActivity.objects.get(client=client_a, code="backup")
    assert line.transfers == "Aucun transfert hors de l'Union européenne."
    assert "5 semaines ou 12 mois" in line.retention
    assert set(line.sub_processors.values_list("name", flat=True)) == {"COMIP", "AMS SOLUTION"}


@pytest.mark.parametrize("n", [5, 50])
def test_register_sync_query_count_does_not_grow(django_assert_max_num_queries, django_assert_num_queries, n):
    for _i in range(n):
        ContractFactory(has_backup=True)
    # contracts, existing lines, savepoint, insert lines, created ids, sub-processors, insert links, release:
    # 8, plus one when SQLite splits the 100-row insert into two batches (999-parameter limit).
    with django_assert_max_num_queries(9):
        assert services.register_sync() == {"register_lines_created": 2 * n}
    with django_assert_num_queries(2):  # nothing missing: contracts, existing lines
        services.register_sync()


def test_d8_register_csv_and_pdf_for_an_audit(client_a, provider, staff_user):
    ContractFactory(client=client_a, has_hosting=True)
    services.register_sync()
    name, content, mimetype = services.register_export(actor=staff_user, client=client_a, fmt="csv", now=NOW)
    assert name == f"registre-{client_a.siren}-20260504.csv" and mimetype == "text/csv; charset=utf-8"
    rows = content.decode("utf-8-sig").splitlines()
    assert rows[0] == ("Responsable de traitement;SIREN;Traitement;Catégories de traitements et finalités;"
                       "Personnes concernées;Catégories de données;Sous-traitants ultérieurs;Transferts hors UE;"
                       "Mesures de sécurité;Durée de conservation")
    assert len(rows) == 3 and rows[1].startswith(f"Client A;{client_a.siren};Hébergement de messagerie")
    name, content, mimetype = services.register_export(actor=staff_user, client=client_a, fmt="pdf", now=NOW)
    assert mimetype == "application/pdf" and content[:5] == b"%PDF-"
