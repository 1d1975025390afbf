"""Bad input, property-based (hypothesis): money, dates, IBANs, SIREN/SIRET/VAT, PEM files, backup reports.

Whatever is typed or sent: never a server error, always a message saying what is wrong, and nothing
half saved (the row counts are those of before). Inputs are generated around the valid shapes
(digits of the right length, almost-IBANs, truncated PEMs, numbers as strings…) so that the checks
behind the first ones are reached too. Example counts are kept small for CI (issue #12).
"""
import json
import re
import string
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backups.models import JobReport
from billing.models import Charge
from contracts.models import Client
from hosting.models import Certificate
from payments.models import Mandate
from tests.factories.contracts import ClientFactory
from tests.factories.hosting import HostingServiceFactory, pem_for
from tests.security.conftest import verified_login

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

junk = st.text(alphabet=string.printable + "éà€ \u00a0\u200b", max_size=40)
digits = st.integers(min_value=0, max_value=10**16).map(str)
near_siren = st.one_of(junk, digits, st.from_regex(r"\A[0-9 ]{9,17}\Z"), st.just(""), st.just("000000000"))
near_vat = st.one_of(junk, st.from_regex(r"\AFR[0-9A-Z]{2}[0-9]{9}\Z"), st.from_regex(r"\A[A-Z]{2}[0-9]{0,14}\Z"))
near_iban = st.one_of(
    junk, st.from_regex(r"\AFR[0-9]{2}[0-9 ]{10,30}\Z"), st.from_regex(r"\A[A-Z]{2}[0-9]{2}[A-Z0-9]{4,30}\Z"),
    st.just("FR7630006000011234567890188"),  # one digit off a valid IBAN
)
money = st.one_of(
    junk,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.sampled_from(["1e309", "-0", "12,50", "1 000,00", "99999999999999.999", "0.001", "NaN", "-inf", "١٢"]),
)
dates = st.one_of(
    junk, st.dates().map(str), st.from_regex(r"\A[0-9]{1,4}[-/][0-9]{1,2}[-/][0-9]{1,4}\Z"),
    st.sampled_from(["2026-02-30", "31/12/2026", "0000-00-00", "9999-12-31", "2026-13-01", "demain"]),
)


def _management_forms(html: str) -> dict:
    """The inline formsets' management fields of an admin add page, with no inline row."""
    data = {}
    for name, kind in re.findall(r'name="([^"]+-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"', html):
        data[name] = "0" if kind in ("TOTAL", "INITIAL", "MIN_NUM") else "1000"
    return data


def _refused_clearly(response):
    assert response.status_code == 200, response.status_code  # the form again, not a 500
    html = response.content.decode()
    assert "errornote" in html or "errorlist" in html


@pytest.fixture
def staff(client, staff_user):
    verified_login(client, staff_user)
    return client


@FUZZ
@given(siren=near_siren, siret=near_siren, vat=near_vat)
def test_client_form_siren_siret_vat(staff, siren, siret, vat):
    url = reverse("admin:contracts_client_add")
    before = Client.objects.count()
    data = {
        **_management_forms(staff.get(url).content.decode()),
        "name": "Fuzz SARL", "siren": siren, "siret": siret, "vat_number": vat, "address_line1": "1 rue A",
        "postal_code": "83000", "city": "Toulon", "country": "FR", "billing_email": "compta@fuzz.fr",
    }
    response = staff.post(url, data)
    if response.status_code == 302:  # hypothesis found a valid triple: then it was saved whole
        assert Client.objects.count() == before + 1
        Client.objects.filter(name="Fuzz SARL").delete()
        return
    _refused_clearly(response)
    assert Client.objects.count() == before


@FUZZ
@given(iban=near_iban, bic=st.one_of(junk, st.from_regex(r"\A[A-Z]{6}[A-Z0-9]{2,5}\Z")), signed_on=dates)
def test_mandate_form_iban_bic_and_date(staff, client_a, iban, bic, signed_on):
    url = reverse("admin:payments_mandate_add")
    before = Mandate.objects.count()
    response = staff.post(url, {
        "client": client_a.pk, "reference": "RUM-FUZZ-1", "debtor_name": "Fuzz", "iban": iban, "bic": bic,
        "signed_on": signed_on, "scheme": "CORE",
    })
    if response.status_code == 302:
        Mandate.objects.filter(reference="RUM-FUZZ-1").delete()
        return
    _refused_clearly(response)
    assert Mandate.objects.count() == before


