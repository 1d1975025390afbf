import datetime

import factory

from gdpr import deadlines
from gdpr.choices import ControllerRequestKind, RequestKind
from gdpr.models import Breach, ControllerRequest, DataSubjectRequest, SubProcessor
from tests.factories.contracts import ClientFactory

PARIS = datetime.timezone(datetime.timedelta(hours=1))


class SubProcessorFactory(factory.django.DjangoModelFactory):
    """A sub-processor NOT named in the terms: needs each client's authorisation (D9)."""

    class Meta:
        model = SubProcessor

    name = factory.Sequence(lambda n: f"Hébergeur {n}")
    address = "1 rue de la Gare, 83000 Toulon"
    siren = factory.Sequence(lambda n: f"{700000000 + n:09d}")
    rcs = "RCS Toulon"
    services = "Hébergement"
    listed_in_terms = False


class DataSubjectRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataSubjectRequest

    client = factory.SubFactory(ClientFactory)
    kind = RequestKind.ACCESS
    requester_name = "Jeanne Martin"
    requester_email = "jeanne.martin@example.fr"
    description = "Je souhaite obtenir une copie de mes données."
    received_at = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    due_date = factory.LazyAttribute(lambda o: deadlines.request_due_date(o.received_at))


class BreachFactory(factory.django.DjangoModelFactory):
    """A breach with the full Art. 33(3) content (D6)."""

    class Meta:
        model = Breach

    client = factory.SubFactory(ClientFactory)
    reference = factory.Sequence(lambda n: f"VIO-TEST-{n:04d}")
    title = "Perte d'un ordinateur portable"
    aware_at = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
    notification_deadline = factory.LazyAttribute(lambda o: deadlines.breach_notification_deadline(o.aware_at))
    nature = "Perte de confidentialité : ordinateur portable non chiffré volé dans un véhicule."
    subject_categories = "Salariés du client"
    subjects_approx = 12
    record_categories = "Fiches de paie"
    records_approx = 144
    contact_point = "DPO MIS, dpo@micro-info-service.fr, 04 94 00 00 00"
    likely_consequences = "Usurpation d'identité possible."
    measures = "Mots de passe réinitialisés ; plainte déposée."


class ControllerRequestFactory(factory.django.DjangoModelFactory):
    """A documented instruction from the controller (D4); other kinds are assistance requests (D7, D8)."""

    class Meta:
        model = ControllerRequest

    client = factory.SubFactory(ClientFactory)
    kind = ControllerRequestKind.INSTRUCTION
    subject = "Purge des boîtes des anciens salariés"
    description = "Supprimer les boîtes aux lettres des salariés partis avant le 1er janvier 2026."
    requester_name = "Paul Lemoine"
    requester_email = "paul@example.fr"
    received_at = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    due_date = factory.LazyAttribute(lambda o: deadlines.controller_request_due_date(o.received_at))
