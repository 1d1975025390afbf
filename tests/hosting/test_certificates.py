"""CGV H3: the client's SSL certificate is read from its PEM file (cryptography)."""
import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.models import AuditLogEntry
from hosting import services
from hosting.certificates import covers_domain, name_matches, parse_pem
from hosting.exceptions import HostingError
from hosting.models import Certificate
from tests.factories.hosting import DomainFactory, pem_for

UTC = datetime.UTC
NOW = datetime.datetime(2026, 4, 10, 10, 0, tzinfo=UTC)


def test_h3_parse_pem_reads_names_issuer_and_validity():
    pem = pem_for(
        ["exemple.fr", "*.exemple.fr", "WWW.exemple.fr"],
        not_before=datetime.datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        not_after=datetime.datetime(2026, 5, 30, 8, 0, tzinfo=UTC),
    )
    parsed = parse_pem(pem)
    assert parsed.names == ["*.exemple.fr", "exemple.fr", "www.exemple.fr"]
    assert parsed.common_name == "exemple.fr"
    assert parsed.subject == "CN=exemple.fr" and parsed.issuer == "CN=exemple.fr" and parsed.is_self_signed
    assert parsed.not_valid_before == datetime.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert parsed.not_valid_after == datetime.datetime(2026, 5, 30, 8, 0, tzinfo=UTC)
    assert len(parsed.fingerprint_sha256) == 95 and parsed.fingerprint_sha256.count(":") == 31
    assert parsed.pem.startswith("-----BEGIN CERTIFICATE-----")


def test_h3_a_full_chain_file_is_read_from_its_first_certificate():
    leaf = pem_for(["exemple.fr"], issuer_cn="Test CA")
    chain = leaf + pem_for(["Test CA intermediate"])
    parsed = parse_pem(chain.encode())
    assert parsed.names == ["exemple.fr"]
    assert parsed.issuer == "CN=Test CA" and not parsed.is_self_signed


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        bytes(range(256)),
    ],
    ids=["empty", "text", "broken-base64", "binary"],
)
def test_h3_an_unreadable_file_is_refused_with_a_clear_message(data):
    with pytest.raises(HostingError, match="Fichier de certificat illisible : un fichier PEM .* « -----BEGIN CERTIFICATE----- » est attendu"):
        parse_pem(data)


def test_h3_a_file_with_a_private_key_is_refused():
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(HostingError, match="clé privée"):
        parse_pem(pem_for(["exemple.fr"]).encode() + key_pem)


@pytest.mark.parametrize(
    "pattern,host,expected",
    [
        ("exemple.fr", "exemple.fr", True),
        ("EXEMPLE.fr", "exemple.FR.", True),
        ("*.exemple.fr", "mail.exemple.fr", True),
        ("*.exemple.fr", "exemple.fr", False),
        ("*.exemple.fr", "a.b.exemple.fr", False),
        ("*.fr", "exemple.fr", False),
        ("www.exemple.fr", "exemple.fr", False),
    ],
)
def test_h3_wildcard_matching_follows_rfc_6125(pattern, host, expected):
    assert name_matches(pattern, host) is expected


def test_h3_a_certificate_covers_the_domain_by_its_name_or_a_wildcard_on_it():
    assert covers_domain(["exemple.fr"], "exemple.fr")
    assert covers_domain(["*.exemple.fr"], "exemple.fr")
    assert not covers_domain(["www.exemple.fr"], "exemple.fr")
    assert not covers_domain(["*.autre.fr", "autre.fr"], "exemple.fr")


@pytest.mark.django_db
def test_h3_certificate_record_stores_what_the_file_says(staff_user):
    domain = DomainFactory(name="exemple.fr")
    pem = pem_for(["exemple.fr", "*.exemple.fr"], not_after=datetime.datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    cert = services.certificate_record(actor=staff_user, domain=domain, pem=pem, now=NOW)
    cert.refresh_from_db()
    assert cert.names == ["*.exemple.fr", "exemple.fr"]
    assert cert.not_valid_after == datetime.datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert cert.uploaded_by == staff_user
    assert AuditLogEntry.objects.filter(action="hosting.certificate.recorded", object_id=str(cert.pk)).count() == 1


@pytest.mark.django_db
def test_h3_a_certificate_for_another_domain_is_refused():
    domain = DomainFactory(name="exemple.fr")
    with pytest.raises(HostingError) as exc:
        services.certificate_record(actor=None, domain=domain, pem=pem_for(["autre.fr", "www.exemple.fr"]), now=NOW)
    assert exc.value.message == (
        "Ce certificat couvre autre.fr, www.exemple.fr mais pas le domaine exemple.fr "
        "(il faut exemple.fr ou *.exemple.fr parmi ses noms)."
    )
    assert Certificate.objects.count() == 0


@pytest.mark.django_db
def test_h3_an_expired_or_duplicate_certificate_is_refused():
    domain = DomainFactory(name="exemple.fr")
    expired = pem_for(["exemple.fr"], not_after=datetime.datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
    with pytest.raises(HostingError, match="a expiré le 01/04/2026 12:00"):
        services.certificate_record(actor=None, domain=domain, pem=expired, now=NOW)
    good = pem_for(["exemple.fr"])
    services.certificate_record(actor=None, domain=domain, pem=good, now=NOW)
    with pytest.raises(HostingError, match="déjà enregistré"):
        services.certificate_record(actor=None, domain=domain, pem=good, now=NOW)
    assert Certificate.objects.count() == 1
