"""Writes on parties and contracts. Keyword-only, audited, atomic."""
import datetime
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from contracts import terms
from contracts.choices import ContractStatus
from contracts.exceptions import ContractError
from contracts.models import Client, Contact, Contract, ContractLine
from core.audit import audit_record, diff, snapshot

User = get_user_model()


@transaction.atomic
def client_create(*, actor, **fields) -> Client:
    client = Client(**fields)
    client.full_clean()
    client.save()
    audit_record(actor=actor, obj=client, action="contracts.client.created", changes=snapshot(client))
    return client


@transaction.atomic
def client_update(*, actor, client: Client, **fields) -> Client:
    before = snapshot(client)
    for name, value in fields.items():
        setattr(client, name, value)
    client.full_clean()
    client.save()
    audit_record(actor=actor, obj=client, action="contracts.client.updated", changes=diff(before, snapshot(client)))
    return client


@transaction.atomic
def contact_create(*, actor, client: Client, **fields) -> Contact:
    contact = Contact(client=client, **fields)
    contact.full_clean()
    contact.save()
    audit_record(actor=actor, obj=contact, action="contracts.contact.created", changes=snapshot(contact))
    return contact


@transaction.atomic
def contact_enable_portal(*, actor, contact: Contact, password: str | None = None) -> User:
    """Give a contact a portal login (its e-mail). A portal user is never staff.

    Without ``password`` the account has an unusable password until the
    contact sets one through the invitation / password-reset link.
    """
    if contact.user_id:
        raise ContractError(f"{contact} a déjà un accès au portail.")
    if User.objects.filter(username__iexact=contact.email).exists():
        raise ContractError(
            f"L'adresse {contact.email} sert déjà d'identifiant au portail : un accès = un seul client."
        )
    user = User(username=contact.email.lower(), email=contact.email.lower(), is_staff=False, is_superuser=False)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    contact.user = user
    contact.save(update_fields=["user", "updated_at"])
    audit_record(actor=actor, obj=contact, action="contracts.contact.portal_enabled", changes={"user": [None, user.pk]})
    return user


def new_contract_reference(today: datetime.date) -> str:
    return f"CT-{today:%Y}-{secrets.token_hex(3).upper()}"


@transaction.atomic
def contract_create(*, actor, client: Client, lines: list[dict] | None = None, **fields) -> Contract:
    """Create a draft contract with its priced lines (``[{description, quantity, unit_price}]``)."""
    contract = Contract(client=client, **fields)
    if not contract.reference:
        contract.reference = new_contract_reference(contract.signature_date)
    contract.full_clean()
    contract.save()
    for position, line in enumerate(lines or []):
        item = ContractLine(contract=contract, position=position, **line)
        item.full_clean()
        item.save()
    audit_record(actor=actor, obj=contract, action="contracts.contract.created", changes=snapshot(contract))
    return contract


@transaction.atomic
def contract_activate(*, actor, contract: Contract) -> Contract:
    """Sign-off: compute and store the term dates (C1, C3) and make the contract active."""
    if contract.status != ContractStatus.DRAFT:
        raise ContractError(f"Le contrat {contract} n'est pas un brouillon (état : {contract.get_status_display()}).")
    if not contract.lines.exists():
        raise ContractError("Un contrat sans ligne tarifée ne peut pas être activé.")
    before = snapshot(contract)
    end = terms.initial_term_end(contract.signature_date)
    contract.initial_term_end = end
    contract.current_period_start = contract.start_date
    contract.current_period_end = end
    contract.notice_deadline = terms.notice_deadline(end)
    contract.status = ContractStatus.ACTIVE
    contract.save()
    audit_record(
        actor=actor, obj=contract, action="contracts.contract.activated", changes=diff(before, snapshot(contract))
    )
    return contract
