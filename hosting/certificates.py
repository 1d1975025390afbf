"""Reading SSL/TLS certificates (CGV H3) with the ``cryptography`` package.

:func:`parse_pem` reads the leaf certificate of an uploaded PEM file (a full
chain is accepted: the first block is the server's certificate) and returns
what staff and the nightly alerts need. :func:`name_matches` applies the
RFC 6125 host-name rules (a wildcard stands for exactly one left-most label),
and :func:`covers_domain` says whether a certificate is the one "associated
with the domain name" the annex asks for.
"""
import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils.translation import gettext as _

from hosting.exceptions import HostingError

PRIVATE_KEY_MARKER = b"PRIVATE KEY-----"


@dataclass(frozen=True)
class ParsedCertificate:
    subject: str
    common_name: str
    issuer: str
    names: list[str]
    serial_number: str
    fingerprint_sha256: str
    not_valid_before: datetime.datetime
    not_valid_after: datetime.datetime
    pem: str

    @property
    def is_self_signed(self) -> bool:
        return self.subject == self.issuer


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def parse_pem(data: bytes | str) -> ParsedCertificate:
    """Parse the first certificate of a PEM file; :class:`HostingError` with a clear message otherwise."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if PRIVATE_KEY_MARKER in raw:
        # A private key must never be sent to, or stored by, the back-office.
        raise HostingError(
            _("Le fichier contient une clé privée : ne transmettez que le certificat (bloc « BEGIN CERTIFICATE »).")
        )
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError as exc:
        raise HostingError(
            _(
                "Fichier de certificat illisible : un fichier PEM (.pem, .crt) commençant par "
                "« -----BEGIN CERTIFICATE----- » est attendu, pas un fichier .pfx ou .der."
            )
        ) from exc
    cert = certs[0]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    common_name = _common_name(cert.subject).lower()
    if not names and common_name:
        # Old certificates without SAN: the common name is the only host name.
        names = [common_name]
    return ParsedCertificate(
        subject=cert.subject.rfc4514_string(),
        common_name=common_name,
        issuer=cert.issuer.rfc4514_string(),
        names=sorted(set(names)),
        serial_number=f"{cert.serial_number:X}",
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_valid_before=cert.not_valid_before_utc,
        not_valid_after=cert.not_valid_after_utc,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )


def name_matches(pattern: str, hostname: str) -> bool:
    """RFC 6125: ``*.exemple.fr`` matches ``mail.exemple.fr`` but neither ``exemple.fr`` nor ``a.b.exemple.fr``."""
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == hostname
    suffix = pattern[2:]
    if suffix.count(".") < 1:  # "*.fr" would cover a whole TLD: never accepted
        return False
    head, _sep, rest = hostname.partition(".")
    return bool(head) and rest == suffix


def covers_domain(names: list[str], domain: str) -> bool:
    """H3: the certificate is associated with ``domain`` when it covers the name itself or all its hosts.

    ``exemple.fr`` and ``*.exemple.fr`` both qualify; a certificate for a single
    other host (``www.exemple.fr`` only) does not.
    """
    domain = domain.lower()
    return any(name_matches(n, domain) or n.lower() == f"*.{domain}" for n in names)


def self_signed_pem(
    *, names: list[str], not_before: datetime.datetime, not_after: datetime.datetime, issuer_cn: str | None = None
) -> str:
    """A real, self-signed certificate for ``names`` (demo data and tests; never for production use)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]) if issuer_cn else subject
    alt_names = []
    for n in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt_names.append(x509.DNSName(n))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
