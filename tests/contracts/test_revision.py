"""CGV P3: Syntec revision on 1 January with the real index series (contracts/data/syntec-index.csv)."""
import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from contracts import services
from contracts.exceptions import ContractError
from contracts.models import ContractRevision, SyntecIndex
from core.models import AuditLogEntry, OutboundEmail
from tests.contracts.conftest import contracts_nightly, syntec_rows
from tests.factories.contracts import ContactFactory, ContractFactory, ContractLineFactory

D = datetime.date


def signed(day, **kwargs):
    contract = ContractFactory(signature_date=day, **kwargs)
    ContractLineFactory(contract=contract, description="Maintenance serveur", unit_price=Decimal("100.00"))
    ContractLineFactory(contract=contract, description="Maintenance poste", quantity=Decimal("4"),
                        unit_price=Decimal("35.00"))
    return contract


def prices(contract):
    return [line.unit_price for line in contract.lines.order_by("pk")]


def test_syntec_import_real_csv_is_idempotent(syntec):
    assert syntec == {"created": 23, "updated": 0, "unchanged": 0}
    oct24 = SyntecIndex.objects.get(month=D(2024, 10, 1))
    assert (oct24.value, oct24.published_on, oct24.published_on_confirmed) == (Decimal("315.00"), D(2024, 11, 29), False)
    assert SyntecIndex.objects.get(month=D(2025, 10, 1)).published_on_confirmed is True
    assert services.syntec_index_import(actor=None, text=syntec_rows()) == {"created": 0, "updated": 0, "unchanged": 23}


def test_syntec_import_rejects_the_whole_file_on_a_bad_line(db):
    text = "month,value,published_on\n2024-01,310.5,2024-02-29\n2024-02,abc,2024-03-29\n"
    with pytest.raises(ContractError, match="Ligne 3"):
        services.syntec_index_import(actor=None, text=text)
    assert SyntecIndex.objects.count() == 0
    with pytest.raises(ContractError, match="Colonnes manquantes"):
        services.syntec_index_import(actor=None, text="mois,valeur\n")


def test_p3_rising_index_revision_on_1_january(syntec):
    """Signed 2024-03-15: base = 2024-01 (310.5, published 2024-02-29); on 2025-01-01 the latest published
    is 2024-10 (315.0, published 2024-11-29; 2024-12 only comes out on 2025-01-31)."""
    contract = signed(D(2024, 3, 15))
    ContactFactory(client=contract.client, email="gerant@client.fr")
    contracts_nightly(D(2024, 12, 31))
    assert prices(contract) == [Decimal("100.00"), Decimal("35.00")]
    contracts_nightly(D(2025, 1, 1))
    # 100.00 × 315.0 / 310.5 = 101.449… → 101.45 ; 35.00 × … = 35.507… → 35.51
    assert prices(contract) == [Decimal("101.45"), Decimal("35.51")]
    revision = ContractRevision.objects.get(contract=contract)
    assert (revision.year, revision.revision_date) == (2025, D(2025, 1, 1))
    assert (revision.base_index.month, revision.new_index.month) == (D(2024, 1, 1), D(2024, 10, 1))
    assert revision.coefficient == Decimal("1.014492753623")
    assert (revision.old_monthly_total, revision.new_monthly_total) == (Decimal("240.00"), Decimal("243.49"))
    assert revision.lines[0]["old_unit_price"] == "100.00" and revision.lines[0]["new_unit_price"] == "101.45"
    contract.refresh_from_db()
    assert contract.syntec_base_index.month == D(2024, 10, 1)  # the next revision compares with 315.0
    letter = OutboundEmail.objects.get(key=f"contracts.revision_letter:{revision.pk}")
    assert letter.to == ["gerant@client.fr"]
    assert "101,45" in letter.body and "310.50" in letter.body and "315.00" in letter.body

    # A second run for the same date changes nothing.
    emails, audits = OutboundEmail.objects.count(), AuditLogEntry.objects.count()
    contracts_nightly(D(2025, 1, 1))
    contracts_nightly(D(2025, 1, 2))
    assert prices(contract) == [Decimal("101.45"), Decimal("35.51")]
    assert ContractRevision.objects.count() == 1
    assert (OutboundEmail.objects.count(), AuditLogEntry.objects.count()) == (emails, audits)

    # 2026: 2025-10 (322.2, published 2025-11-28) against 315.0: 101.45 × 322.2/315 = 103.768… → 103.77
    contracts_nightly(D(2026, 1, 1))
    assert prices(contract) == [Decimal("103.77"), Decimal("36.32")]