@FUZZ
@given(quantity=money, unit_price=money, vat_rate=money, service_date=dates)
def test_charge_form_money_and_dates(staff, client_a, quantity, unit_price, vat_rate, service_date):
    url = reverse("admin:billing_charge_add")
    before = Charge.objects.count()
    response = staff.post(url, {
        "client": client_a.pk, "source": "manual", "source_key": "fuzz:1", "description": "Fuzz",
        "quantity": quantity, "unit_price": unit_price, "vat_rate": vat_rate, "service_date": service_date,
        "status": Charge.Status.PENDING,
    })
    if response.status_code == 302:
        charge = Charge.objects.get(source_key="fuzz:1")
        assert isinstance(charge.unit_price, Decimal) and charge.unit_price == charge.unit_price.quantize(Decimal("0.01"))
        charge.delete()
        return
    _refused_clearly(response)
    assert Charge.objects.count() == before


GOOD_PEM = pem_for(["exemple.fr"])


def _pem_variants():
    good = GOOD_PEM
    body = good.split("\n")
    return st.one_of(
        st.binary(max_size=2000),
        junk.map(str.encode),
        st.integers(min_value=1, max_value=len(good) - 1).map(lambda n: good[:n].encode()),  # truncated
        st.integers(min_value=1, max_value=max(1, len(body) - 2)).map(
            lambda i: "\n".join(body[:i] + ["!!!not-base64!!!"] + body[i + 1:]).encode()
        ),
        st.just(b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"),
        st.just(good.replace("CERTIFICATE", "CERTIFICAT").encode()),
    )


@pytest.fixture
def service():
    return HostingServiceFactory(domain__name="exemple.fr")


@FUZZ
@given(content=_pem_variants())
def test_certificate_upload_pem(staff, service, content):
    before = Certificate.objects.count()
    upload = SimpleUploadedFile("cert.pem", content)
    response = staff.post(reverse("admin:hosting_certificate_add"), {"domain": service.domain.pk, "pem_file": upload})
    if response.status_code == 302:  # only the trailing newline was cut: still the valid certificate
        assert content.strip() == GOOD_PEM.strip().encode()
        Certificate.objects.all().delete()
        return
    _refused_clearly(response)
    assert Certificate.objects.count() == before


REPORT = {
    "device": "pc-accueil", "job_id": "job-fuzz-1", "started_at": "2026-11-27T22:00:00+01:00",
    "ended_at": "2026-11-27T22:31:10+01:00", "status": "success", "kind": "incremental",
    "bytes_transferred": 1024, "bytes_stored": 2048, "files": 10, "copies": {"mis": 1, "ovh": 1}, "skipped": {},
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | junk | dates,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(junk, inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture
def backup_token(client_a):
    from backups import services
    from backups.choices import DeviceKind
    from tests.factories.backups import BackupSubscriptionFactory, DeviceFactory
    from tests.factories.contracts import ContractFactory

    sub = BackupSubscriptionFactory(contract=ContractFactory(client=client_a, has_backup=True))
    DeviceFactory(subscription=sub, hostname="pc-accueil", kind=DeviceKind.WORKSTATION)
    return services.api_token_create(actor=None, client=client_a, label="fuzz")[1]


@FUZZ
@given(field=st.sampled_from(sorted(REPORT)), value=json_values, raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_backup_report_api_never_500_and_stores_nothing_on_refusal(client, backup_token, field, value, raw):
    from django.core.cache import cache

    cache.clear()  # the per-token rate limit is not what this test is about
    before = JobReport.objects.count()
    body = raw if raw is not None else json.dumps({**REPORT, field: value})
    response = client.post("/api/backups/reports/", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {backup_token}")
    assert response.status_code in (200, 201, 400, 409), response.status_code
    if response.status_code in (400, 409):
        payload = response.json()
        assert isinstance(payload["error"], str) and len(payload["error"]) > 10  # a sentence, in French
        assert payload["code"]
        assert JobReport.objects.count() == before
    else:
        JobReport.objects.all().delete()


def test_client_form_says_what_is_wrong_with_a_bad_siret(staff):
    url = reverse("admin:contracts_client_add")
    ClientFactory()  # the form works with other clients present
    data = {
        **_management_forms(staff.get(url).content.decode()),
        "name": "Fuzz SARL", "siren": "512345679", "siret": "51234567900018", "vat_number": "",
        "address_line1": "1 rue A", "postal_code": "83000", "city": "Toulon", "country": "FR",
        "billing_email": "compta@fuzz.fr",
    }
    response = staff.post(url, data)
    _refused_clearly(response)
    assert "SIRET" in response.content.decode()
