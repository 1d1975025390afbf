"""Demo data of contracts: three clients with contacts, sites, portal logins and contracts of every kind
(running, revised, suspended, terminated early, ended at term, with a notice pending, draft), signed
documents, equipment and the 2023–2025 Syntec index history (idempotent)."""
import datetime
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from contracts import services
from contracts.choices import (
    BillingFrequency,
    ContactRole,
    ContractDocumentKind,
    ContractStatus,
    EquipmentKind,
    EquipmentOwnership,
    HolidaySubdivision,
    SuspensionReason,
    TerminationKind,
)
from contracts.models import Client, Contract, ContractRevision, Equipment

SYNTEC_CSV = Path(__file__).resolve().parent / "data" / "syntec-index.csv"
D = datetime.date

DEMO_PORTAL_PASSWORD = "demo-client-2026"

CLIENTS = [
    dict(
        name="Boulangerie Lemoine", legal_form="SARL", siren="845123454", siret="84512345400017",
        vat_number="FR88845123454", address_line1="12 rue de la République", postal_code="83600",
        city="Fréjus", billing_email="compta@boulangerie-lemoine.fr", phone="04 94 11 22 33",
        contacts=[
            dict(last_name="Lemoine", first_name="Paul", email="paul@boulangerie-lemoine.fr",
                 job_title="Gérant", portal_role=ContactRole.ADMIN, is_billing_contact=True, is_dpo=True),
            dict(last_name="Petit", first_name="Emma", email="emma@boulangerie-lemoine.fr",
                 job_title="Assistante", portal_role=ContactRole.TECHNICAL, is_technical_contact=True),
        ],
        sites=[dict(name="Boutique", address_line1="12 rue de la République", postal_code="83600", city="Fréjus")],
        contract=dict(reference="CT-2025-0001", signature_date=datetime.date(2025, 3, 15),
                      billing_frequency=BillingFrequency.MONTHLY,
                      lines=[dict(description="Maintenance poste de travail", quantity=Decimal("4"),
                                  unit_price=Decimal("35.00")),
                             dict(description="Maintenance serveur", quantity=Decimal("1"),
                                  unit_price=Decimal("90.00"))]),
    ),
    dict(
        name="Cabinet Durand Avocats", legal_form="SELARL", siren="790123459", siret="",
        vat_number="FR13790123459", address_line1="4 avenue Foch", postal_code="57000", city="Metz",
        billing_email="facturation@durand-avocats.fr", holiday_subdivision=HolidaySubdivision.MOSELLE,
        contacts=[
            dict(last_name="Durand", first_name="Hélène", email="helene@durand-avocats.fr",
                 job_title="Associée", portal_role=ContactRole.ADMIN, is_billing_contact=True),
            dict(last_name="Roux", first_name="Marc", email="marc@durand-avocats.fr",
                 job_title="Office manager", portal_role=ContactRole.BILLING, is_billing_contact=True),
        ],
        sites=[dict(name="Cabinet", address_line1="4 avenue Foch", postal_code="57000", city="Metz")],
        contract=dict(reference="CT-2024-0002", signature_date=datetime.date(2024, 1, 1), has_severity1_4h=True,
                      has_backup=True, billing_frequency=BillingFrequency.QUARTERLY,
                      lines=[dict(description="Maintenance parc (10 postes)", quantity=Decimal("10"),
                                  unit_price=Decimal("32.50"))]),
    ),
    dict(
        name="Garage du Port", legal_form="SAS", siren="834123457", siret="",
        vat_number="", address_line1="Port de Saint-Raphaël", postal_code="83700", city="Saint-Raphaël",
        billing_email="garage.du.port@example.fr",
        contacts=[
            dict(last_name="Garcia", first_name="Luis", email="luis@garageduport.fr",
                 job_title="Directeur", portal_role=ContactRole.ADMIN, is_billing_contact=True),
        ],
        sites=[dict(name="Atelier", address_line1="Port de Saint-Raphaël", postal_code="83700", city="Saint-Raphaël")],
        contract=dict(reference="CT-2026-0003", signature_date=datetime.date(2026, 2, 2), has_hosting=True,
                      billing_frequency=BillingFrequency.YEARLY,
                      lines=[dict(description="Maintenance poste de travail", quantity=Decimal("2"),
                                  unit_price=Decimal("39.00"))]),
    ),
]


