"""Demo data of the hosting option (idempotent: natural keys are domain names, (domain, kind),
mailbox addresses, price rows and the maintenance title).

Garage du Port (contract CT-2026-0003, with the hosting option) has two domains:
``garageduport.fr`` with shared Exchange in packs of 5 and a certificate close
to expiry, and ``garageduport-location.fr`` with IMAP mail. An open change
request asks for more Exchange mailboxes. The demo certificates are generated
with ``cryptography`` on the first load and stored; later loads reuse them.
"""
import datetime
from decimal import Decimal

from contracts.models import Contract
from core.dates import paris_datetime
from hosting import services
from hosting.certificates import self_signed_pem
from hosting.choices import ChangeRequestOrigin, ChangeRequestStatus, PriceItem, PricingMode, ServiceKind
from hosting.models import Domain, HostingPrice, HostingService, MaintenanceWindow

CONTRACT = "CT-2026-0003"
PRICES = {
    PriceItem.IMAP_MAILBOX: Decimal("4.00"),
    PriceItem.EXCHANGE_MAILBOX: Decimal("9.50"),
    PriceItem.EXCHANGE_PACK: Decimal("40.00"),
    PriceItem.WEB_SITE: Decimal("15.00"),
}
DOMAINS = [
    dict(name="garageduport.fr", registrar="OVHcloud", expires_in_days=200, certificate_days_left=20,
         dns_notes="MX 10 mx.micro-info-service.fr\nSPF v=spf1 include:_spf.micro-info-service.fr ~all\n"
                   "autodiscover CNAME autodiscover.micro-info-service.fr",
         service=dict(kind=ServiceKind.EXCHANGE, pricing_mode=PricingMode.PACK, mailbox_count=7),
         mailboxes=[("luis.garcia", "Luis Garcia", ""), ("atelier", "Atelier", ""), ("accueil", "Accueil", "")]),
    dict(name="garageduport-location.fr", registrar="Gandi", expires_in_days=25, certificate_days_left=300,
         dns_notes="MX 10 imap.micro-info-service.fr",
         service=dict(kind=ServiceKind.IMAP, pricing_mode=PricingMode.UNIT, mailbox_count=3),
         mailboxes=[("location", "Location de véhicules", "reservation\ncontact")]),
]


def load(*, today, stdout):
    for item, price in PRICES.items():
        HostingPrice.objects.get_or_create(item=item, valid_from=datetime.date(2026, 1, 1),
                                           defaults={"unit_price": price})
    contract = Contract.objects.filter(reference=CONTRACT).select_related("client").first()
    if contract is None:
        stdout.write(f"hosting: contract {CONTRACT} missing, no hosting demo data.")
        return
    now = paris_datetime(today, 9)
    exchange = None
    for spec in DOMAINS:
        domain = Domain.objects.filter(name=spec["name"]).first()
        if domain is None:
            domain = services.domain_create(
                actor=None, client=contract.client, name=spec["name"], registrar=spec["registrar"],
                expires_on=today + datetime.timedelta(days=spec["expires_in_days"]), dns_notes=spec["dns_notes"],
            )
        if not domain.client_is_administrator:
            services.domain_confirm_administrator(actor=None, domain=domain, today=today)
        if not domain.certificates.exists():
            pem = self_signed_pem(
                names=[domain.name, f"*.{domain.name}"],
                not_before=now - datetime.timedelta(days=60),
                not_after=now + datetime.timedelta(days=spec["certificate_days_left"]),
                issuer_cn="MIS Demo CA",
            )
            services.certificate_record(actor=None, domain=domain, pem=pem, now=now)
        service = HostingService.objects.filter(domain=domain, kind=spec["service"]["kind"]).first()
        if service is None:
            service = services.service_create(actor=None, contract=contract, domain=domain, **spec["service"])
        if service.status == "pending":
            services.service_activate(actor=None, service=service, now=now)
        for local_part, display_name, aliases in spec["mailboxes"]:
            if not service.mailboxes.filter(local_part=local_part).exists():
                services.mailbox_create(actor=None, service=service, local_part=local_part,
                                        display_name=display_name, aliases=aliases)
        if service.kind == ServiceKind.EXCHANGE:
            exchange = service
    if exchange is not None and not exchange.change_requests.exists():
        services.change_request_create(
            actor=None, service=exchange, requested_mailboxes=9, origin=ChangeRequestOrigin.PORTAL,
            contact=contract.client.contacts.order_by("pk").first(), comment="Deux mécaniciens arrivent.",
            now=now - datetime.timedelta(days=3),
        )
    title = "Mise à jour de la plateforme Exchange"
    window = MaintenanceWindow.objects.filter(title=title).first()
    if window is None and exchange is not None:
        window = MaintenanceWindow.objects.create(
            title=title,
            description="Mise à jour de sécurité ; les messages reçus pendant l'intervention sont conservés.",
            starts_at=paris_datetime(today + datetime.timedelta(days=10), 22),
            ends_at=paris_datetime(today + datetime.timedelta(days=11), 1),
        )
        window.services.add(exchange)
        services.maintenance_announce(actor=None, window=window, now=now)
    open_requests = exchange.change_requests.filter(status=ChangeRequestStatus.OPEN).count() if exchange else 0
    stdout.write(f"hosting: {Domain.objects.count()} domain(s), {open_requests} open change request(s).")
