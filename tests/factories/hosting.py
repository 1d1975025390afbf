import datetime
from decimal import Decimal

import factory

from hosting.certificates import parse_pem, self_signed_pem
from hosting.choices import PriceItem, ServiceKind
from hosting.models import Certificate, Domain, HostingPrice, HostingService, Mailbox
from tests.factories.contracts import ClientFactory, ContractFactory

UTC = datetime.UTC

# Monthly prices HT of the test price table (valid from 2020-01-01).
PRICES = {
    PriceItem.IMAP_MAILBOX: Decimal("4.00"),
    PriceItem.EXCHANGE_MAILBOX: Decimal("9.50"),
    PriceItem.EXCHANGE_PACK: Decimal("40.00"),
    PriceItem.WEB_SITE: Decimal("15.00"),
}


def pem_for(names, *, not_before=None, not_after=None, issuer_cn=None) -> str:
    """A real self-signed certificate made with ``cryptography`` at test time."""
    return self_signed_pem(
        names=list(names),
        not_before=not_before or datetime.datetime(2025, 1, 1, tzinfo=UTC),
        not_after=not_after or datetime.datetime(2027, 1, 1, tzinfo=UTC),
        issuer_cn=issuer_cn,
    )


def price_table(valid_from=datetime.date(2020, 1, 1)) -> list[HostingPrice]:
    return [HostingPrice.objects.create(item=item, unit_price=price, valid_from=valid_from) for item, price in PRICES.items()]


class DomainFactory(factory.django.DjangoModelFactory):
    """A domain the client is confirmed to administer (H3)."""

    class Meta:
        model = Domain

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"client{n}.fr")
    registrar = "OVH"
    expires_on = datetime.date(2027, 6, 30)
    client_is_administrator = True
    administrator_confirmed_on = datetime.date(2026, 1, 5)


def certificate_for(domain, *, not_after, not_before=None, names=None) -> Certificate:
    """Store a certificate row directly (even an expired one) from a real generated PEM."""
    parsed = parse_pem(pem_for(names or [domain.name, f"*.{domain.name}"], not_before=not_before, not_after=not_after))
    return Certificate.objects.create(
        domain=domain,
        pem=parsed.pem,
        subject=parsed.subject,
        issuer=parsed.issuer,
        names=parsed.names,
        serial_number=parsed.serial_number,
        fingerprint_sha256=parsed.fingerprint_sha256,
        not_valid_before=parsed.not_valid_before,
        not_valid_after=parsed.not_valid_after,
    )


class HostingServiceFactory(factory.django.DjangoModelFactory):
    """A pending Exchange service on a domain of the contract's client."""

    class Meta:
        model = HostingService

    contract = factory.SubFactory(ContractFactory, has_hosting=True)
    domain = factory.SubFactory(DomainFactory, client=factory.SelfAttribute("..contract.client"))
    kind = ServiceKind.EXCHANGE
    mailbox_count = 3


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailbox

    service = factory.SubFactory(HostingServiceFactory)
    local_part = factory.Sequence(lambda n: f"user{n}")
    display_name = "Utilisateur"