def load(*, today, stdout):
    syntec = services.syntec_index_import(actor=None, text=SYNTEC_CSV.read_text())
    stdout.write(f"Syntec index 2023–2025: {syntec}")
    logins = []
    for spec in CLIENTS:
        spec = dict(spec)
        contacts, sites, contract = spec.pop("contacts"), spec.pop("sites"), spec.pop("contract")
        client = Client.objects.filter(siren=spec["siren"]).first()
        if client is None:
            client = services.client_create(actor=None, **spec)
        for c in contacts:
            contact = client.contacts.filter(email=c["email"]).first()
            if contact is None:
                contact = services.contact_create(actor=None, client=client, **c)
            if contact.user_id is None:
                services.contact_enable_portal(actor=None, contact=contact, password=DEMO_PORTAL_PASSWORD)
            logins.append(f"{contact.email} ({client.name}, {contact.get_portal_role_display()})")
        for s in sites:
            client.sites.get_or_create(name=s["name"], defaults=s)
        if not Contract.objects.filter(reference=contract["reference"]).exists():
            contract = dict(contract)
            lines = contract.pop("lines")
            obj = services.contract_create(
                actor=None, client=client, start_date=contract["signature_date"], lines=lines, **contract
            )
            services.contract_activate(actor=None, contract=obj)
    _lifecycle(today=today, stdout=stdout)
    stdout.write(f"Portal logins (/portal/), password {DEMO_PORTAL_PASSWORD}:")
    for line in logins:
        stdout.write(f"  {line}")


# Contracts of every kind on the three demo clients (natural key: reference).
LIFECYCLE = [
    dict(client="845123454", reference="CT-2024-0004", signature_date=D(2024, 3, 1),
         billing_frequency=BillingFrequency.MONTHLY,
         lines=[dict(description="Maintenance imprimante réseau", quantity=Decimal("2"), unit_price=Decimal("40.00"))],
         equipment=[dict(kind=EquipmentKind.PRINTER, maker="Brother", model="MFC-L8900CDW",
                         serial_number="E78451K2N", ownership=EquipmentOwnership.LEASED)],
         # CGV C4: the client left early; July–December 2025 owed: 6 × 80.00 = 480.00 € HT.
         termination=dict(kind=TerminationKind.EARLY_CLIENT, letter_sent_on=D(2025, 6, 2),
                          effective_on=D(2025, 6, 30), letter_tracking_number="1A 190 228 4411 7")),
    dict(client="834123457", reference="CT-2024-0005", signature_date=D(2024, 5, 20),
         billing_frequency=BillingFrequency.QUARTERLY, has_backup=True,
         lines=[dict(description="Maintenance serveur atelier", quantity=Decimal("1"), unit_price=Decimal("120.00")),
                dict(description="Maintenance poste de travail", quantity=Decimal("3"), unit_price=Decimal("30.00"))],
         equipment=[dict(kind=EquipmentKind.SERVER, maker="HPE", model="ProLiant ML30 Gen11",
                         serial_number="CZJ3450ABC", ownership=EquipmentOwnership.LEASED),
                    dict(kind=EquipmentKind.FIREWALL, maker="Stormshield", model="SN210",
                         serial_number="SN210A44B1", ownership=EquipmentOwnership.OWNED)],
         revise=[2025, 2026],
         suspension=dict(reason=SuspensionReason.UNPAID, letter_sent_on=D(2026, 11, 2),
                         letter_tracking_number="1A 190 228 5522 9",
                         details="Factures de septembre et octobre impayées après mise en demeure (B3 d).")),
    dict(client="790123459", reference="CT-2025-0006", signature_date=D(2025, 9, 1),
         billing_frequency=BillingFrequency.MONTHLY, has_hosting=True, has_severity1_4h=True,
         lines=[dict(description="Maintenance parc annexe (3 postes)", quantity=Decimal("3"),
                     unit_price=Decimal("34.00"))],
         revise=[2026],
         # CGV C3: notice at term sent before the 30 September 2026 deadline → ends 31 December 2026.
         termination=dict(kind=TerminationKind.AT_TERM, letter_sent_on=D(2026, 9, 18),
                          letter_tracking_number="1A 190 228 6633 1")),
    dict(client="790123459", reference="CT-2023-0008", signature_date=D(2023, 4, 3),
         billing_frequency=BillingFrequency.YEARLY,
         lines=[dict(description="Maintenance ancien serveur", quantity=Decimal("1"), unit_price=Decimal("75.00"))],
         revise=[2024],
         # CGV C3 by the provider, ended on 31 December 2024; non-solicitation until 31 December 2026 (C12).
         termination=dict(kind=TerminationKind.AT_TERM, requested_by="provider", letter_sent_on=D(2024, 6, 28))),
    dict(client="834123457", reference="CT-2026-0007", signature_date=D(2026, 11, 20), draft=True,
         billing_frequency=BillingFrequency.MONTHLY,
         lines=[dict(description="Maintenance poste de travail", quantity=Decimal("2"), unit_price=Decimal("39.00"))]),
]

