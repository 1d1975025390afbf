"""The isolation matrix's map: how to build, for a given client, the objects a portal URL names.

The matrix (``test_isolation.py``) walks EVERY pattern of the ``portal`` URL
namespace. For a pattern with arguments it needs objects to put in the URL:

- ``KWARG_BUILDERS[kwarg](client)`` returns the value of one argument (an id of
  an object of ``client``), when the argument's name says what it is
  (``contract_id``, ``invoice_id``…: the convention for portal URLs);
- ``URL_BUILDERS[url_name](client)`` returns all the arguments of one URL, when
  they depend on each other or the name is generic (``pk``).

A new portal page whose arguments are in neither map makes the matrix FAIL with
the list of what to add here: a page cannot escape the isolation check.
``PUBLIC_URLS`` are the pages open to anonymous visitors (no client data).
"""
import datetime
from collections.abc import Callable

from django.core.files.base import ContentFile

from contracts.choices import ContactRole, ContractDocumentKind
from contracts.models import Client, ContractDocument
from tests.factories.contracts import ContactFactory, ContractFactory, EquipmentFactory

PUBLIC_URLS = {
    "login",
    "login_otp",  # second login step (core.security), before any client is known
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "invitation_accept",
}


def _contract(client: Client):
    return ContractFactory(client=client)


def _contact(client: Client) -> int:
    return ContactFactory(client=client, portal_role=ContactRole.TECHNICAL, with_login=True).pk


def _contract_document(client: Client) -> dict:
    contract = _contract(client)
    doc = ContractDocument(contract=contract, kind=ContractDocumentKind.CGV, title="CGV 2026", version="2026-01")
    doc.file.save("cgv.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    return {"contract_id": contract.pk, "document_id": doc.pk}


def _hosting_mail_service(client: Client) -> dict:
    from tests.factories.hosting import HostingServiceFactory

    return {"pk": HostingServiceFactory(contract=ContractFactory(client=client, has_hosting=True)).pk}


def _backup_device(client: Client) -> dict:
    from tests.factories.backups import BackupSubscriptionFactory, DeviceFactory

    subscription = BackupSubscriptionFactory(contract=ContractFactory(client=client, has_backup=True))
    return {"pk": DeviceFactory(subscription=subscription, client=client).pk}


def _invoice(client: Client) -> int:
    from core.models import ProviderProfile
    from tests.factories.core import ProviderProfileFactory
    from tests.portal.builders import issue_invoice

    if not ProviderProfile.objects.exists():
        ProviderProfileFactory()
    return issue_invoice(client).pk


def _quote(client: Client) -> int:
    from core.models import ProviderProfile
    from tests.factories.core import ProviderProfileFactory
    from tests.portal.builders import send_quote

    if not ProviderProfile.objects.exists():
        ProviderProfileFactory()
    return send_quote(client, valid_until=datetime.date(2099, 12, 31)).pk


def _ticket(client: Client) -> int:
    from tests.factories.interventions import TicketFactory

    return TicketFactory(client=client).pk


def _finished_intervention(client: Client) -> int:
    from interventions.choices import InterventionStatus
    from tests.factories.interventions import InterventionFactory

    return InterventionFactory(client=client, status=InterventionStatus.DONE, report="Poste remplacé.").pk


def _data_subject_request(client: Client) -> int:
    from tests.factories.gdpr import DataSubjectRequestFactory

    return DataSubjectRequestFactory(client=client, requester_name="Demande CANARY").pk


def _controller_request(client: Client) -> int:
    from tests.factories.gdpr import ControllerRequestFactory

    return ControllerRequestFactory(client=client, subject="Instruction CANARY").pk


KWARG_BUILDERS: dict[str, Callable[[Client], object]] = {
    "request_id": _data_subject_request,
    "instruction_id": _controller_request,
    "ticket_id": _ticket,
    "intervention_id": _finished_intervention,
    "invoice_id": _invoice,
    "quote_id": _quote,
    "contract_id": lambda client: _contract(client).pk,
    "contact_id": _contact,
    "equipment_id": lambda client: EquipmentFactory(contract=_contract(client)).pk,
}

def _signed_quote(client: Client) -> dict:
    from django.utils import timezone

    from billing import pdf, services
    from billing.models import Quote

    quote = Quote.objects.get(pk=_quote(client))
    pdf.quote_render_and_store(quote.pk)
    quote.refresh_from_db()
    signer = ContactFactory(client=client, portal_role=ContactRole.BILLING)
    services.quote_sign_electronically(quote=quote, signer_contact=signer, ip="192.0.2.10", user_agent="pytest",
                                       now=timezone.now())
    return {"quote_id": quote.pk}


def _ticket_attachment(client: Client) -> dict:
    from tests.factories.interventions import TicketAttachmentFactory

    attachment = TicketAttachmentFactory(ticket__client=client, original_name="capture-CANARY.pdf")
    return {"ticket_id": attachment.ticket_id, "attachment_id": attachment.pk}


URL_BUILDERS: dict[str, Callable[[Client], dict]] = {
    "ticket_attachment": _ticket_attachment,
    "quote_signed_copy": _signed_quote,
    "contract_document": _contract_document,
    "hosting_change_request": _hosting_mail_service,
    "backup_device": _backup_device,
    "backup_restore": _backup_device,
}


def build_kwargs(url_name: str, kwarg_names: list[str], client: Client) -> dict:
    if url_name in URL_BUILDERS:
        return URL_BUILDERS[url_name](client)
    return {name: KWARG_BUILDERS[name](client) for name in kwarg_names}


def missing_builders(patterns) -> list[str]:
    missing = []
    for p in patterns:
        if p.name in PUBLIC_URLS or p.name in URL_BUILDERS:
            continue
        for kwarg in p.kwargs:
            if kwarg not in KWARG_BUILDERS:
                missing.append(f"{p.name}: {kwarg}")
    return missing


TODAY = datetime.date(2026, 11, 30)


def _canary_contract_document(client: Client) -> None:
    contract = ContractFactory(client=client, reference="CT-CANARY-DOC")
    ContractDocument.objects.create(contract=contract, kind=ContractDocumentKind.CGV, title="CANARY CGV")


# Objects of client B with a visible label containing "CANARY", built before visiting every list page.
CANARY_BUILDERS: list[Callable[[Client], None]] = [
    _data_subject_request,
    _controller_request,
    _canary_contract_document,
    lambda client: EquipmentFactory(contract=ContractFactory(client=client), serial_number="SN-CANARY"),
    lambda client: _canary_ticket(client),
    _ticket_attachment,
]


def _canary_ticket(client: Client) -> None:
    from tests.factories.interventions import TicketFactory

    TicketFactory(client=client, title="Panne CANARY")