def test_p3_falling_index_lowers_the_price(db):
    """Only the values published by 2024-06-30 are entered: signed 2024-06-15 on 2024-04 (313.8);
    the latest published on 2025-01-01 is 2024-05 (313.3), lower."""
    services.syntec_index_import(actor=None, text=syntec_rows(published_until="2024-06-30"))
    contract = signed(D(2024, 6, 15))
    contracts_nightly(D(2025, 1, 1))
    # 100.00 × 313.3 / 313.8 = 99.840… → 99.84 ; 35.00 × … = 34.944… → 34.94
    assert prices(contract) == [Decimal("99.84"), Decimal("34.94")]
    assert ContractRevision.objects.get().coefficient == Decimal("0.998406628426")


def test_p3_no_newer_index_no_revision_and_one_staff_alert(syntec):
    """Signed 2024-12-15 on 2024-10 (published 2024-11-29): nothing newer is published by 2025-01-01."""
    contract = signed(D(2024, 12, 15), reference="CT-NO-INDEX")
    contracts_nightly(D(2025, 1, 1))
    contracts_nightly(D(2025, 1, 2))
    assert prices(contract) == [Decimal("100.00"), Decimal("35.00")]
    assert not ContractRevision.objects.exists()
    alert = OutboundEmail.objects.get(key="contracts.revision.no_index:2025")
    assert alert.to == ["equipe@micro-info-service.fr"]
    assert "CT-NO-INDEX" in alert.body
    with pytest.raises(ContractError, match="aucun indice publié plus récent"):
        services.revision_compute(contract=contract, revision_date=D(2025, 1, 1))


def test_p3_contract_signed_on_1_january_is_not_revised_that_day(syntec):
    contract = signed(D(2025, 1, 1))
    contracts_nightly(D(2025, 1, 1))
    assert prices(contract) == [Decimal("100.00"), Decimal("35.00")]
    assert services.contracts_revise(year=2025) == {"revised": 0, "not_revised_no_index": 0}


def test_p3_configurable_coefficient_rounding(syntec, settings):
    settings.CONTRACT_SYNTEC_COEFFICIENT_DECIMALS = 4
    contract = ContractFactory(signature_date=D(2024, 3, 15))
    ContractLineFactory(contract=contract, unit_price=Decimal("1000.00"))
    quote = services.revision_compute(contract=contract, revision_date=D(2025, 1, 1))
    assert quote.coefficient == Decimal("1.0145")
    assert quote.lines[0]["new_unit_price"] == "1014.50"  # full precision would give 1014.49
    settings.CONTRACT_SYNTEC_COEFFICIENT_DECIMALS = None
    assert services.revision_compute(contract=contract, revision_date=D(2025, 1, 1)).lines[0][
        "new_unit_price"] == "1014.49"


def test_p3_lines_no_longer_in_force_keep_their_price(syntec):
    contract = signed(D(2024, 3, 15))
    old = ContractLineFactory(contract=contract, unit_price=Decimal("20.00"), valid_until=D(2024, 9, 30))
    contracts_nightly(D(2025, 1, 1))
    old.refresh_from_db()
    assert old.unit_price == Decimal("20.00")
    assert len(ContractRevision.objects.get().lines) == 2


@pytest.mark.parametrize("n", [5, 50])
def test_revision_job_query_count_does_not_grow(syntec, django_assert_num_queries, n):
    for _i in range(n):
        signed(D(2024, 3, 15))
    ContentType.objects.clear_cache()
    # indexes; chunk 1: savepoint, contracts FOR UPDATE, lines, INSERT revisions, UPDATE lines (CASE),
    # UPDATE base index, content type, INSERT audit, release; chunk 2: savepoint, empty select, release.
    with django_assert_num_queries(13):
        assert services.contracts_revise(year=2025) == {"revised": n, "not_revised_no_index": 0}