DOCUMENTS = [
    dict(kind=ContractDocumentKind.CGV, title="Conditions générales de vente", version="CGV 2025-01"),
    dict(kind=ContractDocumentKind.ORDER_FORM, title="Bon de commande signé"),
]


def _lifecycle(*, today, stdout):
    created = []
    for spec in LIFECYCLE:
        spec = dict(spec)
        if Contract.objects.filter(reference=spec["reference"]).exists():
            continue
        client = Client.objects.get(siren=spec.pop("client"))
        lines, equipment = spec.pop("lines"), spec.pop("equipment", [])
        termination, suspension = spec.pop("termination", None), spec.pop("suspension", None)
        revise, draft = spec.pop("revise", []), spec.pop("draft", False)
        contract = services.contract_create(actor=None, client=client, start_date=spec["signature_date"],
                                            lines=lines, **spec)
        for doc in DOCUMENTS:
            contract.documents.create(signed_on=contract.signature_date, **doc)
        site = client.sites.first()
        for item in equipment:
            Equipment.objects.create(contract=contract, site=site, **item)
        created.append(contract.reference)
        if draft:
            continue
        services.contract_activate(actor=None, contract=contract)
        for year in revise:
            # Catch up the renewals and the 1 January revisions the nightly job would have made.
            services.contracts_renew_due(today=D(year - 1, 12, 31), contract_ids=[contract.pk])
            services.contracts_revise(year=year, contract_ids=[contract.pk])
        ContractRevision.objects.filter(contract=contract).update(letter_sent=True)  # history, already sent
        if termination:
            services.termination_record(actor=None, contract=contract, **termination)
            services.contracts_close_terminated(today=today, contract_ids=[contract.pk])
        if suspension:
            services.contract_suspend(actor=None, contract=contract, now=timezone.now(), **suspension)
    for reference in ("CT-2025-0001", "CT-2024-0002"):
        contract = Contract.objects.filter(reference=reference, status=ContractStatus.ACTIVE).first()
        if contract is not None and not contract.documents.exists():
            for doc in DOCUMENTS:
                contract.documents.create(signed_on=contract.signature_date, **doc)
    if created:
        stdout.write(f"Contracts of every kind: {', '.join(created)}")
