"""Demo data of contracts: three clients with contacts, sites, portal logins and contracts (idempotent)."""
import datetime
from decimal import Decimal

from contracts import services
from contracts.choices import BillingFrequency, ContactRole, HolidaySubdivision
from contracts.models import Client, Contract

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
    stdout.write(f"Portal logins (/portal/), password {DEMO_PORTAL_PASSWORD}:")
    for line in logins:
        stdout.write(f"  {line}")
