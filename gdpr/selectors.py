"""Reads of the gdpr app, with their joins done once."""
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from contracts.choices import ContactRole
from contracts.models import Client, Contact
from core.models import ProviderProfile
from core.roles import DPO
from gdpr.models import (
    Breach,
    ControllerRequest,
    DataDisposition,
    DataSubjectRequest,
    ProcessingActivity,
    SubProcessor,
    SubProcessorAuthorisation,
)


def controller_recipients(client: Client, contacts: list[Contact] | None = None) -> list[str]:
    """Who receives what MIS sends the controller (D5, D6, D9, D10).

    The client's designated data-protection contact (``is_dpo``); failing that its
    company administrators; failing that its billing contacts; failing that the
    billing address of the company. Anonymised (inactive) contacts are skipped.
    ``contacts``: the client's contacts when already fetched (bulk callers prefetch them).
    """
    if contacts is None:
        contacts = list(Contact.objects.filter(client=client, is_active=True).order_by("pk"))
    contacts = [c for c in contacts if c.is_active]
    for pick in (
        lambda c: c.is_dpo,
        lambda c: c.portal_role == ContactRole.ADMIN,
        lambda c: c.is_billing_contact,
    ):
        emails = [c.email for c in contacts if pick(c)]
        if emails:
            return emails
    return [client.billing_email]


def dpo_staff_emails() -> list[str]:
    """E-mail addresses of MIS's DPO group (breach alerts), besides the shared staff address."""
    return list(
        get_user_model()
        .objects.filter(groups__name=DPO, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )


def mis_contact_point() -> str:
    """MIS's contact point for personal data (Art. 33(3)(b)), from the provider profile."""
    profile = ProviderProfile.objects.order_by("pk").first()
    if profile is None:
        return ""
    parts = [f"Délégué à la protection des données — {profile.legal_name}", profile.email, profile.phone]
    return ", ".join(p for p in parts if p)


# --- sub-processors -------------------------------------------------------------------------------

def active_subprocessors() -> QuerySet[SubProcessor]:
    return SubProcessor.objects.filter(is_active=True).order_by("-listed_in_terms", "name")


def subprocessor_is_authorised(*, client: Client, sub_processor: SubProcessor) -> bool:
    """D9: named in the terms, or authorised beforehand by this client."""
    if sub_processor.listed_in_terms:
        return True
    return SubProcessorAuthorisation.objects.filter(client=client, sub_processor=sub_processor).exists()


def subprocessors_for_client(client: Client) -> list[tuple[SubProcessor, SubProcessorAuthorisation | None]]:
    """Every active sub-processor with this client's authorisation (``None``: listed in the terms or missing)."""
    authorisations = {
        a.sub_processor_id: a for a in SubProcessorAuthorisation.objects.filter(client=client)
    }
    return [(sp, authorisations.get(sp.pk)) for sp in active_subprocessors()]


# --- register ----------------------------------------------------------------------------------

def register_for_client(client: Client) -> QuerySet[ProcessingActivity]:
    """The Art. 30(2) register lines of one controller, with their sub-processors."""
    return (
        ProcessingActivity.objects.filter(client=client, is_active=True)
        .prefetch_related(Prefetch("sub_processors", queryset=SubProcessor.objects.order_by("name")))
        .order_by("code", "name")
    )


# --- requests ----------------------------------------------------------------------------------

def requests_for_client(client: Client) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(client=client).select_related("filed_by").order_by("-received_at", "-pk")


def requests_for_staff() -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.select_related("client", "contact", "filed_by")


# --- controller requests (D4, D7, D8) -------------------------------------------------------------

def controller_requests_for_client(client: Client) -> QuerySet[ControllerRequest]:
    return ControllerRequest.objects.filter(client=client).select_related("filed_by")


def controller_requests_for_staff() -> QuerySet[ControllerRequest]:
    return ControllerRequest.objects.select_related("client", "filed_by", "created_by")


# --- breaches ----------------------------------------------------------------------------------

def breaches_awaiting_notification() -> QuerySet[Breach]:
    return Breach.objects.filter(controller_notified_at__isnull=True).exclude(status="closed").select_related("client")


def breach_with_notifications(pk) -> Breach:
    return Breach.objects.select_related("client").prefetch_related("notifications").get(pk=pk)


def dispositions_for_staff() -> QuerySet[DataDisposition]:
    return DataDisposition.objects.select_related("client", "contract")


def contacts_matching(term: str) -> QuerySet[Contact]:
    term = term.strip()
    return Contact.objects.select_related("client").filter(
        Q(last_name__icontains=term) | Q(first_name__icontains=term) | Q(email__icontains=term)
    )
